import TCCore

/// `ResBlock` (spec §2.1.3): GroupNorm(32, eps 1e-5) → SiLU → 3×3 conv; + Linear(SiLU(emb))
/// broadcast over h·w; GroupNorm → SiLU → 3×3 conv; + skip (1×1 conv when channels change);
/// then, in the UNet, the temporal conv block (key `temopral_conv`, sic — Q14). Without the
/// temporal part it is the plain SD ResBlock (the ControlNet's).
public struct ResBlock {
    public let inNorm: GroupNorm, inConv: Conv2d, embProj: Linear
    public let outNorm: GroupNorm, outConv: Conv2d
    public let skip: Conv2d?
    public let temporal: TemporalConvBlock?

    public init(_ w: WeightReader, _ key: String, inChannels: Int, outChannels: Int, embDim: Int,
                temporal hasTemporal: Bool) throws {
        inNorm = try GroupNorm(w, "\(key).in_layers.0", channels: inChannels, eps: 1e-5)
        inConv = try Conv2d(w, "\(key).in_layers.2", in: inChannels, out: outChannels, kernel: 3)
        embProj = try Linear(w, "\(key).emb_layers.1", in: embDim, out: outChannels)
        outNorm = try GroupNorm(w, "\(key).out_layers.0", channels: outChannels, eps: 1e-5)
        outConv = try Conv2d(w, "\(key).out_layers.3", in: outChannels, out: outChannels, kernel: 3)
        skip = inChannels == outChannels ? nil
            : try Conv2d(w, "\(key).skip_connection", in: inChannels, out: outChannels, kernel: 1)
        temporal = hasTemporal ? try TemporalConvBlock(w, "\(key).temopral_conv", channels: outChannels) : nil
    }

    /// x (N, C, h, w) with N = G·frames, frame-major; `emb` (G, E): one row per clip of `frames`
    /// consecutive samples (the reference repeats it per frame). The temporal part regroups the
    /// samples into clips of `frames`.
    public func callAsFunction(_ x: Tensor, emb: Tensor, frames: Int) -> Tensor {
        var h = inConv(inNorm(x, silu: true))
        addPerClip(h, embProj(emb.silu()), frames: frames)
        h = outConv(outNorm(h, silu: true))
        h += skip.map { $0(x) } ?? x
        return temporal.map { $0(h, frames: frames) } ?? h
    }
}

/// h[n, c, …] += e[n / frames, c], in place.
func addPerClip(_ h: Tensor, _ e: Tensor, frames: Int) {
    let n = h.dim(0), c = h.dim(1)
    let inner = h.count / max(n * c, 1)
    precondition(e.dim(0) * frames == n && e.dim(1) == c, "embedding \(e.shape) for activations \(h.shape)")
    let hp = h.f32, ep = e.float32().f32
    parallelFor(n * c) { j in
        let v = ep[(j / c / frames) * c + j % c]
        let row = hp + j * inner
        for i in 0..<inner { row[i] += v }
    }
}

/// `TemporalConvBlock` (spec §2.1.3): x + 4 × [GroupNorm(32, eps 1e-5) over the whole clip → SiLU →
/// Conv3d (3,1,1) zero-padded in time]. Keys conv1.{0,2}, conv{2,3,4}.{0,3}.
public struct TemporalConvBlock {
    public let norms: [GroupNorm]
    public let convs: [TemporalConv]

    public init(_ w: WeightReader, _ key: String, channels: Int) throws {
        norms = try (1...4).map { try GroupNorm(w, "\(key).conv\($0).0", channels: channels, eps: 1e-5) }
        convs = try (1...4).map {
            try TemporalConv(w, "\(key).conv\($0).\($0 == 1 ? 2 : 3)", in: channels, out: channels)
        }
    }

    public func callAsFunction(_ x: Tensor, frames: Int) -> Tensor {
        var h = x
        for (norm, conv) in zip(norms, convs) {
            h = conv(norm(h, span: frames, silu: true), frames: frames)
        }
        h += x
        return h
    }
}
