import Foundation

/// The resampling filters of `PIL.Image.resize` that the reference pipelines use: BILINEAR
/// (torchvision `Resize` on PIL images, spec §1.2) and BICUBIC (Anime2Sketch's loader).
public enum PILFilter: Sendable {
    case bilinear, bicubic

    var support: Double {
        switch self {
        case .bilinear: 1
        case .bicubic: 2
        }
    }

    /// PIL's filter kernels in double precision; bicubic is Keys' cubic with a = −0.5.
    func callAsFunction(_ t: Double) -> Double {
        let x = abs(t)
        switch self {
        case .bilinear:
            return x < 1 ? 1 - x : 0
        case .bicubic:
            let a = -0.5
            if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
            if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
            return 0
        }
    }
}

/// Taps of one axis: output i reads `count[i]` input pixels from `first[i]` with `weights[i·stride…]`.
struct ResampleTaps {
    let first: [Int]
    let count: [Int]
    let stride: Int
    let weights: [Double]
}

/// PIL's per-axis coefficients (Resample.c `precompute_coeffs`): output pixel i is centred on
/// (i + 0.5)·scale; when shrinking, the filter is widened by the scale (antialiasing). The
/// arithmetic mirrors PIL's double-precision order so the fixed-point weights come out identical.
func pilTaps(inSize: Int, outSize: Int, filter: PILFilter) -> ResampleTaps {
    let scale = Double(inSize) / Double(outSize)
    let filterScale = max(scale, 1)
    let support = filter.support * filterScale
    let stride = Int(support.rounded(.up)) * 2 + 1
    let inv = 1.0 / filterScale
    var first = [Int](repeating: 0, count: outSize)
    var count = [Int](repeating: 0, count: outSize)
    var weights = [Double](repeating: 0, count: outSize * stride)
    for i in 0..<outSize {
        let center = (Double(i) + 0.5) * scale
        // C's (int) cast truncates; below zero the result is clamped to 0 either way.
        let lo = max(0, Int(center - support + 0.5))
        let hi = min(inSize, Int(center + support + 0.5))
        let n = max(0, hi - lo)
        var total = 0.0
        for j in 0..<n {
            let w = filter((Double(j + lo) - center + 0.5) * inv)
            weights[i * stride + j] = w
            total += w
        }
        if total != 0 {
            for j in 0..<n { weights[i * stride + j] /= total }
        }
        first[i] = lo
        count[i] = n
    }
    return ResampleTaps(first: first, count: count, stride: stride, weights: weights)
}

/// PIL's 8-bit weights: 22 fractional bits, rounded half away from zero.
private func fixedPoint(_ w: [Double]) -> [Int32] {
    w.map { v in Int32((v < 0 ? v * 4_194_304 - 0.5 : v * 4_194_304 + 0.5).rounded(.towardZero)) }
}

/// `PIL.Image.resize((width, height), filter)` on images laid out (H, W), (H, W, C) or
/// (N, H, W, C), channels resampled independently (PIL's L and RGB modes; RGBA would need PIL's
/// alpha premultiplication, which this does not do).
///
/// uint8 images take PIL's 8-bit path bit for bit: weights in 22-bit fixed point, output
/// clip((2²¹ + Σ w·p) >> 22), and when both axes change two passes with an 8-bit intermediate, in
/// Pillow 13's order (see `pilResample`). Float images take PIL's mode-F path: double accumulation,
/// float32 intermediate and output. Other dtypes are converted to float32 first.
public func pilResize(_ image: Tensor, width: Int, height: Int, filter: PILFilter) -> Tensor {
    precondition((2...4).contains(image.rank), "pilResize: expected (H, W), (H, W, C) or (N, H, W, C), got \(image.shape)")
    precondition(width > 0 && height > 0, "pilResize: output size \(width)×\(height)")
    let hAxis = image.rank == 4 ? 1 : 0
    let inH = image.shape[hAxis], inW = image.shape[hAxis + 1]
    precondition(inH > 0 && inW > 0, "pilResize: empty image \(image.shape)")
    let channels = image.rank >= 3 ? image.shape[image.rank - 1] : 1
    let batch = image.rank == 4 ? image.shape[0] : 1
    var outShape = image.shape
    outShape[hAxis] = height
    outShape[hAxis + 1] = width
    let geometry = PlaneGeometry(batch: batch, channels: channels)

    if image.dtype == .u8 {
        let src = image.contiguous()
        let out = Tensor(empty: outShape, dtype: .u8)
        pilResample(src.typedPointer(UInt8.self), inH, inW, out.typedPointer(UInt8.self), height, width,
                    geometry, filter, Resample8())
        return out
    }
    let src = image.float32()
    let out = Tensor(empty: outShape)
    pilResample(src.f32, inH, inW, out.f32, height, width, geometry, filter, ResampleF())
    return out
}

struct PlaneGeometry {
    let batch: Int
    let channels: Int
}

/// One pixel format of PIL's resampler: how weights are prepared and a weighted sum is stored.
protocol PILPixelPath {
    associatedtype Pixel
    associatedtype Weight
    func weights(_ w: [Double]) -> [Weight]
    func sum(_ p: UnsafePointer<Pixel>, step: Int, _ w: UnsafePointer<Weight>, count: Int) -> Pixel
}

struct Resample8: PILPixelPath {
    func weights(_ w: [Double]) -> [Int32] { fixedPoint(w) }
    @inline(__always)
    func sum(_ p: UnsafePointer<UInt8>, step: Int, _ w: UnsafePointer<Int32>, count: Int) -> UInt8 {
        var acc: Int32 = 1 << 21
        for j in 0..<count { acc &+= Int32(p[j * step]) &* w[j] }
        return UInt8(clamping: acc >> 22)
    }
}

