/// A failure a node reports; the host prints `message` with the node's name and exits with the
/// runtime-failure code.
public struct NodeError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Thrown by `NodeContext.checkCancelled()` once the user asked to stop.
public struct NodeCancelled: Error {}
