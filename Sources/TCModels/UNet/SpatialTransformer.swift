import TCCore

/// `SpatialTransformer` (spec §2.1.4): GroupNorm(32, eps 1e-6) per frame → proj_in → transformer
/// blocks over the h·w tokens of each frame (row-major) → proj_out → + input.
/// proj_in/proj_out are Linear (`use_linear`) or 1×1 convs, the same map either way.
public struct SpatialTransformer {
    public let norm: GroupNorm
    public let projIn: Linear, projOut: Linear
    public let blocks: [BasicTransformerBlock]

    /// `imageBranch`: attn2 has the UNet's separate image softmax (`to_k_ip`/`to_v_ip`); without
    /// it attn2 is one ordinary softmax over whatever context it is given (SD / ControlNet).
    public init(_ w: WeightReader, _ key: String, channels: Int, heads: Int, dHead: Int, depth: Int = 1,
                contextDim: Int, useLinear: Bool = true, imageBranch: Bool) throws {
        let inner = heads * dHead
        norm = try GroupNorm(w, "\(key).norm", channels: channels, eps: 1e-6)
        if useLinear {
            projIn = try Linear(w, "\(key).proj_in", in: channels, out: inner)
            projOut = try Linear(w, "\(key).proj_out", in: inner, out: channels)
        } else {
            projIn = try Linear(pointwiseConv: w, "\(key).proj_in", in: channels, out: inner, spatialDims: 2)
            projOut = try Linear(pointwiseConv: w, "\(key).proj_out", in: inner, out: channels, spatialDims: 2)
        }
        blocks = try (0..<depth).map {
            try BasicTransformerBlock(w, "\(key).transformer_blocks.\($0)", dim: inner, heads: heads, dHead: dHead,
                                      contextDim: contextDim, imageBranch: imageBranch)
        }
    }

    /// The context projected by every block's attn2, for reuse across sampling steps.
    public func prepare(text: Tensor, image: Tensor?) -> [AttentionContext] {
        blocks.map { $0.attn2.prepare(text: text, image: image) }
    }

    /// x (N, C, h, w) → (N, C, h, w); `context` from `prepare`, one per block.
    public func callAsFunction(_ x: Tensor, context: [AttentionContext]) -> Tensor {
        let tokens = projectToTokens(norm(x), projIn, frames: 1)         // n (h w) c
        let s = tokens.reshaped([x.dim(0), tokens.count / x.dim(0) / tokens.dim(-1), tokens.dim(-1)])
        for (block, ctx) in zip(blocks, context) { block.apply(s, context: ctx) }
        return projectFromTokens(s, projOut, frames: 1, residual: x)
    }
}
