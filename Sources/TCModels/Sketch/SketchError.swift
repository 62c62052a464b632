import TCCore

/// Errors of the sketch models and line extraction, each naming what was wrong, where, and what
/// was expected; rendered once by the caller.
public enum SketchError: Error, CustomStringConvertible, Equatable {
    /// A strict load found the file's keys differ from the network's (both lists complete).
    case keyMismatch(source: String, model: String, missing: [String], unexpected: [String])
    /// An input tensor or parameter that does not fit: `what` names it.
    case invalidInput(what: String, expected: String, got: String)
    /// A strict load found keys missing, unexpected, or of another shape than the network's
    /// (every problem listed; `wrongShapes` as "key: expected [..], got [..]").
    case layoutMismatch(source: String, model: String, missing: [String], unexpected: [String], wrongShapes: [String])

    public var description: String {
        switch self {
        case let .keyMismatch(s, m, missing, unexpected):
            return SketchError.layoutMismatch(source: s, model: m, missing: missing, unexpected: unexpected,
                                              wrongShapes: []).description
        case let .layoutMismatch(s, m, missing, unexpected, wrong):
            var parts: [String] = []
            if !missing.isEmpty { parts.append("\(missing.count) missing: \(SketchError.list(missing))") }
            if !unexpected.isEmpty { parts.append("\(unexpected.count) unexpected: \(SketchError.list(unexpected))") }
            if !wrong.isEmpty { parts.append("\(wrong.count) of another shape: \(SketchError.list(wrong))") }
            return "\(s): not a \(m) checkpoint: tensors \(parts.joined(separator: "; "))"
        case let .invalidInput(what, expected, got):
            return "\(what): expected \(expected), got \(got)"
        }
    }

    static func list(_ ks: [String]) -> String {
        ks.count <= 12 ? ks.joined(separator: ", ") : ks.prefix(12).joined(separator: ", ") + ", … (\(ks.count - 12) more)"
    }
}
