// Small vectorised kernels behind TCCore's Swift API (DESIGN §7): the loops where Swift's
// baseline-ISA code is too slow (exp in softmax and SiLU, tiny attentions). Each public entry
// point picks an AVX2+FMA body at run time when the CPU has it, else a portable C body; both are
// exported so tests can check each against the float64 references.
#ifndef TCKERNELS_H
#define TCKERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// IEEE half ↔ float conversion (round to nearest even), F16C when available.
void tck_f16_to_f32(const uint16_t *x, float *y, ptrdiff_t n);
void tck_f32_to_f16(const float *x, uint16_t *y, ptrdiff_t n);

/// 1 when the AVX2+FMA bodies are in use.
int tck_has_avx2(void);
/// 1 when the CPU has AVX-512 F/BW/VL/DQ (2 when it also has AVX-512 BF16).
int tck_cpu_avx512(void);

/// In-place softmax of `rows` rows of `n` floats, row stride `ld`: exp(x − max) / Σ.
void tck_softmax_rows(float *p, ptrdiff_t rows, ptrdiff_t n, ptrdiff_t ld);
/* Returns malloc's free heap pages to the system (glibc malloc_trim; a no-op elsewhere). */
void tck_trim_heap(void);
void tck_softmax_rows_generic(float *p, ptrdiff_t rows, ptrdiff_t n, ptrdiff_t ld);
/// The softmax without its division: rows become exp(x − max), inv_sums[i] = 1 / Σ of row i
/// (attention scales its output rows instead, one pass over the scores fewer).
void tck_exp_rows(float *p, ptrdiff_t rows, ptrdiff_t n, ptrdiff_t ld, float *inv_sums);
void tck_exp_rows_generic(float *p, ptrdiff_t rows, ptrdiff_t n, ptrdiff_t ld, float *inv_sums);

/// y = silu(x) = x·σ(x); `y` may be `x`.
void tck_silu(const float *x, float *y, ptrdiff_t n);
void tck_silu_generic(const float *x, float *y, ptrdiff_t n);

/// y = gelu(x) = x·Φ(x) with the exact (erf) form; `y` may be `x`.
void tck_gelu(const float *x, float *y, ptrdiff_t n);
void tck_gelu_generic(const float *x, float *y, ptrdiff_t n);

/// GEGLU over `rows` rows of 2·d floats [value | gate]: y (rows × d) = value·gelu(gate).
void tck_geglu(const float *x, float *y, ptrdiff_t rows, ptrdiff_t d);
void tck_geglu_generic(const float *x, float *y, ptrdiff_t rows, ptrdiff_t d);

/// y = ((x − mean_hi) − mean_lo)·scale + shift, then SiLU when `silu` is non-zero: one channel of
/// a GroupNorm.
void tck_norm_apply(const float *x, float *y, ptrdiff_t n, float mean_hi, float mean_lo, float scale,
                    float shift, int silu);
void tck_norm_apply_generic(const float *x, float *y, ptrdiff_t n, float mean_hi, float mean_lo, float scale,
                            float shift, int silu);

/// Σ x and Σ (x − mean)² accumulated in float64 (normalisation statistics).
double tck_sum(const float *x, ptrdiff_t n);
double tck_sum_generic(const float *x, ptrdiff_t n);
double tck_sum_sq_dev(const float *x, ptrdiff_t n, double mean);
double tck_sum_sq_dev_generic(const float *x, ptrdiff_t n, double mean);

/// One head of softmax(q·kᵀ·scale)·v for few keys (lk ≤ 256, any lq): q rows of `d` floats at
/// stride `ldq`, k rows at `ldk`, v rows of `dv` floats at `ldv`, output rows at `ldo`.
void tck_small_attention(const float *q, ptrdiff_t ldq, const float *k, ptrdiff_t ldk, const float *v,
                         ptrdiff_t ldv, float *o, ptrdiff_t ldo, ptrdiff_t lq, ptrdiff_t lk, ptrdiff_t d,
                         ptrdiff_t dv, float scale);
void tck_small_attention_generic(const float *q, ptrdiff_t ldq, const float *k, ptrdiff_t ldk, const float *v,
                                 ptrdiff_t ldv, float *o, ptrdiff_t ldo, ptrdiff_t lq, ptrdiff_t lk, ptrdiff_t d,
                                 ptrdiff_t dv, float scale);

/// Attention over long key sequences without the score matrix (flashattention.c): key blocks with a
/// running row max and sum, on AVX-512 for value heads of 64k floats, else on AVX2 + FMA for 16k.
/// kᵀ is packed first by `tck_flash_pack_keys` into `tck_flash_packed_keys_count(lk, d)` floats
/// (strips of 32 keys, zero-padded). One head, single-threaded: o[i] = softmax(q[i]·kᵀ·scale)·v for
/// lq query rows. Returns 0 without touching `o` when neither applies (`tck_flash_attention_supported`).
ptrdiff_t tck_flash_packed_keys_count(ptrdiff_t lk, ptrdiff_t d);
void tck_flash_pack_keys(const float *k, ptrdiff_t ldk, ptrdiff_t lk, ptrdiff_t d, float *kt);
int tck_flash_attention_supported(ptrdiff_t dv);
int tck_flash_attention(const float *q, ptrdiff_t ldq, const float *kt, ptrdiff_t lk, const float *v, ptrdiff_t ldv,
                        float *o, ptrdiff_t ldo, ptrdiff_t lq, ptrdiff_t d, ptrdiff_t dv, float scale);
