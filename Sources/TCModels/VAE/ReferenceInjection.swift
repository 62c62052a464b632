import TCCore

/// Spec §2.3 Fusion (`MemoryEfficientCrossAttentionWrapperFusion`): every frame's GroupNorm'd tokens
/// attend to the un-normalised tokens of both reference frames, [A ; B], then `to_out` and a residual
/// on the un-normalised input. Always 8 heads × 64 (inner 512) whatever the channel count.
struct ReferenceFusion {
    static let heads = 8, dimHead = 64
    let norm: GroupNorm
    let toQ: Linear, toK: Linear, toV: Linear, toOut: Linear

    init(_ w: WeightReader, _ key: String, channels c: Int) throws {
        let inner = Self.heads * Self.dimHead
        norm = try GroupNorm(w, "\(key).norm", channels: c, eps: 1e-6)
        toQ = try Linear(w, "\(key).to_q", in: c, out: inner, bias: false)
        toK = try Linear(w, "\(key).to_k", in: c, out: inner, bias: false)
        toV = try Linear(w, "\(key).to_v", in: c, out: inner, bias: false)
        toOut = try Linear(w, "\(key).to_out.0", in: inner, out: c, bias: true)
    }

    /// Keys and values of each video's reference pair, (b, 2·h·w, 512): the same for every frame of
    /// every chunk, so they are computed once per set of references.
    func keysValues(_ ref: Tensor) -> (k: Tensor, v: Tensor) {
        // (b·2, C, h, w) → (b, 2·h·w, C): frames 2i and 2i+1 are adjacent, so their tokens concatenate.
        let b = ref.dim(0) / 2, c = ref.dim(1), hw = ref.dim(2) * ref.dim(3)
        let tokens = ref.reshaped([b * 2, c, hw]).permutedContiguous([0, 2, 1]).reshaped([b, 2 * hw, c])
        return (toK(tokens), toV(tokens))
    }

    // (b t) C h w → (b t) C h w; frame j belongs to video j / t.
    func callAsFunction(_ x: Tensor, keysValues kv: (k: Tensor, v: Tensor), frames t: Int) -> Tensor {
        framewise(x) { j, f in
            let h = f.dim(2), w = f.dim(3)
            let video = j / t
            let q = toQ(spatialTokens(norm(f))).reshaped([1, h * w, toQ.outFeatures])
            let a = attention(q: q, k: kv.k.sliced(axis: 0, video..<(video + 1)),
                              v: kv.v.sliced(axis: 0, video..<(video + 1)),
                              heads: Self.heads, scale: 1 / Float(Self.dimHead).squareRoot())
            var out = spatialMap(toOut(a.reshaped([h * w, a.dim(2)])), height: h, width: w)
            out += f
            return out
        }
    }
}

/// Spec §2.3 Combiner: a 1×1 conv of each reference, added to the first (A) and last (B) frame of
/// each video's chunk only.
struct ReferenceCombiner {
    let conv: Conv2d

    init(_ w: WeightReader, _ key: String, channels c: Int) throws {
        conv = try Conv2d(w, "\(key).conv", in: c, out: c, kernel: 1)
    }

    /// Adds in place to `x` ((b t) C h w), which the caller owns.
    func add(to x: Tensor, reference ref: Tensor, frames t: Int) {
        let r = conv(ref)
        for video in 0..<(x.dim(0) / t) {
            let first = video * t, last = video * t + t - 1
            x.sliced(axis: 0, first..<(first + 1)).binaryInPlace(.add, r.sliced(axis: 0, (2 * video)..<(2 * video + 1)))
            x.sliced(axis: 0, last..<(last + 1)).binaryInPlace(.add, r.sliced(axis: 0, (2 * video + 1)..<(2 * video + 2)))
        }
    }
}
