import Foundation
import Testing
import TCCore

func randomTensor(_ shape: [Int], seed: UInt64, range: ClosedRange<Float> = -1...1) -> Tensor {
    var rng = SplitMix64(seed: seed)
    let span = range.upperBound - range.lowerBound
    return Tensor((0..<shape.reduce(1, *)).map { _ in rng.nextFloat() * span + range.lowerBound }, shape)
}

func randomBytes(_ shape: [Int], seed: UInt64) -> Tensor {
    var rng = SplitMix64(seed: seed)
    let t = Tensor(empty: shape, dtype: .u8)
    let p = t.typedPointer(UInt8.self)
    for i in 0..<t.count { p[i] = UInt8(truncatingIfNeeded: rng.next() >> 56) }
    return t
}

struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func nextFloat() -> Float { Float(next() >> 40) / Float(1 << 24) }
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }
}

/// Largest |a − b| over two equally long value lists (infinity when the lengths differ).
func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    guard a.count == b.count else { return .infinity }
    var m: Float = 0
    for i in 0..<a.count {
        let d = abs(a[i] - b[i])
        if d.isNaN { return .nan }
        m = max(m, d)
    }
    return m
}

func maxAbsDiff(_ a: Tensor, _ b: Tensor) -> Float {
    a.shape == b.shape ? maxAbsDiff(a.toArray(), b.toArray()) : .infinity
}

/// Files committed next to the tests (made by tools/fixtures/*.py).
enum TestFixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures").path
    static func path(_ name: String) -> String { directory + "/" + name }
}

/// The team's shared parity fixtures: `$TCGRAPH_SHARED/parity` (or `$TCGRAPH_SHARED` itself), else
/// `<repo>/../shared/parity`. Tests that need them are skipped when they are absent (a fresh clone).
enum SharedParity {
    static let directory: String? = {
        let fm = FileManager.default
        var candidates: [String] = []
        if let env = ProcessInfo.processInfo.environment["TCGRAPH_SHARED"], !env.isEmpty {
            candidates += [env + "/parity", env]
        }
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(repo.deletingLastPathComponent().appendingPathComponent("shared/parity").path)
        return candidates.first { fm.fileExists(atPath: $0 + "/README.md") }
    }()

    static func path(_ name: String) -> String? {
        guard let d = directory, FileManager.default.fileExists(atPath: d + "/" + name) else { return nil }
        return d + "/" + name
    }

    static let skipReason: Comment = "shared parity fixtures not found (<repo>/../shared/parity or $TCGRAPH_SHARED)"
}
