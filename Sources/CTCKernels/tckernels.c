#include "tckernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "avx2math.h"

#define TCK_INLINE static inline __attribute__((always_inline))

// ---------------------------------------------------------------------------------------------
// Portable bodies.

TCK_INLINE float silu1(float v) { return v / (1.0f + expf(-v)); }
TCK_INLINE float gelu1(float v) { return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f)); }

TCK_INLINE float row_max(const float *r, ptrdiff_t n) {
    float m = -INFINITY;
    for (ptrdiff_t j = 0; j < n; j++) m = r[j] > m ? r[j] : m;
    return m == -INFINITY ? 0 : m;
}

/// exp(x − max x) over a row in place; returns the sum.
static float exp_row_generic(float *r, ptrdiff_t n) {
    float m = row_max(r, n), s = 0;
    for (ptrdiff_t j = 0; j < n; j++) {
        float e = expf(r[j] - m);
        r[j] = e;
        s += e;
    }
    return s;
}

TCK_INLINE void softmax_rows_impl(float *p, ptrdiff_t rows, ptrdiff_t n, ptrdiff_t ld,
                                  float (*exp_row)(float *, ptrdiff_t)) {
    for (ptrdiff_t i = 0; i < rows; i++) {
        float *r = p + i * ld;
        float inv = 1.0f / exp_row(r, n);
        for (ptrdiff_t j = 0; j < n; j++) r[j] *= inv;
    }
}

TCK_INLINE void small_attention_impl(const float *q, ptrdiff_t ldq, const float *k, ptrdiff_t ldk, const float *v,
                                     ptrdiff_t ldv, float *o, ptrdiff_t ldo, ptrdiff_t lq, ptrdiff_t lk, ptrdiff_t d,
                                     ptrdiff_t dv, float scale, float (*exp_row)(float *, ptrdiff_t)) {
    // kᵀ (d × lk) so that the score row of one query is a sum of contiguous axpys.
    float stack[4096];
    float *kt = d * lk <= 4096 ? stack : malloc(sizeof(float) * (size_t)(d * lk));
    for (ptrdiff_t j = 0; j < lk; j++)
        for (ptrdiff_t e = 0; e < d; e++) kt[e * lk + j] = k[j * ldk + e];
    float s[256];
    for (ptrdiff_t i = 0; i < lq; i++) {
        const float *qi = q + i * ldq;
        for (ptrdiff_t j = 0; j < lk; j++) s[j] = 0;
        for (ptrdiff_t e = 0; e < d; e++) {
            float qe = qi[e];
            const float *kr = kt + e * lk;
            for (ptrdiff_t j = 0; j < lk; j++) s[j] += qe * kr[j];
        }
        for (ptrdiff_t j = 0; j < lk; j++) s[j] *= scale;
        float inv = 1.0f / exp_row(s, lk);
        float *oi = o + i * ldo;
        for (ptrdiff_t e = 0; e < dv; e++) oi[e] = 0;
        for (ptrdiff_t j = 0; j < lk; j++) {
            float w = s[j] * inv;
            const float *vj = v + j * ldv;
            for (ptrdiff_t e = 0; e < dv; e++) oi[e] += w * vj[e];
        }
    }
    if (kt != stack) free(kt);
}

void tck_softmax_rows_generic(float *p, ptrdiff_t rows, ptrdiff_t n, ptrdiff_t ld) {
    softmax_rows_impl(p, rows, n, ld, exp_row_generic);
}

void tck_exp_rows_generic(float *p, ptrdiff_t rows, ptrdiff_t n, ptrdiff_t ld, float *inv_sums) {
    for (ptrdiff_t i = 0; i < rows; i++) inv_sums[i] = 1.0f / exp_row_generic(p + i * ld, n);
}

void tck_silu_generic(const float *x, float *y, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) y[i] = silu1(x[i]);
}

void tck_gelu_generic(const float *x, float *y, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) y[i] = gelu1(x[i]);
}

void tck_geglu_generic(const float *x, float *y, ptrdiff_t rows, ptrdiff_t d) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *a = x + r * 2 * d, *g = a + d;
        float *o = y + r * d;
        for (ptrdiff_t j = 0; j < d; j++) o[j] = a[j] * gelu1(g[j]);
    }
}

