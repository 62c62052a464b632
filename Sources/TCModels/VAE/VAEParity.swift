import TCCore

/// Fixtures `vae_encode` and `vae_decode_dualref` (parity README (a), (b); spec §2.2–2.3).
enum VAEParity {
    static func encode(_ f: ParityFixture) throws -> [String: Tensor] {
        let config = try VAEConfig(f.config)
        let root = f.weights
        let encoder = try VAEEncoder(root.scoped("first_stage_model"), config: config)
        try f.requireAllWeightsRead(root, prefix: "first_stage_model.")
        let out = try encoder(f.input("x"))
        let posterior = out.posterior
        var result: [String: Tensor] = [
            "moments": out.moments, "mean": posterior.mean, "logvar": posterior.logvar, "std": posterior.std,
            "z": try posterior.sample(noise: f.input("posterior_noise"), scale: config.scaleFactor),
            "z_mode": posterior.mode(scale: config.scaleFactor),
        ]
        for (i, h) in out.hiddenStates.enumerated() { result["hidden_states.\(i)"] = h }
        return result
    }

    static func decode(_ f: ParityFixture) throws -> [String: Tensor] {
        let config = try VAEConfig(f.config)
        let root = f.weights
        let decoder = try DualReferenceDecoder(root.scoped("first_stage_model"), config: config)
        try f.requireAllWeightsRead(root, prefix: "first_stage_model.")
        let refs = try DecoderReferences(referenceContext: (0...config.levels).map { try f.input("ref_context.\($0)") })
        let z = try f.input("z_decoder")
        let frames = try f.config.int("T", default: z.dim(0))
        return ["frames": try decoder(z, references: decoder.prepare(refs), frames: frames)]
    }
}
