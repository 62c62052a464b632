import Foundation

/// Zero padding of a 2-D convolution: (top, bottom, left, right). The VAE's downsample pads only
/// bottom and right (spec Q20), so padding is not assumed symmetric.
public struct Padding2D: Equatable, Sendable {
    public var top: Int, bottom: Int, left: Int, right: Int
    public init(top: Int, bottom: Int, left: Int, right: Int) {
        self.top = top; self.bottom = bottom; self.left = left; self.right = right
    }
    public static func same(_ p: Int) -> Padding2D { Padding2D(top: p, bottom: p, left: p, right: p) }
    public static let zero = Padding2D.same(0)
}

/// Budget for one im2col block; large frames are processed in bands of output rows.
private let im2colBudget = 8 << 20

/// 2-D convolution through GEMMs: x (N, C, H, W), weight (O, C, kh, kw) → (N, O, Ho, Wo).
/// FLOPs are counted as the direct convolution's, whichever `method` runs.
public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: Int = 1,
                   padding: Padding2D = .zero, method: ConvolutionMethod = .automatic) -> Tensor {
    OpProfile.measure(.conv, flops: convFLOPs(x.shape, weight.shape, stride: stride, padding: padding)) {
        conv2dKernel(x, weight: weight, bias: bias, stride: stride, padding: padding, method: method)
    }
}

/// 2 per multiply-add, zero padding included (as torch's flop counter counts).
private func convFLOPs(_ x: [Int], _ w: [Int], stride: Int, padding: Padding2D) -> Double {
    guard x.count == 4, w.count == 4 else { return 0 }
    let ho = (x[2] + padding.top + padding.bottom - w[2]) / stride + 1
    let wo = (x[3] + padding.left + padding.right - w[3]) / stride + 1
    return 2 * Double(x[0] * ho * wo) * Double(w[0] * w[1] * w[2] * w[3])
}

private func conv2dKernel(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: Int, padding: Padding2D,
                          method: ConvolutionMethod) -> Tensor {
    let src = x.float32(), w = weight.float32()
    precondition(src.rank == 4 && w.rank == 4, "conv2d: input \(x.shape), weight \(weight.shape)")
    let n = src.dim(0), c = src.dim(1), h = src.dim(2), wd = src.dim(3)
    let o = w.dim(0), kh = w.dim(2), kw = w.dim(3)
    precondition(w.dim(1) == c, "conv2d: input has \(c) channels, weight expects \(w.dim(1))")
    let ho = (h + padding.top + padding.bottom - kh) / stride + 1
    let wo = (wd + padding.left + padding.right - kw) / stride + 1
    precondition(ho > 0 && wo > 0, "conv2d: input \(h)×\(wd) too small for kernel \(kh)×\(kw)")
    let out = Tensor(empty: [n, o, ho, wo])
    let ck = c * kh * kw
    let hw = ho * wo
    let bp = bias?.float32()

    if usesWinograd(method, c: c, o: o, kh: kh, kw: kw, stride: stride) {
        conv2dWinograd(src, w, bp, padding: padding, into: out)
        return out
    }
    if hw < smallFrame && n > 1 {
        // Few output pixels per frame (the UNet's 20×32 … 5×8 levels): one GEMM per group of
        // frames, whose wider N keeps OpenBLAS efficient (n = 40 runs at ~60 % of n = 640).
        let nb = max(1, min(n, batchedIm2colBudget / max(ck * hw * 4, 1)))
        let col = Tensor(empty: [ck * nb * hw]), tmp = Tensor(empty: [o * nb * hw])
        let tp = tmp.f32, op = out.f32
        var f0 = 0
        while f0 < n {
            let nf = min(nb, n - f0)
            for j in 0..<nf {
                im2col(src.f32 + (f0 + j) * c * h * wd, c: c, h: h, w: wd, kh: kh, kw: kw, stride: stride,
                       padding: padding, wo: wo, rowStart: 0, rows: ho, into: col.f32 + j * hw, ld: nf * hw)
            }
            sgemm(m: o, n: nf * hw, k: ck, a: w.f32, lda: ck, b: col.f32, ldb: nf * hw, c: tp, ldc: nf * hw)
            let first = f0
            parallelFor(nf) { j in
                for oc in 0..<o { (op + ((first + j) * o + oc) * hw).update(from: tp + oc * nf * hw + j * hw, count: hw) }
            }
            f0 += nf
        }
    } else if kh == 1 && kw == 1 && stride == 1 && padding == .zero {
        for i in 0..<n {
            sgemm(m: o, n: hw, k: c, a: w.f32, lda: c, b: src.f32 + i * c * h * wd, ldb: hw,
                  c: out.f32 + i * o * hw, ldc: hw)
        }
    } else {
        let rowsPerBlock = max(1, min(ho, im2colBudget / max(ck * wo * 4, 1)))
        let col = Tensor(empty: [ck * rowsPerBlock * wo])
        for i in 0..<n {
            let xi = src.f32 + i * c * h * wd
            var r0 = 0
            while r0 < ho {
                let rows = min(rowsPerBlock, ho - r0)
                im2col(xi, c: c, h: h, w: wd, kh: kh, kw: kw, stride: stride, padding: padding,
                       wo: wo, rowStart: r0, rows: rows, into: col.f32, ld: rows * wo)
                sgemm(m: o, n: rows * wo, k: ck, a: w.f32, lda: ck, b: col.f32, ldb: rows * wo,
                      c: out.f32 + i * o * hw + r0 * wo, ldc: hw)
                r0 += rows
            }
        }
    }
    if let bp { addChannelBias(out, bp) }
    return out
}

