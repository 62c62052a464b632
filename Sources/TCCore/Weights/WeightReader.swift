/// Anything that hands out tensors by checkpoint key: a safetensors file, a PyTorch checkpoint,
/// several files combined by prefix, or the host's weight store seen through the C ABI.
public protocol TensorSource: AnyObject {
    /// What to name in error messages (usually the file path).
    var sourceName: String { get }
    var allKeys: [String] { get }
    func contains(_ key: String) -> Bool
    func tensor(_ key: String) throws -> Tensor
}

extension SafeTensorsFile: TensorSource {
    public var sourceName: String { path }
    public var allKeys: [String] { keys }
    public func contains(_ key: String) -> Bool { entries[key] != nil }
}

/// Reads weights under a key prefix and remembers which keys were read, so a model can check
/// after construction that it consumed exactly the tensors it should (strict loading).
public final class WeightReader {
    public let source: TensorSource
    public let prefix: String
    private let log: AccessLog

    final class AccessLog { var keys = Set<String>() }

    public init(_ source: TensorSource, prefix: String = "") {
        self.source = source
        self.prefix = prefix
        log = AccessLog()
    }

    private init(_ source: TensorSource, prefix: String, log: AccessLog) {
        self.source = source
        self.prefix = prefix
        self.log = log
    }

    /// The same source seen under `prefix + sub` (a trailing dot is added when missing).
    public func scoped(_ sub: String) -> WeightReader {
        let p = sub.isEmpty || sub.hasSuffix(".") ? sub : sub + "."
        return WeightReader(source, prefix: prefix + p, log: log)
    }

    public func key(_ name: String) -> String { prefix + name }

    public func contains(_ name: String) -> Bool { source.contains(prefix + name) }

    /// Tensor `prefix + name`; with `shape`, its shape is checked too.
    public func callAsFunction(_ name: String, shape: [Int]? = nil) throws -> Tensor {
        let k = prefix + name
        let t = if let shape, let synthetic = source as? ShapeAwareTensorSource {
            try synthetic.tensor(k, shape: shape)
        } else {
            try source.tensor(k)
        }
        if let shape, t.shape != shape {
            throw WeightError.shapeMismatch(file: source.sourceName, key: k, expected: shape, got: t.shape)
        }
        log.keys.insert(k)
        return t
    }

    public func optional(_ name: String) throws -> Tensor? {
        contains(name) ? try self(name) : nil
    }

    /// Every key read so far through this reader or any reader scoped from the same root.
    public var readKeys: Set<String> { log.keys }

    /// Keys under this reader's prefix that nothing has read.
    public var unreadKeys: [String] {
        source.allKeys.filter { $0.hasPrefix(prefix) && !log.keys.contains($0) }.sorted()
    }
}
