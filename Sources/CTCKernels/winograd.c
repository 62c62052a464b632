#include "tckernels.h"

#include <stdlib.h>
#include <string.h>

#include "avx2math.h"

// ---------------------------------------------------------------------------------------------
// Winograd F(2×2, 3×3) transforms (Lavin & Gray, "Fast Algorithms for Convolutional Neural
// Networks"): a 2×2 output tile of a 3×3 convolution is Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A over the 4×4 input
// patch d, so the C → O channel mixing becomes 16 independent GEMMs (one per element ξ of the 4×4
// transformed tile) with 16 instead of 36 multiply-adds per output pair of pixels:
//
//     Bᵀ = | 1  0 −1  0 |    G = | 1    0    0  |    Aᵀ = | 1  1  1  0 |
//          | 0  1  1  0 |        | ½    ½    ½  |         | 0  1 −1 −1 |
//          | 0 −1  1  0 |        | ½   −½    ½  |
//          | 0  1  0 −1 |        | 0    0    1  |
//
// F(2×2, 2×2), for the 2×2 phase convolutions of an upsampling conv, the same way over 3×3 patches
// (9 GEMMs, 9 instead of 16 multiply-adds per output pair):
//
//     Bᵀ = | 1 −1  0 |    G = | 1  0 |    Aᵀ = | 1  1  0 |
//          | 0  1  0 |        | 1  1 |         | 0  1  1 |
//          | 0 −1  1 |        | 0  1 |
//
// Only additions and halvings: the transforms add a few roundings to each product, within float32
// parity of the direct convolution. Tile rows are transformed through zero-padded copies of the
// k + 1 input rows they read, so borders, odd sizes and any zero padding take the same path.

enum { WG_GROUP = 8 };

/// Floats in one padded scratch row for `tw` tiles: whole groups of 8 tiles read 2·8 + 2 columns.
static ptrdiff_t scratch_width(ptrdiff_t tw) { return (tw + WG_GROUP - 1) / WG_GROUP * 2 * WG_GROUP + 2 * WG_GROUP; }

/// Rows 2·ty − top + r (r < n) of one channel, columns shifted by `left`, zero outside the image.
static void padded_rows(const float *xc, ptrdiff_t h, ptrdiff_t w, ptrdiff_t top, ptrdiff_t left, ptrdiff_t ty,
                        ptrdiff_t sw, int n, float *rows) {
    for (int r = 0; r < n; r++) {
        float *dst = rows + r * sw;
        ptrdiff_t iy = 2 * ty - top + r;
        if (iy < 0 || iy >= h) {
            memset(dst, 0, sizeof(float) * (size_t)sw);
            continue;
        }
        // Scratch column s holds input column s − left.
        ptrdiff_t lo = left < 0 ? 0 : left, hi = w + left < sw ? w + left : sw;
        if (lo > 0) memset(dst, 0, sizeof(float) * (size_t)lo);
        if (hi > lo) memcpy(dst + lo, xc + iy * w + (lo - left), sizeof(float) * (size_t)(hi - lo));
        ptrdiff_t end = hi > lo ? hi : lo;
        if (end < sw) memset(dst + end, 0, sizeof(float) * (size_t)(sw - end));
    }
}

/// G along one axis of k values: (g0, ½(g0 + g1 + g2), ½(g0 − g1 + g2), g2) for k = 3,
/// (g0, g0 + g1, g1) for k = 2.
static inline void g_1d(int k, const float *g, float *x) {
    if (k == 3) {
        x[0] = g[0];
        x[1] = 0.5f * (g[0] + g[1] + g[2]);
        x[2] = 0.5f * (g[0] - g[1] + g[2]);
        x[3] = g[2];
    } else {
        x[0] = g[0];
        x[1] = g[0] + g[1];
        x[2] = g[1];
    }
}

