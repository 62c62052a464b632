import TCCore

/// Spec §2.4 and §1.6: the OpenCLIP text tower as ToonCrafter conditions on it
/// (`cond_stage_model.model`): token + positional embedding, the blocks up to the penultimate one
/// with the causal mask, `ln_final`, all positions. Token ids (N, 77) → (N, 77, width).
public struct CLIPTextEncoder {
    public let config: OpenCLIPTextConfig
    let tokenEmbedding: Tensor, positionalEmbedding: Tensor
    let blocks: [CLIPResidualBlock]
    let lnFinal: LayerNorm

    /// Keys of the full tower that the conditioning never reads (spec §3.3).
    public static func unusedKeys(config c: OpenCLIPTextConfig) -> [String] {
        let block = c.usedLayers == c.layers ? [] : ["ln_1.weight", "ln_1.bias", "attn.in_proj_weight", "attn.in_proj_bias",
            "attn.out_proj.weight", "attn.out_proj.bias", "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight",
            "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias"].map { "transformer.resblocks.\(c.layers - 1).\($0)" }
        return block + ["text_projection", "logit_scale"]
    }

    /// `w` is scoped at the open_clip model (`cond_stage_model.model.`).
    public init(_ w: WeightReader, config: OpenCLIPTextConfig = .vitH14) throws {
        self.config = config
        tokenEmbedding = try w("token_embedding.weight", shape: [config.vocabSize, config.width])
        positionalEmbedding = try w("positional_embedding", shape: [config.contextLength, config.width])
        blocks = try (0..<config.usedLayers).map {
            try CLIPResidualBlock(w, "transformer.resblocks.\($0)", width: config.width, heads: config.heads,
                                  mlpRatio: config.mlpRatio)
        }
        lnFinal = try LayerNorm(w, "ln_final", channels: config.width)
    }

    // (N, context) ids → (N, context, width)
    public func callAsFunction(_ tokens: Tensor) throws -> Tensor {
        guard tokens.rank == 2, tokens.dim(1) == config.contextLength else {
            throw ModelInputError.shape(argument: "text tokens", expected: "(N, \(config.contextLength))", got: tokens.shape)
        }
        let ids = tokens.toInts()
        if let bad = ids.first(where: { $0 < 0 || $0 >= config.vocabSize }) {
            throw ModelInputError.invalid(argument: "text tokens", reason: "id \(bad) outside the vocabulary 0..<\(config.vocabSize)")
        }
        var x = tokenEmbedding.gather(frames: ids).float32().reshaped([tokens.dim(0), config.contextLength, config.width])
        x += positionalEmbedding
        for block in blocks { x = block(x, causal: true) }
        return lnFinal(x)
    }
}
