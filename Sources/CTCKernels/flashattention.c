#include "tckernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "avx2math.h"

#if defined(__x86_64__)
#define TCK_AVX512 __attribute__((target("avx512f,avx512dq")))
#endif

// ---------------------------------------------------------------------------------------------
// Attention over long key sequences, one key block at a time with a running row max and sum
// (the "online softmax" of FlashAttention): the MQ × NK score block of a query block stays in L1/L2
// instead of an m × lk score matrix going through memory three times (GEMM out, exp, GEMM in).
//
// kᵀ is packed in strips of 32 keys, d × 32 floats each, so one strip (8 KiB at d = 64) serves every
// row tile of a query block from L1; v is read as it lies. The blocking (flash_attention_blocked) is
// shared; each instruction set brings its register tiles (fa_tiles):
// - AVX-512: scores 12 × 32 (24 zmm accumulators), values 6 × 64 (24 accumulators);
// - AVX2 + FMA: scores 6 × 16 twice per strip (12 ymm accumulators), values 6 × 16, so that the
//   16 ymm registers hold the accumulators, two operand vectors and a broadcast.

enum { FA_STRIP = 32, FA_MQ = 48, FA_NK = 256, FA_MB = 384, FA_SR = 12, FA_VR = 6, FA_R2 = 6 };

/// The register tiles of one instruction set.
typedef struct {
    /// s[r][0..32) = Σₑ q[r][e]·ktile[e][0..32) for `rows` ≤ score_rows rows of the (pre-scaled)
    /// query block.
    void (*score_tile)(const float *q, ptrdiff_t d, const float *ktile, float *s, ptrdiff_t lds, int rows);
    int score_rows;
    /// One key block for score rows s[0..mq) of n valid columns: updates the running max m and sum l,
    /// rescales the output rows by exp(m_old − m_new) and turns the scores into exp(s − m_new).
    void (*online_softmax)(float *s, ptrdiff_t lds, ptrdiff_t mq, ptrdiff_t n, float *m, float *l, float *o,
                           ptrdiff_t ldo, ptrdiff_t dv);
    /// o[r][0..value_cols) += Σⱼ p[r][j]·v[j][0..value_cols) for `rows` ≤ value_rows rows and j < n.
    void (*value_tile)(const float *p, ptrdiff_t ldp, const float *v, ptrdiff_t ldv, ptrdiff_t n, float *o,
                       ptrdiff_t ldo, int rows);
    int value_rows, value_cols;
} fa_tiles;

ptrdiff_t tck_flash_packed_keys_count(ptrdiff_t lk, ptrdiff_t d) {
    return (lk + FA_STRIP - 1) / FA_STRIP * FA_STRIP * d;
}

void tck_flash_pack_keys(const float *k, ptrdiff_t ldk, ptrdiff_t lk, ptrdiff_t d, float *kt) {
    ptrdiff_t strips = (lk + FA_STRIP - 1) / FA_STRIP;
    for (ptrdiff_t s = 0; s < strips; s++) {
        float *dst = kt + s * d * FA_STRIP;
        for (ptrdiff_t j = 0; j < FA_STRIP; j++) {
            ptrdiff_t key = s * FA_STRIP + j;
            if (key < lk) {
                const float *row = k + key * ldk;
                for (ptrdiff_t e = 0; e < d; e++) dst[e * FA_STRIP + j] = row[e];
            } else {
                for (ptrdiff_t e = 0; e < d; e++) dst[e * FA_STRIP + j] = 0;
            }
        }
    }
}

#if defined(__x86_64__)