/// Bᵀ along one axis of k + 1 values (the scalar twin of bt_avx2 below).
static inline void bt_1d(int k, const float *d, float *x) {
    if (k == 3) {
        x[0] = d[0] - d[2];
        x[1] = d[1] + d[2];
        x[2] = d[2] - d[1];
        x[3] = d[1] - d[3];
    } else {
        x[0] = d[0] - d[1];
        x[1] = d[1];
        x[2] = d[2] - d[1];
    }
}

/// Aᵀ along one axis of k + 1 values (the scalar twin of at_avx2 below).
static inline void at_1d(int k, const float *m, float *y) {
    if (k == 3) {
        y[0] = m[0] + m[1] + m[2];
        y[1] = m[1] - m[2] - m[3];
    } else {
        y[0] = m[0] + m[1];
        y[1] = m[1] + m[2];
    }
}

void tck_winograd_weights(const float *w, ptrdiff_t k, ptrdiff_t o0, ptrdiff_t o1, ptrdiff_t c, ptrdiff_t o,
                          float *u) {
    const int kk = (int)k, n = kk + 1;
    ptrdiff_t s = o * c;
    for (ptrdiff_t oc = o0; oc < o1; oc++) {
        for (ptrdiff_t ci = 0; ci < c; ci++) {
            const float *g = w + (oc * c + ci) * k * k;
            float *dst = u + oc * c + ci;
            // G g along the kernel's rows (t[i][j], column j), then (G g) Gᵀ along each row i.
            float t[4][3];
            for (int j = 0; j < kk; j++) {
                float col[3], x[4];
                for (int r = 0; r < kk; r++) col[r] = g[r * kk + j];
                g_1d(kk, col, x);
                for (int i = 0; i < n; i++) t[i][j] = x[i];
            }
            for (int i = 0; i < n; i++) {
                float x[4];
                g_1d(kk, t[i], x);
                for (int j = 0; j < n; j++) dst[(n * i + j) * s] = x[j];
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Portable bodies: one tile at a time over the padded rows, in the AVX2 bodies' order of
// operations (so both give the same floats).

static void input_row_generic(int k, const float *rows, ptrdiff_t sw, ptrdiff_t tw, float *v, ptrdiff_t sv) {
    const int n = k + 1;
    for (ptrdiff_t tx = 0; tx < tw; tx++) {
        // Bᵀ along each patch row r (t[r][·]), then along each column j.
        float t[4][4];
        for (int r = 0; r < n; r++) bt_1d(k, rows + r * sw + 2 * tx, t[r]);
        for (int j = 0; j < n; j++) {
            float col[4], x[4];
            for (int r = 0; r < n; r++) col[r] = t[r][j];
            bt_1d(k, col, x);
            for (int i = 0; i < n; i++) v[(n * i + j) * sv + tx] = x[i];
        }
    }
}

/// Two output rows of `tw` tiles (2·tw floats each, bias added) from the (k + 1)² transformed
/// products.
static void output_row_generic(int k, const float *m, ptrdiff_t sm, ptrdiff_t tw, float bias, float *y0,
                               float *y1) {
    const int n = k + 1;
    for (ptrdiff_t tx = 0; tx < tw; tx++) {
        // Aᵀ along each column j (a[·][j]), then along each of the two rows.
        float a[2][4];
        for (int j = 0; j < n; j++) {
            float col[4], y[2];
            for (int i = 0; i < n; i++) col[i] = m[(n * i + j) * sm + tx];
            at_1d(k, col, y);
            a[0][j] = y[0];
            a[1][j] = y[1];
        }
        float *rowp[2] = {y0, y1};
        for (int i = 0; i < 2; i++) {
            float y[2];
            at_1d(k, a[i], y);
            rowp[i][2 * tx] = y[0] + bias;
            rowp[i][2 * tx + 1] = y[1] + bias;
        }
    }
}

static void input_row_generic_k3(const float *rows, ptrdiff_t sw, ptrdiff_t tw, float *v, ptrdiff_t sv) {
    input_row_generic(3, rows, sw, tw, v, sv);
}

static void input_row_generic_k2(const float *rows, ptrdiff_t sw, ptrdiff_t tw, float *v, ptrdiff_t sv) {
    input_row_generic(2, rows, sw, tw, v, sv);
}

static void output_row_generic_k3(const float *m, ptrdiff_t sm, ptrdiff_t tw, float bias, float *y0, float *y1) {
    output_row_generic(3, m, sm, tw, bias, y0, y1);
}

static void output_row_generic_k2(const float *m, ptrdiff_t sm, ptrdiff_t tw, float bias, float *y0, float *y1) {
    output_row_generic(2, m, sm, tw, bias, y0, y1);
}

// ---------------------------------------------------------------------------------------------
// AVX2 bodies: eight tiles at a time, their columns split into even and odd lanes.

#ifdef TCK_X86

/// Lanes k = 0..7 of p[2k] (even) and p[2k + 1] (odd).
TCK_AVX2 static inline void deinterleave(const float *p, __m256 *even, __m256 *odd) {
    __m256 a = _mm256_loadu_ps(p), b = _mm256_loadu_ps(p + 8);
    *even = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0x88)), 0xD8));
    *odd = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0xDD)), 0xD8));
}

