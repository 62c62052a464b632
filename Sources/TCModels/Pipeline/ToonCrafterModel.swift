import Foundation
import TCCore

/// A ToonCrafter checkpoint (`LatentVisualDiffusion`'s state dict, spec §3) and the config it was
/// built with. Each component loads on its own, strictly, as views of the (mmapped) source, so a
/// stage holds only the networks it runs: conditioning needs the encoder, the CLIP towers and the
/// Resampler; denoising only the UNet; decoding only the decoder. Nothing is loaded until asked.
public final class ToonCrafterModel: @unchecked Sendable {
    public let config: ToonCrafterConfig
    public let source: TensorSource
    /// For messages: which model this is.
    public let name: String
    /// Tensors outside every component (a strict load of the whole checkpoint would refuse them).
    public let strayKeys: [String]
    private let lock = NSLock()
    private var unconditional: Tensor?

    public init(source: TensorSource, config: ToonCrafterConfig, name: String? = nil) throws {
        self.source = source
        self.config = config
        self.name = name ?? source.sourceName
        let components = [Self.unetComponent, Self.encoderComponent, Self.decoderComponent, Self.textComponent,
                          Self.visionComponent, Self.resamplerComponent]
        let known = Set(Self.scheduleBufferKeys).union(Self.postQuantConvKeys)
        strayKeys = source.allKeys.filter { k in !known.contains(k) && !components.contains { $0.owns(k) } }.sorted()
    }

    // MARK: components (spec §3.2)

    static let unetComponent = ModelComponent(name: "UNet (model.diffusion_model)", prefixes: ["model.diffusion_model."], unused: [])
    static let encoderComponent = ModelComponent(name: "VAE encoder (first_stage_model.encoder, quant_conv)",
                                                 prefixes: ["first_stage_model.encoder.", "first_stage_model.quant_conv."], unused: [])
    static let decoderComponent = ModelComponent(name: "dual-reference decoder (first_stage_model.decoder)",
                                                 prefixes: ["first_stage_model.decoder."], unused: [])
    /// Its unused keys depend on the layer count; see `textTower()`.
    static let textComponent = ModelComponent(name: "CLIP text tower (cond_stage_model)", prefixes: ["cond_stage_model."], unused: [])
    static let visionComponent = ModelComponent(name: "CLIP image tower (embedder)", prefixes: ["embedder."],
                                                unused: Set(CLIPVisionEncoder.unusedKeys.map { "embedder.model." + $0 }))
    static let resamplerComponent = ModelComponent(name: "Resampler (image_proj_model)", prefixes: ["image_proj_model."], unused: [])

    /// The DDPM buffers of the checkpoint's top level (spec §3.2); the sampler reads the first six.
    public static let scheduleBufferKeys = NoiseSchedule.bufferKeys + [
        "log_one_minus_alphas_cumprod", "sqrt_recip_alphas_cumprod", "sqrt_recipm1_alphas_cumprod", "posterior_variance",
        "posterior_log_variance_clipped", "posterior_mean_coef1", "posterior_mean_coef2",
    ]
    /// Stored but skipped by the dual-reference decode path (Q1).
    static let postQuantConvKeys = DualReferenceDecoder.unusedKeys.map { "first_stage_model." + $0 }

    public func unet() throws -> DynamiCrafterUNet {
        try load(Self.unetComponent) { try DynamiCrafterUNet($0.scoped("model.diffusion_model"), config: config.unet) }
    }

    public func encoder() throws -> VAEEncoder {
        try load(Self.encoderComponent) { try VAEEncoder($0.scoped("first_stage_model"), config: config.vae) }
    }

    public func decoder() throws -> DualReferenceDecoder {
        try load(Self.decoderComponent) { try DualReferenceDecoder($0.scoped("first_stage_model"), config: config.vae) }
    }

    public func textTower() throws -> CLIPTextEncoder {
        let unused = Set(CLIPTextEncoder.unusedKeys(config: config.text).map { "cond_stage_model.model." + $0 })
        let component = ModelComponent(name: Self.textComponent.name, prefixes: Self.textComponent.prefixes, unused: unused)
        return try load(component, clip: true) { try CLIPTextEncoder($0.scoped("cond_stage_model.model"), config: config.text) }
    }

    public func visionTower() throws -> CLIPVisionEncoder {
        try load(Self.visionComponent, clip: true) { try CLIPVisionEncoder($0.scoped("embedder.model"), config: config.vision) }
    }

    public func resampler() throws -> Resampler {
        try load(Self.resamplerComponent) { try Resampler($0.scoped("image_proj_model"), config: config.resampler) }
    }

    /// Whether the file holds the CLIP towers (the pruned community file does not).
    public var hasCLIPTowers: Bool {
        source.allKeys.contains { $0.hasPrefix("cond_stage_model.") } && source.allKeys.contains { $0.hasPrefix("embedder.") }
    }

    /// The noise schedule of the config with the checkpoint's stored buffers, which the reference's
    /// strict load makes authoritative (Q26). `warnings` name buffers that differ from the
    /// recomputation beyond float32 rounding.
    public func schedule() throws -> (schedule: NoiseSchedule, warnings: [String]) {
        try NoiseSchedule(config.schedule).overridden(by: source)
    }

    /// The unconditional context (spec §1.8) once computed for this model: it does not depend on
    /// the input, so it is computed once (see `ConditioningEncoder`).
    public var cachedUnconditionalContext: Tensor? {
        get { lock.lock(); defer { lock.unlock() }; return unconditional }
        set { lock.lock(); unconditional = newValue; lock.unlock() }
    }

    private func load<T>(_ component: ModelComponent, clip: Bool = false, _ build: (WeightReader) throws -> T) throws -> T {
        // A shape-aware source (synthetic weights) makes its tensors on request, so it lists none yet.
        if !(source is ShapeAwareTensorSource), !source.allKeys.contains(where: component.owns) {
            throw ModelFileError.componentAbsent(file: source.sourceName, component: component.name,
                                                 prefix: component.prefixes[0], hint: clip ? Self.openCLIPHint : nil)
        }
        return try component.load(from: source, build)
    }

    static let openCLIPHint = "the pruned community file leaves the CLIP towers out; put open_clip's own ViT-H-14 weights ("
        + ModelFiles.openCLIPNames[0] + ", from " + ModelFiles.openCLIPSource + ") next to it"
}

/// A model file that cannot serve a request at all.
public enum ModelFileError: Error, CustomStringConvertible, Equatable {
    case componentAbsent(file: String, component: String, prefix: String, hint: String?)

    public var description: String {
        switch self {
        case let .componentAbsent(f, c, p, h):
            "\(f): has no \(c) (no tensor under '\(p)')" + (h.map { "; \($0)" } ?? "")
        }
    }
}
