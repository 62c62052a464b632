import TCCore

/// Sketch guidance during sampling (sketch-and-colorize.md §1.3, §6; fixture (j) notes): the
/// `ControlProvider` a `UNetDenoiser` asks for the ControlNet residuals of every batched UNet call.
///
/// - The hint embedding (`input_hint_block`) depends only on the sketches, so it is computed ONCE,
///   here, and reused by every step and both guidance branches.
/// - Each branch's residuals come from that branch's context: the conditional videos attend to the
///   conditional context, the unconditional ones to the unconditional context; both see the same
///   hints (the reference copies `control_cond` into the unconditional dict).
/// - Every frame runs through the encoder, sketched or not: an absent frame is an all-zero hint
///   and still gets residuals, because the encoder also sees the noisy latent (§1.5).
/// - Residuals are returned raw, times the optional per-frame factor; the global `scale`
///   (control_scale, default 0.6) is the denoiser's `controlScale`, set by
///   `UNetDenoiser.guide(with:)`, so without per-frame factors the result is the reference's
///   `residual · control_scale` bit for bit.
public final class SketchGuidance: ControlProvider {
    public let controlNet: SketchControlNet
    /// control_scale: one factor on all 13 residuals (the reference's UI default is 0.6).
    public let scale: Float
    /// Optional extra factor per frame (e.g. 0 where nothing was sketched); nil = 1 everywhere.
    public let frameScales: [Float]?
    /// Videos B and frames T per video of the UNet calls this serves.
    public let videos: Int
    public let frames: Int
    /// Latent size the hints belong to (hint pixels / 8).
    public let latentHeight: Int, latentWidth: Int
    /// Whether every hint frame is blank (all zero).
    public let allBlank: Bool
    /// How many times `input_hint_block` ran (once per video batch, at construction).
    public private(set) var hintEvaluations = 0

    let guidedHint: Tensor                          // (B·T, mc, h, w)
    let conditional: SketchControlNet.Context
    let both: SketchControlNet.Context?             // conditional then unconditional
    private var doubledHint: Tensor?

    /// `hints` (B·T, hint_channels, 8h, 8w) frame-major, white lines on black in [0,1] (absent
    /// frames all zero); `context` and `unconditionalContext` (B, L, context_dim) are the UNet's
    /// own cross-attention contexts. With `textOnly` the encoder sees only the 77 text tokens (the
    /// alternative reading of the paper, §1.3); the default is the whole context, as the public
    /// demos ran.
    public init(controlNet: SketchControlNet, hints: Tensor, context: Tensor, unconditionalContext: Tensor?,
                scale: Float = 0.6, frameScales: [Float]? = nil, textOnly: Bool = false) throws {
        let cfg = controlNet.config
        guard context.rank == 3, context.dim(0) > 0 else {
            throw ModelInputError.shape(argument: "sketch guidance context", expected: "(B, L, \(cfg.contextDim))", got: context.shape)
        }
        if let uc = unconditionalContext, uc.shape != context.shape {
            throw ModelInputError.shape(argument: "sketch guidance unconditional context", expected: "\(context.shape)", got: uc.shape)
        }
        let b = context.dim(0)
        guard hints.rank == 4, hints.dim(0) > 0, hints.dim(0) % b == 0 else {
            throw SketchError.invalidInput(what: "sketch hints", expected: "(B·T, \(cfg.hintChannels), H, W) for B = \(b) video(s)",
                                           got: "\(hints.shape)")
        }
        guard hints.dim(1) == cfg.hintChannels else {
            throw SketchError.invalidInput(what: "sketch hints", expected: "\(cfg.hintChannels) channel(s) (the encoder's hint_channels)",
                                           got: "\(hints.dim(1)) in \(hints.shape)")
        }
        guard hints.dim(2) > 0, hints.dim(3) > 0, hints.dim(2) % 8 == 0, hints.dim(3) % 8 == 0 else {
            throw SketchError.invalidInput(what: "sketch hints", expected: "H and W of 8× the latent size (e.g. 320×512)",
                                           got: "\(hints.dim(2))×\(hints.dim(3))")
        }
        let t = hints.dim(0) / b
        if let fs = frameScales {
            guard fs.count == t else {
                throw SketchError.invalidInput(what: "per-frame control scales", expected: "\(t) values (one per frame)", got: "\(fs.count)")
            }
            guard fs.allSatisfy({ $0.isFinite }) else {
                throw SketchError.invalidInput(what: "per-frame control scales", expected: "finite values", got: "\(fs)")
            }
        }
        guard scale.isFinite else {
            throw SketchError.invalidInput(what: "control_scale", expected: "a finite value", got: "\(scale)")
        }
        func encoderContext(_ c: Tensor) -> Tensor {
            textOnly ? c.sliced(axis: 1, 0..<Swift.min(DynamiCrafterUNet.textTokens, c.dim(1))) : c
        }
        self.controlNet = controlNet
        self.scale = scale
        self.frameScales = frameScales
        videos = b
        frames = t
        latentHeight = hints.dim(2) / 8
        latentWidth = hints.dim(3) / 8
        let x = hints.float32()
        allBlank = !(0..<x.count).contains { x.f32[$0] != 0 }
        guidedHint = try controlNet.embedHint(x)
        hintEvaluations = 1
        let cond = try controlNet.prepare(context: encoderContext(context))
        conditional = cond
        both = try unconditionalContext.map {
            try SketchControlNet.batched([cond, try controlNet.prepare(context: encoderContext($0))])
        }
    }

