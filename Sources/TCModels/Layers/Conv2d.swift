import TCCore

/// torch.nn.Conv2d without groups or dilation: weight (out, in, kh, kw).
public struct Conv2d {
    public let weight: Tensor
    public let bias: Tensor?
    public let stride: Int
    public let padding: Padding2D

    public init(_ w: WeightReader, _ key: String, stride: Int = 1, padding: Int? = nil, bias hasBias: Bool = true) throws {
        weight = try w("\(key).weight")
        guard weight.rank == 4 else {
            throw WeightError.shapeMismatch(file: w.source.sourceName, key: w.key("\(key).weight"),
                                            expected: [-1, -1, -1, -1], got: weight.shape)
        }
        bias = hasBias ? try w("\(key).bias") : nil
        self.stride = stride
        // Default "same" padding for odd kernels, as every 3×3 conv in the reference uses.
        self.padding = .same(padding ?? weight.dim(2) / 2)
    }

    public init(weight: Tensor, bias: Tensor?, stride: Int, padding: Padding2D) {
        self.weight = weight
        self.bias = bias
        self.stride = stride
        self.padding = padding
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        conv2d(x, weight: weight, bias: bias, stride: stride, padding: padding)
    }

    /// self(x.upsampleNearest2x()), the Upsample blocks' op; a 3×3 "same" conv is computed at x's
    /// resolution (`conv2dNearestUpsampled2x`: 4/9 of the multiply-adds).
    public func afterNearestUpsample2x(_ x: Tensor) -> Tensor {
        guard weight.dim(2) == 3, weight.dim(3) == 3, stride == 1, padding == .same(1) else {
            return self(x.upsampleNearest2x())
        }
        return conv2dNearestUpsampled2x(x, weight: weight, bias: bias)
    }
}

/// A Conv3d with kernel (k, 1, 1) and padding (k/2, 0, 0): a convolution along time only
/// (weight (out, in, k, 1, 1)). Activations are (b·t, c, h, w) with `frames` = t.
public struct TemporalConv {
    public let weight: Tensor
    public let bias: Tensor?

    public init(_ w: WeightReader, _ key: String) throws {
        weight = try w("\(key).weight")
        guard weight.rank == 5, weight.dim(3) == 1, weight.dim(4) == 1 else {
            throw WeightError.shapeMismatch(file: w.source.sourceName, key: w.key("\(key).weight"),
                                            expected: [-1, -1, 3, 1, 1], got: weight.shape)
        }
        bias = try w("\(key).bias")
    }

    public func callAsFunction(_ x: Tensor, frames: Int) -> Tensor {
        temporalConv(x, weight: weight, bias: bias, frames: frames, pad: weight.dim(2) / 2)
    }
}
