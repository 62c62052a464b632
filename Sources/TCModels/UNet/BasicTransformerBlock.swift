import TCCore

/// `BasicTransformerBlock` (spec §2.1.4–2.1.5): pre-LayerNorm (eps 1e-5) self-attention, a second
/// attention (cross-attention to a context, or in the temporal transformers another
/// self-attention), and a GEGLU feed-forward, each residual.
public struct BasicTransformerBlock {
    public let norm1: LayerNorm, norm2: LayerNorm
    public let attn1: CrossAttention, attn2: CrossAttention
    public let ff: FeedForward

    /// `contextDim` nil makes attn2 a self-attention (`temporal_selfatt_only`).
    public init(_ w: WeightReader, _ key: String, dim: Int, heads: Int, dHead: Int, contextDim: Int?,
                imageBranch: Bool = false) throws {
        norm1 = try LayerNorm(w, "\(key).norm1", channels: dim)
        norm2 = try LayerNorm(w, "\(key).norm2", channels: dim)
        attn1 = try CrossAttention(w, "\(key).attn1", queryDim: dim, contextDim: nil, heads: heads, dHead: dHead)
        attn2 = try CrossAttention(w, "\(key).attn2", queryDim: dim, contextDim: contextDim, heads: heads,
                                   dHead: dHead, imageBranch: imageBranch)
        ff = try FeedForward(w, "\(key).ff", dim: dim, norm: try LayerNorm(w, "\(key).norm3", channels: dim))
    }

    /// x (S, L, C) tokens, updated in place (the caller owns x). `context` nil = attn2 is a
    /// self-attention.
    func apply(_ x: Tensor, context: AttentionContext?) {
        attn1.addSelfAttention(norm1(x), into: x)
        if let context {
            attn2.addCrossAttention(norm2(x), context: context, into: x)
        } else {
            attn2.addSelfAttention(norm2(x), into: x)
        }
        ff.addInPlace(x)
    }
}