/// Frames with fewer output pixels than this are convolved several at a time.
private let smallFrame = 1024
/// Budget for the im2col block of a group of small frames.
private let batchedIm2colBudget = 32 << 20

/// Unfolds output rows [rowStart, rowStart+rows) into a (C·kh·kw) × (rows·Wo) matrix whose rows
/// are `ld` floats apart.
private func im2col(_ x: UnsafePointer<Float>, c: Int, h: Int, w: Int, kh: Int, kw: Int, stride: Int,
                    padding: Padding2D, wo: Int, rowStart: Int, rows: Int, into col: UnsafeMutablePointer<Float>,
                    ld cols: Int) {
    parallelFor(c) { ch in
        let xc = x + ch * h * w
        for ky in 0..<kh {
            for kx in 0..<kw {
                let dst = col + ((ch * kh + ky) * kw + kx) * cols
                for r in 0..<rows {
                    let iy = (rowStart + r) * stride + ky - padding.top
                    let d = dst + r * wo
                    if iy < 0 || iy >= h {
                        d.update(repeating: 0, count: wo)
                        continue
                    }
                    let xr = xc + iy * w
                    if stride == 1 {
                        // Valid output columns are those whose input column lands inside the row.
                        let lo = max(0, padding.left - kx), hi = min(wo, w + padding.left - kx)
                        if hi <= lo {
                            d.update(repeating: 0, count: wo)
                            continue
                        }
                        if lo > 0 { d.update(repeating: 0, count: lo) }
                        (d + lo).update(from: xr + lo + kx - padding.left, count: hi - lo)
                        if hi < wo { (d + hi).update(repeating: 0, count: wo - hi) }
                    } else {
                        for ox in 0..<wo {
                            let ix = ox * stride + kx - padding.left
                            d[ox] = ix >= 0 && ix < w ? xr[ix] : 0
                        }
                    }
                }
            }
        }
    }
}

/// Adds bias[c] to every element of channel c of an (N, C, …) tensor in place.
func addChannelBias(_ t: Tensor, _ bias: Tensor) {
    let n = t.dim(0), c = t.dim(1)
    let inner = t.count / max(n * c, 1)
    let p = t.f32, b = bias.f32
    parallelFor(n * c) { j in
        let v = b[j % c]
        let row = p + j * inner
        for i in 0..<inner { row[i] += v }
    }
}

