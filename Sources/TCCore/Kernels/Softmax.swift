import CTCKernels
import Foundation

/// Numerically stable softmax of each row of a row-major (rows × n) block, in place.
@inline(__always)
func softmaxRows(_ p: UnsafeMutablePointer<Float>, rows: Int, n: Int, ld: Int) {
    tck_softmax_rows(p, rows, n, ld)
}

extension Tensor {
    /// Softmax over the last axis.
    public func softmax() -> Tensor {
        OpProfile.measure(.elementwise) {
            let out = float32().copy()
            let n = out.dim(-1)
            let rows = out.count / max(n, 1)
            let p = out.f32
            parallelChunks(rows, minChunk: 8) { r in
                softmaxRows(p + r.lowerBound * n, rows: r.count, n: n, ld: n)
            }
            return out
        }
    }
}
