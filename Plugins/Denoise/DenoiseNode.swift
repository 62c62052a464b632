import Foundation
import ModelNodeKit
import TCCore
import TCModels
import TCPluginKit

/// Denoise: the conditioning → sampled latents (spec §1.9–1.10).
enum DenoiseNode {
    static let definition = NodeDefinition(
        type: "Denoise",
        doc: """
            Generate the in-between latents: ToonCrafter's 3D UNet sampled from noise, guided by the conditioning.
            DDIM exactly as the reference (uniform_trailing timesteps, eta, classifier-free guidance with the \
            unconditional context and guidance rescale, dynamic x0 rescale, noise at every step), or DPM-Solver++(2M) \
            (`solver: dpmpp2m`, deterministic, needs fewer steps). The two guidance branches run as one batch. \
            The UNet comes from the model that made the conditioning (its `model` metadata); only the UNet is \
            loaded. Noise comes from `seed` (tcgraph's own generator: seeds are not PyTorch's). \
            `frames` other than the model's 16 make every frame see all image tokens (the reference's rule).
            Progress is reported per step; Ctrl-C stops between steps.
            """ + "\n" + DenoiseSketch.doc,
        inputs: [Port("cond", .cond, doc: "Conditioning from Encode."), DenoiseSketch.input],
        outputs: [Port("latents", .latent, doc: "Latents [T, 4, h, w], multiplied by the scale factor.")],
        params: [
            .int("steps", min: 1, max: 1000, doc: "Sampling steps (default: the model's, 50 for ToonCrafter)."),
            .float("cfg", min: 0, max: 50, doc: "Classifier-free guidance scale, 1 = no guidance (default: the model's, 7.5 for ToonCrafter)."),
            .float("guidance_rescale", min: 0, max: 1, doc: "Guidance rescale φ, 0 = off (default: the model's, 0.7 for ToonCrafter)."),
            .float("eta", min: 0, max: 1, doc: "DDIM stochasticity, ignored by dpmpp2m (default: the model's, 1 for ToonCrafter)."),
            .int("frames", default: 0, min: 0, max: 256, doc: "Frames to generate (0: the conditioning's, 16 for ToonCrafter)."),
            .int("fs", min: 1, max: 100, doc: "Frame-rate conditioning, smaller = larger motion, 5–30 (default: the model's, 10 for ToonCrafter)."),
            .int("seed", default: 123, min: 0, max: Int(Int32.max), doc: "Seed of the initial noise and the per-step noise."),
            .choice("solver", InterpolationSampling.Solver.allCases.map(\.rawValue), default: "ddim", doc: "Sampler."),
        ] + DenoiseSketch.params + [NodePrecision.param],
        run: run)

    static func run(_ ctx: NodeContext) throws {
        try NodePrecision.run(ctx) { try compute(ctx) }
    }

    private static func compute(_ ctx: NodeContext) throws {
        let input = try ctx.requiredInput("cond")
        let cond = try InterpolationBundles.readCond(input, port: "cond")
        guard let path = cond.meta["model"] else {
            throw NodeError("input 'cond' has no 'model' metadata: connect it to an Encode node")
        }
        let opened = try ModelResolution.open(ctx, .file(path), withCLIP: false)
        let model = opened.model
        var frames = try ctx.int("frames")
        if frames == 0 { frames = Int(cond.meta["frames"] ?? "") ?? cond.concat.dim(2) }
        guard frames >= 2 else { throw NodeError("frames: an interpolation needs at least 2 frames, got \(frames)") }

        // Settings a graph leaves out come from the model's own config: the real model's are the
        // reference CLI's, a small model states what it was tuned for.
        var sampling = InterpolationSampling(model.config.sampler)
        if let v = try ctx.optionalInt("steps") { sampling.steps = v }
        if let v = try ctx.optionalFloat("eta") { sampling.eta = v }
        let scale = try ctx.optionalFloat("cfg").map(Float.init) ?? sampling.guidance.scale
        let rescale = try ctx.optionalFloat("guidance_rescale").map(Float.init) ?? sampling.guidance.rescale
        sampling.guidance = Guidance(scale: scale, rescale: rescale)
        if let v = try ctx.optionalInt("fs") { sampling.fs = v }
        sampling.solver = InterpolationSampling.Solver(rawValue: try ctx.string("solver"))!
        let seed = try ctx.int("seed")
        ctx.log("\(sampling.solver.rawValue) \(sampling.steps) steps, cfg \(sampling.guidance.scale), rescale \(sampling.guidance.rescale), "
                + "eta \(sampling.eta), fs \(sampling.fs), seed \(seed)")

        let (schedule, warnings) = try model.schedule()
        ModelResolution.logWarnings(ctx, model, schedule: warnings)
        let concat = try interpolationConcat(keyframes: try cond.keyframeLatents, frames: frames)
        try ctx.checkCancelled()
        let observer = SamplingObserver(progress: { done, total in ctx.progress(done, of: total, "step \(done)/\(total)") },
                                        isCancelled: { ctx.isCancelled })
        let samples: Tensor
        do {
            samples = try sampling.sample(unet: try model.unet(), schedule: schedule, context: cond.context,
                                          unconditionalContext: cond.unconditionalContext, concat: concat,
                                          noise: SeededGaussianNoise(seed: UInt64(seed)), observer: observer,
                                          guide: try DenoiseSketch.guide(ctx, modelPath: path, concat: concat, context: cond.context,
                                                                         unconditionalContext: sampling.guidance.scale == 1 ? nil : cond.unconditionalContext))
        } catch SamplingError.cancelled {
            // The flag the loop saw: report the cancellation the host's way.
            try ctx.checkCancelled()
            throw SamplingError.cancelled
        }
        let released = ResidentPages.release(model, prefixes: ["model.diffusion_model."], files: opened.files)
        ctx.log("released \(released >> 20) MiB of UNet weights' resident pages", level: .debug)
        var meta = cond.meta
        meta["seed"] = "\(seed)"
        meta["steps"] = "\(sampling.steps)"
        meta["solver"] = sampling.solver.rawValue
        meta["fs"] = "\(sampling.fs)"
        try ctx.setOutput("latents", InterpolationBundles.latents(try latentFrames(samples), meta: meta))
    }
}
