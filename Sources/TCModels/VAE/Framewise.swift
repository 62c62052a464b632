import TCCore

/// Applies a per-frame block to each frame of (N, …) in turn and stacks the results, so the block's
/// temporaries exist for one frame at a time (a 128-channel 320×512 activation is 84 MB per frame
/// but 1.3 GB for a 16-frame clip). Only for blocks whose frames do not interact.
func framewise(_ x: Tensor, _ f: (Tensor) -> Tensor) -> Tensor {
    framewise(x) { _, frame in f(frame) }
}

/// `framewise` with the frame's index passed along.
func framewise(_ x: Tensor, indexed f: (Int, Tensor) -> Tensor) -> Tensor {
    let n = x.dim(0)
    if n == 1 { return f(0, x) }
    let src = x.float32()
    var out: Tensor?
    for i in 0..<n {
        let y = f(i, src.sliced(axis: 0, i..<(i + 1))).float32()
        let o = out ?? Tensor(empty: [n] + y.shape.dropFirst())
        out = o
        parallelCopy(to: o.f32 + i * y.count, from: y.f32, byteCount: y.count * 4)
    }
    return out!
}

/// (1, C, h, w) → (h·w, C): spatial positions row-major as tokens.
func spatialTokens(_ x: Tensor) -> Tensor {
    let c = x.dim(1), hw = x.dim(2) * x.dim(3)
    return x.reshaped([c, hw]).permutedContiguous([1, 0])
}

/// (h·w, C) → (1, C, h, w).
func spatialMap(_ tokens: Tensor, height: Int, width: Int) -> Tensor {
    tokens.permutedContiguous([1, 0]).reshaped([1, tokens.dim(1), height, width])
}

/// A 1×1 convolution's weight (O, I, 1, 1) seen as a linear layer on tokens.
func pointwiseLinear(_ conv: Conv2d) -> Linear {
    Linear(weight: conv.weight.reshaped([conv.weight.dim(0), conv.weight.dim(1)]), bias: conv.bias)
}
