import Foundation

/// A node parameter after substitution and type checking.
public enum ParamValue: Sendable, Equatable, CustomStringConvertible {
    /// An optional parameter without default that the graph leaves out.
    case unset
    case int(Int)
    case float(Double)
    case bool(Bool)
    /// Strings, paths and choices.
    case string(String)

    /// Unambiguous text for cache keys.
    var canonical: String {
        switch self {
        case .unset: "u"
        case let .int(v): "i\(v)"
        case let .float(v): "f\(v.bitPattern)"
        case let .bool(v): v ? "b1" : "b0"
        case let .string(v): "s\(v)"
        }
    }

    public var description: String {
        switch self {
        case .unset: "(unset)"
        case let .int(v): "\(v)"
        case let .float(v): "\(v)"
        case let .bool(v): "\(v)"
        case let .string(v): v
        }
    }

    /// Parses `text` as a value of `spec`'s type and checks its range or choices; the error text
    /// says what was expected and what was found.
    static func parse(_ scalar: GraphScalar, for spec: NodeType.ParamSpec) -> Result<ParamValue, ParamProblem> {
        let text = scalar.text
        if scalar.isNull {
            return spec.required ? .failure(ParamProblem("parameter '\(spec.name)' needs a value")) : .success(.unset)
        }
        switch spec.kind {
        case .int:
            guard let v = Int(text.trimmingCharacters(in: .whitespaces)) else {
                return .failure(ParamProblem("parameter '\(spec.name)' expects an integer, got '\(text)'"))
            }
            return checkRange(Double(v), spec).map { .int(v) }
        case .float:
            guard let v = Double(text.trimmingCharacters(in: .whitespaces)), v.isFinite else {
                return .failure(ParamProblem("parameter '\(spec.name)' expects a number, got '\(text)'"))
            }
            return checkRange(v, spec).map { .float(v) }
        case .bool:
            switch text.lowercased() {
            case "true", "yes", "on": return .success(.bool(true))
            case "false", "no", "off": return .success(.bool(false))
            default: return .failure(ParamProblem("parameter '\(spec.name)' expects true or false, got '\(text)'"))
            }
        case .choice:
            guard spec.choices.contains(text) else {
                return .failure(ParamProblem("parameter '\(spec.name)' expects one of \(spec.choices.joined(separator: "|")), got '\(text)'"))
            }
            return .success(.string(text))
        case .string, .path:
            return .success(.string(text))
        }
    }

    private static func checkRange(_ v: Double, _ spec: NodeType.ParamSpec) -> Result<Void, ParamProblem> {
        func fmt(_ x: Double) -> String { spec.kind == .int ? "\(Int(x))" : "\(x)" }
        if let lo = spec.min, v < lo {
            return .failure(ParamProblem("parameter '\(spec.name)' must be ≥ \(fmt(lo))\(spec.max.map { " and ≤ \(fmt($0))" } ?? ""), got \(fmt(v))"))
        }
        if let hi = spec.max, v > hi {
            return .failure(ParamProblem("parameter '\(spec.name)' must be ≤ \(fmt(hi))\(spec.min.map { " and ≥ \(fmt($0))" } ?? ""), got \(fmt(v))"))
        }
        return .success(())
    }
}

/// Why a parameter value was refused.
struct ParamProblem: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
