import Foundation
import TCCore

/// Fixture (h) `pipeline_tiny` (parity README) and the trained small model's `pipeline_small`
/// (tools/train/make_fixture.py): images → video through the same code the nodes run — the model
/// built from the fixture's config, strict component loading, keyframe preprocessing, conditioning,
/// DDIM, decoding with the middle-frame re-decode — with the fixture's recorded noise.
///
/// The guidance branches run as the reference runs them, two batch-1 UNet calls. pipeline_tiny's
/// deepest UNet level is 1×2 latent pixels, where each ResBlock GroupNorm normalises two values and
/// multiplies their difference by ~1/√eps; at the last step the unconditional branch can turn
/// float32 rounding differences far inside the upstream tolerances into a v outside its own, and
/// everything after it with it (see Tests/TCModelsTests/PipelineStageTests.swift).
enum PipelineParity {
    static func run(_ f: ParityFixture) throws -> [String: Tensor] {
        let model = try open(f)
        let c = model.config
        let t = c.frames
        let prompt = try f.config.string("prompt")
        try checkTokens(f, prompt: prompt, contextLength: c.text.contextLength)

        var out: [String: Tensor] = [:]
        let first = try preprocessKeyframe(f.input("image_first_uint8"), height: c.height, width: c.width, fit: .crop)
        let last = try preprocessKeyframe(f.input("image_last_uint8"), height: c.height, width: c.width, fit: .crop)
        // The reference encodes all T frames and samples all T posteriors; the two keyframes' draws
        // are frames 0 and T−1 of its noise.
        let posteriorNoise = try f.input("noise.posterior")
        let conditioning = try ConditioningEncoder(model: model).encode(
            first: first, last: last, prompt: prompt,
            posteriorNoise: RecordedNoise([posteriorNoise.gather(frames: [0, t - 1])]),
            trace: { out[$0] = $1 })

        // The reference's per-frame posterior and sample: frames [0, T/2) show the first keyframe.
        let owner = (0..<t).map { $0 < t / 2 ? 0 : 1 }
        let mean = out["posterior_mean"]!.gather(frames: owner), std = out["posterior_std"]!.gather(frames: owner)
        out["posterior_mean"] = mean
        out["posterior_std"] = std
        var z = std * posteriorNoise.float32()
        z += mean
        out["z"] = try videoLatents(z * c.vae.scaleFactor)
        out["c_concat"] = try conditioning.concat(frames: t)
        for (i, r) in conditioning.references.features.enumerated() {
            out["ref_context.\(i)"] = r.reshaped([1, 2] + Array(r.shape.dropFirst())).permuted([0, 2, 1, 3, 4]).contiguous()
        }

        var sampling = InterpolationSampling(c.sampler)
        sampling.steps = try f.config.int("ddim_steps")
        // The reference's call structure: its rounding order matters at this model's 1×2-pixel
        // deepest level (see `InterpolationSampling.batchedBranches`).
        sampling.batchedBranches = false
        let (schedule, _) = try model.schedule()
        let names = ["x_T"] + (0..<sampling.steps).map { "step\($0)" }
        let samples = try sampling.sample(
            unet: try model.unet(), schedule: schedule, context: conditioning.context,
            unconditionalContext: conditioning.unconditionalContext, concat: try conditioning.concat(frames: t),
            noise: RecordedNoise(try names.map { try f.input("noise.\($0)") }),
            observer: SamplingObserver(trace: { s in
                out["step\(s.step).v_cond"] = s.vCond
                out["step\(s.step).v_uncond"] = s.vUncond
                out["step\(s.step).x_prev"] = s.xPrev
            }))
        out["samples"] = samples
        out.merge(try scheduleOutputs(sampling, schedule), uniquingKeysWith: { $1 })

        let latents = try latentFrames(samples)
        let video = try InterpolationDecoding().decode(latents, references: conditioning.references, model: model)
        out["video"] = video.permuted([1, 0, 2, 3]).contiguous().reshaped([1, 1, 3, t] + Array(video.shape.dropFirst(2)))
        out["video_uint8"] = try framesToBytes(video)
        // The second decode on its own (without latent frames 1 and T−2), as the fixture records it.
        let decoder = try model.decoder()
        var keep = Array(0..<t)
        keep.remove(at: 1)
        keep.remove(at: keep.count - 2)
        let middle = try decoder(latents.gather(frames: keep) * Float(1 / Double(c.vae.scaleFactor)),
                                 references: decoder.prepare(conditioning.references), frames: keep.count)
        out["decoded_middle"] = middle.permuted([1, 0, 2, 3]).contiguous().reshaped([1, 3, keep.count] + Array(middle.shape.dropFirst(2)))
        return out
    }

    /// The model the fixture describes: its own tensors, or the file its `weights_file` names
    /// (relative to the fixture's folder), built from the fixture's config.
    static func open(_ f: ParityFixture) throws -> ToonCrafterModel {
        let config = try ToonCrafterConfig(f.config)
        guard f.meta.has("weights_file") else { return try ToonCrafterModel(source: f.file, config: config, name: f.name) }
        let dir = URL(fileURLWithPath: f.path).deletingLastPathComponent()
        let path = dir.appendingPathComponent(try f.meta.string("weights_file")).standardizedFileURL.path
        return try ToonCrafterModel(source: try openWeightFile(path), config: config, name: f.name)
    }

    /// The tokenizer must give the fixture's token ids for the prompt and for "".
    static func checkTokens(_ f: ParityFixture, prompt: String, contextLength: Int) throws {
        let tokenizer = try CLIPTokenizer()
        for (text, name) in [(prompt, "prompt_tokens"), ("", "empty_prompt_tokens")] where f.file.contains("input.\(name)") {
            let mine = tokenizer.tokenize([text], contextLength: contextLength).toInts()
            guard mine == (try f.input(name)).toInts() else {
                throw ModelInputError.invalid(argument: "\(f.path): input.\(name)",
                                              reason: "the tokenizer gives \(mine.prefix(12))… for \"\(text)\", the fixture \((try f.input(name)).toInts().prefix(12))…")
            }
        }
    }

    /// The schedule and per-step coefficients as the fixtures record them (as `ddim_sample`).
    static func scheduleOutputs(_ sampling: InterpolationSampling, _ schedule: NoiseSchedule) throws -> [String: Tensor] {
        var sampler = DDIMSampler(schedule: schedule)
        sampler.steps = sampling.steps
        sampler.eta = sampling.eta
        sampler.spacing = sampling.spacing
        return try sampler.parityScheduleOutputs()
    }
}
