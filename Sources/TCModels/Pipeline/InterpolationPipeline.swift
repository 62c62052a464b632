import TCCore

/// The decoding stage (spec §1.11): latents / scale factor through the dual-reference decoder in
/// chunks of `temporal_length` frames, with the middle-frame re-decode (Q5) on by default.
public struct InterpolationDecoding: Sendable {
    public var redecodeMiddleFrames = true

    public init(redecodeMiddleFrames: Bool = true) { self.redecodeMiddleFrames = redecodeMiddleFrames }

    /// Latents (T, embed_dim, h, w) as sampled (scaled) → frames (T, 3, H, W), about [−1, 1], not
    /// clamped. The decoder is loaded here and released on return. `progress` hears (pass, passes)
    /// after each decode; `isCancelled` is asked between them.
    public func decode(_ latents: Tensor, references: DecoderReferences, model: ToonCrafterModel,
                       progress: ((Int, Int) -> Void)? = nil, isCancelled: (() -> Bool)? = nil) throws -> Tensor {
        let t = latents.dim(0)
        if redecodeMiddleFrames && t < 4 {
            throw ModelInputError.invalid(argument: "latents",
                                          reason: "the middle-frame re-decode needs at least 4 frames, got \(t); turn it off for shorter clips")
        }
        let decoder = try model.decoder()
        let prepared = try decoder.prepare(references)
        let driver = VideoDecoding(decoder: decoder, chunkLength: model.config.unet.temporalLength, redecodeMiddleFrames: false)
        let passes = redecodeMiddleFrames ? 2 : 1
        let frames = try driver.decode(latents: latents, references: prepared)
        progress?(1, passes)
        guard redecodeMiddleFrames else { return frames }
        if isCancelled?() == true { throw SamplingError.cancelled }
        // Q5, as both official drivers do: decode again without latent frames 1 and T−2, and take
        // output frames T/2−1 and T/2 from positions T/2−2 and T/2−1 of that decode.
        var keep = Array(0..<t)
        keep.remove(at: 1)
        keep.remove(at: keep.count - 2)
        let middle = try driver.decode(latents: latents.gather(frames: keep), references: prepared)
        let per = frames.count / t
        for k in 0..<2 {
            (frames.f32 + (t / 2 - 1 + k) * per).update(from: middle.f32 + (t / 2 - 2 + k) * per, count: per)
        }
        progress?(2, passes)
        return frames
    }
}

/// Spec §1 end to end: two keyframes and a prompt → T frames. Each stage loads the networks it
/// runs and releases them before the next, so the conditioning models are gone before the
/// denoising loop and the UNet before decoding.
public struct InterpolationPipeline {
    public let model: ToonCrafterModel
    public var fit = KeyframeFit.crop
    public var sampling: InterpolationSampling
    public var decoding = InterpolationDecoding()
    /// Frames to generate; the model's T by default.
    public var frames: Int

    public init(model: ToonCrafterModel) {
        self.model = model
        sampling = InterpolationSampling(model.config.sampler)
        frames = model.config.frames
    }

    /// The stages, for progress reports and memory measurements.
    public enum Stage: String, Sendable { case conditioning, denoising, decoding }

    /// `first`, `last`: RGB keyframes (h, w, 3) uint8 of any size. Returns frames (T, 3, H, W) in
    /// about [−1, 1], not clamped (see `framesToBytes` for the reference's 8-bit output).
    public func run(first: Tensor, last: Tensor, prompt: String, posteriorNoise: NoiseSource, noise: NoiseSource,
                    observer: SamplingObserver = SamplingObserver(),
                    stageFinished: ((Stage) -> Void)? = nil) throws -> Tensor {
        let c = model.config
        let a = try preprocessKeyframe(first, height: c.height, width: c.width, fit: fit)
        let b = try preprocessKeyframe(last, height: c.height, width: c.width, fit: fit)
        let conditioning = try ConditioningEncoder(model: model).encode(first: a, last: b, prompt: prompt,
                                                                        posteriorNoise: posteriorNoise)
        stageFinished?(.conditioning)
        let (schedule, _) = try model.schedule()
        let samples = try sampling.sample(unet: try model.unet(), schedule: schedule, context: conditioning.context,
                                          unconditionalContext: conditioning.unconditionalContext,
                                          concat: try conditioning.concat(frames: frames), noise: noise, observer: observer)
        stageFinished?(.denoising)
        let video = try decoding.decode(latentFrames(samples), references: conditioning.references, model: model)
        stageFinished?(.decoding)
        return video
    }
}

/// Sampler output (1, C, T, h, w) → the LATENT layout (T, C, h, w).
public func latentFrames(_ samples: Tensor) throws -> Tensor {
    guard samples.rank == 5, samples.dim(0) == 1 else {
        throw ModelInputError.shape(argument: "latents", expected: "(1, C, T, h, w)", got: samples.shape)
    }
    return samples.permuted([0, 2, 1, 3, 4]).contiguous().reshaped([samples.dim(2), samples.dim(1), samples.dim(3), samples.dim(4)])
}

/// The LATENT layout (T, C, h, w) → the sampler's (1, C, T, h, w).
public func videoLatents(_ frames: Tensor) throws -> Tensor {
    guard frames.rank == 4 else {
        throw ModelInputError.shape(argument: "latents", expected: "(T, C, h, w)", got: frames.shape)
    }
    return frames.permuted([1, 0, 2, 3]).contiguous().reshaped([1, frames.dim(1), frames.dim(0), frames.dim(2), frames.dim(3)])
}

/// Decoded frames (T, 3, H, W) in [−1, 1] → IMAGE frames (T, H, W, 3) in [0, 1]: (x + 1)/2,
/// clamped as the reference's saver clamps.
public func imageFrames(_ decoded: Tensor) throws -> Tensor {
    guard decoded.rank == 4, decoded.dim(1) == 3 else {
        throw ModelInputError.shape(argument: "frames", expected: "(T, 3, H, W)", got: decoded.shape)
    }
    let x = decoded.float32()
    let t = x.dim(0), h = x.dim(2), w = x.dim(3)
    let out = Tensor(empty: [t, h, w, 3])
    let src = x.f32, dst = out.f32
    parallelFor(t * h) { row in
        let f = row / h, y = row % h
        for c in 0..<3 {
            let s = src + ((f * 3 + c) * h + y) * w
            let d = dst + (f * h + y) * w * 3 + c
            for i in 0..<w { d[3 * i] = (min(max(s[i], -1), 1) + 1) / 2 }
        }
    }
    return out
}
