import TCCore

/// Fixture `resampler` (parity README (d), spec §2.6).
enum ResamplerParity {
    static func run(_ f: ParityFixture) throws -> [String: Tensor] {
        let root = f.weights
        let model = try Resampler(root.scoped("image_proj_model"), config: ResamplerConfig(f.config))
        try f.requireAllWeightsRead(root, prefix: "image_proj_model.")
        return ["tokens": try model(f.input("x"))]
    }
}
