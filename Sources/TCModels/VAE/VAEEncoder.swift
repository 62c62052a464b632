import Foundation
import TCCore

/// Spec §2.2: the 2-D LDM encoder (`first_stage_model.encoder`) followed by `quant_conv`.
/// Frames (N, 3, H, W) in [−1, 1] → posterior moments (N, 2·embed_dim, H/2^(L−1), W/2^(L−1)) and the
/// five feature maps the dual-reference decoder consumes (spec §1.3).
public struct VAEEncoder {
    public let config: VAEConfig
    let convIn: Conv2d
    let down: [DownLevel]
    let midBlock1: VAEResnetBlock, midAttn: VAEAttentionBlock, midBlock2: VAEResnetBlock
    let normOut: GroupNorm, convOut: Conv2d
    let quantConv: Conv2d

    struct DownLevel {
        let blocks: [VAEResnetBlock]
        /// Zero pad right and bottom by 1, then 3×3 stride 2 without padding (spec Q20).
        let downsample: Conv2d?
    }

    /// `w` is scoped at the autoencoder (`first_stage_model.`).
    public init(_ w: WeightReader, config: VAEConfig = .toonCrafter) throws {
        self.config = config
        let e = w.scoped("encoder")
        convIn = try Conv2d(e, "conv_in", in: config.inChannels, out: config.ch, kernel: 3)
        var levels: [DownLevel] = []
        var cin = config.ch
        for i in 0..<config.levels {
            let cout = config.channels(level: i)
            var blocks: [VAEResnetBlock] = []
            for j in 0..<config.numResBlocks {
                blocks.append(try VAEResnetBlock(e, "down.\(i).block.\(j)", in: cin, out: cout))
                cin = cout
            }
            let ds = i == config.levels - 1 ? nil
                : try Conv2d(e, "down.\(i).downsample.conv", in: cout, out: cout, kernel: 3, stride: 2,
                             padding: Padding2D(top: 0, bottom: 1, left: 0, right: 1))
            levels.append(DownLevel(blocks: blocks, downsample: ds))
        }
        down = levels
        let c = config.bottleneckChannels
        midBlock1 = try VAEResnetBlock(e, "mid.block_1", in: c, out: c)
        midAttn = try VAEAttentionBlock(e, "mid.attn_1", channels: c)
        midBlock2 = try VAEResnetBlock(e, "mid.block_2", in: c, out: c)
        normOut = try GroupNorm(e, "norm_out", channels: c, eps: 1e-6)
        let zc = config.doubleZ ? 2 * config.zChannels : config.zChannels
        convOut = try Conv2d(e, "conv_out", in: c, out: zc, kernel: 3)
        quantConv = try Conv2d(w, "quant_conv", in: zc, out: 2 * config.embedDim, kernel: 1)
    }

    public struct Output {
        /// `quant_conv(encoder(x))`: channels [0, embed_dim) mean, the rest log-variance.
        public let moments: Tensor
        /// [level 0, …, level L−1, conv_in], each (N, C_i, H_i, W_i): the decoder's references.
        public let hiddenStates: [Tensor]
        public var posterior: DiagonalGaussian { DiagonalGaussian(moments: moments) }
    }

    /// Moments only; the feature taps are released level by level.
    public func moments(_ x: Tensor) throws -> Tensor { try run(x, keepHiddenStates: false).moments }

    public func callAsFunction(_ x: Tensor) throws -> Output { try run(x, keepHiddenStates: true) }

    private func run(_ x: Tensor, keepHiddenStates: Bool) throws -> Output {
        guard x.rank == 4, x.dim(1) == config.inChannels else {
            throw ModelInputError.shape(argument: "VAE encoder input", expected: "(N, \(config.inChannels), H, W)", got: x.shape)
        }
        guard x.dim(2) >= 1 << (config.levels - 1), x.dim(3) >= 1 << (config.levels - 1) else {
            throw ModelInputError.shape(argument: "VAE encoder input", expected: "frames of at least \(1 << (config.levels - 1)) pixels per side", got: x.shape)
        }
        // (n, 3, H, W)
        let stem = convIn(x)
        var h = stem
        var taps: [Tensor] = []
        for level in down {
            for block in level.blocks { h = block(h) }
            if keepHiddenStates { taps.append(h) }
            if let ds = level.downsample { h = ds(h) }
        }
        if keepHiddenStates { taps.append(stem) }
        // (n, C, h, w)
        h = midBlock2(midAttn(midBlock1(h)))
        h = convOut(normOut(h, silu: true))
        return Output(moments: quantConv(h), hiddenStates: taps)
    }
}

/// The posterior N(mean, exp(logvar)) of `DiagonalGaussianDistribution`: logvar clamped to
/// [−30, 20], std = exp(logvar/2).
public struct DiagonalGaussian {
    public let mean: Tensor
    public let logvar: Tensor
    public let std: Tensor

    public init(moments: Tensor) {
        let c = moments.dim(1) / 2
        mean = moments.sliced(axis: 1, 0..<c).contiguous()
        logvar = moments.sliced(axis: 1, c..<(2 * c)).map { Swift.min(Swift.max($0, -30), 20) }
        std = logvar.map { expf(0.5 * $0) }
    }

    /// The scaled latent the pipeline uses (spec §1.3): scale·(mean + std·noise), noise ~ N(0, 1)
    /// drawn by the caller (the reference samples the posterior; it does not take the mean).
    public func sample(noise: Tensor, scale: Float) throws -> Tensor {
        guard noise.shape == mean.shape else {
            throw ModelInputError.shape(argument: "posterior noise", expected: "\(mean.shape)", got: noise.shape)
        }
        var z = std * noise
        z += mean
        return z * scale
    }

    /// scale·mean: the deterministic variant (spec Q6, [MAY FIX]).
    public func mode(scale: Float) -> Tensor { mean * scale }
}
