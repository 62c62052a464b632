/// Errors of weight files and weight lookup, each naming the file (and key) involved.
public enum WeightError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(file: String, reason: String)
    case corrupt(file: String, reason: String)
    case unsupportedDType(file: String, key: String, dtype: String)
    case missingKey(file: String, key: String)
    case shapeMismatch(file: String, key: String, expected: [Int], got: [Int])
    case forbidden(file: String, reason: String)
    case missingKeys(file: String, keys: [String])
    case unexpectedKeys(file: String, keys: [String])

    public var description: String {
        switch self {
        case let .cannotOpen(f, r): "\(f): cannot open: \(r)"
        case let .corrupt(f, r): "\(f): corrupt or unsupported file: \(r)"
        case let .unsupportedDType(f, k, d): "\(f): tensor '\(k)' has unsupported dtype \(d)"
        case let .missingKey(f, k): "\(f): missing tensor '\(k)'"
        case let .shapeMismatch(f, k, e, g): "\(f): tensor '\(k)' has shape \(g), expected \(e)"
        case let .forbidden(f, r): "\(f): refused: \(r)"
        case let .missingKeys(f, ks): "\(f): \(ks.count) missing tensors: \(WeightError.list(ks))"
        case let .unexpectedKeys(f, ks): "\(f): \(ks.count) unexpected tensors: \(WeightError.list(ks))"
        }
    }

    static func list(_ ks: [String]) -> String {
        ks.count <= 12 ? ks.joined(separator: ", ") : ks.prefix(12).joined(separator: ", ") + ", … (\(ks.count - 12) more)"
    }
}
