import TCCore

/// Runs a fixture's computation through the real model code and returns its outputs by name
/// (without the `output.` prefix). Each model file family registers one runner per fixture name.
public typealias ParityRunner = (ParityFixture) throws -> [String: Tensor]

public enum ParityRegistry {
    /// Fixture name (`__metadata__.fixture.fixture`) → runner. One entry per line, sorted by name.
    public static let runners: [String: ParityRunner] = [
        "anime2sketch": Anime2SketchParity.run,
        "clip_text": CLIPParity.text,
        "clip_vision": CLIPParity.vision,
        "ddim_sample": SamplerParity.ddimSample,
        "pipeline_small": PipelineParity.run,
        "pipeline_tiny": PipelineParity.run,
        "resampler": ResamplerParity.run,
        "sketch_controlnet": SketchControlNetParity.run,
        "unet_controlled_step": UNetParity.unetControlledStep,
        "unet_step": UNetParity.unetStep,
        "vae_decode_dualref": VAEParity.decode,
        "vae_encode": VAEParity.encode,
    ]

    public static func run(_ fixture: ParityFixture) throws -> [ParityResult] {
        guard let runner = runners[fixture.name] else {
            throw ConfigError.invalid(path: fixture.path,
                                      reason: "no runner for fixture '\(fixture.name)' (known: \(runners.keys.sorted().joined(separator: ", ")))")
        }
        return try fixture.compare(runner(fixture))
    }
}
