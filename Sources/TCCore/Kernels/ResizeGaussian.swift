import Foundation

/// kornia's normalised 1-D Gaussian in float32: exp(−d²/(2σ²)) over offsets from the window
/// centre (half-integer offsets for an even size), d² measured from the nearest sample, divided
/// by the sum.
public func gaussianKernel1d(size: Int, sigma: Float) -> [Float] {
    precondition(size > 0 && sigma > 0, "gaussianKernel1d: size \(size), sigma \(sigma)")
    let mean = Float(size / 2)
    let x = (0..<size).map { Float($0) - mean + (size % 2 == 0 ? 0.5 : 0) }
    let sq = x.map { $0 * $0 }
    let nearest = sq.min()!
    let den = 2 * (sigma * sigma)
    let g = sq.map { expf(-($0 - nearest) / den) }
    let total = g.reduce(0, +)
    return g.map { $0 / total }
}

/// Mirror index without repeating the edge (PyTorch's "reflect" padding), folded as often as needed.
@inline(__always) func reflectIndex(_ i: Int, _ n: Int) -> Int {
    if n == 1 { return 0 }
    let period = 2 * (n - 1)
    var j = i % period
    if j < 0 { j += period }
    return j < n ? j : period - j
}

/// `kornia.filters.gaussian_blur2d(x, (kh, kw), (σy, σx), border_type="reflect")` over the last
/// two axes of (…, H, W): the horizontal pass first, then the vertical one, each tap accumulated
/// in order into a float32 intermediate.
public func gaussianBlur2d(_ x: Tensor, kernelSize: (height: Int, width: Int),
                           sigma: (y: Float, x: Float)) -> Tensor {
    precondition(x.rank >= 2 && kernelSize.height % 2 == 1 && kernelSize.width % 2 == 1,
                 "gaussianBlur2d: input \(x.shape), kernel \(kernelSize) (odd sizes only)")
    let kx = gaussianKernel1d(size: kernelSize.width, sigma: sigma.x)
    let ky = gaussianKernel1d(size: kernelSize.height, sigma: sigma.y)
    let src = x.float32()
    let h = src.dim(-2), w = src.dim(-1)
    let planes = src.count / max(h * w, 1)
    let mid = Tensor(empty: src.shape), out = Tensor(empty: src.shape)
    let s = src.f32, m = mid.f32, d = out.f32
    let rx = kx.count / 2, ry = ky.count / 2
    parallelChunks(planes * h, minChunk: 16) { r in
        for row in r {
            let si = s + row * w, mi = m + row * w
            for ox in 0..<w {
                var acc = si[reflectIndex(ox - rx, w)] * kx[0]
                for t in 1..<kx.count { acc += si[reflectIndex(ox - rx + t, w)] * kx[t] }
                mi[ox] = acc
            }
        }
    }
    parallelChunks(planes * h, minChunk: 16) { r in
        for row in r {
            let plane = m + (row / h) * h * w, y = row % h
            let di = d + row * w
            let first = plane + reflectIndex(y - ry, h) * w
            for ox in 0..<w { di[ox] = first[ox] * ky[0] }
            for t in 1..<ky.count {
                let src = plane + reflectIndex(y - ry + t, h) * w
                for ox in 0..<w { di[ox] += src[ox] * ky[t] }
            }
        }
    }
    return out
}

/// `kornia.geometry.resize(x, (height, width), interpolation=mode, align_corners=…, antialias=…)`
/// over the last two axes — the CLIP image preprocessing (spec §1.5, Q3). With antialias, an axis
/// shrunk by f > 1 (when any axis shrinks) is first blurred with σ = max((f−1)/2, 0.001) and an
/// odd kernel of int(max(4σ, 3)) taps (1 for a single-pixel axis), reflect border; then the image
/// is interpolated.
public func korniaResize(_ x: Tensor, height: Int, width: Int, mode: InterpolationMode = .bicubic,
                         alignCorners: Bool = true, antialias: Bool = true) -> Tensor {
    let h = x.dim(-2), w = x.dim(-1)
    let fy = Double(h) / Double(height), fx = Double(w) / Double(width)
    var input = x
    if antialias && max(fy, fx) > 1 {
        let sy = max((fy - 1) / 2, 0.001), sx = max((fx - 1) / 2, 0.001)
        func taps(_ s: Double, _ n: Int) -> Int {
            if n == 1 { return 1 }
            let k = Int(max(4 * s, 3))
            return k % 2 == 1 ? k : k + 1
        }
        input = gaussianBlur2d(x, kernelSize: (taps(sy, h), taps(sx, w)), sigma: (Float(sy), Float(sx)))
    }
    return interpolate(input, height: height, width: width, mode: mode, alignCorners: alignCorners)
}