void tck_norm_apply_generic(const float *x, float *y, ptrdiff_t n, float mh, float ml, float scale, float shift,
                            int silu) {
    if (silu) {
        for (ptrdiff_t i = 0; i < n; i++) y[i] = silu1((x[i] - mh - ml) * scale + shift);
    } else {
        for (ptrdiff_t i = 0; i < n; i++) y[i] = (x[i] - mh - ml) * scale + shift;
    }
}

double tck_sum_generic(const float *x, ptrdiff_t n) {
    double s = 0;
    for (ptrdiff_t i = 0; i < n; i++) s += x[i];
    return s;
}

double tck_sum_sq_dev_generic(const float *x, ptrdiff_t n, double mean) {
    double s = 0;
    for (ptrdiff_t i = 0; i < n; i++) { double dd = x[i] - mean; s += dd * dd; }
    return s;
}

void tck_small_attention_generic(const float *q, ptrdiff_t ldq, const float *k, ptrdiff_t ldk, const float *v,
                                 ptrdiff_t ldv, float *o, ptrdiff_t ldo, ptrdiff_t lq, ptrdiff_t lk, ptrdiff_t d,
                                 ptrdiff_t dv, float scale) {
    small_attention_impl(q, ldq, k, ldk, v, ldv, o, ldo, lq, lk, d, dv, scale, exp_row_generic);
}

// ---------------------------------------------------------------------------------------------
// AVX2 + FMA bodies.

#ifdef TCK_X86

TCK_AVX2 static inline __m256 silu8(__m256 v) {
    __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), v));
    return _mm256_div_ps(v, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

/// gelu(v) = ½·v·erfc(−v/√2), erfc from Numerical Recipes' Chebyshev fit (relative error
/// < 1.2e-7 everywhere): with z = |u|, t = 1/(1 + z/2), erfc(z) = t·exp(−z² + P(t)), and
/// erfc(u) = 2 − erfc(−u) below zero.
TCK_AVX2 static inline __m256 gelu8(__m256 v) {
    __m256 u = _mm256_mul_ps(v, _mm256_set1_ps(-0.70710678118654752f));
    __m256 z = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), u);
    __m256 t = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(z, _mm256_set1_ps(0.5f), _mm256_set1_ps(1.0f)));
    __m256 p = _mm256_set1_ps(0.17087277f);
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.82215223f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.48851587f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.13520398f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.27886807f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.18628806f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.09678418f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.37409196f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.00002368f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.26551223f));
    __m256 e = _mm256_mul_ps(t, exp8(_mm256_fnmadd_ps(z, z, p)));
    __m256 neg = _mm256_cmp_ps(u, _mm256_setzero_ps(), _CMP_LT_OQ);
    __m256 erfc = _mm256_blendv_ps(e, _mm256_sub_ps(_mm256_set1_ps(2.0f), e), neg);
    return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), v), erfc);
}

TCK_AVX2 static float exp_row_avx2(float *r, ptrdiff_t n) {
    __m256 vmax = _mm256_set1_ps(-INFINITY);
    ptrdiff_t j = 0;
    for (; j + 8 <= n; j += 8) vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(r + j));
    float m = hmax8(vmax);
    for (; j < n; j++) m = r[j] > m ? r[j] : m;
    if (m == -INFINITY) m = 0;

    __m256 vm = _mm256_set1_ps(m), acc = _mm256_setzero_ps();
    j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(r + j), vm));
        _mm256_storeu_ps(r + j, e);
        acc = _mm256_add_ps(acc, e);
    }
    if (j < n) {
        __m256i mask = tail_mask(n - j);
        __m256 e = exp8(_mm256_sub_ps(_mm256_maskload_ps(r + j, mask), vm));
        e = _mm256_and_ps(e, _mm256_castsi256_ps(mask));
        _mm256_maskstore_ps(r + j, mask, e);
        acc = _mm256_add_ps(acc, e);
    }
    return hsum8(acc);
}

TCK_AVX2 static void softmax_rows_avx2(float *p, ptrdiff_t rows, ptrdiff_t n, ptrdiff_t ld) {
    softmax_rows_impl(p, rows, n, ld, exp_row_avx2);
}

