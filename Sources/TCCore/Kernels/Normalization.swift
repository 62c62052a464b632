import CTCKernels
import Foundation

/// GroupNorm over x (N, C, …). `span` consecutive samples share statistics: the reference applies
/// some GroupNorms to 5-D (b, c, t, h, w) tensors, so with activations stored as (b·t, c, h, w) the
/// statistics of group g pool C/G channels × t frames × h·w (spec §4.2). `span` = 1 is per frame.
/// Biased variance from float64 sums (two passes, so a large common offset costs no precision);
/// y = (x − mean)·rstd·γ + β. `silu` fuses the activation that usually follows.
public func groupNorm(_ x: Tensor, groups: Int, weight: Tensor?, bias: Tensor?, eps: Float,
                      span: Int = 1, silu fuseSiLU: Bool = false) -> Tensor {
    OpProfile.measure(.norm) {
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
        withExtendedLifetime((src, gamma, beta)) {
            parallelFor(videos * groups) { job in
                let v = job / groups, g = job % groups
                func base(_ t: Int) -> Int { ((v * span + t) * c + g * cpg) * inner }
                var sum = 0.0
                for t in 0..<span { sum += tck_sum(xs + base(t), groupLen) }
                let total = Double(groupLen * span)
                let mean = sum / total
                var sq = 0.0
                for t in 0..<span { sq += tck_sum_sq_dev(xs + base(t), groupLen, mean) }
                let rstd = Float(1.0 / (sq / total + Double(eps)).squareRoot())
                // The mean as a float pair: x − hi is exact for x near the mean, lo restores the rest.
                let m = Float(mean), lo = Float(mean - Double(m))
                for t in 0..<span {
                    for ch in 0..<cpg {
                        let cc = g * cpg + ch
                        let scale = rstd * (gp?[cc] ?? 1), shift = bp?[cc] ?? 0
                        tck_norm_apply(xs + base(t) + ch * inner, ys + base(t) + ch * inner, inner, m, lo, scale, shift,
                                       fuseSiLU ? 1 : 0)
                    }
                }
            }
        }
        return out
    }
}

/// LayerNorm over the last axis, biased variance.
public func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float) -> Tensor {
    OpProfile.measure(.norm) {
        let src = x.float32()
        let d = src.dim(-1)
        let rows = src.count / max(d, 1)
        let out = Tensor(empty: src.shape)
        let gamma = weight?.float32(), beta = bias?.float32()
        let gp = gamma?.f32, bp = beta?.f32
        let xs = src.f32, ys = out.f32
        withExtendedLifetime((src, gamma, beta)) {
            parallelChunks(rows, minChunk: 16) { r in
                for row in r {
                    let xi = xs + row * d, yo = ys + row * d
                    let mean = tck_sum(xi, d) / Double(d)
                    let sq = tck_sum_sq_dev(xi, d, mean)
                    let rstd = Float(1.0 / (sq / Double(d) + Double(eps)).squareRoot())
                    let m = Float(mean), lo = Float(mean - Double(m))
                    if let gp, let bp {
                        for i in 0..<d { yo[i] = (xi[i] - m - lo) * rstd * gp[i] + bp[i] }
                    } else if let gp {
                        for i in 0..<d { yo[i] = (xi[i] - m - lo) * rstd * gp[i] }
                    } else {
                        for i in 0..<d { yo[i] = (xi[i] - m - lo) * rstd }
                    }
                }
            }
        }
        return out
    }
}

/// InstanceNorm2d without affine parameters: per sample and channel over H·W (Anime2Sketch).
public func instanceNorm(_ x: Tensor, eps: Float) -> Tensor {
    OpProfile.measure(.norm) {
        groupNorm(x, groups: x.dim(1), weight: nil, bias: nil, eps: eps)
    }
}
