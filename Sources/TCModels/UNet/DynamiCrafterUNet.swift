import TCCore

/// The DynamiCrafter/ToonCrafter 3D UNet (`model.diffusion_model`, `openaimodel3d.UNetModel`,
/// spec §2.1), with the ControlNet residual injection of `cldm.ControlledUnetModel` (fixture j).
/// Activations are (B·T, C, h, w) with frame-major batch; temporal layers regroup by T.
public struct DynamiCrafterUNet {
    public let config: UNetConfig
    let timeEmbed: TimestepMLP
    let fpsEmbed: TimestepMLP?
    let inputBlocks: [UNetBlock]
    let initAttn: TemporalTransformer?
    let middleBlock: UNetBlock
    let outputBlocks: [UNetBlock]
    let outNorm: GroupNorm
    let outConv: Conv2d

    /// The reference's hard-coded per-frame context rule (spec §2.1.1, Q4): 77 text tokens, then
    /// 16 image tokens per frame.
    public static let textTokens = 77
    public static let imageTokensPerFrame = 16

    /// `w` is scoped to the UNet's keys (e.g. `WeightReader(file).scoped("model.diffusion_model")`).
    public init(_ w: WeightReader, config: UNetConfig) throws {
        self.config = config
        let mc = config.modelChannels, emb = config.timeEmbedDim
        timeEmbed = try TimestepMLP(w, "time_embed", sinusoidDim: mc, embDim: emb)
        fpsEmbed = config.fsCondition ? try TimestepMLP(w, "fps_embedding", sinusoidDim: mc, embDim: emb) : nil

        func transformers(_ key: String, _ at: Int, _ ch: Int) throws -> [UNetLayer] {
            let (heads, dHead) = config.heads(for: ch)
            var layers: [UNetLayer] = [
                .spatial(try SpatialTransformer(w, "\(key).\(at)", channels: ch, heads: heads, dHead: dHead,
                                                depth: config.transformerDepth, contextDim: config.contextDim,
                                                useLinear: config.useLinear, imageBranch: config.imageCrossAttention),
                         key: "\(key).\(at)"),
            ]
            if config.temporalAttention {
                layers.append(.temporal(try TemporalTransformer(w, "\(key).\(at + 1)", channels: ch, heads: heads,
                                                                dHead: dHead, depth: config.transformerDepth,
                                                                useLinear: config.useLinear)))
            }
            return layers
        }
        func res(_ key: String, _ cin: Int, _ cout: Int) throws -> UNetLayer {
            .res(try ResBlock(w, key, inChannels: cin, outChannels: cout, embDim: emb, temporal: config.temporalConv))
        }

        var blocks = [UNetBlock(key: "input_blocks.0",
                                layers: [.conv(try Conv2d(w, "input_blocks.0.0", in: config.inChannels, out: mc, kernel: 3))])]
        if config.additionAttention {
            let (heads, dHead) = config.initAttnHeads
            initAttn = try TemporalTransformer(w, "init_attn.0", channels: mc, heads: heads, dHead: dHead,
                                               depth: config.transformerDepth, useLinear: false)
        } else {
            initAttn = nil
        }
        var skipChannels = [mc]
        var ch = mc, ds = 1
        for (level, mult) in config.channelMult.enumerated() {
            for _ in 0..<config.numResBlocks {
                let key = "input_blocks.\(blocks.count)"
                var layers = [try res("\(key).0", ch, mult * mc)]
                ch = mult * mc
                if config.attentionResolutions.contains(ds) { layers += try transformers(key, 1, ch) }
                blocks.append(UNetBlock(key: key, layers: layers))
                skipChannels.append(ch)
            }
            if level != config.channelMult.count - 1 {
                let key = "input_blocks.\(blocks.count)"
                blocks.append(UNetBlock(key: key, layers: [.down(try Downsample(w, "\(key).0", channels: ch))]))
                skipChannels.append(ch)
                ds *= 2
            }
        }
        inputBlocks = blocks

        var middle = [try res("middle_block.0", ch, ch)]
        middle += try transformers("middle_block", 1, ch)
        middle.append(try res("middle_block.\(middle.count)", ch, ch))
        middleBlock = UNetBlock(key: "middle_block", layers: middle)

        blocks = []
        for (level, mult) in config.channelMult.enumerated().reversed() {
            for i in 0...config.numResBlocks {
                let key = "output_blocks.\(blocks.count)"
                let skip = skipChannels.removeLast()
                var layers = [try res("\(key).0", ch + skip, mult * mc)]
                ch = mult * mc
                if config.attentionResolutions.contains(ds) { layers += try transformers(key, 1, ch) }
                if level > 0 && i == config.numResBlocks {
                    layers.append(.up(try Upsample(w, "\(key).\(layers.count)", channels: ch)))
                    ds /= 2
                }
                blocks.append(UNetBlock(key: key, layers: layers))
            }
        }
        outputBlocks = blocks
        outNorm = try GroupNorm(w, "out.0", channels: ch, eps: 1e-5)
        outConv = try Conv2d(w, "out.2", in: mc, out: config.outChannels, kernel: 3)
    }