TCK_AVX2 static void silu_avx2(const float *x, float *y, ptrdiff_t n) {
    ptrdiff_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, silu8(_mm256_loadu_ps(x + i)));
    if (i < n) {
        __m256i mask = tail_mask(n - i);
        _mm256_maskstore_ps(y + i, mask, silu8(_mm256_maskload_ps(x + i, mask)));
    }
}

TCK_AVX2 static void gelu_avx2(const float *x, float *y, ptrdiff_t n) {
    ptrdiff_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, gelu8(_mm256_loadu_ps(x + i)));
    if (i < n) {
        __m256i mask = tail_mask(n - i);
        _mm256_maskstore_ps(y + i, mask, gelu8(_mm256_maskload_ps(x + i, mask)));
    }
}

TCK_AVX2 static void geglu_avx2(const float *x, float *y, ptrdiff_t rows, ptrdiff_t d) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *a = x + r * 2 * d, *g = a + d;
        float *o = y + r * d;
        ptrdiff_t j = 0;
        for (; j + 8 <= d; j += 8)
            _mm256_storeu_ps(o + j, _mm256_mul_ps(_mm256_loadu_ps(a + j), gelu8(_mm256_loadu_ps(g + j))));
        if (j < d) {
            __m256i mask = tail_mask(d - j);
            __m256 v = _mm256_mul_ps(_mm256_maskload_ps(a + j, mask), gelu8(_mm256_maskload_ps(g + j, mask)));
            _mm256_maskstore_ps(o + j, mask, v);
        }
    }
}

TCK_AVX2 static void norm_apply_avx2(const float *x, float *y, ptrdiff_t n, float mh, float ml, float scale,
                                     float shift, int silu) {
    __m256 vh = _mm256_set1_ps(mh), vl = _mm256_set1_ps(ml), vs = _mm256_set1_ps(scale), vb = _mm256_set1_ps(shift);
    ptrdiff_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_fmadd_ps(_mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vh), vl), vs, vb);
        _mm256_storeu_ps(y + i, silu ? silu8(v) : v);
    }
    if (i < n) {
        __m256i mask = tail_mask(n - i);
        __m256 v = _mm256_fmadd_ps(_mm256_sub_ps(_mm256_sub_ps(_mm256_maskload_ps(x + i, mask), vh), vl), vs, vb);
        _mm256_maskstore_ps(y + i, mask, silu ? silu8(v) : v);
    }
}

