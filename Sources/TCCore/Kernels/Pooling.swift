import Foundation

/// `torch.nn.functional.avg_pool2d(x, kernel, stride)` without padding (floor mode): the
/// reference's Downsample when it is built without a conv (`use_conv=False`). x (N, C, H, W).
public func avgPool2d(_ x: Tensor, kernel: Int, stride: Int? = nil) -> Tensor {
    let s = stride ?? kernel
    let src = x.float32()
    precondition(src.rank == 4 && kernel >= 1 && s >= 1 && src.dim(2) >= kernel && src.dim(3) >= kernel,
                 "avgPool2d: input \(x.shape), kernel \(kernel), stride \(s)")
    let n = src.dim(0), c = src.dim(1), h = src.dim(2), w = src.dim(3)
    let ho = (h - kernel) / s + 1, wo = (w - kernel) / s + 1
    let out = Tensor(empty: [n, c, ho, wo])
    let area = Float(kernel * kernel)
    let sp = src.f32, dp = out.f32
    parallelChunks(n * c, minChunk: 4) { r in
        for plane in r {
            let si = sp + plane * h * w, di = dp + plane * ho * wo
            for oy in 0..<ho {
                for ox in 0..<wo {
                    var acc: Float = 0
                    for ky in 0..<kernel {
                        let row = si + (oy * s + ky) * w + ox * s
                        for kx in 0..<kernel { acc += row[kx] }
                    }
                    di[oy * wo + ox] = acc / area
                }
            }
        }
    }
    return out
}
