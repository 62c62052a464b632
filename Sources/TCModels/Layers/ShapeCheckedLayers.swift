import TCCore

// Loading with declared shapes: a model built from a config states the shape of every tensor it
// reads, so a checkpoint of another size fails at load with the key and both shapes, and a model's
// declared layout can be checked against a manifest without real weights.

extension Linear {
    public init(_ w: WeightReader, _ key: String, in inF: Int, out outF: Int, bias hasBias: Bool = true) throws {
        self.init(weight: try w("\(key).weight", shape: [outF, inF]),
                  bias: hasBias ? try w("\(key).bias", shape: [outF]) : nil)
    }

    /// A kernel-1 Conv1d (`weight` (out, in, 1)) or 1×1 Conv2d (`(out, in, 1, 1)`) applied to
    /// tokens: the same map as a Linear over the channel axis.
    public init(pointwiseConv w: WeightReader, _ key: String, in inF: Int, out outF: Int, spatialDims: Int) throws {
        let weight = try w("\(key).weight", shape: [outF, inF] + Array(repeating: 1, count: spatialDims))
        self.init(weight: weight.reshaped([outF, inF]), bias: try w("\(key).bias", shape: [outF]))
    }
}

extension Conv2d {
    /// A k×k convolution with "same" zero padding k/2 unless `padding` is given.
    public init(_ w: WeightReader, _ key: String, in inC: Int, out outC: Int, kernel: Int,
                stride: Int = 1, padding: Padding2D? = nil, bias hasBias: Bool = true) throws {
        self.init(weight: try w("\(key).weight", shape: [outC, inC, kernel, kernel]),
                  bias: hasBias ? try w("\(key).bias", shape: [outC]) : nil,
                  stride: stride, padding: padding ?? .same(kernel / 2))
    }
}

extension GroupNorm {
    public init(_ w: WeightReader, _ key: String, channels: Int, groups: Int = 32, eps: Float) throws {
        _ = try w("\(key).weight", shape: [channels])
        _ = try w("\(key).bias", shape: [channels])
        try self.init(w, key, groups: groups, eps: eps)
    }
}

extension LayerNorm {
    public init(_ w: WeightReader, _ key: String, channels: Int, eps: Float = 1e-5) throws {
        _ = try w("\(key).weight", shape: [channels])
        _ = try w("\(key).bias", shape: [channels])
        try self.init(w, key, eps: eps)
    }
}

extension TemporalConv {
    /// Conv3d with kernel (k, 1, 1): weight (out, in, k, 1, 1).
    public init(_ w: WeightReader, _ key: String, in inC: Int, out outC: Int, kernel: Int = 3) throws {
        _ = try w("\(key).weight", shape: [outC, inC, kernel, 1, 1])
        _ = try w("\(key).bias", shape: [outC])
        try self.init(w, key)
    }

    /// The reference's shape-preserving (3,1,1) temporal conv over `channels`.
    public init(_ w: WeightReader, _ key: String, channels: Int) throws {
        try self.init(w, key, in: channels, out: channels)
    }
}