/// Scores for four queries against sixteen keys at a time, kᵀ padded to a multiple of 16 keys;
/// then one softmax per query and the value sum with up to 64 output columns in registers.
TCK_AVX2 static void small_attention_avx2(const float *q, ptrdiff_t ldq, const float *k, ptrdiff_t ldk,
                                          const float *v, ptrdiff_t ldv, float *o, ptrdiff_t ldo, ptrdiff_t lq,
                                          ptrdiff_t lk, ptrdiff_t d, ptrdiff_t dv, float scale) {
    ptrdiff_t lkp = (lk + 15) & ~(ptrdiff_t)15;
    float stack[8192];
    float *kt = d * lkp <= 8192 ? stack : malloc(sizeof(float) * (size_t)(d * lkp));
    for (ptrdiff_t e = 0; e < d; e++) {
        float *row = kt + e * lkp;
        for (ptrdiff_t j = 0; j < lk; j++) row[j] = k[j * ldk + e];
        for (ptrdiff_t j = lk; j < lkp; j++) row[j] = 0;
    }
    float s[4][256] __attribute__((aligned(32)));
    __m256 vs = _mm256_set1_ps(scale);
    for (ptrdiff_t i0 = 0; i0 < lq; i0 += 4) {
        ptrdiff_t nq = lq - i0 < 4 ? lq - i0 : 4;
        // Rows past the end repeat the last query; their scores are never used.
        const float *q0 = q + i0 * ldq, *q1 = q + (i0 + (nq > 1 ? 1 : 0)) * ldq;
        const float *q2 = q + (i0 + (nq > 2 ? 2 : 0)) * ldq, *q3 = q + (i0 + (nq > 3 ? 3 : 0)) * ldq;
        for (ptrdiff_t kb = 0; kb < lkp; kb += 16) {
            __m256 a00 = _mm256_setzero_ps(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
            for (ptrdiff_t e = 0; e < d; e++) {
                __m256 k0 = _mm256_loadu_ps(kt + e * lkp + kb), k1 = _mm256_loadu_ps(kt + e * lkp + kb + 8);
                __m256 b0 = _mm256_broadcast_ss(q0 + e), b1 = _mm256_broadcast_ss(q1 + e);
                __m256 b2 = _mm256_broadcast_ss(q2 + e), b3 = _mm256_broadcast_ss(q3 + e);
                a00 = _mm256_fmadd_ps(b0, k0, a00); a01 = _mm256_fmadd_ps(b0, k1, a01);
                a10 = _mm256_fmadd_ps(b1, k0, a10); a11 = _mm256_fmadd_ps(b1, k1, a11);
                a20 = _mm256_fmadd_ps(b2, k0, a20); a21 = _mm256_fmadd_ps(b2, k1, a21);
                a30 = _mm256_fmadd_ps(b3, k0, a30); a31 = _mm256_fmadd_ps(b3, k1, a31);
            }
            _mm256_store_ps(s[0] + kb, _mm256_mul_ps(a00, vs)); _mm256_store_ps(s[0] + kb + 8, _mm256_mul_ps(a01, vs));
            _mm256_store_ps(s[1] + kb, _mm256_mul_ps(a10, vs)); _mm256_store_ps(s[1] + kb + 8, _mm256_mul_ps(a11, vs));
            _mm256_store_ps(s[2] + kb, _mm256_mul_ps(a20, vs)); _mm256_store_ps(s[2] + kb + 8, _mm256_mul_ps(a21, vs));
            _mm256_store_ps(s[3] + kb, _mm256_mul_ps(a30, vs)); _mm256_store_ps(s[3] + kb + 8, _mm256_mul_ps(a31, vs));
        }
        for (ptrdiff_t r = 0; r < nq; r++) {
            float *sr = s[r];
            float inv = 1.0f / exp_row_avx2(sr, lk);
            for (ptrdiff_t j = 0; j < lk; j++) sr[j] *= inv;
            float *oi = o + (i0 + r) * ldo;
            ptrdiff_t c = 0;
            for (; c + 64 <= dv; c += 64) {
                __m256 o0 = _mm256_setzero_ps(), o1 = o0, o2 = o0, o3 = o0, o4 = o0, o5 = o0, o6 = o0, o7 = o0;
                for (ptrdiff_t j = 0; j < lk; j++) {
                    const float *vj = v + j * ldv + c;
                    __m256 p = _mm256_broadcast_ss(sr + j);
                    o0 = _mm256_fmadd_ps(p, _mm256_loadu_ps(vj), o0);
                    o1 = _mm256_fmadd_ps(p, _mm256_loadu_ps(vj + 8), o1);
                    o2 = _mm256_fmadd_ps(p, _mm256_loadu_ps(vj + 16), o2);
                    o3 = _mm256_fmadd_ps(p, _mm256_loadu_ps(vj + 24), o3);
                    o4 = _mm256_fmadd_ps(p, _mm256_loadu_ps(vj + 32), o4);
                    o5 = _mm256_fmadd_ps(p, _mm256_loadu_ps(vj + 40), o5);
                    o6 = _mm256_fmadd_ps(p, _mm256_loadu_ps(vj + 48), o6);
                    o7 = _mm256_fmadd_ps(p, _mm256_loadu_ps(vj + 56), o7);
                }
                _mm256_storeu_ps(oi + c, o0); _mm256_storeu_ps(oi + c + 8, o1);
                _mm256_storeu_ps(oi + c + 16, o2); _mm256_storeu_ps(oi + c + 24, o3);
                _mm256_storeu_ps(oi + c + 32, o4); _mm256_storeu_ps(oi + c + 40, o5);
                _mm256_storeu_ps(oi + c + 48, o6); _mm256_storeu_ps(oi + c + 56, o7);
            }
            for (; c < dv; c += 8) {
                __m256i mask = tail_mask(dv - c);
                __m256 acc = _mm256_setzero_ps();
                for (ptrdiff_t j = 0; j < lk; j++)
                    acc = _mm256_fmadd_ps(_mm256_broadcast_ss(sr + j), _mm256_maskload_ps(v + j * ldv + c, mask), acc);
                _mm256_maskstore_ps(oi + c, mask, acc);
            }
        }
    }
    if (kt != stack) free(kt);
}

/// Σ x in float64, four lanes per step.
TCK_AVX2 static double sum_avx2(const float *x, ptrdiff_t n) {
    __m256d a0 = _mm256_setzero_pd(), a1 = a0;
    ptrdiff_t i = 0;
    for (; i + 8 <= n; i += 8) {
        a0 = _mm256_add_pd(a0, _mm256_cvtps_pd(_mm_loadu_ps(x + i)));
        a1 = _mm256_add_pd(a1, _mm256_cvtps_pd(_mm_loadu_ps(x + i + 4)));
    }
    __m256d a = _mm256_add_pd(a0, a1);
    __m128d h = _mm_add_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
    double s = _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
    for (; i < n; i++) s += x[i];
    return s;
}

/// Σ (x − mean)² in float64.
TCK_AVX2 static double sum_sq_dev_avx2(const float *x, ptrdiff_t n, double mean) {
    __m256d a0 = _mm256_setzero_pd(), a1 = a0, m = _mm256_set1_pd(mean);
    ptrdiff_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256d d0 = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(x + i)), m);
        __m256d d1 = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(x + i + 4)), m);
        a0 = _mm256_fmadd_pd(d0, d0, a0);
        a1 = _mm256_fmadd_pd(d1, d1, a1);
    }
    __m256d a = _mm256_add_pd(a0, a1);
    __m128d h = _mm_add_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
    double s = _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
    for (; i < n; i++) { double dd = x[i] - mean; s += dd * dd; }
    return s;
}

