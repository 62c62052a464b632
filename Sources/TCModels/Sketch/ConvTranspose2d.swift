import TCCore

/// torch.nn.ConvTranspose2d without groups or dilation: weight (in, out, kh, kw).
public struct ConvTranspose2d {
    public let weight: Tensor
    public let bias: Tensor?
    public let stride: Int
    public let padding: Padding2D

    public init(_ w: WeightReader, _ key: String, stride: Int, padding: Int, bias hasBias: Bool = true) throws {
        weight = try w("\(key).weight")
        guard weight.rank == 4 else {
            throw WeightError.shapeMismatch(file: w.source.sourceName, key: w.key("\(key).weight"),
                                            expected: [-1, -1, -1, -1], got: weight.shape)
        }
        bias = hasBias ? try w("\(key).bias", shape: [weight.dim(1)]) : nil
        self.stride = stride
        self.padding = .same(padding)
    }

    public var inChannels: Int { weight.dim(0) }
    public var outChannels: Int { weight.dim(1) }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        convTranspose2d(x, weight: weight, bias: bias, stride: stride, padding: padding)
    }
}
