import TCCore

/// Fixtures `clip_text` and `clip_vision` (parity README (e), (f); spec §2.4, §2.5, §2.7).
enum CLIPParity {
    static func text(_ f: ParityFixture) throws -> [String: Tensor] {
        let root = f.weights
        let encoder = try CLIPTextEncoder(root.scoped("cond_stage_model.model"), config: OpenCLIPTextConfig(f.config))
        try f.requireAllWeightsRead(root, prefix: "cond_stage_model.")
        let tokens = try CLIPTokenizer().tokenize(try f.meta.strings("prompts"), contextLength: encoder.config.contextLength)
        return ["tokens": tokens, "embedding": try encoder(tokens)]
    }

    static func vision(_ f: ParityFixture) throws -> [String: Tensor] {
        let root = f.weights
        let tower = try CLIPVisionEncoder(root.scoped("embedder.model"), config: OpenCLIPVisionConfig(f.config))
        try f.requireAllWeightsRead(root, prefix: "embedder.")
        let preprocessed = try tower.preprocess(f.input("image"))
        return ["preprocessed": preprocessed, "tokens": try tower(preprocessed)]
    }
}
