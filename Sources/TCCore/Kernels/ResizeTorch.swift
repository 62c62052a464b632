import Foundation

/// Modes of `torch.nn.functional.interpolate` over two spatial axes.
public enum InterpolationMode: Sendable {
    case bilinear, bicubic
}

/// Input indices (already clamped to the image) and float32 weights of one axis, `taps` per output.
struct InterpolationTaps {
    let taps: Int
    let index: [Int]
    let weight: [Float]
}

/// PyTorch's per-axis source coordinates and weights (ATen UpSample.h), in float32 as ATen
/// computes them for float tensors: with align_corners the source of output i is i·(in−1)/(out−1),
/// otherwise (i + 0.5)·in/out − 0.5. Bicubic uses A = −0.75 and clamps its four taps at the border.
/// The fused multiply-adds follow the contraction of torch's x86 build, so the weights agree with
/// torch 2.15 to the last bit or one ulp.
func torchTaps(inSize: Int, outSize: Int, mode: InterpolationMode, alignCorners: Bool) -> InterpolationTaps {
    let scale: Float = alignCorners
        ? (outSize > 1 ? Float(inSize - 1) / Float(outSize - 1) : 0)
        : Float(inSize) / Float(outSize)
    func source(_ i: Int, cubic: Bool) -> Float {
        if alignCorners { return scale * Float(i) }
        let s = Float(-0.5).addingProduct(scale, Float(i) + 0.5)
        return !cubic && s < 0 ? 0 : s
    }
    func guarded(_ real: Float) -> (Int, Float) {
        let i = min(Int(real.rounded(.down)), inSize - 1)
        return (i, min(max(real - Float(i), 0), 1))
    }
    switch mode {
    case .bilinear:
        var index = [Int](), weight = [Float]()
        for i in 0..<outSize {
            if inSize == outSize {
                index += [i, i]
                weight += [1, 0]
                continue
            }
            let (i0, l1) = guarded(source(i, cubic: false))
            index += [i0, i0 + (i0 < inSize - 1 ? 1 : 0)]
            weight += [1 - l1, l1]
        }
        return InterpolationTaps(taps: 2, index: index, weight: weight)
    case .bicubic:
        let a: Float = -0.75
        func near(_ x: Float) -> Float { Float(1).addingProduct((-(a + 3)).addingProduct(a + 2, x) * x, x) }
        func far(_ x: Float) -> Float {
            (-4 * a).addingProduct((8 * a).addingProduct((-5 * a).addingProduct(a, x), x), x)
        }
        var index = [Int](), weight = [Float]()
        for i in 0..<outSize {
            let (i0, t) = guarded(source(i, cubic: true))
            for j in 0..<4 { index.append(max(min(i0 - 1 + j, inSize - 1), 0)) }
            weight += [far(t + 1), near(t), near(1 - t), far(1 - t + 1)]
        }
        return InterpolationTaps(taps: 4, index: index, weight: weight)
    }
}

/// `torch.nn.functional.interpolate(x, size=(height, width), mode=mode, align_corners=…)` over
/// the last two axes of (…, H, W). Each output is Σ_y w_y·(Σ_x w_x·p), summed in ATen's order.
public func interpolate(_ x: Tensor, height: Int, width: Int, mode: InterpolationMode,
                        alignCorners: Bool) -> Tensor {
    precondition(x.rank >= 2 && height > 0 && width > 0, "interpolate: input \(x.shape) to \(height)×\(width)")
    let src = x.float32()
    let inH = src.dim(-2), inW = src.dim(-1)
    precondition(inH > 0 && inW > 0, "interpolate: empty input \(x.shape)")
    let ty = torchTaps(inSize: inH, outSize: height, mode: mode, alignCorners: alignCorners)
    let tx = torchTaps(inSize: inW, outSize: width, mode: mode, alignCorners: alignCorners)
    let planes = src.count / (inH * inW)
    let out = Tensor(empty: Array(src.shape.dropLast(2)) + [height, width])
    let s = src.f32, d = out.f32
    let n = tx.taps
    parallelChunks(planes * height, minChunk: 8) { r in
        for job in r {
            let plane = s + (job / height) * inH * inW, y = job % height
            let orow = d + job * width
            for ox in 0..<width {
                let xi = ox * n
                var acc: Float = 0
                for j in 0..<n {
                    let row = plane + ty.index[y * n + j] * inW
                    var t = row[tx.index[xi]] * tx.weight[xi]
                    for k in 1..<n { t += row[tx.index[xi + k]] * tx.weight[xi + k] }
                    acc = j == 0 ? t * ty.weight[y * n] : acc + t * ty.weight[y * n + j]
                }
                orow[ox] = acc
            }
        }
    }
    return out
}
