import TCCore

/// Spec §2.2: the LDM ResnetBlock without time embedding. GroupNorm(32, eps 1e-6) and swish;
/// `nin_shortcut` (1×1) when the channel count changes. Runs frame by frame.
struct VAEResnetBlock {
    let norm1: GroupNorm, conv1: Conv2d
    let norm2: GroupNorm, conv2: Conv2d
    let ninShortcut: Conv2d?

    init(_ w: WeightReader, _ key: String, in inC: Int, out outC: Int) throws {
        norm1 = try GroupNorm(w, "\(key).norm1", channels: inC, eps: 1e-6)
        conv1 = try Conv2d(w, "\(key).conv1", in: inC, out: outC, kernel: 3)
        norm2 = try GroupNorm(w, "\(key).norm2", channels: outC, eps: 1e-6)
        conv2 = try Conv2d(w, "\(key).conv2", in: outC, out: outC, kernel: 3)
        ninShortcut = inC == outC ? nil : try Conv2d(w, "\(key).nin_shortcut", in: inC, out: outC, kernel: 1)
    }

    // (n, Cin, h, w) → (n, Cout, h, w)
    func callAsFunction(_ x: Tensor) -> Tensor {
        framewise(x) { f in
            var h = conv1(norm1(f, silu: true))
            h = conv2(norm2(h, silu: true))
            h += ninShortcut.map { $0(f) } ?? f
            return h
        }
    }
}

/// Spec §2.2: single-head self-attention over the h·w positions of each frame (the mid block's
/// `attn_1`), q/k/v/proj_out as 1×1 convs with bias, scale C^−½, residual.
struct VAEAttentionBlock {
    let norm: GroupNorm
    let q: Linear, k: Linear, v: Linear, projOut: Linear

    init(_ w: WeightReader, _ key: String, channels c: Int) throws {
        norm = try GroupNorm(w, "\(key).norm", channels: c, eps: 1e-6)
        q = pointwiseLinear(try Conv2d(w, "\(key).q", in: c, out: c, kernel: 1))
        k = pointwiseLinear(try Conv2d(w, "\(key).k", in: c, out: c, kernel: 1))
        v = pointwiseLinear(try Conv2d(w, "\(key).v", in: c, out: c, kernel: 1))
        projOut = pointwiseLinear(try Conv2d(w, "\(key).proj_out", in: c, out: c, kernel: 1))
    }

    // (n, C, h, w) → (n, C, h, w)
    func callAsFunction(_ x: Tensor) -> Tensor {
        framewise(x) { f in
            let c = f.dim(1), h = f.dim(2), w = f.dim(3)
            let t = spatialTokens(norm(f))
            let a = attention(q: q(t).reshaped([1, h * w, c]), k: k(t).reshaped([1, h * w, c]),
                              v: v(t).reshaped([1, h * w, c]), heads: 1, scale: Float(1 / Double(c).squareRoot()))
            var out = spatialMap(projOut(a.reshaped([h * w, c])), height: h, width: w)
            out += f
            return out
        }
    }
}
