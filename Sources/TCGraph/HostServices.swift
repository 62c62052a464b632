import CTCABI
import Foundation
import TCCore
import TCPluginKit

/// The `tc_host` function table every plugin receives: C entry points over `CallContext`,
/// `HostBundle`, `WeightStore`. Built once; its address is stable for the process.
enum HostServices {
    static let table: UnsafeMutablePointer<tc_host> = {
        let t = UnsafeMutablePointer<tc_host>.allocate(capacity: 1)
        t.initialize(to: tc_host(
            abi_major: UInt32(TC_ABI_MAJOR), abi_minor: UInt32(TC_ABI_MINOR),
            log: { call, level, message in
                let c = CallContext.from(call)
                c.observer.nodeLog(c.node, level: level, message: String(cString: message))
            },
            progress: { call, done, total, message in
                let c = CallContext.from(call)
                c.observer.nodeProgress(c.node, done: Int(done), total: Int(total), message: String(cString: message))
            },
            cancelled: { _ in Cancellation.isRequested ? 1 : 0 },
            set_error: { call, message in CallContext.from(call).setError(String(cString: message)) },
            run_info: { call, key in
                CallContext.from(call).runInfo[String(cString: key)].map { UnsafePointer($0) }
            },
            bundle_tensor_count: { b in HostBundle.from(b).tensorCount },
            bundle_tensor_name: { b, i in HostBundle.from(b).tensorName(i) },
            bundle_tensor: { b, name in HostBundle.from(b).tensor(String(cString: name)) },
            bundle_meta_count: { b in HostBundle.from(b).metaCount },
            bundle_meta_key: { b, i in HostBundle.from(b).metaKey(i) },
            bundle_meta: { b, key in HostBundle.from(b).meta(String(cString: key)) },
            bundle_put_tensor: { call, b, name, tensor in
                let n = String(cString: name)
                do {
                    HostBundle.from(b).put(n, try TensorABI.adopt(tensor))
                    return tc_status(TC_OK)
                } catch {
                    CallContext.from(call).setError("output tensor '\(n)' refused: \(error)")
                    return tc_status(TC_ERROR)
                }
            },
            bundle_put_meta: { b, key, value in
                HostBundle.from(b).putMeta(String(cString: key), String(cString: value))
            },
            tensor_new: { dtype, ndim, shape in
                guard dtype.lanes == 1, let dt = DType(dlpackCode: dtype.code, bits: dtype.bits), ndim >= 0,
                      ndim == 0 || shape != nil else { return nil }
                let dims = (0..<Int(ndim)).map { Int(shape![$0]) }
                guard dims.allSatisfy({ $0 >= 0 }) else { return nil }
                return TensorABI.export(Tensor(empty: dims, dtype: dt))
            },
            tensor_share: { t in
                TensorABI.ownTensor(t).map { TensorABI.export($0) }
            },
            weights_open: { call, candidates, n, whereToGet in
                let c = CallContext.from(call)
                let names = (0..<Int(n)).map { String(cString: candidates[$0]) }
                do {
                    return try c.weights.open(names, whereToGet: String(cString: whereToGet)).opaque
                } catch {
                    c.setError("\(error)")
                    return nil
                }
            },
            weights_path: { w in UnsafePointer(OpenedWeights.from(w).cPath) },
            weights_count: { w in Int32(OpenedWeights.from(w).cKeys.count) },
            weights_key: { w, i in
                let o = OpenedWeights.from(w)
                return UnsafePointer(o.cKeys[Int(max(0, min(i, Int32(o.cKeys.count) - 1)))])
            },
            weights_contains: { w, key in
                OpenedWeights.from(w).source.contains(String(cString: key)) ? 1 : 0
            },
            weights_tensor: { call, w, key, dtype in
                let o = OpenedWeights.from(w)
                let k = String(cString: key)
                do {
                    var t = try o.source.tensor(k)
                    if dtype.bits != 0 {
                        guard dtype.lanes == 1, let want = DType(dlpackCode: dtype.code, bits: dtype.bits) else {
                            throw WeightError.unsupportedDType(file: o.path, key: k, dtype: String(cString: tc_dtype_name(dtype)))
                        }
                        t = t.converted(to: want)
                    }
                    return TensorABI.export(t)
                } catch {
                    CallContext.from(call).setError("\(error)")
                    return nil
                }
            },
            scratch_alloc: { call, bytes in CallContext.from(call).allocate(bytes) }
        ))
        return t
    }()
}
