/// Errors in what a caller hands a model, naming the argument.
public enum ModelInputError: Error, CustomStringConvertible, Equatable {
    case shape(argument: String, expected: String, got: [Int])
    case invalid(argument: String, reason: String)

    public var description: String {
        switch self {
        case let .shape(a, e, g): "\(a): expected shape \(e), got \(g)"
        case let .invalid(a, r): "\(a): \(r)"
        }
    }
}
