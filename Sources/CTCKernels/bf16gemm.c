#include "tckernels.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf16tile.h"

// ---------------------------------------------------------------------------------------------
// Compute precision: a per-thread scope over a process-wide default (see ComputePrecision.swift).

static _Thread_local int thread_precision;  // 0 = follow the process default
static _Atomic int default_precision;        // 0 = not read from the environment yet

int tck_precision_default(void) {
    int p = atomic_load_explicit(&default_precision, memory_order_relaxed);
    if (p) return p;
    const char *env = getenv("TCGRAPH_PRECISION");
    p = env && strcmp(env, "bf16") == 0 ? TCK_PRECISION_BF16 : TCK_PRECISION_F32;
    int expected = 0;
    atomic_compare_exchange_strong(&default_precision, &expected, p);
    return atomic_load(&default_precision);
}

void tck_set_precision_default(int p) { atomic_store(&default_precision, p); }
int tck_precision_thread(void) { return thread_precision; }
void tck_set_precision_thread(int p) { thread_precision = p; }
int tck_precision_current(void) { return thread_precision ? thread_precision : tck_precision_default(); }

int tck_has_bf16(void) {
    static int cached = -1;
    if (cached < 0) cached = tck_cpu_avx512() == 2;
    return cached;
}

// ---------------------------------------------------------------------------------------------
// bf16 GEMM: Goto/BLIS blocking around a 14×32 register tile of vdpbf16ps.
//
// vdpbf16ps adds, in each f32 lane, the products of one PAIR of bf16 values along k. So packed
// panels hold k in pairs: A's micro-panel is [k/2][MR] 32-bit pairs (one broadcast per row), B's is
// [k/2][NR] pairs (two zmm loads of 16 columns). 14 rows × 2 zmm = 28 accumulators + 2 B vectors
// + 1 broadcast fit the 32 zmm registers. KC pairs of a B micro-panel (KC/2 · 128 B = 24 KiB) stay
// in L1 while the MC×KC block of A (168·384·2 B = 126 KiB) streams from L2.

enum { MR = 14, NR = 32, KC = 384, MC = 168, NC = 3072 };

#if defined(__x86_64__)

/// Pairs for rows k0, k0+1 of a block whose lanes are contiguous in memory (`k1` NULL: zeros).
TCK_BF16 static inline __m512i pairs_contiguous(const float *k0, const float *k1, __mmask16 lanes) {
    __m512 x0 = _mm512_maskz_loadu_ps(lanes, k0);
    __m512 x1 = k1 ? _mm512_maskz_loadu_ps(lanes, k1) : _mm512_setzero_ps();
    return pairs16(x0, x1);
}

/// Pairs for k0, k0+1 of lanes `stride` floats apart, where k0 and k0+1 are adjacent in memory.
TCK_BF16 static inline __m512i pairs_strided(const float *p, __m512i offsets, __mmask16 lanes, int both) {
    __m512 x0 = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), lanes, offsets, p, 4);
    __m512 x1 = both ? _mm512_mask_i32gather_ps(_mm512_setzero_ps(), lanes, offsets, p + 1, 4) : _mm512_setzero_ps();
    return pairs16(x0, x1);
}

/// op(A)[i0 ..< i0+mc, p0 ..< p0+kc] into micro-panels of MR rows (zero rows past mc, a zero k
/// past an odd kc).
TCK_BF16 static void pack_a(int trans, const float *a, ptrdiff_t lda, ptrdiff_t mc, ptrdiff_t kc, uint32_t *dst) {
    ptrdiff_t kp = (kc + 1) / 2;
    __m512i offsets = lane_offsets(lda);
    for (ptrdiff_t i = 0; i < mc; i += MR) {
        ptrdiff_t rows = mc - i < MR ? mc - i : MR;
        __mmask16 lanes = (__mmask16)((1u << rows) - 1);
        uint32_t *panel = dst + i * kp;
        for (ptrdiff_t p = 0; p < kp; p++) {
            int both = 2 * p + 1 < kc;
            __m512i v = trans
                ? pairs_contiguous(a + 2 * p * lda + i, both ? a + (2 * p + 1) * lda + i : NULL, lanes)
                : pairs_strided(a + i * lda + 2 * p, offsets, lanes, both);
            _mm512_mask_storeu_epi32(panel + p * MR, (1u << MR) - 1, v);
        }
    }
}

