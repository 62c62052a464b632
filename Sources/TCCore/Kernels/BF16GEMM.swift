import CTCKernels
import Foundation

/// The bfloat16 matrix product behind `sgemm` under `ComputePrecision.bf16`: operands rounded to
/// bf16 (nearest even), products accumulated in float32 on AMX tiles where the CPU has them
/// (CTCKernels/amxgemm.c), else by AVX-512 BF16 (CTCKernels/bf16gemm.c).
/// Error bound per element: |alpha| · Σₚ |a_ip·b_pj| · (2⁻⁸ + k·2⁻²⁴) — about 0.4 % of the
/// dot product's magnitude, from the two roundings to 8-bit mantissas.
public enum BF16GEMM {
    /// Whether a product is large enough for the packing into bf16 panels to pay off; smaller ones
    /// stay on sgemm.
    public static func worthwhile(m: Int, n: Int, k: Int) -> Bool {
        min(m, n) >= 8 && k >= 16 && m * n * k >= 1 << 21
    }

    /// C = alpha·op(A)·op(B) + beta·C in bf16 arithmetic over `Threading.threads` workers, as
    /// `sgemm` (row-major, explicit leading dimensions). Returns false, leaving C untouched, when
    /// the CPU lacks AVX-512 BF16 or a dimension is zero.
    ///
    /// The work is split into contiguous bands of C along its longer side (each worker packs only
    /// its band of that operand); every element is computed by the same instruction sequence
    /// whatever the split, so results do not depend on the thread count.
    @discardableResult
    public static func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                            alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                            b: UnsafePointer<Float>, ldb: Int,
                            beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) -> Bool {
        guard ComputePrecision.bf16Available, m > 0, n > 0, k > 0 else { return false }
        let ta: Int32 = transA ? 1 : 0, tb: Int32 = transB ? 1 : 0
        let alongN = n >= m
        // Band edges on the register tile (AMX: 32 × 32; AVX-512: 14 rows × 32 columns) so no worker
        // gets a ragged tile.
        let tile = alongN || ComputePrecision.amxAvailable ? 32 : 14
        let tiles = ((alongN ? n : m) + tile - 1) / tile
        let parts = max(1, min(Threading.threads, tiles))
        if parts == 1 {
            tck_gemm_bf16(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
            return true
        }
        parallelFor(parts) { w in
            let lo = tiles * w / parts * tile
            let hi = min(tiles * (w + 1) / parts * tile, alongN ? n : m)
            if lo >= hi { return }
            if alongN {
                tck_gemm_bf16(ta, tb, m, hi - lo, k, alpha, a, lda, transB ? b + lo * ldb : b + lo, ldb,
                              beta, c + lo, ldc)
            } else {
                tck_gemm_bf16(ta, tb, hi - lo, n, k, alpha, transA ? a + lo : a + lo * lda, lda, b, ldb,
                              beta, c + lo * ldc, ldc)
            }
        }
        return true
    }

    /// Prints, once per process, that `.bf16` falls back to float32 on this CPU.
    static let fallbackNotice: Void = {
        FileHandle.standardError.write(Data(
            "tcgraph: this CPU has no AVX-512 BF16; bf16 compute precision runs in float32 (sgemm)\n".utf8))
    }()
}
