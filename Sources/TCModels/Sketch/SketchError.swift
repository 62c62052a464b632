import TCCore

/// Errors of the sketch models and line extraction, each naming what was wrong, where, and what
/// was expected; rendered once by the caller.
public enum SketchError: Error, CustomStringConvertible, Equatable {
    /// A strict load found the file's keys differ from the network's (both lists complete).
    case keyMismatch(source: String, model: String, missing: [String], unexpected: [String])
    /// An input tensor or parameter that does not fit: `what` names it.
    case invalidInput(what: String, expected: String, got: String)

    public var description: String {
        switch self {
        case let .keyMismatch(s, m, missing, unexpected):
            var parts: [String] = []
            if !missing.isEmpty { parts.append("\(missing.count) missing: \(SketchError.list(missing))") }
            if !unexpected.isEmpty { parts.append("\(unexpected.count) unexpected: \(SketchError.list(unexpected))") }
            return "\(s): not a \(m) checkpoint: tensors \(parts.joined(separator: "; "))"
        case let .invalidInput(what, expected, got):
            return "\(what): expected \(expected), got \(got)"
        }
    }

    static func list(_ ks: [String]) -> String {
        ks.count <= 12 ? ks.joined(separator: ", ") : ks.prefix(12).joined(separator: ", ") + ", … (\(ks.count - 12) more)"
    }
}
