import Foundation

/// Budget for one column block of the transposed convolution; large inputs go in bands of rows.
private let col2imBudget = 8 << 20

/// Output size of a transposed convolution along one axis (torch.nn.ConvTranspose2d, no dilation):
/// (n − 1)·stride − cropBefore − cropAfter + kernel + outputPadding.
public func convTransposeOutputSize(_ n: Int, kernel: Int, stride: Int, cropBefore: Int, cropAfter: Int,
                                    outputPadding: Int = 0) -> Int {
    (n - 1) * stride - cropBefore - cropAfter + kernel + outputPadding
}

/// Transposed 2-D convolution as GEMM + col2im: x (N, Cin, H, W), weight (Cin, Cout, kh, kw) in
/// PyTorch's ConvTranspose2d layout → (N, Cout, Ho, Wo).
///
/// Each input pixel scatters a kh×kw patch into the output at (iy·stride + ky − top, ix·stride + kx − left);
/// `padding` crops the full output on each side as PyTorch's `padding` does, and `outputPadding`
/// adds rows/columns at the bottom/right that only receive the bias. The GEMM computes every
/// patch at once, (Cout·kh·kw × Cin) · (Cin × H·W); col2im then adds the patches up channel by
/// channel, so each output channel is written by one thread in a fixed order (deterministic).
public func convTranspose2d(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: Int = 1,
                            padding: Padding2D = .zero, outputPadding: Int = 0) -> Tensor {
    let src = x.float32(), w = weight.float32()
    precondition(src.rank == 4 && w.rank == 4, "convTranspose2d: input \(x.shape), weight \(weight.shape)")
    let n = src.dim(0), cin = src.dim(1), h = src.dim(2), wd = src.dim(3)
    let cout = w.dim(1), kh = w.dim(2), kw = w.dim(3)
    precondition(w.dim(0) == cin, "convTranspose2d: input has \(cin) channels, weight expects \(w.dim(0))")
    precondition(stride >= 1 && outputPadding >= 0 && outputPadding < stride,
                 "convTranspose2d: stride \(stride), output padding \(outputPadding)")
    let ho = convTransposeOutputSize(h, kernel: kh, stride: stride, cropBefore: padding.top,
                                     cropAfter: padding.bottom, outputPadding: outputPadding)
    let wo = convTransposeOutputSize(wd, kernel: kw, stride: stride, cropBefore: padding.left,
                                     cropAfter: padding.right, outputPadding: outputPadding)
    precondition(ho > 0 && wo > 0, "convTranspose2d: padding \(padding) leaves no output for \(h)×\(wd)")
    let out = Tensor(empty: [n, cout, ho, wo])
    let bp = bias?.float32()
    let patches = cout * kh * kw
    let plane = ho * wo
    let rowsPerBlock = max(1, min(h, col2imBudget / max(patches * wd * 4, 1)))
    let col = Tensor(empty: [patches * rowsPerBlock * wd])

    for i in 0..<n {
        let xi = src.f32 + i * cin * h * wd
        let oi = out.f32 + i * cout * plane
        parallelFor(cout) { co in
            (oi + co * plane).update(repeating: bp?.f32[co] ?? 0, count: plane)
        }
        var r0 = 0
        while r0 < h {
            let rows = min(rowsPerBlock, h - r0)
            sgemm(transA: true, m: patches, n: rows * wd, k: cin, a: w.f32, lda: patches,
                  b: xi + r0 * wd, ldb: h * wd, c: col.f32, ldc: rows * wd)
            col2im(col.f32, rowStart: r0, rows: rows, w: wd, cout: cout, kh: kh, kw: kw, stride: stride,
                   top: padding.top, left: padding.left, ho: ho, wo: wo, into: oi)
            r0 += rows
        }
    }
    return out
}

/// Adds the patches of input rows [rowStart, rowStart+rows) into the (Cout, Ho, Wo) output.
private func col2im(_ col: UnsafePointer<Float>, rowStart: Int, rows: Int, w: Int, cout: Int, kh: Int, kw: Int,
                    stride: Int, top: Int, left: Int, ho: Int, wo: Int, into out: UnsafeMutablePointer<Float>) {
    let cols = rows * w
    parallelFor(cout) { co in
        let dst = out + co * ho * wo
        for ky in 0..<kh {
            for kx in 0..<kw {
                let src = col + ((co * kh + ky) * kw + kx) * cols
                // Input columns whose output column ix·stride + kx − left lands in [0, Wo).
                let lo = max(0, ceilDiv(left - kx, stride))
                let hi = min(w, ceilDiv(wo + left - kx, stride))
                if hi <= lo { continue }
                for r in 0..<rows {
                    let oy = (rowStart + r) * stride + ky - top
                    if oy < 0 || oy >= ho { continue }
                    let s = src + r * w
                    let d = dst + oy * wo + kx - left
                    if stride == 1 {
                        for ix in lo..<hi { d[ix] += s[ix] }
                    } else {
                        for ix in lo..<hi { d[ix * stride] += s[ix] }
                    }
                }
            }
        }
    }
}

@inline(__always) private func ceilDiv(_ a: Int, _ b: Int) -> Int {
    a >= 0 ? (a + b - 1) / b : -((-a) / b)
}