struct ResampleF: PILPixelPath {
    func weights(_ w: [Double]) -> [Double] { w }
    @inline(__always)
    func sum(_ p: UnsafePointer<Float>, step: Int, _ w: UnsafePointer<Double>, count: Int) -> Float {
        var acc = 0.0
        for j in 0..<count { acc += Double(p[j * step]) * w[j] }
        return Float(acc)
    }
}

/// Resample.c `ImagingResampleInner` as in Pillow 13: an axis whose size is unchanged is skipped;
/// when both change, the vertical pass runs first if the height shrinks and the width does not
/// shrink by at least half as many pixels (else horizontal first, over only the rows the vertical
/// pass reads). The order matters for uint8: the intermediate is rounded to 8 bits. (Checked
/// against Pillow 13.0.0 on thousands of random size pairs; tools/fixtures pins both orders.)
private func pilResample<P: PILPixelPath>(_ src: UnsafeMutablePointer<P.Pixel>, _ inH: Int, _ inW: Int,
                                          _ dst: UnsafeMutablePointer<P.Pixel>, _ outH: Int, _ outW: Int,
                                          _ g: PlaneGeometry, _ filter: PILFilter, _ path: P) {
    let c = g.channels
    let needH = outW != inW, needV = outH != inH
    if !needH && !needV {
        dst.update(from: src, count: g.batch * inH * inW * c)
        return
    }
    let hTaps = pilTaps(inSize: inW, outSize: outW, filter: filter)
    let vTaps = pilTaps(inSize: inH, outSize: outH, filter: filter)
    let horizontal = Pass(taps: hTaps, weights: path.weights(hTaps.weights))
    let vertical = Pass(taps: vTaps, weights: path.weights(vTaps.weights))
    if !needV {
        horizontal.rows(src, planeRows: inH, first: 0, rows: inH, inW: inW, c: c, batch: g.batch, dst, path)
        return
    }
    if !needH {
        vertical.columns(src, planeRows: inH, rowOffset: 0, rowLength: inW * c, batch: g.batch, dst, path)
        return
    }
    let verticalFirst = outH < inH && !(outW <= inW && 2 * (inW - outW) >= inH - outH)
    if verticalFirst {
        let temp = UnsafeMutablePointer<P.Pixel>.allocate(capacity: g.batch * outH * inW * c)
        defer { temp.deallocate() }
        vertical.columns(src, planeRows: inH, rowOffset: 0, rowLength: inW * c, batch: g.batch, temp, path)
        horizontal.rows(temp, planeRows: outH, first: 0, rows: outH, inW: inW, c: c, batch: g.batch, dst, path)
    } else {
        let lo = vTaps.first[0], hi = vTaps.first[outH - 1] + vTaps.count[outH - 1]
        let temp = UnsafeMutablePointer<P.Pixel>.allocate(capacity: g.batch * (hi - lo) * outW * c)
        defer { temp.deallocate() }
        horizontal.rows(src, planeRows: inH, first: lo, rows: hi - lo, inW: inW, c: c, batch: g.batch, temp, path)
        vertical.columns(temp, planeRows: hi - lo, rowOffset: lo, rowLength: outW * c, batch: g.batch, dst, path)
    }
}

/// One axis's taps with the weights in the pixel path's format.
private struct Pass<W> {
    let taps: ResampleTaps
    let weights: [W]

    /// Resamples rows [first, first + rows) of each plane along x into `dst` (rows × out width).
    func rows<P: PILPixelPath>(_ src: UnsafeMutablePointer<P.Pixel>, planeRows: Int, first: Int, rows: Int,
                               inW: Int, c: Int, batch: Int, _ dst: UnsafeMutablePointer<P.Pixel>, _ path: P)
    where P.Weight == W {
        let outW = taps.first.count
        weights.withUnsafeBufferPointer { wb in
            let wp = wb.baseAddress!
            parallelChunks(batch * rows, minChunk: 8) { r in
                for job in r {
                    let n = job / rows, y = job % rows
                    let srow = src + ((n * planeRows + first + y) * inW) * c
                    let drow = dst + ((n * rows + y) * outW) * c
                    for x in 0..<outW {
                        let s = srow + taps.first[x] * c, k = wp + x * taps.stride
                        for ch in 0..<c {
                            drow[x * c + ch] = path.sum(s + ch, step: c, k, count: taps.count[x])
                        }
                    }
                }
            }
        }
    }

    /// Resamples each plane along y; the source plane holds `planeRows` rows starting at input row
    /// `rowOffset`.
    func columns<P: PILPixelPath>(_ src: UnsafeMutablePointer<P.Pixel>, planeRows: Int, rowOffset: Int,
                                  rowLength: Int, batch: Int, _ dst: UnsafeMutablePointer<P.Pixel>, _ path: P)
    where P.Weight == W {
        let outH = taps.first.count
        weights.withUnsafeBufferPointer { wb in
            let wp = wb.baseAddress!
            parallelChunks(batch * outH, minChunk: 8) { r in
                for job in r {
                    let n = job / outH, y = job % outH
                    let s = src + (n * planeRows + taps.first[y] - rowOffset) * rowLength
                    let k = wp + y * taps.stride
                    let drow = dst + (n * outH + y) * rowLength
                    for i in 0..<rowLength {
                        drow[i] = path.sum(s + i, step: rowLength, k, count: taps.count[y])
                    }
                }
            }
        }
    }
}
