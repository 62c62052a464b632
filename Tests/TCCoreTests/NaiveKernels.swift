import Foundation
import TCCore

// Independent references: direct loops in float64 written from each op's definition, sharing no
// code with the kernels they check.

/// Row-major values and shape of a tensor, in Double.
struct Dense {
    var shape: [Int]
    var v: [Double]

    init(_ t: Tensor) {
        shape = t.shape
        v = t.toArray().map(Double.init)
    }

    init(shape: [Int], v: [Double]) {
        self.shape = shape
        self.v = v
    }

    init(zeros shape: [Int]) {
        self.shape = shape
        v = [Double](repeating: 0, count: shape.reduce(1, *))
    }

    var floats: [Float] { v.map { Float($0) } }

    func index(_ i: [Int]) -> Int {
        var k = 0
        for (d, n) in zip(i, shape) { k = k * n + d }
        return k
    }

    subscript(_ i: Int...) -> Double {
        get { v[index(i)] }
        set { v[index(i)] = newValue }
    }
}

/// Largest |got − want| relative to max(1, max |want|).
func relativeError(_ got: Tensor, _ want: Dense) -> Double {
    guard got.shape == want.shape else { return .infinity }
    let g = got.toArray()
    var err = 0.0, scale = 1.0
    for i in 0..<g.count {
        let d = abs(Double(g[i]) - want.v[i])
        if d.isNaN { return .nan }
        err = max(err, d)
        scale = max(scale, abs(want.v[i]))
    }
    return err / scale
}

func naiveMatmul(_ a: Dense, _ b: Dense, transA: Bool = false, transB: Bool = false) -> Dense {
    let m = transA ? a.shape[1] : a.shape[0], k = transA ? a.shape[0] : a.shape[1]
    let n = transB ? b.shape[0] : b.shape[1]
    var c = Dense(zeros: [m, n])
    for i in 0..<m { for j in 0..<n {
        var s = 0.0
        for p in 0..<k { s += (transA ? a[p, i] : a[i, p]) * (transB ? b[j, p] : b[p, j]) }
        c[i, j] = s
    }}
    return c
}

func naiveConv2d(_ x: Dense, _ w: Dense, _ b: Dense?, stride: Int, padding: Padding2D) -> Dense {
    let n = x.shape[0], c = x.shape[1], h = x.shape[2], wd = x.shape[3]
    let o = w.shape[0], kh = w.shape[2], kw = w.shape[3]
    let ho = (h + padding.top + padding.bottom - kh) / stride + 1
    let wo = (wd + padding.left + padding.right - kw) / stride + 1
    var out = Dense(zeros: [n, o, ho, wo])
    for i in 0..<n { for oc in 0..<o { for oy in 0..<ho { for ox in 0..<wo {
        var acc = b?[oc] ?? 0
        for ic in 0..<c { for ky in 0..<kh { for kx in 0..<kw {
            let iy = oy * stride + ky - padding.top, ix = ox * stride + kx - padding.left
            if iy < 0 || iy >= h || ix < 0 || ix >= wd { continue }
            acc += x[i, ic, iy, ix] * w[oc, ic, ky, kx]
        }}}
        out[i, oc, oy, ox] = acc
    }}}}
    return out
}

/// Conv3d with kernel (kt, 1, 1) and zero padding `pad` in time over (b·t, c, h, w) activations.
func naiveTemporalConv(_ x: Dense, _ w: Dense, _ b: Dense?, frames: Int, pad: Int) -> Dense {
    let nt = x.shape[0], c = x.shape[1], hw = x.shape[2...].reduce(1, *)
    let o = w.shape[0], kt = w.shape[2]
    var out = Dense(zeros: [nt, o] + Array(x.shape[2...]))
    for v in 0..<(nt / frames) { for t in 0..<frames { for oc in 0..<o { for p in 0..<hw {
        var acc = b?.v[oc] ?? 0
        for k in 0..<kt {
            let ti = t + k - pad
            if ti < 0 || ti >= frames { continue }
            for ic in 0..<c { acc += x.v[((v * frames + ti) * c + ic) * hw + p] * w.v[(oc * c + ic) * kt + k] }
        }
        out.v[((v * frames + t) * o + oc) * hw + p] = acc
    }}}}
    return out
}

func naiveGroupNorm(_ x: Dense, groups: Int, gamma: Dense?, beta: Dense?, eps: Double, span: Int, silu: Bool) -> Dense {
    let n = x.shape[0], c = x.shape[1], inner = x.shape[2...].reduce(1, *)
    let cpg = c / groups
    var out = x
    for video in 0..<(n / span) { for g in 0..<groups {
        var idx: [Int] = []
        for t in 0..<span { for ch in 0..<cpg { for p in 0..<inner {
            idx.append(((video * span + t) * c + g * cpg + ch) * inner + p)
        }}}
        let mean = idx.reduce(0) { $0 + x.v[$1] } / Double(idx.count)
        let variance = idx.reduce(0) { $0 + (x.v[$1] - mean) * (x.v[$1] - mean) } / Double(idx.count)
        for i in idx {
            let ch = (i / inner) % c
            var y = (x.v[i] - mean) / (variance + eps).squareRoot() * (gamma?.v[ch] ?? 1) + (beta?.v[ch] ?? 0)
            if silu { y = y / (1 + exp(-y)) }
            out.v[i] = y
        }
    }}
    return out
}

func naiveLayerNorm(_ x: Dense, gamma: Dense?, beta: Dense?, eps: Double) -> Dense {
    let d = x.shape.last!
    var out = x
    for r in 0..<(x.v.count / d) {
        let row = Array(x.v[(r * d)..<((r + 1) * d)])
        let mean = row.reduce(0, +) / Double(d)
        let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(d)
        for j in 0..<d {
            out.v[r * d + j] = (row[j] - mean) / (variance + eps).squareRoot() * (gamma?.v[j] ?? 1) + (beta?.v[j] ?? 0)
        }
    }
    return out
}

func naiveSoftmaxRows(_ x: Dense) -> Dense {
    let d = x.shape.last!
    var out = x
    for r in 0..<(x.v.count / d) {
        let row = x.v[(r * d)..<((r + 1) * d)]
        let m = row.max()!
        let e = row.map { exp($0 - m) }
        let s = e.reduce(0, +)
        for (j, v) in e.enumerated() { out.v[r * d + j] = v / s }
    }
    return out
}

/// softmax(q·kᵀ·scale)·v per batch and head, heads split head-major from the channel axis;
/// k and v with batch 1 are shared by every query batch.
func naiveAttention(_ q: Dense, _ k: Dense, _ v: Dense, heads: Int, scale: Double) -> Dense {
    let b = q.shape[0], lq = q.shape[1], inner = q.shape[2]
    let lk = k.shape[1], vInner = v.shape[2]
    let d = inner / heads, dv = vInner / heads
    var out = Dense(zeros: [b, lq, vInner])
    for bi in 0..<b {
        let kb = k.shape[0] == 1 ? 0 : bi
        for h in 0..<heads { for i in 0..<lq {
            var s = [Double](repeating: 0, count: lk)
            for j in 0..<lk {
                var acc = 0.0
                for e in 0..<d { acc += q[bi, i, h * d + e] * k[kb, j, h * d + e] }
                s[j] = acc * scale
            }
            let m = s.max()!
            let ex = s.map { exp($0 - m) }
            let total = ex.reduce(0, +)
            for e in 0..<dv {
                var acc = 0.0
                for j in 0..<lk { acc += ex[j] / total * v[kb, j, h * dv + e] }
                out[bi, i, h * dv + e] = acc
            }
        }}
    }
    return out
}
