import CTCKernels
import Foundation

/// Scaled dot-product attention, multi-head, computed in query chunks so memory stays
/// O(chunk × keys) instead of O(queries × keys) (the decoder fusion at 80×128 would otherwise need
/// a 10240 × 20480 score matrix per head and frame).
///
/// q (B, Lq, H·D), k and v (B, Lk, H·D) — heads split head-major from the channel axis, channel
/// c in head c / D (einops `b n (h d) -> (b h) n d`). Returns (B, Lq, H·D). Keys and values may be
/// shared across the batch by passing a batch of 1.
public func attention(q: Tensor, k: Tensor, v: Tensor, heads: Int, scale: Float,
                      chunk: Int = 256, method: AttentionMethod = .automatic) -> Tensor {
    OpProfile.measure(.attention, flops: 2 * Double(q.dim(0) * q.dim(1)) * Double(k.dim(1)) * Double(q.dim(2) + v.dim(2))) {
        attentionKernel(q: q, k: k, v: v, heads: heads, scale: scale, chunk: chunk, method: method)
    }
}

/// How attention over more than `smallAttentionKeys` keys is computed.
public enum AttentionMethod: Sendable {
    /// The key-blocked kernel where the CPU and head width allow it (AVX-512 with value heads of 64k
    /// floats, AVX2 with 16k; float32 even under bf16 compute), else score-matrix blocks.
    /// TCGRAPH_ATTENTION=scores forces the latter (benchmarks).
    case automatic
    /// Blocks of query rows against all keys: q·kᵀ, exp and ·v as three passes over a score block.
    case scoreMatrix
}

private func attentionKernel(q: Tensor, k: Tensor, v: Tensor, heads: Int, scale: Float, chunk: Int,
                             method: AttentionMethod) -> Tensor {
    let qc = q.float32(), kc = k.float32(), vc = v.float32()
    let b = qc.dim(0), lq = qc.dim(1), inner = qc.dim(2)
    let lk = kc.dim(1)
    let vInner = vc.dim(2)
    precondition(inner % heads == 0 && vInner % heads == 0, "attention: \(inner) channels, \(heads) heads")
    precondition(kc.dim(2) == inner && vc.dim(1) == lk, "attention: q \(q.shape) k \(k.shape) v \(v.shape)")
    precondition(kc.dim(0) == b || kc.dim(0) == 1, "attention: key batch \(kc.dim(0)) vs \(b)")
    let d = inner / heads, dv = vInner / heads
    let out = Tensor(empty: [b, lq, vInner])
    let kvShared = kc.dim(0) == 1 && b > 1

    if lk <= smallAttentionKeys {
        smallAttention(qc, kc, vc, out, heads: heads, d: d, dv: dv, scale: scale, shared: kvShared)
        return out
    }
    // Also under bf16 compute: the float32 key-blocked kernel beats the score-matrix path's bf16
    // GEMMs (UNet spatial 376 against 559 ms, Fusion 1211 against 2364 ms per frame).
    if method == .automatic && keyBlockedAllowed && tck_flash_attention_supported(dv) != 0 {
        keyBlockedAttention(qc, kc, vc, out, heads: heads, d: d, dv: dv, scale: scale, shared: kvShared)
        return out
    }
    // Score blocks of about 4 M floats: long key sequences (the decoder fusion's 20480) get fewer rows.
    let rows = min(chunk, lq, max(128, (1 << 22) / lk))
    let chunks = (lq + rows - 1) / rows
    let jobs = b * heads * chunks
    let qp = qc.f32, kp = kc.f32, vp = vc.f32, op = out.f32
    /// softmax(q·kᵀ·scale)·v for query rows [r0, r0 + m) of one batch item and head.
    /// The softmax's division is applied to the m × dv output rather than the m × lk scores.
    func block(_ bi: Int, _ h: Int, _ r0: Int, _ m: Int, _ scores: UnsafeMutablePointer<Float>,
               _ inv: UnsafeMutablePointer<Float>) {
        let kb = kvShared ? 0 : bi
        let qh = qp + (bi * lq + r0) * inner + h * d, kh = kp + kb * lk * inner + h * d
        let vh = vp + kb * lk * vInner + h * dv, oh = op + (bi * lq + r0) * vInner + h * dv
        sgemm(transB: true, m: m, n: lk, k: d, alpha: scale, a: qh, lda: inner, b: kh, ldb: inner, c: scores, ldc: lk)
        parallelChunks(m, minChunk: 4) { r in
            tck_exp_rows(scores + r.lowerBound * lk, r.count, lk, lk, inv + r.lowerBound)
        }
        sgemm(m: m, n: dv, k: lk, a: scores, lda: lk, b: vh, ldb: vInner, c: oh, ldc: vInner)
        for i in 0..<m {
            let row = oh + i * vInner, s = inv[i]
            for e in 0..<dv { row[e] *= s }
        }
    }
    // One block at a time with multi-threaded GEMMs: changing OpenBLAS's (process-wide) thread
    // count to give each worker its own blocks would also change it under any other thread's GEMM.
    withExtendedLifetime((qc, kc, vc)) {
        let scores = Tensor(empty: [rows, lk]), inv = Tensor(empty: [rows])
        for job in 0..<jobs {
            let bh = job / chunks, r0 = (job % chunks) * rows
            block(bh / heads, bh % heads, r0, min(rows, lq - r0), scores.f32, inv.f32)
        }
    }
    return out
}