    /// Number of control residuals `callAsFunction` accepts: one per skip, then the middle block.
    public var controlCount: Int { inputBlocks.count + 1 }

    /// Latent sizes must divide by 2^(levels−1) so the skips line up (spec Q25).
    public var sizeMultiple: Int { 1 << (config.channelMult.count - 1) }

    /// Projects a context (B, L, context_dim) for `frames` frames. When L = 77 + 16·T, frame f
    /// sees the 77 text tokens and image tokens [16f, 16f+16); otherwise every frame sees the whole
    /// context (the reference's rule, Q4). Text keys are computed once per video, not per frame.
    public func prepare(context: Tensor, frames: Int) throws -> UNetContext {
        guard context.rank == 3, context.dim(2) == config.contextDim else {
            throw ModelInputError.shape(argument: "context", expected: "(B, L, \(config.contextDim))", got: context.shape)
        }
        guard frames > 0 else { throw ModelInputError.invalid(argument: "frames", reason: "must be positive, got \(frames)") }
        let b = context.dim(0), l = context.dim(1)
        let nText = Swift.min(DynamiCrafterUNet.textTokens, l)
        let text = context.sliced(axis: 1, 0..<nText).contiguous()
        var image: Tensor? = nil
        if config.imageCrossAttention && l > nText {
            let rest = context.sliced(axis: 1, nText..<l).contiguous()
            image = l == DynamiCrafterUNet.textTokens + DynamiCrafterUNet.imageTokensPerFrame * frames
                ? rest.reshaped([b * frames, DynamiCrafterUNet.imageTokensPerFrame, config.contextDim])
                : rest
        }
        var attention: [String: [AttentionContext]] = [:]
        for block in inputBlocks + [middleBlock] + outputBlocks {
            for (key, st) in block.spatialTransformers {
                attention[key] = st.prepare(text: text, image: image)
            }
        }
        return UNetContext(attention: attention, batch: b, frames: frames)
    }

