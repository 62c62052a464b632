import TCCore

/// `TemporalTransformer` with `temporal_selfatt_only` (spec §2.1.5, Q16): GroupNorm(32, eps 1e-6)
/// with statistics over all T frames of a clip → proj_in → blocks whose attn1 and attn2 are both
/// self-attention over the T frames at each pixel (no mask, no position term) → proj_out → + input.
/// `init_attn` is one of these with 8 heads and kernel-1 Conv1d projections (Q15).
public struct TemporalTransformer {
    public let norm: GroupNorm
    public let projIn: Linear, projOut: Linear
    public let blocks: [BasicTransformerBlock]

    public init(_ w: WeightReader, _ key: String, channels: Int, heads: Int, dHead: Int, depth: Int = 1,
                useLinear: Bool) throws {
        let inner = heads * dHead
        norm = try GroupNorm(w, "\(key).norm", channels: channels, eps: 1e-6)
        if useLinear {
            projIn = try Linear(w, "\(key).proj_in", in: channels, out: inner)
            projOut = try Linear(w, "\(key).proj_out", in: inner, out: channels)
        } else {
            projIn = try Linear(pointwiseConv: w, "\(key).proj_in", in: channels, out: inner, spatialDims: 1)
            projOut = try Linear(pointwiseConv: w, "\(key).proj_out", in: inner, out: channels, spatialDims: 1)
        }
        blocks = try (0..<depth).map {
            try BasicTransformerBlock(w, "\(key).transformer_blocks.\($0)", dim: inner, heads: heads, dHead: dHead,
                                      contextDim: nil)
        }
    }

    /// x (B·T, C, h, w), frame-major → (B·T, C, h, w).
    public func callAsFunction(_ x: Tensor, frames: Int) -> Tensor {
        let tokens = projectToTokens(norm(x, span: frames), projIn, frames: frames)   // b (h w) t c
        let s = tokens.reshaped([tokens.count / frames / tokens.dim(-1), frames, tokens.dim(-1)])
        for block in blocks { block.apply(s, context: nil) }
        return projectFromTokens(s, projOut, frames: frames, residual: x)
    }
}
