/// A position in a graph file (1-based line and column, as editors count).
public struct SourceLocation: Sendable, Equatable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// `file:line:column`; just the origin for values that come from the command line (line 0).
    public var description: String { line > 0 ? "\(file):\(line):\(column)" : file }
}

/// One problem found in a graph before anything runs, with where it is.
public struct GraphDiagnostic: Error, Sendable, Equatable, CustomStringConvertible {
    public let location: SourceLocation?
    public let message: String

    public init(_ location: SourceLocation?, _ message: String) {
        self.location = location
        self.message = message
    }

    public var description: String {
        location.map { "\($0): error: \(message)" } ?? "error: \(message)"
    }
}

/// Every problem found while reading or validating a graph (all are reported, not just the first).
public struct GraphError: Error, CustomStringConvertible {
    public let diagnostics: [GraphDiagnostic]

    public init(_ diagnostics: [GraphDiagnostic]) { self.diagnostics = diagnostics }
    public init(_ location: SourceLocation?, _ message: String) { diagnostics = [GraphDiagnostic(location, message)] }

    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// A failure while a graph runs.
public enum RunError: Error, CustomStringConvertible, Equatable {
    /// A node reported failure (its message names files, keys, expected vs got).
    case nodeFailed(node: String, type: String, message: String)
    /// The user asked to stop (Ctrl-C); nothing partial was kept.
    case cancelled(node: String?)

    public var description: String {
        switch self {
        case let .nodeFailed(node, type, message): "node '\(node)' (\(type)) failed: \(message)"
        case let .cancelled(node): node.map { "cancelled while running node '\($0)'" } ?? "cancelled"
        }
    }
}

/// A plugin library that cannot be used, naming the file.
public struct PluginError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let message: String

    public init(file: String, _ message: String) {
        self.file = file
        self.message = message
    }

    public var description: String { "\(file): \(message)" }
}
