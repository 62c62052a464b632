import TCCore

/// Keys and values of one context, projected once and reused for every step of a sampling run
/// (the context is constant across steps). `k`, `v` are (G, L, inner): query sample n of N uses
/// set n / (N/G), so a set can serve one frame (G = N) or all frames of a video (G = B).
public struct KeyValues {
    public let k: Tensor
    public let v: Tensor
}

/// A cross-attention's projected context: one softmax over `text` and, for the UNet's image
/// branch (spec §2.1.6), a second, separate softmax over `image`, added with scale 1.
public struct AttentionContext {
    public let text: KeyValues
    public let image: KeyValues?
}

/// `CrossAttention` of the reference (spec §2.1.6): to_q/to_k/to_v without bias, head-major split,
/// scale d_h^−½, to_out with bias; optional `to_k_ip`/`to_v_ip` for the image tokens.
public struct CrossAttention {
    public let toQ: Linear, toK: Linear, toV: Linear, toOut: Linear
    public let toKIp: Linear?, toVIp: Linear?
    public let heads: Int, dHead: Int

    /// `contextDim` nil = self-attention (keys from the queries' own width).
    public init(_ w: WeightReader, _ key: String, queryDim: Int, contextDim: Int?, heads: Int, dHead: Int,
                imageBranch: Bool = false) throws {
        let inner = heads * dHead, cd = contextDim ?? queryDim
        toQ = try Linear(w, "\(key).to_q", in: queryDim, out: inner, bias: false)
        toK = try Linear(w, "\(key).to_k", in: cd, out: inner, bias: false)
        toV = try Linear(w, "\(key).to_v", in: cd, out: inner, bias: false)
        toOut = try Linear(w, "\(key).to_out.0", in: inner, out: queryDim)
        toKIp = imageBranch ? try Linear(w, "\(key).to_k_ip", in: cd, out: inner, bias: false) : nil
        toVIp = imageBranch ? try Linear(w, "\(key).to_v_ip", in: cd, out: inner, bias: false) : nil
        self.heads = heads
        self.dHead = dHead
    }

    var scale: Float { Float(1 / Double(dHead).squareRoot()) }

    /// Projects a context: `text` (G, Lt, D) through to_k/to_v, `image` (G', Li, D) through the
    /// image branch. Without an image branch the whole context belongs in `text`.
    public func prepare(text: Tensor, image: Tensor?) -> AttentionContext {
        let imageKV: KeyValues?
        if let image, image.dim(1) > 0, let toKIp, let toVIp {
            imageKV = KeyValues(k: toKIp(image), v: toVIp(image))
        } else {
            imageKV = nil
        }
        return AttentionContext(text: KeyValues(k: toK(text), v: toV(text)), image: imageKV)
    }

    /// x (S, L, C) → residual + attn(x) written into `residual` (S, L, C) in place, where the
    /// attention is self-attention over each sequence.
    func addSelfAttention(_ x: Tensor, into residual: Tensor) {
        let q = toQ(x), k = toK(x), v = toV(x)
        let o = attention(q: q, k: k, v: v, heads: heads, scale: scale)
        linearAccumulate(o, toOut, into: residual)
    }

    /// Cross-attention of x (N, L, C) to a prepared context, accumulated into `residual`.
    func addCrossAttention(_ x: Tensor, context: AttentionContext, into residual: Tensor) {
        let q = toQ(x)
        var o = grouped(q, context.text)
        if let image = context.image { o += grouped(q, image) }
        linearAccumulate(o, toOut, into: residual)
    }

    /// Attention where groups of consecutive query samples share one key set.
    private func grouped(_ q: Tensor, _ kv: KeyValues) -> Tensor {
        let n = q.dim(0), g = kv.k.dim(0)
        precondition(n % g == 0, "attention: \(n) query samples for \(g) key sets")
        let qg = q.reshaped([g, n / g * q.dim(1), q.dim(2)])
        return attention(q: qg, k: kv.k, v: kv.v, heads: heads, scale: scale).reshaped(q.shape)
    }
}
