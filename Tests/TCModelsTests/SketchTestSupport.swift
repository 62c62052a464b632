import Foundation
import TCCore
import TCModels
import Testing

/// Where the shared parity fixtures live: `$TCGRAPH_SHARED/parity`, else `<repo>/../shared/parity`.
/// Nil in a fresh clone without them; the tests that need them are then skipped.
enum SketchFixtures {
    static let parityDirectory: URL? = {
        let fm = FileManager.default
        var candidates: [URL] = []
        if let env = ProcessInfo.processInfo.environment["TCGRAPH_SHARED"], !env.isEmpty {
            candidates.append(URL(fileURLWithPath: env).appendingPathComponent("parity"))
        }
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        candidates.append(repo.deletingLastPathComponent().appendingPathComponent("shared/parity"))
        return candidates.first { fm.fileExists(atPath: $0.path) }
    }()

    static func path(_ name: String) -> String? {
        guard let dir = parityDirectory else { return nil }
        let p = dir.appendingPathComponent(name).path
        return FileManager.default.fileExists(atPath: p) ? p : nil
    }

    static let anime2sketch = path("anime2sketch.safetensors")

    /// A file of Tests/TCModelsTests/SketchFixtures (small checkpoints kept with the tests).
    static func local(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("SketchFixtures/\(name)").path
    }
    static let skipMessage: Comment = "needs ../shared/parity/anime2sketch.safetensors (or TCGRAPH_SHARED); skipped"
}

/// An in-memory checkpoint, for renamed, truncated or padded variants of real weights.
final class MemorySource: TensorSource {
    var tensors: [String: Tensor]
    let sourceName: String

    init(_ tensors: [String: Tensor], name: String = "memory") {
        self.tensors = tensors
        sourceName = name
    }

    var allKeys: [String] { tensors.keys.sorted() }
    func contains(_ key: String) -> Bool { tensors[key] != nil }
    func tensor(_ key: String) throws -> Tensor {
        guard let t = tensors[key] else { throw WeightError.missingKey(file: sourceName, key: key) }
        return t
    }

    /// Every tensor of `source` whose key passes `keep`, renamed by `rename`.
    static func copy(of source: TensorSource, keep: (String) -> Bool = { _ in true },
                     rename: (String) -> String = { $0 }) throws -> MemorySource {
        var d: [String: Tensor] = [:]
        for k in source.allKeys where keep(k) { d[rename(k)] = try source.tensor(k) }
        return MemorySource(d, name: "\(source.sourceName) (variant)")
    }
}

/// Deterministic values in [−scale, scale).
func sketchTestTensor(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
    var s = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    let values = (0..<shape.reduce(1, *)).map { _ -> Float in
        s = s &* 6364136223846793005 &+ 1442695040888963407
        return (Float(s >> 40) / Float(1 << 24) * 2 - 1) * scale
    }
    return Tensor(values, shape)
}

func maxAbsDifference(_ a: Tensor, _ b: Tensor) -> Float {
    zip(a.toArray(), b.toArray()).map { abs($0 - $1) }.max() ?? .infinity
}
