import Foundation

/// conv2d(upsampleNearest2x(x), weight, bias, padding 1) for a 3×3 weight, computed at x's
/// resolution. Output pixel (2y + py, 2x + px) of the upsampled convolution reads only x's rows
/// {y − 1, y} (py = 0) or {y, y + 1} (py = 1), and likewise columns, so each of the four output
/// phases is a 2×2 convolution of x with taps summed from the 3×3 kernel: 16 multiply-adds per
/// output pixel and channel pair instead of 36, and the 4× larger upsampled input never exists.
/// Matches the two-step definition up to float rounding (the summed taps round once more).
public func conv2dNearestUpsampled2x(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
    let n = x.dim(0), h = x.dim(2), wd = x.dim(3)
    let o = weight.dim(0), c = weight.dim(1)
    return OpProfile.measure(.conv, flops: 2 * Double(n * 4 * h * wd) * Double(o * c * 4)) {
        let src = x.float32(), w = weight.float32()
        precondition(src.rank == 4 && w.rank == 4 && w.dim(2) == 3 && w.dim(3) == 3 && w.dim(1) == src.dim(1),
                     "conv2dNearestUpsampled2x: input \(x.shape), weight \(weight.shape) (3×3 expected)")
        let out = Tensor(empty: [n, o, 2 * h, 2 * wd])
        let phaseWeight = Tensor(empty: [o, c, 2, 2])
        let wp = w.f32, pp = phaseWeight.f32, op = out.f32
        for py in 0..<2 {
            for px in 0..<2 {
                parallelChunks(o * c, minChunk: 1024) { range in
                    for j in range {
                        let k = wp + j * 9, dst = pp + j * 4
                        for a in 0..<2 {
                            for b in 0..<2 {
                                var s: Float = 0
                                for ky in upsampledTaps[py][a] { for kx in upsampledTaps[px][b] { s += k[ky * 3 + kx] } }
                                dst[a * 2 + b] = s
                            }
                        }
                    }
                }
                let phase = conv2d(src, weight: phaseWeight, bias: bias,
                                   padding: Padding2D(top: 1 - py, bottom: py, left: 1 - px, right: px))
                let sp = phase.f32
                withExtendedLifetime(phase) {
                    parallelFor(n * o) { j in
                        for y in 0..<h {
                            let s = sp + (j * h + y) * wd, d = op + (j * 2 * h + 2 * y + py) * 2 * wd + px
                            for i in 0..<wd { d[2 * i] = s[i] }
                        }
                    }
                }
            }
        }
        return out
    }
}

/// The 3×3 kernel rows (or columns) that fall on input row offset a ∈ {0, 1} of output phase p:
/// phase 0 reads rows y − 1 (tap 0) and y (taps 1, 2); phase 1 reads y (taps 0, 1) and y + 1 (tap 2).
private let upsampledTaps: [[[Int]]] = [[[0], [1, 2]], [[0, 1], [2]]]