    /// One video's SKETCH frames (T, 8h, 8w, 1) as hints.
    public convenience init(controlNet: SketchControlNet, sketches: SketchFrames, context: Tensor, unconditionalContext: Tensor?,
                            scale: Float = 0.6, frameScales: [Float]? = nil, textOnly: Bool = false) throws {
        guard context.rank == 3, context.dim(0) == 1 else {
            throw ModelInputError.shape(argument: "sketch guidance context", expected: "(1, L, D) for one video's sketches", got: context.shape)
        }
        let hints = sketches.frames.reshaped([sketches.count, 1, sketches.height, sketches.width])
        try self.init(controlNet: controlNet, hints: hints, context: context, unconditionalContext: unconditionalContext,
                      scale: scale, frameScales: frameScales, textOnly: textOnly)
    }

    /// Nothing to add: every hint is blank and every frame's effective scale is 0, so every residual
    /// would be zero. The only case where skipping the encoder gives the reference's numbers; a
    /// blank frame with a non-zero scale still gets residuals from the noisy latent.
    public var isInert: Bool {
        allBlank && (scale == 0 || (frameScales?.allSatisfy { $0 == 0 } ?? false))
    }

    /// `noisy` (N, C, T, h, w) with N = B (conditional only) or 2B (conditional, then unconditional).
    public func residuals(noisy: Tensor, timestep: Int) throws -> [Tensor] {
        guard noisy.rank == 5, noisy.dim(1) == controlNet.config.inChannels, noisy.dim(2) == frames,
              noisy.dim(3) == latentHeight, noisy.dim(4) == latentWidth else {
            throw ModelInputError.shape(argument: "sketch guidance latents",
                                        expected: "(N, \(controlNet.config.inChannels), \(frames), \(latentHeight), \(latentWidth))",
                                        got: noisy.shape)
        }
        let n = noisy.dim(0)
        let context: SketchControlNet.Context, hint: Tensor
        switch n {
        case videos:
            (context, hint) = (conditional, guidedHint)
        case 2 * videos where both != nil:
            if doubledHint == nil { doubledHint = concat([guidedHint, guidedHint], axis: 0) }
            (context, hint) = (both!, doubledHint!)
        default:
            throw ModelInputError.invalid(argument: "sketch guidance latents",
                                          reason: "\(n) videos in the call; the guidance serves \(videos)" +
                                              (both == nil ? " (no unconditional context was given)" : " or \(2 * videos) with guidance"))
        }
        let c = noisy.dim(1), h = noisy.dim(3), w = noisy.dim(4)
        let x = noisy.permutedContiguous([0, 2, 1, 3, 4]).reshaped([n * frames, c, h, w])      // (n t) c h w
        let residuals = try controlNet(x, guidedHint: hint, timesteps: Array(repeating: timestep, count: n * frames),
                                       context: context)
        guard let frameScales else { return residuals }
        return residuals.map { scaledPerFrame($0, frameScales) }
    }

    /// r[(v t), …] · factors[t], in place (r is a fresh tensor).
    private func scaledPerFrame(_ r: Tensor, _ factors: [Float]) -> Tensor {
        let per = r.count / r.dim(0), p = r.f32
        parallelFor(r.dim(0)) { i in
            let f = factors[i % factors.count], row = p + i * per
            for j in 0..<per { row[j] *= f }
        }
        return r
    }
}

extension SketchGuidance {
    /// What a denoiser should use as its `control`: nil when the guidance `isInert` (all hints blank
    /// and scale 0: every residual would be zero, so skipping the ControlNet is exact — the
    /// documented fast path), otherwise the guidance itself, with `scale` as the `controlScale`.
    public var provider: ControlProvider? { isInert ? nil : self }

    /// Checks, before any sampling, that this guidance serves a denoiser over keyframe latents
    /// `concat` (B, C, T, h, w) with (`guided`) or without classifier-free guidance.
    public func check(concat: Tensor, guided: Bool) throws {
        let want = [videos, controlNet.config.inChannels, frames, latentHeight, latentWidth]
        guard concat.shape == want else {
            throw ModelInputError.shape(argument: "sketch guidance",
                                        expected: "keyframe latents \(want) for \(videos)×\(frames) hints of " +
                                            "\(8 * latentHeight)×\(8 * latentWidth)",
                                        got: concat.shape)
        }
        guard !guided || both != nil else {
            throw ModelInputError.invalid(argument: "sketch guidance",
                                          reason: "the denoiser runs classifier-free guidance but the sketch guidance has no unconditional context")
        }
    }
}

extension UNetDenoiser {
    /// Wires sketch guidance into this denoiser after `check`: `control` = its `provider`,
    /// `controlScale` = its `scale`.
    public func guide(with sketch: SketchGuidance) throws {
        try sketch.check(concat: concat, guided: guided)
        control = sketch.provider
        controlScale = sketch.scale
    }
}