/// Lanes k of `even` and `odd` as row[2k] and row[2k + 1]: 16 floats, stored unmasked (scratch
/// rows hold whole groups).
TCK_AVX2 static inline void store_pairs(float *row, __m256 even, __m256 odd) {
    __m256 lo = _mm256_unpacklo_ps(even, odd), hi = _mm256_unpackhi_ps(even, odd);
    _mm256_storeu_ps(row, _mm256_permute2f128_ps(lo, hi, 0x20));
    _mm256_storeu_ps(row + 8, _mm256_permute2f128_ps(lo, hi, 0x31));
}

/// bt_1d on eight lanes.
TCK_AVX2 static inline void bt_avx2(int k, const __m256 *d, __m256 *x) {
    if (k == 3) {
        x[0] = _mm256_sub_ps(d[0], d[2]);
        x[1] = _mm256_add_ps(d[1], d[2]);
        x[2] = _mm256_sub_ps(d[2], d[1]);
        x[3] = _mm256_sub_ps(d[1], d[3]);
    } else {
        x[0] = _mm256_sub_ps(d[0], d[1]);
        x[1] = d[1];
        x[2] = _mm256_sub_ps(d[2], d[1]);
    }
}

/// at_1d on eight lanes.
TCK_AVX2 static inline void at_avx2(int k, const __m256 *m, __m256 *y) {
    if (k == 3) {
        y[0] = _mm256_add_ps(_mm256_add_ps(m[0], m[1]), m[2]);
        y[1] = _mm256_sub_ps(_mm256_sub_ps(m[1], m[2]), m[3]);
    } else {
        y[0] = _mm256_add_ps(m[0], m[1]);
        y[1] = _mm256_add_ps(m[1], m[2]);
    }
}

/// Eight tiles' worth of one transformed element: whole groups unmasked, a row's last group masked.
TCK_AVX2 static inline __m256 load_group(const float *p, ptrdiff_t left, __m256i mask) {
    return left >= WG_GROUP ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, mask);
}

TCK_AVX2 static inline void store_group(float *p, __m256 x, ptrdiff_t left, __m256i mask) {
    if (left >= WG_GROUP) _mm256_storeu_ps(p, x);
    else _mm256_maskstore_ps(p, mask, x);
}

