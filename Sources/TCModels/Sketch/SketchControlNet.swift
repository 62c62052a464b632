import TCCore

/// ToonCrafter's sketch encoder: the SD-2.1 ControlNet `cldm.cldm.ControlNet` of
/// mattyamonaca/ToonCrafter_with_SketchGuidance (sketch-and-colorize.md §1.2; fixture (i)), built
/// from the UNet's own blocks (time MLP, ResBlock without its temporal part, SpatialTransformer
/// without the image branch, Downsample). Purely per frame: activations are (N, C, h, w) with N
/// frames of any number of videos, each frame with its own timestep embedding and its video's
/// whole context. Returns the 13 UNSCALED residuals `DynamiCrafterUNet` takes as `control`.
public struct SketchControlNet {
    public let config: ControlNetConfig
    let timeEmbed: TimestepMLP
    let hintBlock: HintBlock
    let inputBlocks: [UNetBlock]
    let zeroConvs: [Conv2d]
    let middleBlock: UNetBlock
    let middleBlockOut: Conv2d

    /// Builds from `w` (bare keys) with the shapes `config` implies. Use `load` for a strict load.
    public init(_ w: WeightReader, config: ControlNetConfig) throws {
        try config.validate(path: "ControlNet config")
        self.config = config
        let mc = config.modelChannels, emb = config.timeEmbedDim
        timeEmbed = try TimestepMLP(w, "time_embed", sinusoidDim: mc, embDim: emb)
        hintBlock = try HintBlock(w, "input_hint_block", hintChannels: config.hintChannels, modelChannels: mc)

        func transformer(_ key: String, _ ch: Int) throws -> UNetLayer {
            let (heads, dHead) = config.heads(for: ch)
            return .spatial(try SpatialTransformer(w, key, channels: ch, heads: heads, dHead: dHead,
                                                   depth: config.transformerDepth, contextDim: config.contextDim,
                                                   useLinear: config.useLinear, imageBranch: false), key: key)
        }
        func res(_ key: String, _ cin: Int, _ cout: Int) throws -> UNetLayer {
            .res(try ResBlock(w, key, inChannels: cin, outChannels: cout, embDim: emb, temporal: false))
        }
        func zeroConv(_ ch: Int, _ key: String) throws -> Conv2d { try Conv2d(w, "\(key).0", in: ch, out: ch, kernel: 1) }

        var blocks = [UNetBlock(key: "input_blocks.0",
                                layers: [.conv(try Conv2d(w, "input_blocks.0.0", in: config.inChannels, out: mc, kernel: 3))])]
        var zeros = [try zeroConv(mc, "zero_convs.0")]
        var ch = mc, ds = 1
        for (level, mult) in config.channelMult.enumerated() {
            for _ in 0..<config.numResBlocks {
                let key = "input_blocks.\(blocks.count)"
                var layers = [try res("\(key).0", ch, mult * mc)]
                ch = mult * mc
                if config.attentionResolutions.contains(ds) { layers.append(try transformer("\(key).1", ch)) }
                blocks.append(UNetBlock(key: key, layers: layers))
                zeros.append(try zeroConv(ch, "zero_convs.\(zeros.count)"))
            }
            if level != config.channelMult.count - 1 {
                let key = "input_blocks.\(blocks.count)"
                blocks.append(UNetBlock(key: key, layers: [.down(try Downsample(w, "\(key).0", channels: ch))]))
                zeros.append(try zeroConv(ch, "zero_convs.\(zeros.count)"))
                ds *= 2
            }
        }
        inputBlocks = blocks
        zeroConvs = zeros
        middleBlock = UNetBlock(key: "middle_block", layers: [
            try res("middle_block.0", ch, ch), try transformer("middle_block.1", ch), try res("middle_block.2", ch, ch),
        ])
        middleBlockOut = try zeroConv(ch, "middle_block_out")
    }

    /// Number of residuals: one per input block, then the middle block's.
    public var residualCount: Int { zeroConvs.count + 1 }

    /// The cross-attention context projected by every SpatialTransformer's attn2, once per sampling
    /// run. `groups` key sets: sample n of an N-sample call attends to set n / (N / groups).
    public struct Context {
        let blocks: UNetContext
        public let groups: Int
    }

