import CTCKernels
import Foundation
import TCCore

/// temporalConv(SiLU(GroupNorm(x))) with the GroupNorm's statistics pooled over each clip of
/// `frames` frames (the decoder's `time_stack`, spec §4.2), without materialising the normalised
/// clip: the statistics are gathered first, then frames are normalised on the fly into a ring of
/// kernel-size frames as the convolution walks forward in time. With `inPlace`, output frame t
/// overwrites input frame t (its normalised copy is already in the ring), so the whole step needs
/// one clip of memory instead of three.
func streamedNormalizedTemporalConv(_ x: Tensor, norm: GroupNorm, conv: TemporalConv, frames t: Int,
                                    inPlace: Bool) -> Tensor {
    // Profiled as a temporal conv (its GEMMs, the statistics and the normalisation together).
    OpProfile.measure(.temporalConv, flops: 2 * Double(x.count) * Double(conv.weight.count) / Double(max(x.dim(1), 1))) {
        streamedKernel(x, norm: norm, conv: conv, frames: t, inPlace: inPlace)
    }
}

private func streamedKernel(_ x: Tensor, norm: GroupNorm, conv: TemporalConv, frames t: Int, inPlace: Bool) -> Tensor {
    let src = x.float32()
    let nt = src.dim(0), c = src.dim(1), hw = src.count / max(nt * c, 1)
    let w = conv.weight.float32()
    let o = w.dim(0), kt = w.dim(2), pad = kt / 2
    precondition(w.dim(1) == c && (!inPlace || o == c) && nt % t == 0, "streamed temporal conv: \(x.shape) with \(conv.weight.shape)")
    let stats = ClipGroupNorm(src, norm: norm, frames: t)
    // One contiguous (O, C) matrix per temporal tap.
    let taps = Tensor(empty: [kt, o, c])
    for k in 0..<kt {
        for oc in 0..<o { for ci in 0..<c { taps.f32[(k * o + oc) * c + ci] = w.f32[(oc * c + ci) * kt + k] } }
    }
    let out = inPlace ? src : Tensor(empty: [nt, o] + Array(src.shape.dropFirst(2)))
    let ring = Tensor(empty: [kt, c, hw])
    let bias = conv.bias?.float32()
    for v in 0..<(nt / t) {
        var ready = -1
        for f in 0..<t {
            // Normalise every input frame this output needs that is not in the ring yet.
            while ready < min(f + pad, t - 1) {
                ready += 1
                stats.normalize(src.f32 + (v * t + ready) * c * hw, into: ring.f32 + (ready % kt) * c * hw, video: v, size: hw)
            }
            let dst = out.f32 + (v * t + f) * o * hw
            var first = true
            for k in 0..<kt {
                let j = f + k - pad
                if j < 0 || j >= t { continue }
                sgemm(m: o, n: hw, k: c, a: taps.f32 + k * o * c, lda: c, b: ring.f32 + (j % kt) * c * hw, ldb: hw,
                      beta: first ? 0 : 1, c: dst, ldc: hw)
                first = false
            }
            if first { dst.update(repeating: 0, count: o * hw) }
            if let bias {
                let b = bias.f32
                parallelFor(o) { oc in
                    let row = dst + oc * hw
                    let bv = b[oc]
                    for i in 0..<hw { row[i] += bv }
                }
            }
        }
    }
    return out
}

/// Per video and channel, GroupNorm as y = (x − mean)·scale + shift with statistics over the group's
/// channels × `frames` frames × positions (biased variance, float64 sums, two passes: as `groupNorm`).
/// The mean is a float pair (hi, lo) as there, so x − hi is exact near the mean.
private struct ClipGroupNorm {
    let meanHi: Tensor, meanLo: Tensor, scale: Tensor
    /// β, the same for every video.
    let shift: Tensor

    init(_ x: Tensor, norm: GroupNorm, frames t: Int) {
        let nt = x.dim(0), c = x.dim(1), hw = x.count / max(nt * c, 1)
        let groups = norm.groups, cpg = c / groups, videos = nt / t
        let gamma = norm.weight.float32()
        shift = norm.bias.float32()
        meanHi = Tensor(empty: [videos, c]); meanLo = Tensor(empty: [videos, c])
        scale = Tensor(empty: [videos, c])
        let xs = x.f32, gp = gamma.f32
        let mh = meanHi.f32, ml = meanLo.f32, sp = scale.f32
        let eps = Double(norm.eps)
        parallelFor(videos * groups) { job in
            let v = job / groups, g = job % groups
            let n = Double(t * cpg * hw)
            func base(_ f: Int) -> UnsafeMutablePointer<Float> { xs + ((v * t + f) * c + g * cpg) * hw }
            var sum = 0.0
            for f in 0..<t { sum += tck_sum(base(f), cpg * hw) }
            let mean = sum / n
            var sq = 0.0
            for f in 0..<t { sq += tck_sum_sq_dev(base(f), cpg * hw, mean) }
            let rstd = Float(1 / (sq / n + eps).squareRoot())
            let hi = Float(mean), lo = Float(mean - Double(hi))
            for ch in (g * cpg)..<((g + 1) * cpg) {
                mh[v * c + ch] = hi
                ml[v * c + ch] = lo
                sp[v * c + ch] = rstd * gp[ch]
            }
        }
    }

    /// SiLU(GroupNorm(x)) of frame `f` of video `v` (C × hw floats) into `y`.
    func normalize(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, video v: Int, size hw: Int) {
        let c = scale.dim(1)
        let mh = meanHi.f32 + v * c, ml = meanLo.f32 + v * c, sp = scale.f32 + v * c, hp = shift.f32
        parallelFor(c) { ch in
            tck_norm_apply(x + ch * hw, y + ch * hw, hw, mh[ch], ml[ch], sp[ch], hp[ch], 1)
        }
    }
}
