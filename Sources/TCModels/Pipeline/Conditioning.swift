import TCCore

/// Everything the denoiser and the decoder need from the two keyframes and the prompt
/// (spec §1.3–1.8).
public struct InterpolationConditioning {
    /// [text(prompt) ; Resampler(CLIP(first keyframe))]: (1, 77 + tokens, context_dim).
    public let context: Tensor
    /// [text("") ; Resampler(CLIP(all-zero image))], the same shape.
    public let unconditionalContext: Tensor
    /// scale_factor · posterior sample of the first and last keyframe: (2, embed_dim, h, w).
    public let keyframeLatents: Tensor
    /// The encoder's five feature taps of the two keyframes, for the dual-reference decoder.
    public let references: DecoderReferences

    public init(context: Tensor, unconditionalContext: Tensor, keyframeLatents: Tensor, references: DecoderReferences) {
        self.context = context
        self.unconditionalContext = unconditionalContext
        self.keyframeLatents = keyframeLatents
        self.references = references
    }

    /// c_concat for `frames` frames (spec §1.4).
    public func concat(frames t: Int) throws -> Tensor { try interpolationConcat(keyframes: keyframeLatents, frames: t) }
}

/// Spec §1.4 (`--interp`): c_concat (1, C, T, h, w) from the keyframe latents (2, C, h, w): zero
/// except frame 0 (first keyframe) and frame T−1 (last keyframe); shared by both guidance branches (Q8).
public func interpolationConcat(keyframes: Tensor, frames t: Int) throws -> Tensor {
    guard keyframes.rank == 4, keyframes.dim(0) == 2 else {
        throw ModelInputError.shape(argument: "keyframe latents", expected: "(2, C, h, w)", got: keyframes.shape)
    }
    guard t >= 2 else { throw ModelInputError.invalid(argument: "frames", reason: "an interpolation needs at least 2 frames, got \(t)") }
    let z = keyframes.float32()
    let c = z.dim(1), plane = z.dim(2) * z.dim(3)
    let out = Tensor(zeros: [1, c, t, z.dim(2), z.dim(3)])
    for ch in 0..<c {
        (out.f32 + (ch * t) * plane).update(from: z.f32 + ch * plane, count: plane)
        (out.f32 + (ch * t + t - 1) * plane).update(from: z.f32 + (c + ch) * plane, count: plane)
    }
    return out
}

/// The keyframe latents (2, C, h, w) of a c_concat (1, C, T, h, w): its first and last frames.
public func keyframeLatents(concat: Tensor) throws -> Tensor {
    guard concat.rank == 5, concat.dim(0) == 1, concat.dim(2) >= 2 else {
        throw ModelInputError.shape(argument: "c_concat", expected: "(1, C, T ≥ 2, h, w)", got: concat.shape)
    }
    let t = concat.dim(2)
    return try latentFrames(concat).gather(frames: [0, t - 1])
}

/// Spec §1.3–1.8: turns two preprocessed keyframes and a prompt into `InterpolationConditioning`.
/// Each network is loaded from the model when its stage starts and released when it ends, so the
/// conditioning never holds more than one tower at a time.
public struct ConditioningEncoder {
    public let model: ToonCrafterModel

    public init(model: ToonCrafterModel) { self.model = model }

    /// `first`, `last`: (3, H, W) in [−1, 1] (see `preprocessKeyframe`). Only these two distinct
    /// frames are encoded (exact: the reference's 16-frame encode repeats them, spec Q6); the
    /// posterior is sampled with `posteriorNoise`, one (2, embed_dim, h, w) draw. `trace` receives
    /// the intermediates under the names of parity fixture (h).
    public func encode(first: Tensor, last: Tensor, prompt: String, posteriorNoise: NoiseSource,
                       trace: ((String, Tensor) -> Void)? = nil) throws -> InterpolationConditioning {
        let c = model.config
        for (name, x) in [("first keyframe", first), ("last keyframe", last)] {
            guard x.rank == 3, x.dim(0) == 3, x.shape == first.shape else {
                throw ModelInputError.shape(argument: name, expected: "(3, H, W) like the first keyframe \(first.shape)", got: x.shape)
            }
        }
        try c.checkFrameSize(height: first.dim(1), width: first.dim(2), argument: "keyframes")

        // The unconditional branch does not depend on the input (spec §1.8): computed once per model.
        // The all-zero image stays exactly zero through the CLIP resize, so one size serves all.
        let cached = trace == nil ? model.cachedUnconditionalContext : nil

        var texts = [prompt]
        if cached == nil { texts.append("") }
        let textEmbeddings = try withExtendedLifetime(try model.textTower()) { tower in
            let tokens = try CLIPTokenizer().tokenize(texts, contextLength: tower.config.contextLength)
            return try (0..<texts.count).map { try tower(tokens.sliced(axis: 0, $0..<($0 + 1)).contiguous()) }
        }
        trace?("text_emb", textEmbeddings[0])

        var images = [first.reshaped([1] + first.shape)]
        if cached == nil { images.append(Tensor(zeros: [1] + first.shape)) }
        let clipTokens = try withExtendedLifetime(try model.visionTower()) { tower in
            try images.map { try tower.encode(images: $0) }
        }
        trace?("clip_tokens", clipTokens[0])
        let imageTokens = try withExtendedLifetime(try model.resampler()) { r in try clipTokens.map { try r($0) } }
        trace?("img_emb", imageTokens[0])
        let context = TCCore.concat([textEmbeddings[0], imageTokens[0]], axis: 1)
        let uncond: Tensor
        if let cached {
            uncond = cached
        } else {
            trace?("uc_text_emb", textEmbeddings[1])
            trace?("uc_clip_tokens", clipTokens[1])
            trace?("uc_img_emb", imageTokens[1])
            uncond = TCCore.concat([textEmbeddings[1], imageTokens[1]], axis: 1)
            model.cachedUnconditionalContext = uncond
        }

        // (2, 3, H, W) → moments (2, 2·embed_dim, h, w) and the five taps of both keyframes.
        let encoded = try model.encoder()(TCCore.concat([first.reshaped([1] + first.shape), last.reshaped([1] + last.shape)], axis: 0))
        let posterior = encoded.posterior
        trace?("posterior_mean", posterior.mean)
        trace?("posterior_std", posterior.std)
        let z = try posterior.sample(noise: posteriorNoise.next(posterior.mean.shape), scale: c.vae.scaleFactor)
        let references = try DecoderReferences(hiddenStates: encoded.hiddenStates, frames: 2)
        return InterpolationConditioning(context: context, unconditionalContext: uncond, keyframeLatents: z, references: references)
    }
}