/// One tile row's (k + 1)² transformed elements, eight tiles at a time. Inlined with a constant k
/// into the two entry points below, so the transforms unroll.
__attribute__((always_inline)) TCK_AVX2 static inline void input_row_avx2_body(int k, const float *rows, ptrdiff_t sw,
                                                                                ptrdiff_t tw, float *v, ptrdiff_t sv) {
    const int n = k + 1;
    for (ptrdiff_t tx = 0; tx < tw; tx += WG_GROUP) {
        // Row r, column m of the eight patches: d[m] lane l = rows[r][2(tx + l) + m].
        __m256 t[4][4];
        for (int r = 0; r < n; r++) {
            __m256 d[4];
            deinterleave(rows + r * sw + 2 * tx, &d[0], &d[1]);
            deinterleave(rows + r * sw + 2 * tx + 2, &d[2], &d[3]);
            bt_avx2(k, d, t[r]);
        }
        ptrdiff_t left = tw - tx;
        __m256i mask = tail_mask(left < WG_GROUP ? left : WG_GROUP);
        for (int j = 0; j < n; j++) {
            __m256 col[4], x[4];
            for (int r = 0; r < n; r++) col[r] = t[r][j];
            bt_avx2(k, col, x);
            for (int i = 0; i < n; i++) store_group(v + (n * i + j) * sv + tx, x[i], left, mask);
        }
    }
}

__attribute__((always_inline)) TCK_AVX2 static inline void output_row_avx2_body(int k, const float *m, ptrdiff_t sm,
                                                                                 ptrdiff_t tw, float bias, float *y0,
                                                                                 float *y1) {
    const int n = k + 1;
    __m256 vb = _mm256_set1_ps(bias);
    for (ptrdiff_t tx = 0; tx < tw; tx += WG_GROUP) {
        ptrdiff_t left = tw - tx;
        __m256i mask = tail_mask(left < WG_GROUP ? left : WG_GROUP);
        __m256 a[2][4];
        for (int j = 0; j < n; j++) {
            __m256 col[4], y[2];
            for (int i = 0; i < n; i++) col[i] = load_group(m + (n * i + j) * sm + tx, left, mask);
            at_avx2(k, col, y);
            a[0][j] = y[0];
            a[1][j] = y[1];
        }
        float *rowp[2] = {y0, y1};
        for (int i = 0; i < 2; i++) {
            __m256 y[2];
            at_avx2(k, a[i], y);
            store_pairs(rowp[i] + 2 * tx, _mm256_add_ps(y[0], vb), _mm256_add_ps(y[1], vb));
        }
    }
}

TCK_AVX2 static void input_row_avx2(const float *rows, ptrdiff_t sw, ptrdiff_t tw, float *v, ptrdiff_t sv) {
    input_row_avx2_body(3, rows, sw, tw, v, sv);
}

TCK_AVX2 static void input_row_avx2_k2(const float *rows, ptrdiff_t sw, ptrdiff_t tw, float *v, ptrdiff_t sv) {
    input_row_avx2_body(2, rows, sw, tw, v, sv);
}

TCK_AVX2 static void output_row_avx2(const float *m, ptrdiff_t sm, ptrdiff_t tw, float bias, float *y0, float *y1) {
    output_row_avx2_body(3, m, sm, tw, bias, y0, y1);
}

TCK_AVX2 static void output_row_avx2_k2(const float *m, ptrdiff_t sm, ptrdiff_t tw, float bias, float *y0,
                                        float *y1) {
    output_row_avx2_body(2, m, sm, tw, bias, y0, y1);
}

#endif

// ---------------------------------------------------------------------------------------------
// Frame-level loops and dispatch.

typedef void (*input_row_fn)(const float *, ptrdiff_t, ptrdiff_t, float *, ptrdiff_t);
typedef void (*output_row_fn)(const float *, ptrdiff_t, ptrdiff_t, float, float *, float *);

static input_row_fn input_row(ptrdiff_t k, int vector) {
#ifdef TCK_X86
    if (vector && tck_has_avx2()) return k == 2 ? input_row_avx2_k2 : input_row_avx2;
#endif
    (void)vector;
    return k == 2 ? input_row_generic_k2 : input_row_generic_k3;
}

static output_row_fn output_row(ptrdiff_t k, int vector) {
#ifdef TCK_X86
    if (vector && tck_has_avx2()) return k == 2 ? output_row_avx2_k2 : output_row_avx2;
#endif
    (void)vector;
    return k == 2 ? output_row_generic_k2 : output_row_generic_k3;
}