/// Up to this many keys, attention runs in the vectorised micro-kernel instead of GEMMs.
let smallAttentionKeys = 256

/// Attentions with few keys (temporal: 16 frames per pixel; cross-attention: 77 text or 16 image
/// tokens): the vectorised kernel per (batch, head, block of 64 queries), parallel over those,
/// since a GEMM with 16 or 77 columns costs more in packing than in arithmetic.
private func smallAttention(_ q: Tensor, _ k: Tensor, _ v: Tensor, _ out: Tensor, heads: Int, d: Int,
                            dv: Int, scale: Float, shared: Bool) {
    let b = q.dim(0), lq = q.dim(1), lk = k.dim(1)
    let inner = q.dim(2), vInner = v.dim(2)
    let qp = q.f32, kp = k.f32, vp = v.f32, op = out.f32
    let block = 64
    let blocks = (lq + block - 1) / block
    withExtendedLifetime((q, k, v)) {
        parallelChunks(b * heads * blocks, minChunk: 8) { jobs in
            for job in jobs {
                let bh = job / blocks, i0 = (job % blocks) * block
                let bi = bh / heads, h = bh % heads
                let kb = shared ? 0 : bi
                let rows = min(block, lq - i0)
                tck_small_attention(qp + (bi * lq + i0) * inner + h * d, inner, kp + kb * lk * inner + h * d, inner,
                                    vp + kb * lk * vInner + h * dv, vInner, op + (bi * lq + i0) * vInner + h * dv,
                                    vInner, rows, lk, d, dv, scale)
            }
        }
    }
}

private let keyBlockedAllowed = ProcessInfo.processInfo.environment["TCGRAPH_ATTENTION"] != "scores"

/// Long key sequences (the decoder's Fusion: 20480 keys; the UNet's spatial self-attention: 2560):
/// the key-blocked kernel, single-threaded per job and parallel over (batch, head,
/// block of queries), so no score matrix is ever written to memory. kᵀ is packed once per head.
private func keyBlockedAttention(_ q: Tensor, _ k: Tensor, _ v: Tensor, _ out: Tensor, heads: Int, d: Int,
                                 dv: Int, scale: Float, shared: Bool) {
    let b = q.dim(0), lq = q.dim(1), lk = k.dim(1), kb = k.dim(0)
    let inner = q.dim(2), vInner = v.dim(2)
    let packed = tck_flash_packed_keys_count(lk, d)
    let kt = Tensor(empty: [kb * heads * packed])
    let qp = q.f32, kp = k.f32, vp = v.f32, op = out.f32, ktp = kt.f32
    let rows = 384
    let blocks = (lq + rows - 1) / rows
    withExtendedLifetime((q, k, v, kt)) {
        parallelFor(kb * heads) { j in
            tck_flash_pack_keys(kp + (j / heads) * lk * inner + (j % heads) * d, inner, lk, d, ktp + j * packed)
        }
        parallelChunks(b * heads * blocks, minChunk: 1) { jobs in
            for job in jobs {
                let bh = job / blocks, i0 = (job % blocks) * rows
                let bi = bh / heads, h = bh % heads
                let kbi = shared ? 0 : bi
                _ = tck_flash_attention(qp + (bi * lq + i0) * inner + h * d, inner, ktp + (kbi * heads + h) * packed, lk,
                                        vp + kbi * lk * vInner + h * dv, vInner, op + (bi * lq + i0) * vInner + h * dv,
                                        vInner, min(rows, lq - i0), d, dv, scale)
            }
        }
    }
}
