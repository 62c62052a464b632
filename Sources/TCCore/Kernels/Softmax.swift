import Foundation

/// Numerically stable softmax of each row of a row-major (rows × n) block, in place.
@inline(__always)
func softmaxRows(_ p: UnsafeMutablePointer<Float>, rows: Int, n: Int, ld: Int) {
    for r in 0..<rows {
        let row = p + r * ld
        var m = -Float.infinity
        for j in 0..<n { m = max(m, row[j]) }
        if m == -.infinity { m = 0 }
        var s: Float = 0
        for j in 0..<n {
            let e = expf(row[j] - m)
            row[j] = e
            s += e
        }
        let inv = 1 / s
        for j in 0..<n { row[j] *= inv }
    }
}

extension Tensor {
    /// Softmax over the last axis.
    public func softmax() -> Tensor {
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
