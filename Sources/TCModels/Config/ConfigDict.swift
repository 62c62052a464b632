import Foundation
import TCCore

/// Typed access to a JSON/YAML-shaped configuration (the official configs' `params`, or a parity
/// fixture's `config`), with errors that name the missing or mistyped key.
public struct ConfigDict: @unchecked Sendable {
    public let values: [String: Any]
    public let path: String

    public init(_ values: [String: Any], path: String = "config") {
        self.values = values
        self.path = path
    }

    public init(json: String, path: String = "config") throws {
        guard let data = json.data(using: .utf8),
              let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ConfigError.invalid(path: path, reason: "not a JSON object")
        }
        self.init(obj, path: path)
    }

    public func has(_ key: String) -> Bool { values[key] != nil && !(values[key] is NSNull) }

    public func dict(_ key: String) throws -> ConfigDict {
        guard let d = values[key] as? [String: Any] else { throw missingOrWrong(key, "an object") }
        return ConfigDict(d, path: "\(path).\(key)")
    }

    public func int(_ key: String) throws -> Int {
        // JSON booleans are NSNumbers of type "c"; `is Bool` would also match the integers 0 and 1.
        if let n = values[key] as? NSNumber, String(cString: n.objCType) != "c" { return n.intValue }
        throw missingOrWrong(key, "an integer")
    }

    public func int(_ key: String, default d: Int) throws -> Int { has(key) ? try int(key) : d }

    public func double(_ key: String) throws -> Double {
        if let n = values[key] as? NSNumber { return n.doubleValue }
        throw missingOrWrong(key, "a number")
    }

    public func double(_ key: String, default d: Double) throws -> Double { has(key) ? try double(key) : d }

    public func bool(_ key: String, default d: Bool) throws -> Bool {
        guard has(key) else { return d }
        if let b = values[key] as? Bool { return b }
        if let n = values[key] as? NSNumber { return n.boolValue }
        throw missingOrWrong(key, "a boolean")
    }

    public func string(_ key: String) throws -> String {
        guard let s = values[key] as? String else { throw missingOrWrong(key, "a string") }
        return s
    }

    public func string(_ key: String, default d: String) throws -> String { has(key) ? try string(key) : d }

    public func ints(_ key: String) throws -> [Int] {
        guard let a = values[key] as? [Any] else { throw missingOrWrong(key, "a list of integers") }
        return try a.map {
            guard let n = $0 as? NSNumber else { throw missingOrWrong(key, "a list of integers") }
            return n.intValue
        }
    }

    public func strings(_ key: String) throws -> [String] {
        guard let a = values[key] as? [String] else { throw missingOrWrong(key, "a list of strings") }
        return a
    }

    private func missingOrWrong(_ key: String, _ expected: String) -> ConfigError {
        values[key] == nil ? .missing(path: "\(path).\(key)", expected: expected)
            : .wrongType(path: "\(path).\(key)", expected: expected, got: "\(values[key]!)")
    }
}

public enum ConfigError: Error, CustomStringConvertible {
    case missing(path: String, expected: String)
    case wrongType(path: String, expected: String, got: String)
    case invalid(path: String, reason: String)

    public var description: String {
        switch self {
        case let .missing(p, e): "\(p): missing (expected \(e))"
        case let .wrongType(p, e, g): "\(p): expected \(e), got \(g.prefix(80))"
        case let .invalid(p, r): "\(p): \(r)"
        }
    }
}
