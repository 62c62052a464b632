import Foundation
import TCCore

/// open_clip's ResidualAttentionBlock (spec §2.4): x + MHA(ln_1 x), then x + c_proj(GELU(c_fc(ln_2 x))).
/// `nn.MultiheadAttention` packs q; k; v in `in_proj_weight`/`in_proj_bias`; heads split head-major.
struct CLIPResidualBlock {
    let ln1: LayerNorm, inProj: Linear, outProj: Linear
    let ln2: LayerNorm, fc: Linear, proj: Linear
    let heads: Int

    init(_ w: WeightReader, _ key: String, width: Int, heads: Int, mlpRatio: Int) throws {
        ln1 = try LayerNorm(w, "\(key).ln_1", channels: width)
        inProj = Linear(weight: try w("\(key).attn.in_proj_weight", shape: [3 * width, width]),
                        bias: try w("\(key).attn.in_proj_bias", shape: [3 * width]))
        outProj = try Linear(w, "\(key).attn.out_proj", in: width, out: width, bias: true)
        ln2 = try LayerNorm(w, "\(key).ln_2", channels: width)
        fc = try Linear(w, "\(key).mlp.c_fc", in: width, out: mlpRatio * width, bias: true)
        proj = try Linear(w, "\(key).mlp.c_proj", in: mlpRatio * width, out: width, bias: true)
        self.heads = heads
    }

    // (B, L, width) → (B, L, width)
    func callAsFunction(_ x: Tensor, causal: Bool) -> Tensor {
        var y = outProj(packedSelfAttention(inProj(ln1(x)), heads: heads, causal: causal))
        y += x
        let h = fc(ln2(y))
        h.geluInPlace()
        var out = proj(h)
        out += y
        return out
    }
}

/// Self-attention from packed projections (B, L, 3·w) = [q | k | v], scale d^−½; with `causal`, the
/// additive −inf mask above the diagonal of the text tower (padding positions are not masked).
func packedSelfAttention(_ qkv: Tensor, heads: Int, causal: Bool) -> Tensor {
    let x = qkv.float32()
    let b = x.dim(0), l = x.dim(1), w = x.dim(2) / 3, d = w / heads
    let out = Tensor(empty: [b, l, w])
    let scores = Tensor(empty: [l, l])
    let scale = Float(1 / Double(d).squareRoot())
    for bi in 0..<b {
        let base = x.f32 + bi * l * 3 * w
        for h in 0..<heads {
            sgemm(transB: true, m: l, n: l, k: d, alpha: scale, a: base + h * d, lda: 3 * w,
                  b: base + w + h * d, ldb: 3 * w, c: scores.f32, ldc: l)
            let s = scores.f32
            parallelChunks(l, minChunk: 16) { rows in
                for i in rows {
                    let row = s + i * l
                    let n = causal ? i + 1 : l
                    var m = -Float.infinity
                    for j in 0..<n { m = Swift.max(m, row[j]) }
                    var sum: Float = 0
                    for j in 0..<n { row[j] = expf(row[j] - m); sum += row[j] }
                    let inv = 1 / sum
                    for j in 0..<n { row[j] *= inv }
                    for j in n..<l { row[j] = 0 }
                }
            }
            sgemm(m: l, n: d, k: l, a: scores.f32, lda: l, b: base + 2 * w + h * d, ldb: 3 * w,
                  c: out.f32 + bi * l * w + h * d, ldc: w)
        }
    }
    return out
}