/// exp for 16 lanes, the same Cephes reduction and polynomial as the AVX2 kernels' exp8.
TCK_AVX512 static inline __m512 exp16(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-88.3762626647949f)), _mm512_set1_ps(88.3762626647950f));
    __m512 fx = _mm512_roundscale_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), _mm512_set1_ps(0.5f)),
                                     _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(0.693359375f), x);
    x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(-2.12194440e-4f), x);
    __m512 z = _mm512_mul_ps(x, x);
    __m512 y = _mm512_set1_ps(1.9875691500e-4f);
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(1.3981999507e-3f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(8.3334519073e-3f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(4.1665795894e-2f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(1.6666665459e-1f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(5.0000001201e-1f));
    y = _mm512_fmadd_ps(y, z, x);
    y = _mm512_add_ps(y, _mm512_set1_ps(1.0f));
    __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvttps_epi32(fx), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(y, _mm512_castsi512_ps(e));
}

TCK_AVX512 static inline void score_tile(const float *q, ptrdiff_t d, const float *ktile, float *s, ptrdiff_t lds,
                                         int rows) {
#define FA_ROW(r)                                                                              \
    __m512 c##r##0 = _mm512_setzero_ps(), c##r##1 = _mm512_setzero_ps();
    FA_ROW(0) FA_ROW(1) FA_ROW(2) FA_ROW(3) FA_ROW(4) FA_ROW(5)
    FA_ROW(6) FA_ROW(7) FA_ROW(8) FA_ROW(9) FA_ROW(10) FA_ROW(11)
#undef FA_ROW
    if (rows == FA_SR) {
        for (ptrdiff_t e = 0; e < d; e++) {
            __m512 k0 = _mm512_loadu_ps(ktile + e * FA_STRIP), k1 = _mm512_loadu_ps(ktile + e * FA_STRIP + 16);
#define FA_FMA(r)                                                                              \
    { __m512 b = _mm512_set1_ps(q[(r) * d + e]); c##r##0 = _mm512_fmadd_ps(b, k0, c##r##0); c##r##1 = _mm512_fmadd_ps(b, k1, c##r##1); }
            FA_FMA(0) FA_FMA(1) FA_FMA(2) FA_FMA(3) FA_FMA(4) FA_FMA(5)
            FA_FMA(6) FA_FMA(7) FA_FMA(8) FA_FMA(9) FA_FMA(10) FA_FMA(11)
        }
    } else {
        // Tail rows: the same tile with rows past the end reading row 0 (their scores are dropped).
        const float *qr[FA_SR];
        for (int r = 0; r < FA_SR; r++) qr[r] = q + (r < rows ? r : 0) * d;
        for (ptrdiff_t e = 0; e < d; e++) {
            __m512 k0 = _mm512_loadu_ps(ktile + e * FA_STRIP), k1 = _mm512_loadu_ps(ktile + e * FA_STRIP + 16);
#define FA_FMAT(r)                                                                             \
    { __m512 b = _mm512_set1_ps(qr[r][e]); c##r##0 = _mm512_fmadd_ps(b, k0, c##r##0); c##r##1 = _mm512_fmadd_ps(b, k1, c##r##1); }
            FA_FMAT(0) FA_FMAT(1) FA_FMAT(2) FA_FMAT(3) FA_FMAT(4) FA_FMAT(5)
            FA_FMAT(6) FA_FMAT(7) FA_FMAT(8) FA_FMAT(9) FA_FMAT(10) FA_FMAT(11)
#undef FA_FMAT
        }
    }
#undef FA_FMA
#define FA_STORE(r)                                                                            \
    if ((r) < rows) { _mm512_storeu_ps(s + (r) * lds, c##r##0); _mm512_storeu_ps(s + (r) * lds + 16, c##r##1); }
    FA_STORE(0) FA_STORE(1) FA_STORE(2) FA_STORE(3) FA_STORE(4) FA_STORE(5)
    FA_STORE(6) FA_STORE(7) FA_STORE(8) FA_STORE(9) FA_STORE(10) FA_STORE(11)
#undef FA_STORE
}

TCK_AVX512 static inline void value_tile(const float *p, ptrdiff_t ldp, const float *v, ptrdiff_t ldv, ptrdiff_t n,
                                         float *o, ptrdiff_t ldo, int rows) {
    const float *pr[FA_VR];
    for (int r = 0; r < FA_VR; r++) pr[r] = p + (r < rows ? r : 0) * ldp;
#define FA_LOAD(r)                                                                             \
    __m512 a##r##0 = _mm512_loadu_ps(o + ((r) < rows ? (r) : 0) * ldo), a##r##1 = _mm512_loadu_ps(o + ((r) < rows ? (r) : 0) * ldo + 16), \
           a##r##2 = _mm512_loadu_ps(o + ((r) < rows ? (r) : 0) * ldo + 32), a##r##3 = _mm512_loadu_ps(o + ((r) < rows ? (r) : 0) * ldo + 48);
    FA_LOAD(0) FA_LOAD(1) FA_LOAD(2) FA_LOAD(3) FA_LOAD(4) FA_LOAD(5)
#undef FA_LOAD
    for (ptrdiff_t j = 0; j < n; j++) {
        const float *vj = v + j * ldv;
        __m512 v0 = _mm512_loadu_ps(vj), v1 = _mm512_loadu_ps(vj + 16), v2 = _mm512_loadu_ps(vj + 32),
               v3 = _mm512_loadu_ps(vj + 48);
#define FA_ACC(r)                                                                              \
    { __m512 b = _mm512_set1_ps(pr[r][j]); a##r##0 = _mm512_fmadd_ps(b, v0, a##r##0); a##r##1 = _mm512_fmadd_ps(b, v1, a##r##1); \
      a##r##2 = _mm512_fmadd_ps(b, v2, a##r##2); a##r##3 = _mm512_fmadd_ps(b, v3, a##r##3); }
        FA_ACC(0) FA_ACC(1) FA_ACC(2) FA_ACC(3) FA_ACC(4) FA_ACC(5)
#undef FA_ACC
    }
#define FA_STORE(r)                                                                            \
    if ((r) < rows) { _mm512_storeu_ps(o + (r) * ldo, a##r##0); _mm512_storeu_ps(o + (r) * ldo + 16, a##r##1); \
                      _mm512_storeu_ps(o + (r) * ldo + 32, a##r##2); _mm512_storeu_ps(o + (r) * ldo + 48, a##r##3); }
    FA_STORE(0) FA_STORE(1) FA_STORE(2) FA_STORE(3) FA_STORE(4) FA_STORE(5)
#undef FA_STORE
}

TCK_AVX512 static void online_softmax(float *s, ptrdiff_t lds, ptrdiff_t mq, ptrdiff_t n, float *m, float *l, float *o,
                                      ptrdiff_t ldo, ptrdiff_t dv) {
    __mmask16 tail = (__mmask16)((1u << (n % 16)) - 1);
    ptrdiff_t full = n / 16 * 16;
    for (ptrdiff_t i = 0; i < mq; i++) {
        float *r = s + i * lds;
        __m512 vmax = _mm512_set1_ps(-INFINITY);
        for (ptrdiff_t j = 0; j < full; j += 16) vmax = _mm512_max_ps(vmax, _mm512_loadu_ps(r + j));
        if (tail) vmax = _mm512_mask_max_ps(vmax, tail, vmax, _mm512_maskz_loadu_ps(tail, r + full));
        float bmax = _mm512_reduce_max_ps(vmax);
        float mnew = bmax > m[i] ? bmax : m[i];
        // The first block has m = −∞ and an all-zero output: its correction is 0.
        float corr = m[i] == -INFINITY ? 0.0f : expf(m[i] - mnew);
        __m512 vm = _mm512_set1_ps(mnew), sum = _mm512_setzero_ps();
        for (ptrdiff_t j = 0; j < full; j += 16) {
            __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(r + j), vm));
            _mm512_storeu_ps(r + j, e);
            sum = _mm512_add_ps(sum, e);
        }
        if (tail) {
            __m512 e = _mm512_maskz_mov_ps(tail, exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, r + full), vm)));
            _mm512_mask_storeu_ps(r + full, tail, e);
            sum = _mm512_add_ps(sum, e);
        }
        l[i] = l[i] * corr + _mm512_reduce_add_ps(sum);
        m[i] = mnew;
        if (corr != 1.0f) {
            float *oi = o + i * ldo;
            __m512 vc = _mm512_set1_ps(corr);
            for (ptrdiff_t c = 0; c < dv; c += 16) _mm512_storeu_ps(oi + c, _mm512_mul_ps(_mm512_loadu_ps(oi + c), vc));
        }
    }
}

static const fa_tiles avx512_tiles = {score_tile, FA_SR, online_softmax, value_tile, FA_VR, 64};

#endif

#ifdef TCK_X86

/// c[r][0..16) = (accumulate ? c[r][0..16) : 0) + Σ_{j<n} a[r][j]·b[j][0..16) for `rows` ≤ 6 rows:
/// the rank-1 updates of both AVX2 tiles (scores: a = q, b = a kᵀ strip; values: a = p, b = v).
/// Rows past the end read row 0 and are not stored.
TCK_AVX2 static inline __attribute__((always_inline)) void tile_6x16(const float *a, ptrdiff_t lda, const float *b,
                                                                     ptrdiff_t ldb, ptrdiff_t n, float *c,
                                                                     ptrdiff_t ldc, int rows, int accumulate) {
    const float *ar[FA_R2];
    float *cr[FA_R2];
    __m256 acc[FA_R2][2];
#pragma clang loop unroll(full)
    for (int r = 0; r < FA_R2; r++) {
        ptrdiff_t i = r < rows ? r : 0;
        ar[r] = a + i * lda;
        cr[r] = c + i * ldc;
        acc[r][0] = accumulate ? _mm256_loadu_ps(cr[r]) : _mm256_setzero_ps();
        acc[r][1] = accumulate ? _mm256_loadu_ps(cr[r] + 8) : _mm256_setzero_ps();
    }
    for (ptrdiff_t j = 0; j < n; j++) {
        __m256 b0 = _mm256_loadu_ps(b + j * ldb), b1 = _mm256_loadu_ps(b + j * ldb + 8);
#pragma clang loop unroll(full)
        for (int r = 0; r < FA_R2; r++) {
            __m256 x = _mm256_broadcast_ss(ar[r] + j);
            acc[r][0] = _mm256_fmadd_ps(x, b0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(x, b1, acc[r][1]);
        }
    }
#pragma clang loop unroll(full)
    for (int r = 0; r < FA_R2; r++) {
        if (r < rows) {
            _mm256_storeu_ps(cr[r], acc[r][0]);
            _mm256_storeu_ps(cr[r] + 8, acc[r][1]);
        }
    }
}

TCK_AVX2 static void score_tile_avx2(const float *q, ptrdiff_t d, const float *ktile, float *s, ptrdiff_t lds,
                                     int rows) {
    tile_6x16(q, d, ktile, FA_STRIP, d, s, lds, rows, 0);
    tile_6x16(q, d, ktile + 16, FA_STRIP, d, s + 16, lds, rows, 0);
}

TCK_AVX2 static void online_softmax_avx2(float *s, ptrdiff_t lds, ptrdiff_t mq, ptrdiff_t n, float *m, float *l,
                                         float *o, ptrdiff_t ldo, ptrdiff_t dv) {
    ptrdiff_t full = n / 8 * 8;
    __m256i tail = tail_mask(n - full);
    for (ptrdiff_t i = 0; i < mq; i++) {
        float *r = s + i * lds;
        __m256 vmax = _mm256_set1_ps(-INFINITY);
        for (ptrdiff_t j = 0; j < full; j += 8) vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(r + j));
        float bmax = hmax8(vmax);
        for (ptrdiff_t j = full; j < n; j++) bmax = r[j] > bmax ? r[j] : bmax;
        float mnew = bmax > m[i] ? bmax : m[i];
        // The first block has m = −∞ and an all-zero output: its correction is 0.
        float corr = m[i] == -INFINITY ? 0.0f : expf(m[i] - mnew);
        __m256 vm = _mm256_set1_ps(mnew), sum = _mm256_setzero_ps();
        for (ptrdiff_t j = 0; j < full; j += 8) {
            __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(r + j), vm));
            _mm256_storeu_ps(r + j, e);
            sum = _mm256_add_ps(sum, e);
        }
        if (full < n) {
            __m256 e = exp8(_mm256_sub_ps(_mm256_maskload_ps(r + full, tail), vm));
            e = _mm256_and_ps(e, _mm256_castsi256_ps(tail));
            _mm256_maskstore_ps(r + full, tail, e);
            sum = _mm256_add_ps(sum, e);
        }
        l[i] = l[i] * corr + hsum8(sum);
        m[i] = mnew;
        if (corr != 1.0f) {
            float *oi = o + i * ldo;
            __m256 vc = _mm256_set1_ps(corr);
            for (ptrdiff_t c = 0; c < dv; c += 8) _mm256_storeu_ps(oi + c, _mm256_mul_ps(_mm256_loadu_ps(oi + c), vc));
        }
    }
}

TCK_AVX2 static void value_tile_avx2(const float *p, ptrdiff_t ldp, const float *v, ptrdiff_t ldv, ptrdiff_t n,
                                     float *o, ptrdiff_t ldo, int rows) {
    tile_6x16(p, ldp, v, ldv, n, o, ldo, rows, 1);
}

static const fa_tiles avx2_tiles = {score_tile_avx2, FA_R2, online_softmax_avx2, value_tile_avx2, FA_R2, 16};

#endif

/// Query blocks of FA_MB rows, each against all keys in blocks of FA_NK; inside a key block, query
/// groups of FA_MQ rows go through scores, the online softmax and the value sum. Tile loops run
/// over the strips (or value columns) outside the row tiles, so a strip or a value column slice
/// stays in L1 for the whole group.
static void flash_attention_blocked(const fa_tiles *t, const float *q, ptrdiff_t ldq, const float *kt, ptrdiff_t lk,
                                    const float *v, ptrdiff_t ldv, float *o, ptrdiff_t ldo, ptrdiff_t lq, ptrdiff_t d,
                                    ptrdiff_t dv, float scale) {
    float *qs = malloc(sizeof(float) * (size_t)(FA_MB * d));
    float *acc = malloc(sizeof(float) * (size_t)(FA_MB * dv));
    float s[FA_MQ * FA_NK] __attribute__((aligned(64)));
    float m[FA_MB], l[FA_MB];
    for (ptrdiff_t i0 = 0; i0 < lq; i0 += FA_MB) {
        ptrdiff_t mb = lq - i0 < FA_MB ? lq - i0 : FA_MB;
        for (ptrdiff_t i = 0; i < mb; i++) {
            for (ptrdiff_t e = 0; e < d; e++) qs[i * d + e] = q[(i0 + i) * ldq + e] * scale;
            m[i] = -INFINITY;
            l[i] = 0;
        }
        memset(acc, 0, sizeof(float) * (size_t)(mb * dv));
        for (ptrdiff_t j0 = 0; j0 < lk; j0 += FA_NK) {
            ptrdiff_t n = lk - j0 < FA_NK ? lk - j0 : FA_NK;
            // The key block (kᵀ and v: 64 KiB each at d = 64) is reused from L2 by every query group.
            for (ptrdiff_t r0 = 0; r0 < mb; r0 += FA_MQ) {
                ptrdiff_t mq = mb - r0 < FA_MQ ? mb - r0 : FA_MQ;
                const float *qb = qs + r0 * d;
                float *ab = acc + r0 * dv;
                for (ptrdiff_t js = 0; js < n; js += FA_STRIP) {
                    const float *ktile = kt + (j0 + js) / FA_STRIP * d * FA_STRIP;
                    for (ptrdiff_t r = 0; r < mq; r += t->score_rows)
                        t->score_tile(qb + r * d, d, ktile, s + r * FA_NK + js, FA_NK,
                                      (int)(mq - r < t->score_rows ? mq - r : t->score_rows));
                }
                t->online_softmax(s, FA_NK, mq, n, m + r0, l + r0, ab, dv, dv);
                for (ptrdiff_t c = 0; c < dv; c += t->value_cols)
                    for (ptrdiff_t r = 0; r < mq; r += t->value_rows)
                        t->value_tile(s + r * FA_NK, FA_NK, v + j0 * ldv + c, ldv, n, ab + r * dv + c, dv,
                                      (int)(mq - r < t->value_rows ? mq - r : t->value_rows));
            }
        }
        for (ptrdiff_t i = 0; i < mb; i++) {
            float inv = 1.0f / l[i];
            for (ptrdiff_t c = 0; c < dv; c++) o[(i0 + i) * ldo + c] = acc[i * dv + c] * inv;
        }
    }
    free(qs);
    free(acc);
}

/// The tiles for value heads of dv floats on this CPU: AVX-512 for multiples of 64, else AVX2 for
/// multiples of 16; NULL when neither applies.
static const fa_tiles *flash_tiles(ptrdiff_t dv) {
    if (dv <= 0) return NULL;
#if defined(__x86_64__)
    if (tck_cpu_avx512() >= 1 && dv % 64 == 0) return &avx512_tiles;
#endif
#ifdef TCK_X86
    if (tck_has_avx2() && dv % 16 == 0) return &avx2_tiles;
#endif
    return NULL;
}

int tck_flash_attention_supported(ptrdiff_t dv) { return flash_tiles(dv) != NULL; }

int tck_flash_attention(const float *q, ptrdiff_t ldq, const float *kt, ptrdiff_t lk, const float *v, ptrdiff_t ldv,
                        float *o, ptrdiff_t ldo, ptrdiff_t lq, ptrdiff_t d, ptrdiff_t dv, float scale) {
    const fa_tiles *t = flash_tiles(dv);
    if (t == NULL || lq <= 0 || lk <= 0 || d <= 0) return 0;
    flash_attention_blocked(t, q, ldq, kt, lk, v, ldv, o, ldo, lq, d, dv, scale);
    return 1;
}

int tck_flash_attention_avx2(const float *q, ptrdiff_t ldq, const float *kt, ptrdiff_t lk, const float *v,
                             ptrdiff_t ldv, float *o, ptrdiff_t ldo, ptrdiff_t lq, ptrdiff_t d, ptrdiff_t dv,
                             float scale) {
#ifdef TCK_X86
    if (!tck_has_avx2() || dv <= 0 || dv % 16 != 0 || lq <= 0 || lk <= 0 || d <= 0) return 0;
    flash_attention_blocked(&avx2_tiles, q, ldq, kt, lk, v, ldv, o, ldo, lq, d, dv, scale);
    return 1;
#else
    (void)q; (void)ldq; (void)kt; (void)lk; (void)v; (void)ldv; (void)o; (void)ldo; (void)lq; (void)d; (void)dv;
    (void)scale;
    return 0;
#endif
}
