import TCCore

/// `Downsample` (spec §2.1.2): 3×3 conv, stride 2, symmetric padding 1 (key `op`; Q20).
public struct Downsample {
    public let op: Conv2d

    public init(_ w: WeightReader, _ key: String, channels: Int, outChannels: Int? = nil) throws {
        op = try Conv2d(w, "\(key).op", in: channels, out: outChannels ?? channels, kernel: 3, stride: 2, padding: .same(1))
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { op(x) }
}

/// `Upsample`: nearest-neighbour ×2, then 3×3 conv (key `conv`).
public struct Upsample {
    public let conv: Conv2d

    public init(_ w: WeightReader, _ key: String, channels: Int, outChannels: Int? = nil) throws {
        conv = try Conv2d(w, "\(key).conv", in: channels, out: outChannels ?? channels, kernel: 3)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { conv.afterNearestUpsample2x(x) }
}

/// `time_embed` / `fps_embedding`: sinusoid (cos first, spec §4.4) → Linear → SiLU → Linear.
public struct TimestepMLP {
    public let fc1: Linear, fc2: Linear
    public let sinusoidDim: Int

    public init(_ w: WeightReader, _ key: String, sinusoidDim: Int, embDim: Int) throws {
        fc1 = try Linear(w, "\(key).0", in: sinusoidDim, out: embDim)
        fc2 = try Linear(w, "\(key).2", in: embDim, out: embDim)
        self.sinusoidDim = sinusoidDim
    }

    /// One embedding row per value.
    public func callAsFunction(_ t: [Float]) -> Tensor {
        let h = fc1(timestepEmbedding(t, dim: sinusoidDim))
        h.siluInPlace()
        return fc2(h)
    }
}
