import Foundation

public enum BinaryOp: Sendable { case add, sub, mul, div, max, min }

/// NumPy/PyTorch broadcasting of two shapes.
public func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int] {
    let r = max(a.count, b.count)
    let pa = [Int](repeating: 1, count: r - a.count) + a
    let pb = [Int](repeating: 1, count: r - b.count) + b
    return zip(pa, pb).map { x, y in
        precondition(x == y || x == 1 || y == 1, "shapes \(a) and \(b) do not broadcast")
        return Swift.max(x, y)
    }
}

/// Strides of `t` viewed with shape `shape` (0 on broadcast axes).
func broadcastStrides(_ t: Tensor, to shape: [Int]) -> [Int] {
    let pad = shape.count - t.rank
    return (0..<shape.count).map { i in
        i < pad || t.shape[i - pad] == 1 ? 0 : t.strides[i - pad]
    }
}

@inline(__always) private func apply(_ op: BinaryOp, _ x: Float, _ y: Float) -> Float {
    switch op {
    case .add: x + y
    case .sub: x - y
    case .mul: x * y
    case .div: x / y
    case .max: Swift.max(x, y)
    case .min: Swift.min(x, y)
    }
}

/// out = a ∘ b with broadcasting; `out` may alias `a` (in-place) when shapes agree.
func binaryKernel(_ op: BinaryOp, _ a: Tensor, _ b: Tensor, into out: Tensor) {
    let shape = out.shape
    let sa = broadcastStrides(a, to: shape), sb = broadcastStrides(b, to: shape)
    let pa = a.f32, pb = b.f32, po = out.f32
    let r = shape.count
    let n = out.count
    if n == 0 { return }
    // The innermost axis is the unit of work; everything outside it is walked by index.
    let inner = r == 0 ? 1 : shape[r - 1]
    let ia = r == 0 ? 0 : sa[r - 1], ib = r == 0 ? 0 : sb[r - 1]
    let outer = n / inner
    let outerShape = Array(shape.dropLast())
    parallelChunks(outer, minChunk: Swift.max(1, 16384 / Swift.max(inner, 1))) { rows in
        var idx = [Int](repeating: 0, count: outerShape.count)
        var rem = rows.lowerBound
        for k in stride(from: outerShape.count - 1, through: 0, by: -1) {
            idx[k] = rem % outerShape[k]
            rem /= outerShape[k]
        }
        for row in rows {
            var oa = 0, ob = 0
            for k in 0..<outerShape.count {
                oa += idx[k] * sa[k]
                ob += idx[k] * sb[k]
            }
            let xa = pa + oa, xb = pb + ob, xo = po + row * inner
            if ia == 1 && ib == 1 {
                for j in 0..<inner { xo[j] = apply(op, xa[j], xb[j]) }
            } else if ia == 1 && ib == 0 {
                let y = xb[0]
                for j in 0..<inner { xo[j] = apply(op, xa[j], y) }
            } else if ia == 0 && ib == 1 {
                let x = xa[0]
                for j in 0..<inner { xo[j] = apply(op, x, xb[j]) }
            } else {
                for j in 0..<inner { xo[j] = apply(op, xa[j * ia], xb[j * ib]) }
            }
            var k = outerShape.count - 1
            while k >= 0 {
                idx[k] += 1
                if idx[k] < outerShape[k] { break }
                idx[k] = 0
                k -= 1
            }
        }
    }
}

extension Tensor {
    public func binary(_ op: BinaryOp, _ other: Tensor) -> Tensor {
        OpProfile.measure(.elementwise) {
            let a = dtype == .f32 ? self : float32()
            let b = other.dtype == .f32 ? other : other.float32()
            let out = Tensor(empty: broadcastShape(a.shape, b.shape))
            binaryKernel(op, a, b, into: out)
            return out
        }
    }

    /// self ∘= other, broadcasting `other` to `self`'s shape. `self` must be contiguous float32.
    public func binaryInPlace(_ op: BinaryOp, _ other: Tensor) {
        OpProfile.measure(.elementwise) {
            precondition(isContiguous && dtype == .f32, "in-place op needs a contiguous float32 tensor")
            precondition(broadcastShape(shape, other.shape) == shape, "cannot broadcast \(other.shape) into \(shape)")
            binaryKernel(op, self, other.dtype == .f32 ? other : other.float32(), into: self)
        }
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor { a.binary(.add, b) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { a.binary(.sub, b) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { a.binary(.mul, b) }
    public static func / (a: Tensor, b: Tensor) -> Tensor { a.binary(.div, b) }

    public static func * (a: Tensor, s: Float) -> Tensor { a.map { $0 * s } }
    public static func * (s: Float, a: Tensor) -> Tensor { a.map { $0 * s } }
    public static func + (a: Tensor, s: Float) -> Tensor { a.map { $0 + s } }
    public static func - (a: Tensor, s: Float) -> Tensor { a.map { $0 - s } }

    public static func += (a: inout Tensor, b: Tensor) { a.binaryInPlace(.add, b) }
    public static func -= (a: inout Tensor, b: Tensor) { a.binaryInPlace(.sub, b) }
    public static func *= (a: inout Tensor, b: Tensor) { a.binaryInPlace(.mul, b) }
    public static func *= (a: inout Tensor, s: Float) { a.mapInPlace { $0 * s } }

    /// self = self·alpha + other·beta elementwise (same shapes); used for residual mixes.
    public func axpbyInPlace(alpha: Float, _ other: Tensor, beta: Float) {
        OpProfile.measure(.elementwise) {
            precondition(isContiguous && dtype == .f32 && other.shape == shape)
            let o = other.float32()
            let p = f32, q = o.f32
            parallelChunks(count) { r in
                for i in r { p[i] = alpha * p[i] + beta * q[i] }
            }
        }
    }

    /// Elementwise function into a new contiguous float32 tensor.
    @inline(__always)
    public func map(_ f: (Float) -> Float) -> Tensor {
        OpProfile.measure(.elementwise) {
            let src = float32()
            let out = Tensor(empty: shape)
            let s = src.f32, d = out.f32
            withoutActuallyEscaping(f) { f in
                parallelChunks(count) { r in
                    for i in r { d[i] = f(s[i]) }
                }
            }
            return out
        }
    }

    @inline(__always)
    public func mapInPlace(_ f: (Float) -> Float) {
        OpProfile.measure(.elementwise) {
            precondition(isContiguous && dtype == .f32, "in-place op needs a contiguous float32 tensor")
            let d = f32
            withoutActuallyEscaping(f) { f in
                parallelChunks(count) { r in
                    for i in r { d[i] = f(d[i]) }
                }
            }
        }
    }

    public func sum() -> Double {
        let c = float32()
        var s = 0.0
        for i in 0..<count { s += Double(c.f32[i]) }
        return s
    }

    public func maxAbs() -> Float {
        let c = float32()
        var m: Float = 0
        for i in 0..<count { m = Swift.max(m, abs(c.f32[i])) }
        return m
    }
}
