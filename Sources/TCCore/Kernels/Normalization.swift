import Foundation

/// GroupNorm over x (N, C, …). `span` consecutive samples share statistics: the reference applies
/// some GroupNorms to 5-D (b, c, t, h, w) tensors, so with activations stored as (b·t, c, h, w) the
/// statistics of group g pool C/G channels × t frames × h·w (spec §4.2). `span` = 1 is per frame.
/// Biased variance, float64 accumulation; `silu` fuses the activation that usually follows.
public func groupNorm(_ x: Tensor, groups: Int, weight: Tensor?, bias: Tensor?, eps: Float,
                      span: Int = 1, silu fuseSiLU: Bool = false) -> Tensor {
    let src = x.float32()
    let n = src.dim(0), c = src.dim(1)
    precondition(c % groups == 0, "groupNorm: \(c) channels not divisible by \(groups) groups")
    precondition(n % span == 0, "groupNorm: batch \(n) not divisible by span \(span)")
    let inner = src.count / max(n * c, 1)
    let cpg = c / groups
    let out = Tensor(empty: src.shape)
    let gamma = weight?.float32(), beta = bias?.float32()
    let gp = gamma?.f32, bp = beta?.f32
    let xs = src.f32, ys = out.f32
    let videos = n / span
    let groupLen = cpg * inner
    parallelFor(videos * groups) { job in
        let v = job / groups, g = job % groups
        var sum = 0.0
        for t in 0..<span {
            let base = xs + ((v * span + t) * c + g * cpg) * inner
            var s: Float = 0, acc = 0.0
            for i in 0..<groupLen {
                s += base[i]
                if i & 1023 == 1023 { acc += Double(s); s = 0 }
            }
            sum += acc + Double(s)
        }
        let total = Double(groupLen * span)
        let mean = sum / total
        var sq = 0.0
        for t in 0..<span {
            let base = xs + ((v * span + t) * c + g * cpg) * inner
            var s: Float = 0, acc = 0.0
            let m = Float(mean)
            for i in 0..<groupLen {
                let d = base[i] - m
                s += d * d
                if i & 1023 == 1023 { acc += Double(s); s = 0 }
            }
            sq += acc + Double(s)
        }
        let rstd = Float(1.0 / (sq / total + Double(eps)).squareRoot())
        let m = Float(mean)
        for t in 0..<span {
            for ch in 0..<cpg {
                let cc = g * cpg + ch
                let off = ((v * span + t) * c + cc) * inner
                let scale = rstd * (gp?[cc] ?? 1)
                let shift = (bp?[cc] ?? 0) - m * scale
                let xi = xs + off, yo = ys + off
                if fuseSiLU {
                    for i in 0..<inner { yo[i] = silu(xi[i] * scale + shift) }
                } else {
                    for i in 0..<inner { yo[i] = xi[i] * scale + shift }
                }
            }
        }
    }
    return out
}

/// LayerNorm over the last axis, biased variance.
public func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float) -> Tensor {
    let src = x.float32()
    let d = src.dim(-1)
    let rows = src.count / max(d, 1)
    let out = Tensor(empty: src.shape)
    let gamma = weight?.float32(), beta = bias?.float32()
    let gp = gamma?.f32, bp = beta?.f32
    let xs = src.f32, ys = out.f32
    parallelChunks(rows, minChunk: 16) { r in
        for row in r {
            let xi = xs + row * d, yo = ys + row * d
            var s = 0.0
            for i in 0..<d { s += Double(xi[i]) }
            let mean = s / Double(d)
            var sq = 0.0
            for i in 0..<d { let v = Double(xi[i]) - mean; sq += v * v }
            let rstd = Float(1.0 / (sq / Double(d) + Double(eps)).squareRoot())
            let m = Float(mean)
            if let gp, let bp {
                for i in 0..<d { yo[i] = (xi[i] - m) * rstd * gp[i] + bp[i] }
            } else if let gp {
                for i in 0..<d { yo[i] = (xi[i] - m) * rstd * gp[i] }
            } else {
                for i in 0..<d { yo[i] = (xi[i] - m) * rstd }
            }
        }
    }
    return out
}

/// InstanceNorm2d without affine parameters: per sample and channel over H·W (Anime2Sketch).
public func instanceNorm(_ x: Tensor, eps: Float) -> Tensor {
    groupNorm(x, groups: x.dim(1), weight: nil, bias: nil, eps: eps)
}
