import Foundation
import TCCore

/// Separable Gaussian blur of each (H, W) plane of x (P, H, W), as OpenCV's
/// `GaussianBlur(x, (0, 0), sigma)` on float images: radius round(4σ), weights exp(−d²/2σ²)
/// normalised to sum 1, border reflected without repeating the edge pixel (BORDER_REFLECT_101:
/// index −1 reads 1, n reads n−2).
public func gaussianBlur(_ x: Tensor, sigma: Float) -> Tensor {
    let src = x.float32()
    let p = src.dim(0), h = src.dim(1), w = src.dim(2)
    let radius = max(1, Int((4 * sigma).rounded()))
    var weights = (-radius...radius).map { d in expf(-Float(d * d) / (2 * sigma * sigma)) }
    let total = weights.reduce(0, +)
    weights = weights.map { $0 / total }
    let horizontal = Tensor(empty: src.shape)
    let out = Tensor(empty: src.shape)
    let xs = src.f32, hs = horizontal.f32, os = out.f32
    let taps = weights.count
    let columns = (-radius..<(w + radius)).map { reflect101($0, w) }
    let rows = (-radius..<(h + radius)).map { reflect101($0, h) }
    weights.withUnsafeBufferPointer { wt in
        parallelFor(p * h) { job in
            let row = xs + job * w, dst = hs + job * w
            var padded = [Float](repeating: 0, count: w + 2 * radius)
            for i in 0..<padded.count { padded[i] = row[columns[i]] }
            padded.withUnsafeBufferPointer { pad in
                for x in 0..<w { dst[x] = 0 }
                for k in 0..<taps {
                    let c = wt[k], s = pad.baseAddress! + k
                    for x in 0..<w { dst[x] += c * s[x] }
                }
            }
        }
        parallelFor(p * h) { job in
            let plane = job / h, y = job % h
            let base = hs + plane * h * w, dst = os + job * w
            for x in 0..<w { dst[x] = 0 }
            for k in 0..<taps {
                let c = wt[k], s = base + rows[y + k] * w
                for x in 0..<w { dst[x] += c * s[x] }
            }
        }
    }
    return out
}

/// Reflection without repeating the edge, for any offset (several bounces when the radius
/// exceeds the image).
@inline(__always) func reflect101(_ i: Int, _ n: Int) -> Int {
    if n == 1 { return 0 }
    let period = 2 * (n - 1)
    var m = i % period
    if m < 0 { m += period }
    return m < n ? m : period - m
}