/// The same on the AVX2 + FMA tiles only, also on an AVX-512 CPU (tests); returns 0 without touching
/// `o` when the CPU lacks AVX2 + FMA or dv is not a multiple of 16.
int tck_flash_attention_avx2(const float *q, ptrdiff_t ldq, const float *kt, ptrdiff_t lk, const float *v,
                             ptrdiff_t ldv, float *o, ptrdiff_t ldo, ptrdiff_t lq, ptrdiff_t d, ptrdiff_t dv,
                             float scale);

/// Winograd F(2×2, k×k) transforms of a k×k (k = 3 or 2), stride-1 convolution (winograd.c).
/// Transformed tensors are n = (k + 1)² matrices ξ = (k + 1)·row + column of the transformed tile,
/// `s…` floats apart.
/// Weights (O, C, k, k) → u[ξ][oc][ci] (matrices O × C, s = O·C) for output channels [o0, o1).
void tck_winograd_weights(const float *w, ptrdiff_t k, ptrdiff_t o0, ptrdiff_t o1, ptrdiff_t c, ptrdiff_t o,
                          float *u);
/// One frame x (C, h, w) with zero padding `top`/`left` (and whatever lies past the image):
/// `count` tile rows from tile row ty0, `tw` 2×2 output tiles per row, channels [c0, c1) →
/// v[ξ][c][r·tw + tx] (row c at c·ldv, matrices `sv` apart).
void tck_winograd_input(const float *x, ptrdiff_t k, ptrdiff_t h, ptrdiff_t w, ptrdiff_t top, ptrdiff_t left,
                        ptrdiff_t tw, ptrdiff_t ty0, ptrdiff_t count, ptrdiff_t c0, ptrdiff_t c1, float *v,
                        ptrdiff_t ldv, ptrdiff_t sv);
void tck_winograd_input_generic(const float *x, ptrdiff_t k, ptrdiff_t h, ptrdiff_t w, ptrdiff_t top, ptrdiff_t left,
                                ptrdiff_t tw, ptrdiff_t ty0, ptrdiff_t count, ptrdiff_t c0, ptrdiff_t c1, float *v,
                                ptrdiff_t ldv, ptrdiff_t sv);
/// The products m[ξ][oc][r·tw + tx] (row oc at oc·ldm, matrices `sm` apart) of tile rows
/// [ty0, ty0 + count) → output channels [o0, o1) of one frame y (O, ho, wo), plus bias[oc] (NULL: none).
void tck_winograd_output(const float *m, ptrdiff_t k, ptrdiff_t ldm, ptrdiff_t sm, ptrdiff_t tw, ptrdiff_t ty0,
                         ptrdiff_t count, ptrdiff_t o0, ptrdiff_t o1, const float *bias, float *y, ptrdiff_t ho,
                         ptrdiff_t wo);
void tck_winograd_output_generic(const float *m, ptrdiff_t k, ptrdiff_t ldm, ptrdiff_t sm, ptrdiff_t tw,
                                 ptrdiff_t ty0, ptrdiff_t count, ptrdiff_t o0, ptrdiff_t o1, const float *bias,
                                 float *y, ptrdiff_t ho, ptrdiff_t wo);

/// Compute precision of large matrix products: a per-thread scope (0 = none) over a process-wide
/// default (initially from the environment variable TCGRAPH_PRECISION = f32 | bf16).
enum { TCK_PRECISION_F32 = 1, TCK_PRECISION_BF16 = 2 };
int tck_precision_default(void);
void tck_set_precision_default(int precision);
int tck_precision_thread(void);
void tck_set_precision_thread(int precision);
/// The thread's scope when set, else the process default.
int tck_precision_current(void);

/// 1 when the CPU has AVX-512 BF16 (vdpbf16ps), i.e. `tck_gemm_bf16` computes.
int tck_has_bf16(void);

/// 1 when the CPU has AMX-BF16 tiles and Linux grants this process their state, i.e. `tck_gemm_bf16`
/// runs on tiles (set TCGRAPH_AMX=0 to keep the AVX-512 BF16 kernel).
int tck_has_amx(void);

/// Single-threaded C[m×n] = alpha·op(A)·op(B) + beta·C, row-major as cblas_sgemm, with op(A) and
/// op(B) rounded to bfloat16 (nearest even) and products accumulated in float32. beta = 0 never reads
/// C. Returns 0 without touching C when the CPU lacks AVX-512 BF16 or a dimension is not positive.
/// Runs on AMX tiles when `tck_has_amx()`, else on AVX-512 BF16.
int tck_gemm_bf16(int transA, int transB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha, const float *a,
                  ptrdiff_t lda, const float *b, ptrdiff_t ldb, float beta, float *c, ptrdiff_t ldc);
/// The same product on AVX-512 BF16 only (vdpbf16ps); returns 0 without touching C when the CPU
/// lacks it.
int tck_gemm_bf16_avx512(int transA, int transB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha,
                         const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb, float beta, float *c,
                         ptrdiff_t ldc);
/// The same product on AMX tiles only; returns 0 without touching C when `tck_has_amx()` is 0.
int tck_gemm_bf16_amx(int transA, int transB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha, const float *a,
                      ptrdiff_t lda, const float *b, ptrdiff_t ldb, float beta, float *c, ptrdiff_t ldc);

#ifdef __cplusplus
}
#endif

#endif
