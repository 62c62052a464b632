import CTCABI
import TCCore

/// A weight file opened by the host's weight store, as a `TensorSource` so TCModels' readers load
/// from it by key. Tensors are zero-copy views of the host's mapping and may be kept; the
/// `HostWeights` itself is for the `run` that opened it (it reports errors through that call).
public final class HostWeights: TensorSource {
    let host: UnsafePointer<tc_host>
    let call: OpaquePointer
    let handle: OpaquePointer
    public let sourceName: String
    public let allKeys: [String]
    private let keySet: Set<String>

    init(host: UnsafePointer<tc_host>, call: OpaquePointer, handle: OpaquePointer) {
        self.host = host
        self.call = call
        self.handle = handle
        let h = host.pointee
        sourceName = String(cString: h.weights_path(handle))
        allKeys = (0..<h.weights_count(handle)).map { String(cString: h.weights_key(handle, $0)) }
        keySet = Set(allKeys)
    }

    public func contains(_ key: String) -> Bool { keySet.contains(key) }

    public func tensor(_ key: String) throws -> Tensor {
        try tensor(key, as: nil)
    }

    /// The tensor under `key`, converted to `dtype` by the host when it is stored otherwise.
    public func tensor(_ key: String, as dtype: DType?) throws -> Tensor {
        guard contains(key) else { throw WeightError.missingKey(file: sourceName, key: key) }
        let want = dtype?.abi ?? tc_dtype(code: 0, bits: 0, lanes: 0)
        guard let t = host.pointee.weights_tensor(call, handle, key, want) else {
            throw WeightError.missingKey(file: sourceName, key: key)
        }
        return try TensorABI.adopt(t)
    }
}
