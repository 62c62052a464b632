import TCCore

/// torch.nn.GroupNorm (affine). `span` pools statistics over that many consecutive samples of the
/// batch, for the reference's GroupNorms over 5-D (b, c, t, h, w) tensors (spec §4.2).
public struct GroupNorm {
    public let weight: Tensor
    public let bias: Tensor
    public let groups: Int
    public let eps: Float

    public init(_ w: WeightReader, _ key: String, groups: Int = 32, eps: Float) throws {
        weight = try w("\(key).weight")
        bias = try w("\(key).bias")
        self.groups = groups
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor, span: Int = 1, silu: Bool = false) -> Tensor {
        groupNorm(x, groups: groups, weight: weight, bias: bias, eps: eps, span: span, silu: silu)
    }
}

/// torch.nn.LayerNorm over the last axis.
public struct LayerNorm {
    public let weight: Tensor
    public let bias: Tensor?
    public let eps: Float

    public init(_ w: WeightReader, _ key: String, eps: Float = 1e-5, bias hasBias: Bool = true) throws {
        weight = try w("\(key).weight")
        bias = hasBias ? try w("\(key).bias") : nil
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        layerNorm(x, weight: weight, bias: bias, eps: eps)
    }
}