#endif

// ---------------------------------------------------------------------------------------------
// Dispatch.

int tck_has_avx2(void) {
#ifdef TCK_X86
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    return cached;
#else
    return 0;
#endif
}

int tck_cpu_avx512(void) {
#ifdef TCK_X86
    __builtin_cpu_init();
    if (!(__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))) return 0;
    return __builtin_cpu_supports("avx512bf16") ? 2 : 1;
#else
    return 0;
#endif
}

void tck_softmax_rows(float *p, ptrdiff_t rows, ptrdiff_t n, ptrdiff_t ld) {
#ifdef TCK_X86
    if (tck_has_avx2()) { softmax_rows_avx2(p, rows, n, ld); return; }
#endif
    tck_softmax_rows_generic(p, rows, n, ld);
}

void tck_exp_rows(float *p, ptrdiff_t rows, ptrdiff_t n, ptrdiff_t ld, float *inv_sums) {
#ifdef TCK_X86
    if (tck_has_avx2()) {
        for (ptrdiff_t i = 0; i < rows; i++) inv_sums[i] = 1.0f / exp_row_avx2(p + i * ld, n);
        return;
    }
#endif
    tck_exp_rows_generic(p, rows, n, ld, inv_sums);
}

void tck_silu(const float *x, float *y, ptrdiff_t n) {
#ifdef TCK_X86
    if (tck_has_avx2()) { silu_avx2(x, y, n); return; }
#endif
    tck_silu_generic(x, y, n);
}

void tck_norm_apply(const float *x, float *y, ptrdiff_t n, float mh, float ml, float scale, float shift, int silu) {
#ifdef TCK_X86
    if (tck_has_avx2()) { norm_apply_avx2(x, y, n, mh, ml, scale, shift, silu); return; }
#endif
    tck_norm_apply_generic(x, y, n, mh, ml, scale, shift, silu);
}

void tck_small_attention(const float *q, ptrdiff_t ldq, const float *k, ptrdiff_t ldk, const float *v, ptrdiff_t ldv,
                         float *o, ptrdiff_t ldo, ptrdiff_t lq, ptrdiff_t lk, ptrdiff_t d, ptrdiff_t dv, float scale) {
#ifdef TCK_X86
    if (tck_has_avx2()) { small_attention_avx2(q, ldq, k, ldk, v, ldv, o, ldo, lq, lk, d, dv, scale); return; }
#endif
    tck_small_attention_generic(q, ldq, k, ldk, v, ldv, o, ldo, lq, lk, d, dv, scale);
}