/// op(B)[p0 ..< p0+kc, j0 ..< j0+nc] into micro-panels of NR columns (zero columns past nc).
TCK_BF16 static void pack_b(int trans, const float *b, ptrdiff_t ldb, ptrdiff_t kc, ptrdiff_t nc, uint32_t *dst) {
    ptrdiff_t kp = (kc + 1) / 2;
    __m512i offsets = lane_offsets(ldb);
    for (ptrdiff_t p = 0; p < kp; p++) {
        int both = 2 * p + 1 < kc;
        for (ptrdiff_t j = 0; j < nc; j += 16) {
            ptrdiff_t cols = nc - j < 16 ? nc - j : 16;
            __mmask16 lanes = (__mmask16)((1u << cols) - 1);
            __m512i v = trans
                ? pairs_strided(b + j * ldb + 2 * p, offsets, lanes, both)
                : pairs_contiguous(b + 2 * p * ldb + j, both ? b + (2 * p + 1) * ldb + j : NULL, lanes);
            _mm512_storeu_si512(dst + (j / NR) * kp * NR + p * NR + j % NR, v);
        }
        if (nc % NR && nc % NR <= 16)  // the empty upper half of the last micro-panel
            _mm512_storeu_si512(dst + (nc / NR) * kp * NR + p * NR + 16, _mm512_setzero_si512());
    }
}

/// C[mr×nr] = alpha·(A·B) + beta·C (`first`, beta 0 never reads C) or C += alpha·(A·B).
TCK_BF16 static void micro_kernel(ptrdiff_t kp, const uint32_t *a, const uint32_t *b, float *c, ptrdiff_t ldc,
                                  ptrdiff_t mr, ptrdiff_t nr, float alpha, float beta, int first) {
    __m512 acc[MR][2];
#pragma clang loop unroll(full)
    for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (ptrdiff_t p = 0; p < kp; p++) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(b + p * NR);
        __m512bh b1 = (__m512bh)_mm512_loadu_si512(b + p * NR + 16);
        const uint32_t *ap = a + p * MR;
#pragma clang loop unroll(full)
        for (int r = 0; r < MR; r++) {
            __m512bh av = (__m512bh)_mm512_set1_epi32((int)ap[r]);
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], av, b0);
            acc[r][1] = _mm512_dpbf16_ps(acc[r][1], av, b1);
        }
    }
#pragma clang loop unroll(full)
    for (int r = 0; r < MR; r++) {
        if (r >= mr) break;
        merge_row(c + r * ldc, acc[r][0], acc[r][1], nr, alpha, beta, first);
    }
}

/// Packing buffers, kept per thread (the workers of TCCore's parallel loops are long-lived).
static _Thread_local uint32_t *packed_a, *packed_b;
static _Thread_local size_t packed_b_size;

TCK_BF16 static void gemm_bf16(int transA, int transB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha,
                               const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb, float beta, float *c,
                               ptrdiff_t ldc) {
    ptrdiff_t ncMax = n < NC ? (n + NR - 1) / NR * NR : NC;
    size_t needB = sizeof(uint32_t) * (size_t)(KC / 2) * (size_t)ncMax;
    if (!packed_a) packed_a = aligned_alloc(64, sizeof(uint32_t) * (KC / 2) * MC);
    if (packed_b_size < needB) {
        free(packed_b);
        packed_b = aligned_alloc(64, needB);
        packed_b_size = needB;
    }
    for (ptrdiff_t j0 = 0; j0 < n; j0 += NC) {
        ptrdiff_t nc = n - j0 < NC ? n - j0 : NC;
        for (ptrdiff_t p0 = 0; p0 < k; p0 += KC) {
            ptrdiff_t kc = k - p0 < KC ? k - p0 : KC, kp = (kc + 1) / 2;
            pack_b(transB, transB ? b + j0 * ldb + p0 : b + p0 * ldb + j0, ldb, kc, nc, packed_b);
            for (ptrdiff_t i0 = 0; i0 < m; i0 += MC) {
                ptrdiff_t mc = m - i0 < MC ? m - i0 : MC;
                pack_a(transA, transA ? a + p0 * lda + i0 : a + i0 * lda + p0, lda, mc, kc, packed_a);
                for (ptrdiff_t j = 0; j < nc; j += NR) {
                    const uint32_t *bp = packed_b + (j / NR) * kp * NR;
                    for (ptrdiff_t i = 0; i < mc; i += MR) {
                        micro_kernel(kp, packed_a + i * kp, bp, c + (i0 + i) * ldc + j0 + j, ldc,
                                     mc - i < MR ? mc - i : MR, nc - j < NR ? nc - j : NR, alpha, beta, p0 == 0);
                    }
                }
            }
        }
    }
}
#endif

int tck_gemm_bf16(int transA, int transB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha, const float *a,
                  ptrdiff_t lda, const float *b, ptrdiff_t ldb, float beta, float *c, ptrdiff_t ldc) {
    if (tck_gemm_bf16_amx(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)) return 1;
    return tck_gemm_bf16_avx512(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

int tck_gemm_bf16_avx512(int transA, int transB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha, const float *a,
                         ptrdiff_t lda, const float *b, ptrdiff_t ldb, float beta, float *c, ptrdiff_t ldc) {
#if defined(__x86_64__)
    if (!tck_has_bf16()) return 0;
    if (m <= 0 || n <= 0 || k <= 0) return 0;
    gemm_bf16(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return 1;
#else
    return 0;
#endif
}