    /// Projects `context` (G, L, context_dim): every frame attends to ALL L tokens of its group
    /// with one softmax (fixture (i): unlike the UNet, the ControlNet neither splits the image
    /// tokens per frame nor gives them a second softmax). G = videos for per-video contexts, or N
    /// for the reference's per-frame repeated context.
    public func prepare(context: Tensor) throws -> Context {
        guard context.rank == 3, context.dim(0) > 0, context.dim(1) > 0, context.dim(2) == config.contextDim else {
            throw ModelInputError.shape(argument: "ControlNet context", expected: "(G, L, \(config.contextDim))", got: context.shape)
        }
        let text = context.contiguous()
        var attention: [String: [AttentionContext]] = [:]
        for block in inputBlocks + [middleBlock] {
            for (key, st) in block.spatialTransformers { attention[key] = st.prepare(text: text, image: nil) }
        }
        // frames 1: the ControlNet has no temporal layers and takes one embedding row per sample.
        return Context(blocks: UNetContext(attention: attention, batch: context.dim(0), frames: 1), groups: context.dim(0))
    }

    /// Contexts stacked in order as one (e.g. the conditional and unconditional branch).
    public static func batched(_ parts: [Context]) throws -> Context {
        let blocks = try UNetContext.batched(parts.map(\.blocks))
        return Context(blocks: blocks, groups: parts.reduce(0) { $0 + $1.groups })
    }

    /// `input_hint_block`: hints (N, hint_channels, H, W), white lines on black in [0,1] →
    /// (N, model_channels, ⌈H/8⌉, ⌈W/8⌉). For the residuals of an h×w latent the hint must be
    /// 8h×8w (the pipeline's convention; anything that halves three times onto h×w works).
    public func embedHint(_ hint: Tensor) throws -> Tensor {
        guard hint.rank == 4, hint.dim(0) > 0, hint.dim(1) == config.hintChannels, hint.dim(2) > 0, hint.dim(3) > 0 else {
            throw ModelInputError.shape(argument: "hint", expected: "(N, \(config.hintChannels), 8h, 8w)", got: hint.shape)
        }
        return hintBlock(hint)
    }

    /// The 13 unscaled residuals for noisy latents x (N, in_channels, h, w) (the latent only, not
    /// concatenated with c_concat), a guided hint from `embedHint` (N, model_channels, h, w), one
    /// timestep per sample, and a context whose group count divides N. Residual i < 12 is
    /// zero_convs[i](input_blocks[i](…)), the last middle_block_out(middle_block(…)), as (N, C_i, h_i, w_i).
    /// `tap` receives `time_embed`, `guided_hint`, `zero_conv_in.{i}` and `middle_block`.
    public func callAsFunction(_ x: Tensor, guidedHint: Tensor, timesteps: [Int], context: Context,
                               tap: ((String, Tensor) -> Void)? = nil) throws -> [Tensor] {
        guard x.rank == 4, x.dim(0) > 0, x.dim(1) == config.inChannels, x.dim(2) > 0, x.dim(3) > 0 else {
            throw ModelInputError.shape(argument: "x", expected: "(N, \(config.inChannels), h, w)", got: x.shape)
        }
        let n = x.dim(0), h0 = x.dim(2), w0 = x.dim(3)
        guard guidedHint.shape == [n, config.modelChannels, h0, w0] else {
            throw ModelInputError.shape(argument: "guided hint",
                                        expected: "[\(n), \(config.modelChannels), \(h0), \(w0)] (a hint of \(8 * h0)×\(8 * w0) pixels per frame)",
                                        got: guidedHint.shape)
        }
        guard timesteps.count == n else {
            throw ModelInputError.shape(argument: "timesteps", expected: "(\(n)): one per frame", got: [timesteps.count])
        }
        guard n % context.groups == 0 else {
            throw ModelInputError.invalid(argument: "ControlNet context",
                                          reason: "\(context.groups) context groups do not divide \(n) frames")
        }

        let emb = timeEmbed(timesteps.map(Float.init))                                      // n (4·mc)
        tap?("time_embed", emb)
        tap?("guided_hint", guidedHint)
        var residuals: [Tensor] = []
        var h = x.float32()
        for (i, block) in inputBlocks.enumerated() {
            h = block(h, emb: emb, context: context.blocks)                                  // n c_i h_i w_i
            if i == 0 { h += guidedHint }
            tap?("zero_conv_in.\(i)", h)
            residuals.append(zeroConvs[i](h))
        }
        h = middleBlock(h, emb: emb, context: context.blocks)
        tap?("middle_block", h)
        residuals.append(middleBlockOut(h))
        return residuals
    }

    /// One call from the raw hint and context (the reference's `forward`).
    public func callAsFunction(_ x: Tensor, hint: Tensor, timesteps: [Int], context: Tensor,
                               tap: ((String, Tensor) -> Void)? = nil) throws -> [Tensor] {
        try self(x, guidedHint: try embedHint(hint), timesteps: timesteps, context: try prepare(context: context), tap: tap)
    }
}
