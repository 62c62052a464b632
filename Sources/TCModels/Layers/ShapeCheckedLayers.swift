import TCCore

// Loading with the shapes the configuration implies, so a checkpoint of another size (or a config
// that disagrees with the weights) fails at load time naming the key, instead of deep in a kernel.

extension Linear {
    init(_ w: WeightReader, _ key: String, in inF: Int, out outF: Int, bias hasBias: Bool) throws {
        self.init(weight: try w("\(key).weight", shape: [outF, inF]),
                  bias: hasBias ? try w("\(key).bias", shape: [outF]) : nil)
    }
}

extension Conv2d {
    /// A k×k convolution with "same" zero padding k/2 unless `padding` is given.
    init(_ w: WeightReader, _ key: String, in inC: Int, out outC: Int, kernel k: Int, stride: Int = 1,
         padding: Padding2D? = nil, bias hasBias: Bool = true) throws {
        self.init(weight: try w("\(key).weight", shape: [outC, inC, k, k]),
                  bias: hasBias ? try w("\(key).bias", shape: [outC]) : nil,
                  stride: stride, padding: padding ?? .same(k / 2))
    }
}

extension GroupNorm {
    init(_ w: WeightReader, _ key: String, channels c: Int, eps: Float) throws {
        _ = try w("\(key).weight", shape: [c])
        _ = try w("\(key).bias", shape: [c])
        try self.init(w, key, groups: 32, eps: eps)
    }
}

extension LayerNorm {
    init(_ w: WeightReader, _ key: String, channels c: Int, eps: Float = 1e-5) throws {
        _ = try w("\(key).weight", shape: [c])
        _ = try w("\(key).bias", shape: [c])
        try self.init(w, key, eps: eps)
    }
}

/// A Conv3d with kernel (3, 1, 1), padding (1, 0, 0): weight (C, C, 3, 1, 1).
extension TemporalConv {
    init(_ w: WeightReader, _ key: String, channels c: Int) throws {
        _ = try w("\(key).weight", shape: [c, c, 3, 1, 1])
        _ = try w("\(key).bias", shape: [c])
        try self.init(w, key)
    }
}
