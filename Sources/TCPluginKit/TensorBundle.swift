import TCCore

/// The value on a port: named tensors plus string metadata (`colorspace`, `fps`, `frames`, …).
public struct TensorBundle {
    /// Tensors in insertion order.
    public private(set) var tensors: [(name: String, tensor: Tensor)] = []
    public var meta: [String: String] = [:]

    public init(_ tensors: [(String, Tensor)] = [], meta: [String: String] = [:]) {
        for (n, t) in tensors { self[n] = t }
        self.meta = meta
    }

    public subscript(name: String) -> Tensor? {
        get { tensors.first { $0.name == name }?.tensor }
        set {
            if let i = tensors.firstIndex(where: { $0.name == name }) {
                if let newValue { tensors[i].tensor = newValue } else { tensors.remove(at: i) }
            } else if let newValue {
                tensors.append((name, newValue))
            }
        }
    }

    /// The tensor `name`, or an error naming the port and what it holds.
    public func require(_ name: String, port: String) throws -> Tensor {
        guard let t = self[name] else {
            throw NodeError("input '\(port)' has no tensor '\(name)' (it has: \(tensors.map(\.name).joined(separator: ", ")))")
        }
        return t
    }
}
