import TCCore

/// Spec §2.5 and §1.5: the OpenCLIP ViT image tower as `FrozenOpenCLIPImageEmbedderV2` uses it
/// (`embedder.model.visual`): patch embedding without bias, class + positional embedding, ln_pre,
/// all blocks, and ALL tokens of the last block — no ln_post, no proj.
public struct CLIPVisionEncoder {
    public let config: OpenCLIPVisionConfig
    let conv1: Conv2d
    let classEmbedding: Tensor, positionalEmbedding: Tensor
    let lnPre: LayerNorm
    let blocks: [CLIPResidualBlock]

    /// Keys under `embedder.model.` the image conditioning never reads: the text-tower leftovers of
    /// the open_clip model and the vision head (spec §3.3).
    public static let unusedKeys = [
        "token_embedding.weight", "positional_embedding", "ln_final.weight", "ln_final.bias", "text_projection",
        "logit_scale", "visual.ln_post.weight", "visual.ln_post.bias", "visual.proj",
    ]

    /// `w` is scoped at the open_clip model (`embedder.model.`).
    public init(_ w: WeightReader, config: OpenCLIPVisionConfig = .vitH14) throws {
        self.config = config
        let v = w.scoped("visual")
        conv1 = try Conv2d(v, "conv1", in: 3, out: config.width, kernel: config.patchSize, stride: config.patchSize,
                           padding: .zero, bias: false)
        classEmbedding = try v("class_embedding", shape: [config.width])
        positionalEmbedding = try v("positional_embedding", shape: [config.tokens, config.width])
        lnPre = try LayerNorm(v, "ln_pre", channels: config.width)
        blocks = try (0..<config.layers).map {
            try CLIPResidualBlock(v, "transformer.resblocks.\($0)", width: config.width, heads: config.heads,
                                  mlpRatio: config.mlpRatio)
        }
    }

    /// Preprocessed images (B, 3, S, S) (see `CLIPImagePreprocessing`) → tokens (B, 1 + (S/p)², width),
    /// class token first, patches row-major.
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        let s = config.imageSize
        guard x.rank == 4, x.dim(1) == 3, x.dim(2) == s, x.dim(3) == s else {
            throw ModelInputError.shape(argument: "CLIP vision input", expected: "(B, 3, \(s), \(s))", got: x.shape)
        }
        let b = x.dim(0), w = config.width, patches = config.grid * config.grid
        // (B, width, g, g) → (B, g², width)
        let grid = conv1(x).reshaped([b, w, patches]).permutedContiguous([0, 2, 1])
        let cls = classEmbedding.float32().reshaped([1, 1, w])
        var h = concat((0..<b).flatMap { [cls, grid.sliced(axis: 0, $0..<($0 + 1))] }, axis: 1)
            .reshaped([b, patches + 1, w])
        h += positionalEmbedding
        h = lnPre(h)
        for block in blocks { h = block(h, causal: false) }
        return h
    }
}