/// Convolution along time with kernel (kt, 1, 1) and zero padding `pad` frames on each side
/// (the reference's Conv3d temporal layers, spec Q22). x is (B·T, C, H, W) with `frames` = T.
/// weight (O, C, kt, 1, 1) or (O, C, kt).
public func temporalConv(_ x: Tensor, weight: Tensor, bias: Tensor?, frames: Int, pad: Int) -> Tensor {
    OpProfile.measure(.temporalConv, flops: 2 * Double(x.count) * Double(weight.count) / Double(max(x.dim(1), 1))) {
        temporalConvKernel(x, weight: weight, bias: bias, frames: frames, pad: pad)
    }
}

private func temporalConvKernel(_ x: Tensor, weight: Tensor, bias: Tensor?, frames: Int, pad: Int) -> Tensor {
    let src = x.float32(), w = weight.float32()
    let nt = src.dim(0), c = src.dim(1)
    precondition(nt % frames == 0, "temporalConv: \(nt) frames not divisible by clip length \(frames)")
    let o = w.dim(0), kt = w.dim(2)
    precondition(w.dim(1) == c, "temporalConv: \(c) channels vs weight \(weight.shape)")
    let hw = src.count / max(nt * c, 1)
    let b = nt / frames
    let tOut = frames + 2 * pad - kt + 1
    precondition(tOut == frames, "temporalConv: only shape-preserving padding is supported")
    // One contiguous (O, C) matrix per temporal tap.
    let taps = Tensor(empty: [kt, o, c])
    for k in 0..<kt {
        let dst = taps.f32 + k * o * c
        for oc in 0..<o { for ci in 0..<c { dst[oc * c + ci] = w.f32[(oc * c + ci) * kt + k] } }
    }
    let out = Tensor(empty: [nt, o] + Array(src.shape.dropFirst(2)))
    if hw < smallFrame && frames > 1 {
        temporalConvBatched(src, taps, out, b: b, frames: frames, c: c, o: o, hw: hw, kt: kt, pad: pad)
        if let bias { addChannelBias(out, bias.float32()) }
        return out
    }
    for bi in 0..<b {
        for t in 0..<frames {
            let dst = out.f32 + (bi * frames + t) * o * hw
            var first = true
            for k in 0..<kt {
                let ti = t + k - pad
                if ti < 0 || ti >= frames { continue }
                sgemm(m: o, n: hw, k: c, a: taps.f32 + k * o * c, lda: c,
                      b: src.f32 + (bi * frames + ti) * c * hw, ldb: hw,
                      beta: first ? 0 : 1, c: dst, ldc: hw)
                first = false
            }
            if first { dst.update(repeating: 0, count: o * hw) }
        }
    }
    if let bias { addChannelBias(out, bias.float32()) }
    return out
}

/// The temporal convolution of one clip as one GEMM per tap: frames are laid side by side,
/// (C, T·HW), so tap k reads the same matrix shifted by k − pad frames.
private func temporalConvBatched(_ src: Tensor, _ taps: Tensor, _ out: Tensor, b: Int, frames: Int, c: Int, o: Int,
                                 hw: Int, kt: Int, pad: Int) {
    let n = frames * hw
    let xt = Tensor(empty: [c, n]), ot = Tensor(empty: [o, n])
    let xp = xt.f32, otp = ot.f32, sp = src.f32, dp = out.f32
    for bi in 0..<b {
        parallelFor(frames) { t in
            for ci in 0..<c { (xp + ci * n + t * hw).update(from: sp + ((bi * frames + t) * c + ci) * hw, count: hw) }
        }
        // The centre tap reaches every frame, so it initialises the output; the others accumulate.
        let order = [pad] + (0..<kt).filter { $0 != pad }
        for k in order {
            let t0 = max(0, pad - k), t1 = min(frames, frames + pad - k)
            if t1 <= t0 { continue }
            sgemm(m: o, n: (t1 - t0) * hw, k: c, a: taps.f32 + k * o * c, lda: c, b: xp + (t0 + k - pad) * hw, ldb: n,
                  beta: k == pad ? 0 : 1, c: otp + t0 * hw, ldc: n)
        }
        parallelFor(frames) { t in
            for oc in 0..<o { (dp + ((bi * frames + t) * o + oc) * hw).update(from: otp + oc * n + t * hw, count: hw) }
        }
    }
}