double tck_sum(const float *x, ptrdiff_t n) {
#ifdef TCK_X86
    if (tck_has_avx2()) return sum_avx2(x, n);
#endif
    return tck_sum_generic(x, n);
}

double tck_sum_sq_dev(const float *x, ptrdiff_t n, double mean) {
#ifdef TCK_X86
    if (tck_has_avx2()) return sum_sq_dev_avx2(x, n, mean);
#endif
    return tck_sum_sq_dev_generic(x, n, mean);
}

void tck_gelu(const float *x, float *y, ptrdiff_t n) {
#ifdef TCK_X86
    if (tck_has_avx2()) { gelu_avx2(x, y, n); return; }
#endif
    tck_gelu_generic(x, y, n);
}

void tck_geglu(const float *x, float *y, ptrdiff_t rows, ptrdiff_t d) {
#ifdef TCK_X86
    if (tck_has_avx2()) { geglu_avx2(x, y, rows, d); return; }
#endif
    tck_geglu_generic(x, y, rows, d);
}

// ---------------------------------------------------------------------------------------------
// Half precision. The portable path converts by bits (the compiler's _Float16 is not available
// everywhere); the x86 path uses F16C, eight values per instruction.

static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1F, man = h & 0x3FF, bits;
    if (exp == 0x1F) {
        bits = sign | 0x7F800000 | (man << 13);
    } else if (exp != 0) {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    } else if (man == 0) {
        bits = sign;
    } else {
        // Subnormal half: normalise.
        int e = -1;
        do { man <<= 1; e++; } while (!(man & 0x400));
        bits = sign | ((uint32_t)(112 - e) << 23) | ((man & 0x3FF) << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static uint16_t float_to_half(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000, absx = x & 0x7FFFFFFF;
    if (absx >= 0x7F800000) return (uint16_t)(sign | 0x7C00 | (absx > 0x7F800000 ? 0x200 | ((absx >> 13) & 0x3FF) : 0));
    if (absx >= 0x477FF000) return (uint16_t)(sign | 0x7C00);  // rounds to infinity
    if (absx < 0x33000001) return (uint16_t)sign;               // rounds to zero
    uint32_t e = absx >> 23, man = (absx & 0x7FFFFF) | 0x800000;
    int shift = e < 113 ? (int)(126 - e) : 13;                   // subnormal results shift further
    uint32_t base = e < 113 ? 0 : (e - 112) << 10;
    uint32_t halfman = man >> shift, rest = man & ((1u << shift) - 1), halfway = 1u << (shift - 1);
    uint32_t h = (e < 113 ? halfman : (halfman & 0x3FF)) + base;
    if (rest > halfway || (rest == halfway && (halfman & 1))) h++;
    return (uint16_t)(sign | h);
}

#ifdef TCK_X86
__attribute__((target("avx2,f16c"))) static void f16_to_f32_f16c(const uint16_t *x, float *y, ptrdiff_t n) {
    ptrdiff_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))));
    for (; i < n; i++) y[i] = half_to_float(x[i]);
}

__attribute__((target("avx2,f16c"))) static void f32_to_f16_f16c(const float *x, uint16_t *y, ptrdiff_t n) {
    ptrdiff_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) y[i] = float_to_half(x[i]);
}

static int tck_has_f16c(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c");
    }
    return cached;
}
#endif

void tck_f16_to_f32(const uint16_t *x, float *y, ptrdiff_t n) {
#ifdef TCK_X86
    if (tck_has_f16c()) { f16_to_f32_f16c(x, y, n); return; }
#endif
    for (ptrdiff_t i = 0; i < n; i++) y[i] = half_to_float(x[i]);
}

void tck_f32_to_f16(const float *x, uint16_t *y, ptrdiff_t n) {
#ifdef TCK_X86
    if (tck_has_f16c()) { f32_to_f16_f16c(x, y, n); return; }
#endif
    for (ptrdiff_t i = 0; i < n; i++) y[i] = float_to_half(x[i]);
}

void tck_trim_heap(void) {
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}
