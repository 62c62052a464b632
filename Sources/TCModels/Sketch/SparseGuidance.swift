import Foundation
import TCCore

/// Which frames of a clip carry a sketch in sparse sketch guidance (sketch-and-colorize.md §0, §4):
/// the two endpoints always, then bisection with floor midpoints. For 16 frames level 1 gives
/// {0,7,15}, level 2 {0,3,7,11,15}, level 3 {0,1,3,5,…,13,15} (the official demo asset) and level 4
/// all 16 frames.
public enum SparseGuidance {
    /// Sorted frame indices for bisection `level` (0 = the endpoints only) over `frameCount` frames.
    /// Each level splits every interval [a, b] of the previous one at ⌊(a+b)/2⌋.
    public static func bisectionFrames(level: Int, frameCount: Int) throws -> [Int] {
        guard frameCount >= 2 else {
            throw SketchError.invalidInput(what: "sparse guidance frame count", expected: "at least 2", got: "\(frameCount)")
        }
        guard level >= 0 else {
            throw SketchError.invalidInput(what: "bisection level", expected: "0 or more (1…4 for 16 frames)", got: "\(level)")
        }
        var frames: Set<Int> = [0, frameCount - 1]
        var intervals = [(0, frameCount - 1)]
        for _ in 0..<level {
            var next: [(Int, Int)] = []
            for (a, b) in intervals where b - a >= 2 {
                let m = (a + b) / 2
                frames.insert(m)
                next += [(a, m), (m, b)]
            }
            intervals = next
        }
        return frames.sorted()
    }

    /// Per-frame flags for `frames` (e.g. a bisection pattern) over `frameCount` frames.
    public static func presentMask(_ frames: [Int], frameCount: Int) throws -> [Bool] {
        var mask = Array(repeating: false, count: frameCount)
        for f in frames {
            guard f >= 0 && f < frameCount else {
                throw SketchError.invalidInput(what: "sketch frame index", expected: "0…\(frameCount - 1)", got: "\(f)")
            }
            mask[f] = true
        }
        return mask
    }
}

extension SparseGuidance {
    /// The endpoint sketches of sparse guidance taken from the keyframes themselves (the two input
    /// frames always have their sketch, §4): `first` and `last` are IMAGE frames (1, H, W, C) of one
    /// size; their lines go to frames 0 and `frameCount` − 1, every other frame is absent.
    public static func endpointSketches(first: Tensor, last: Tensor, frameCount: Int,
                                        extractor: LineExtractor) throws -> SketchFrames {
        guard frameCount >= 2 else {
            throw SketchError.invalidInput(what: "sparse guidance frame count", expected: "at least 2", got: "\(frameCount)")
        }
        guard first.rank == 4, first.dim(0) == 1, first.shape == last.shape else {
            throw SketchError.invalidInput(what: "keyframes", expected: "two IMAGE frames (1, H, W, C) of one size",
                                           got: "\(first.shape) and \(last.shape)")
        }
        let lines = try extractor.extractLines(concat([first, last], axis: 0))
        let h = lines.height, w = lines.width
        return try SketchFrames.sparse([0: lines.frames[0], frameCount - 1: lines.frames[1]],
                                       frameCount: frameCount, height: h, width: w)
    }
}

extension SparseGuidance {
    /// Which frames of a clip keep their sketch, as the SketchExtract node's `pattern` parameter
    /// spells it: `dense` (all), `endpoints` (first and last), `bisection1`…`bisection4`, or a
    /// comma-separated list of frame indices (`0,5,15`).
    public enum Pattern: Equatable, Sendable, CustomStringConvertible {
        case dense
        case bisection(Int)
        case frames([Int])

        public static let endpoints = Pattern.bisection(0)

        public init(parsing text: String) throws {
            let s = text.trimmingCharacters(in: .whitespaces).lowercased()
            let syntax = "dense, endpoints, bisection1…bisection4 or frame indices like 0,7,15"
            if s == "dense" || s == "all" {
                self = .dense
            } else if s == "endpoints" {
                self = .endpoints
            } else if s.hasPrefix("bisection"), let n = Int(s.dropFirst("bisection".count)), (0...4).contains(n) {
                self = .bisection(n)
            } else {
                let parts = s.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
                let indices = parts.compactMap { Int($0) }
                guard !parts.isEmpty, indices.count == parts.count, indices.allSatisfy({ $0 >= 0 }) else {
                    throw SketchError.invalidInput(what: "sketch pattern", expected: syntax, got: "'\(text)'")
                }
                guard Set(indices).count == indices.count else {
                    throw SketchError.invalidInput(what: "sketch pattern", expected: "distinct frame indices", got: "'\(text)'")
                }
                self = .frames(indices.sorted())
            }
        }

        /// The sorted frame indices the pattern selects among `frameCount` frames.
        public func frames(count frameCount: Int) throws -> [Int] {
            switch self {
            case .dense:
                guard frameCount > 0 else {
                    throw SketchError.invalidInput(what: "sketch frame count", expected: "at least 1", got: "\(frameCount)")
                }
                return Array(0..<frameCount)
            case let .bisection(level):
                return try SparseGuidance.bisectionFrames(level: level, frameCount: frameCount)
            case let .frames(indices):
                if let bad = indices.first(where: { $0 >= frameCount }) {
                    throw SketchError.invalidInput(what: "sketch pattern frame", expected: "0…\(frameCount - 1)", got: "\(bad)")
                }
                return indices
            }
        }

        public var description: String {
            switch self {
            case .dense: "dense"
            case .bisection(0): "endpoints"
            case let .bisection(n): "bisection\(n)"
            case let .frames(f): f.map(String.init).joined(separator: ",")
            }
        }
    }
}