static void input_tiles(ptrdiff_t k, int vector, const float *x, ptrdiff_t h, ptrdiff_t w, ptrdiff_t top,
                        ptrdiff_t left, ptrdiff_t tw, ptrdiff_t ty0, ptrdiff_t count, ptrdiff_t c0, ptrdiff_t c1,
                        float *v, ptrdiff_t ldv, ptrdiff_t sv) {
    input_row_fn row = input_row(k, vector);
    ptrdiff_t sw = scratch_width(tw);
    float *rows = malloc(sizeof(float) * (size_t)((k + 1) * sw));
    for (ptrdiff_t c = c0; c < c1; c++) {
        for (ptrdiff_t r = 0; r < count; r++) {
            padded_rows(x + c * h * w, h, w, top, left, ty0 + r, sw, (int)(k + 1), rows);
            row(rows, sw, tw, v + c * ldv + r * tw, sv);
        }
    }
    free(rows);
}

static void output_tiles(ptrdiff_t k, int vector, const float *m, ptrdiff_t ldm, ptrdiff_t sm, ptrdiff_t tw,
                         ptrdiff_t ty0, ptrdiff_t count, ptrdiff_t o0, ptrdiff_t o1, const float *bias, float *y,
                         ptrdiff_t ho, ptrdiff_t wo) {
    output_row_fn row = output_row(k, vector);
    ptrdiff_t sw = scratch_width(tw);
    float *rows = malloc(sizeof(float) * (size_t)(2 * sw));
    for (ptrdiff_t oc = o0; oc < o1; oc++) {
        float b = bias ? bias[oc] : 0.0f;
        for (ptrdiff_t r = 0; r < count; r++) {
            row(m + oc * ldm + r * tw, sm, tw, b, rows, rows + sw);
            ptrdiff_t oy = 2 * (ty0 + r);
            memcpy(y + (oc * ho + oy) * wo, rows, sizeof(float) * (size_t)wo);
            if (oy + 1 < ho) memcpy(y + (oc * ho + oy + 1) * wo, rows + sw, sizeof(float) * (size_t)wo);
        }
    }
    free(rows);
}

void tck_winograd_input(const float *x, ptrdiff_t k, ptrdiff_t h, ptrdiff_t w, ptrdiff_t top, ptrdiff_t left,
                        ptrdiff_t tw, ptrdiff_t ty0, ptrdiff_t count, ptrdiff_t c0, ptrdiff_t c1, float *v,
                        ptrdiff_t ldv, ptrdiff_t sv) {
    input_tiles(k, 1, x, h, w, top, left, tw, ty0, count, c0, c1, v, ldv, sv);
}

void tck_winograd_input_generic(const float *x, ptrdiff_t k, ptrdiff_t h, ptrdiff_t w, ptrdiff_t top, ptrdiff_t left,
                                ptrdiff_t tw, ptrdiff_t ty0, ptrdiff_t count, ptrdiff_t c0, ptrdiff_t c1, float *v,
                                ptrdiff_t ldv, ptrdiff_t sv) {
    input_tiles(k, 0, x, h, w, top, left, tw, ty0, count, c0, c1, v, ldv, sv);
}

void tck_winograd_output(const float *m, ptrdiff_t k, ptrdiff_t ldm, ptrdiff_t sm, ptrdiff_t tw, ptrdiff_t ty0,
                         ptrdiff_t count, ptrdiff_t o0, ptrdiff_t o1, const float *bias, float *y, ptrdiff_t ho,
                         ptrdiff_t wo) {
    output_tiles(k, 1, m, ldm, sm, tw, ty0, count, o0, o1, bias, y, ho, wo);
}

void tck_winograd_output_generic(const float *m, ptrdiff_t k, ptrdiff_t ldm, ptrdiff_t sm, ptrdiff_t tw,
                                 ptrdiff_t ty0, ptrdiff_t count, ptrdiff_t o0, ptrdiff_t o1, const float *bias,
                                 float *y, ptrdiff_t ho, ptrdiff_t wo) {
    output_tiles(k, 0, m, ldm, sm, tw, ty0, count, o0, o1, bias, y, ho, wo);
}