    /// v = UNet(x, t, context, fs): x (B, in_channels, T, h, w) → (B, out_channels, T, h, w).
    /// `timesteps` and `fs` have one value per video (`fs` nil = the config's default_fs).
    /// `control`: raw residuals (B·T, C_i, h_i, w_i), `controlCount` of them; residual i < last is
    /// added (times `controlScale`) to skip i before its concatenation, the last one to the middle
    /// block's output. `tap` receives the named intermediates of the parity fixtures.
    public func callAsFunction(_ x: Tensor, timesteps: [Int], context: UNetContext, fs: [Int]? = nil,
                               control: [Tensor]? = nil, controlScale: Float = 1,
                               tap: ((String, Tensor) -> Void)? = nil) throws -> Tensor {
        let b = context.batch, t = context.frames
        guard x.rank == 5, x.dim(0) == b, x.dim(1) == config.inChannels, x.dim(2) == t else {
            throw ModelInputError.shape(argument: "x", expected: "(\(b), \(config.inChannels), \(t), h, w)", got: x.shape)
        }
        let h0 = x.dim(3), w0 = x.dim(4)
        guard h0 > 0, w0 > 0, h0 % sizeMultiple == 0, w0 % sizeMultiple == 0 else {
            throw ModelInputError.invalid(argument: "x", reason: "latent size \(h0)×\(w0) must be a positive multiple of \(sizeMultiple)")
        }
        guard timesteps.count == b else {
            throw ModelInputError.shape(argument: "timesteps", expected: "(\(b))", got: [timesteps.count])
        }
        if let fs, fs.count != b { throw ModelInputError.shape(argument: "fs", expected: "(\(b))", got: [fs.count]) }
        if let control { try checkControl(control, batchFrames: b * t, h: h0, w: w0) }

        var emb = timeEmbed(timesteps.map(Float.init))                                 // b (4·mc)
        tap?("time_embed", emb)
        if let fpsEmbed {
            let f = fpsEmbed((fs ?? Array(repeating: config.defaultFs, count: b)).map(Float.init))
            tap?("fps_embedding", f)
            emb = emb + f
        }

        var h = x.permutedContiguous([0, 2, 1, 3, 4]).reshaped([b * t, config.inChannels, h0, w0])   // (b t) c h w
        var skips: [Tensor] = []
        for (i, block) in inputBlocks.enumerated() {
            h = block(h, emb: emb, context: context)
            tap?(block.key, h)
            if i == 0, let initAttn {
                h = initAttn(h, frames: t)
                tap?("init_attn", h)
            }
            skips.append(h)
        }
        h = middleBlock(h, emb: emb, context: context)
        tap?(middleBlock.key, h)
        if let control { h = h + control[skips.count] * controlScale }
        for block in outputBlocks {
            var skip = skips.removeLast()
            if let control { skip = skip + control[skips.count] * controlScale }
            h = block(concat([h, skip], axis: 1), emb: emb, context: context)
            tap?(block.key, h)
        }
        let y = outConv(outNorm(h, silu: true))                                              // (b t) c h w
        return y.reshaped([b, t, config.outChannels, h0, w0]).permutedContiguous([0, 2, 1, 3, 4])
    }

    /// Convenience for a single call: projects `context` and runs the UNet.
    public func callAsFunction(_ x: Tensor, timesteps: [Int], context: Tensor, fs: [Int]? = nil,
                               control: [Tensor]? = nil, controlScale: Float = 1,
                               tap: ((String, Tensor) -> Void)? = nil) throws -> Tensor {
        guard x.rank == 5 else {
            throw ModelInputError.shape(argument: "x", expected: "(B, \(config.inChannels), T, h, w)", got: x.shape)
        }
        return try self(x, timesteps: timesteps, context: prepare(context: context, frames: x.dim(2)),
                        fs: fs, control: control, controlScale: controlScale, tap: tap)
    }

    /// Shapes (N, C_i, h_i, w_i) of the skips and the middle block for an N-sample, h×w latent.
    public func controlShapes(batchFrames n: Int, h: Int, w: Int) -> [[Int]] {
        var shapes: [[Int]] = []
        var ch = config.modelChannels, hh = h, ww = w
        shapes.append([n, ch, hh, ww])
        for (level, mult) in config.channelMult.enumerated() {
            ch = mult * config.modelChannels
            for _ in 0..<config.numResBlocks { shapes.append([n, ch, hh, ww]) }
            if level != config.channelMult.count - 1 {
                hh = (hh + 1) / 2
                ww = (ww + 1) / 2
                shapes.append([n, ch, hh, ww])
            }
        }
        shapes.append([n, ch, hh, ww])
        return shapes
    }

    private func checkControl(_ control: [Tensor], batchFrames n: Int, h: Int, w: Int) throws {
        let want = controlShapes(batchFrames: n, h: h, w: w)
        guard control.count == want.count else {
            throw ModelInputError.invalid(argument: "control", reason: "expected \(want.count) residuals, got \(control.count)")
        }
        for (i, (c, s)) in zip(control, want).enumerated() where c.shape != s {
            throw ModelInputError.shape(argument: "control[\(i)]", expected: "\(s)", got: c.shape)
        }
    }
}

extension DynamiCrafterUNet {
    public static let checkpointPrefix = "model.diffusion_model"

    /// Loads strictly, as the reference does: every tensor under the prefix must be consumed.
    public static func load(_ source: TensorSource, prefix: String = checkpointPrefix,
                            config: UNetConfig = UNetConfig()) throws -> DynamiCrafterUNet {
        let w = WeightReader(source).scoped(prefix)
        let unet = try DynamiCrafterUNet(w, config: config)
        let unread = w.unreadKeys
        guard unread.isEmpty else { throw WeightError.unexpectedKeys(file: source.sourceName, keys: unread) }
        return unet
    }
}
