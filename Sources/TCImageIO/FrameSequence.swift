import Foundation

/// A numbered image sequence named by a pattern: `shot.####.png` (padding = number of #) or
/// printf style `shot.%04d.png`. A path without a placeholder is a single file.
public struct FrameSequence: Sendable, Equatable {
    public let pattern: String
    let prefix: String
    let suffix: String
    /// Minimum digits; 0 when the pattern has no placeholder.
    public let padding: Int

    public init(_ pattern: String) {
        self.pattern = pattern
        let dirEnd = pattern.range(of: "/", options: .backwards)?.upperBound ?? pattern.startIndex
        let name = pattern[dirEnd...]
        if let r = name.range(of: "#+|%0?[0-9]*d", options: [.regularExpression, .backwards]) {
            prefix = String(pattern[..<r.lowerBound])
            suffix = String(pattern[r.upperBound...])
            let token = pattern[r]
            padding = token.hasPrefix("#") ? token.count : max(1, Int(token.dropFirst().dropLast()) ?? 1)
        } else {
            prefix = pattern
            suffix = ""
            padding = 0
        }
    }

    public var isSequence: Bool { padding > 0 }

    /// The file of `frame` (the pattern itself for a single file).
    public func path(_ frame: Int) -> String {
        guard isSequence else { return pattern }
        let digits = String(abs(frame))
        let padded = String(repeating: "0", count: max(0, padding - digits.count)) + digits
        return prefix + (frame < 0 ? "-" : "") + padded + suffix
    }

    /// Frame numbers of the files on disk that match the pattern, ascending.
    public func existingFrames() -> [Int] {
        guard isSequence else { return [] }
        let slash = prefix.range(of: "/", options: .backwards)
        let dir = slash.map { String(prefix[..<$0.lowerBound]) } ?? "."
        let start = slash.map { String(prefix[$0.upperBound...]) } ?? prefix
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.isEmpty ? "/" : dir)) ?? []
        var frames: [Int] = []
        for n in names where n.hasPrefix(start) && n.hasSuffix(suffix) && n.count > start.count + suffix.count {
            let middle = n.dropFirst(start.count).dropLast(suffix.count)
            let digits = middle.hasPrefix("-") ? middle.dropFirst() : middle
            guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber), digits.count >= padding,
                  let v = Int(middle) else { continue }
            frames.append(v)
        }
        return frames.sorted()
    }
}
