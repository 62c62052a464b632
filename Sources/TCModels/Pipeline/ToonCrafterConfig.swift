import Foundation
import TCCore

/// Everything needed to build a ToonCrafter model and run its interpolation: the component configs
/// of `LatentVisualDiffusion` (spec §2), the frame size and count, and the sampler defaults of the
/// CLI (`scripts/run.sh`, spec §1.1).
///
/// Parsed from the structure of a parity fixture's `config` — `model_config` (or the official
/// yaml's `model`) with `target`/`params`, `open_clip_arch`, `H`, `W`, `T` and the sampler fields —
/// which is also what a model file carries in its safetensors `__metadata__["tcgraph_model"]`.
/// `inference512` is the real model (`configs/inference_512_v1.0.yaml` with the run.sh settings).
public struct ToonCrafterConfig: Sendable, Equatable {
    public var unet = UNetConfig()
    public var vae = VAEConfig.toonCrafter
    public var vision = OpenCLIPVisionConfig.vitH14
    public var text = OpenCLIPTextConfig.vitH14
    public var resampler = ResamplerConfig.toonCrafter
    public var schedule = NoiseSchedule.Parameters()
    /// Pixel size of the keyframes and output frames.
    public var height = 320
    public var width = 512
    /// Frames generated (the model's `temporal_length`).
    public var frames = 16
    public var sampler = SamplerDefaults()

    /// The CLI's sampling settings (spec §1.1).
    public struct SamplerDefaults: Sendable, Equatable {
        public var steps = 50
        public var eta = 1.0
        public var guidanceScale = 7.5
        public var guidanceRescale = 0.7
        public var spacing = TimestepSpacing.uniformTrailing
        /// `--frame_stride`.
        public var fs = 10
        public var prompt = ""

        public init() {}
    }

    /// The real ToonCrafter 512 interpolation model with the run.sh settings: every component
    /// config's defaults are the real model's.
    public static let inference512 = ToonCrafterConfig()

    private init() {}

    /// From a fixture-style config (see the type's documentation); `path` names it in errors.
    public init(_ c: ConfigDict) throws {
        self = .inference512
        let modelKey = c.has("model_config") ? "model_config" : "model"
        let model = try c.dict(modelKey)
        let target = try model.string("target", default: "lvdm.models.ddpm3d.LatentVisualDiffusion")
        guard target.hasSuffix("LatentVisualDiffusion") else {
            throw ConfigError.invalid(path: "\(model.path).target", reason: "'\(target)' is not a LatentVisualDiffusion (ToonCrafter) model")
        }
        let p = try model.dict("params")
        guard try p.string("conditioning_key", default: "hybrid") == "hybrid" else {
            throw ConfigError.invalid(path: "\(p.path).conditioning_key", reason: "only 'hybrid' (concat + cross-attention) is supported")
        }
        guard try p.string("uncond_type", default: "empty_seq") == "empty_seq" else {
            throw ConfigError.invalid(path: "\(p.path).uncond_type", reason: "only 'empty_seq' (the empty prompt) is supported")
        }
        schedule = try NoiseSchedule.Parameters(p)
        unet = try UNetConfig(try p.dict("unet_config"))
        vae = try VAEConfig(p)
        // open_clip_arch sits next to model_config; the towers find their arch through the stage configs.
        var towers = p.values
        if c.has("open_clip_arch") { towers["open_clip_arch"] = c.values["open_clip_arch"] }
        let towerConfig = ConfigDict(towers, path: p.path)
        vision = try OpenCLIPVisionConfig(towerConfig)
        text = try OpenCLIPTextConfig(towerConfig)
        resampler = try ResamplerConfig(p)

        frames = try c.int("T", default: unet.temporalLength)
        if c.has("H") || c.has("W") {
            height = try c.int("H")
            width = try c.int("W")
        } else if p.has("image_size") {
            let latent = try p.ints("image_size")
            guard latent.count == 2 else {
                throw ConfigError.invalid(path: "\(p.path).image_size", reason: "expected [h, w], got \(latent)")
            }
            height = latent[0] * latentFactor
            width = latent[1] * latentFactor
        }
        sampler.steps = try c.int("ddim_steps", default: sampler.steps)
        sampler.eta = try c.double("ddim_eta", default: sampler.eta)
        sampler.guidanceScale = try c.double("unconditional_guidance_scale", default: sampler.guidanceScale)
        sampler.guidanceRescale = try c.double("guidance_rescale", default: sampler.guidanceRescale)
        sampler.fs = try c.int("frame_stride", default: sampler.fs)
        sampler.prompt = try c.string("prompt", default: sampler.prompt)
        let spacing = try c.string("timestep_spacing", default: sampler.spacing.rawValue)
        guard let s = TimestepSpacing(rawValue: spacing) else {
            throw ConfigError.invalid(path: "\(c.path).timestep_spacing", reason: "unknown spacing '\(spacing)'")
        }
        sampler.spacing = s
        try checkConsistency(path: c.path)
    }

    /// Pixels per latent pixel: the encoder halves the size at every level but the last.
    public var latentFactor: Int { 1 << (vae.levels - 1) }

    /// Keyframe sizes must be multiples of this: the latent must fit the UNet's skips (spec Q25).
    public var sizeMultiple: Int { latentFactor << (unet.channelMult.count - 1) }

    /// Checks a frame size against `sizeMultiple`, naming `argument` in the error.
    public func checkFrameSize(height h: Int, width w: Int, argument: String) throws {
        let m = sizeMultiple
        guard h > 0, w > 0, h % m == 0, w % m == 0 else {
            throw ModelInputError.invalid(argument: argument,
                                          reason: "frame size \(w)×\(h) must be a positive multiple of \(m) in both directions for this model (e.g. \(width)×\(height))")
        }
    }

    /// The components must agree on the widths they exchange.
    private func checkConsistency(path: String) throws {
        func fail(_ reason: String) -> ConfigError { .invalid(path: path, reason: reason) }
        guard text.width == unet.contextDim else {
            throw fail("the text tower's width \(text.width) differs from the UNet's context_dim \(unet.contextDim)")
        }
        guard resampler.outputDim == unet.contextDim else {
            throw fail("the Resampler's output_dim \(resampler.outputDim) differs from the UNet's context_dim \(unet.contextDim)")
        }
        guard resampler.embeddingDim == vision.width else {
            throw fail("the Resampler's embedding_dim \(resampler.embeddingDim) differs from the vision tower's width \(vision.width)")
        }
        guard unet.inChannels == 2 * vae.embedDim, unet.outChannels == vae.embedDim, vae.zChannels == vae.embedDim else {
            throw fail("UNet channels in/out \(unet.inChannels)/\(unet.outChannels) do not match the autoencoder's embed_dim \(vae.embedDim) (hybrid conditioning needs in = 2·embed_dim)")
        }
        guard frames >= 2 else { throw fail("T = \(frames): an interpolation needs at least 2 frames") }
        try checkFrameSize(height: height, width: width, argument: "\(path).H/W")
    }
}
