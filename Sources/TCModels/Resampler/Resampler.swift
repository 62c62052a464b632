import Foundation
import TCCore

/// `image_proj_stage_config.params` (spec §2.6); defaults are ToonCrafter's.
public struct ResamplerConfig: Sendable, Equatable {
    public var dim = 1024
    public var depth = 4
    public var dimHead = 64
    public var heads = 12
    public var numQueries = 16
    public var embeddingDim = 1280
    public var outputDim = 1024
    public var ffMult = 4
    /// Queries per frame × frames; nil means one image's `numQueries`.
    public var videoLength: Int? = 16

    public static let toonCrafter = ResamplerConfig()

    public init() {}

    /// From a config holding `image_proj_stage_config`, from that entry, or from its `params`.
    public init(_ c: ConfigDict) throws {
        if c.has("image_proj_stage_config") { try self.init(c.dict("image_proj_stage_config")); return }
        self.init()
        let p = c.has("params") ? try c.dict("params") : c
        dim = try p.int("dim", default: dim)
        depth = try p.int("depth", default: depth)
        dimHead = try p.int("dim_head", default: dimHead)
        heads = try p.int("heads", default: heads)
        numQueries = try p.int("num_queries", default: numQueries)
        embeddingDim = try p.int("embedding_dim", default: embeddingDim)
        outputDim = try p.int("output_dim", default: outputDim)
        ffMult = try p.int("ff_mult", default: ffMult)
        if p.values.keys.contains("video_length") {
            videoLength = p.has("video_length") ? try p.int("video_length") : nil
        }
    }

    public var inner: Int { heads * dimHead }
    /// Learned queries: 16 per frame for 16 frames in ToonCrafter; frame t owns rows [16t, 16t+16).
    public var latentCount: Int { numQueries * (videoLength ?? 1) }
}

/// Spec §2.6: the Perceiver resampler (`image_proj_model`) turning CLIP image tokens (B, L, 1280)
/// into (B, 256, 1024) context tokens.
public struct Resampler {
    public let config: ResamplerConfig
    let latents: Tensor
    let projIn: Linear, projOut: Linear, normOut: LayerNorm
    let layers: [(attn: PerceiverAttention, ff: ResamplerFeedForward)]

    /// `w` is scoped at `image_proj_model.`.
    public init(_ w: WeightReader, config: ResamplerConfig = .toonCrafter) throws {
        self.config = config
        latents = try w("latents", shape: [1, config.latentCount, config.dim])
        projIn = try Linear(w, "proj_in", in: config.embeddingDim, out: config.dim, bias: true)
        projOut = try Linear(w, "proj_out", in: config.dim, out: config.outputDim, bias: true)
        normOut = try LayerNorm(w, "norm_out", channels: config.outputDim)
        layers = try (0..<config.depth).map { i in
            (try PerceiverAttention(w, "layers.\(i).0", config: config),
             try ResamplerFeedForward(w, "layers.\(i).1", dim: config.dim, mult: config.ffMult))
        }
    }

    // (B, L, embedding_dim) → (B, latentCount, output_dim)
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        guard x.rank == 3, x.dim(2) == config.embeddingDim else {
            throw ModelInputError.shape(argument: "Resampler input", expected: "(B, L, \(config.embeddingDim))", got: x.shape)
        }
        let b = x.dim(0)
        let tokens = projIn(x)
        // The learned latents are shared by the batch.
        var l = concat(Array(repeating: latents.float32(), count: b), axis: 0)
        for (attn, ff) in layers {
            l += attn(tokens, latents: l)
            l += ff(l)
        }
        return normOut(projOut(l))
    }
}

/// Perceiver attention: q from LN(latents); k|v = to_kv(concat(LN(x), LN(latents))) split k first;
/// logits (q·d^−¼)(k·d^−¼)ᵀ, softmax in float32; heads split head-major; to_out without bias.
struct PerceiverAttention {
    let norm1: LayerNorm, norm2: LayerNorm
    let toQ: Linear, toKV: Linear, toOut: Linear
    let heads: Int, dimHead: Int

    init(_ w: WeightReader, _ key: String, config c: ResamplerConfig) throws {
        norm1 = try LayerNorm(w, "\(key).norm1", channels: c.dim)
        norm2 = try LayerNorm(w, "\(key).norm2", channels: c.dim)
        toQ = try Linear(w, "\(key).to_q", in: c.dim, out: c.inner, bias: false)
        toKV = try Linear(w, "\(key).to_kv", in: c.dim, out: 2 * c.inner, bias: false)
        toOut = try Linear(w, "\(key).to_out", in: c.inner, out: c.dim, bias: false)
        heads = c.heads
        dimHead = c.dimHead
    }

    // x (B, L, dim), latents (B, N, dim) → (B, N, dim)
    func callAsFunction(_ x: Tensor, latents: Tensor) -> Tensor {
        let xn = norm1(x), ln = norm2(latents)
        let inner = heads * dimHead
        // d^−¼ on q and on k, as the reference does (for fp16 range), rather than d^−½ on the logits.
        let s = Float(1 / Double(dimHead).squareRoot().squareRoot())
        let q = toQ(ln) * s
        let kv = toKV(concat([xn, ln], axis: 1))
        let k = kv.sliced(axis: 2, 0..<inner) * s
        let v = kv.sliced(axis: 2, inner..<(2 * inner))
        return toOut(attention(q: q, k: k, v: v, heads: heads, scale: 1))
    }
}

/// LayerNorm → Linear (no bias) → exact GELU → Linear (no bias); keys `.0`, `.1`, `.3`.
struct ResamplerFeedForward {
    let norm: LayerNorm, fc1: Linear, fc2: Linear

    init(_ w: WeightReader, _ key: String, dim: Int, mult: Int) throws {
        norm = try LayerNorm(w, "\(key).0", channels: dim)
        fc1 = try Linear(w, "\(key).1", in: dim, out: dim * mult, bias: false)
        fc2 = try Linear(w, "\(key).3", in: dim * mult, out: dim, bias: false)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let h = fc1(norm(x))
        h.geluInPlace()
        return fc2(h)
    }
}
