import TCCore

/// torch.nn.Linear: weight (out, in), optional bias. Weights stay in their stored dtype (f16/bf16
/// files are converted per call) so mmapped checkpoints are not duplicated in memory.
public struct Linear {
    public let weight: Tensor
    public let bias: Tensor?

    public init(_ w: WeightReader, _ key: String, bias hasBias: Bool = true) throws {
        weight = try w("\(key).weight")
        bias = hasBias ? try w("\(key).bias") : nil
    }

    public init(weight: Tensor, bias: Tensor?) {
        self.weight = weight
        self.bias = bias
    }

    public var inFeatures: Int { weight.dim(1) }
    public var outFeatures: Int { weight.dim(0) }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        linear(x, weight: weight, bias: bias)
    }
}
