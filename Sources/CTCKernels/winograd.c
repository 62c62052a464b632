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
        if (hi < sw) memset(dst + (hi > lo ? hi : lo), 0, sizeof(float) * (size_t)(sw - (hi > lo ? hi : lo)));
    }
}

void tck_winograd_weights(const float *w, ptrdiff_t k, ptrdiff_t o0, ptrdiff_t o1, ptrdiff_t c, ptrdiff_t o,
                          float *u) {
    ptrdiff_t s = o * c;
    for (ptrdiff_t oc = o0; oc < o1; oc++) {
        for (ptrdiff_t ci = 0; ci < c; ci++) {
            float *dst = u + oc * c + ci;
            if (k == 2) {
                const float *g = w + (oc * c + ci) * 4;
                float t[3][2] = {{g[0], g[1]}, {g[0] + g[2], g[1] + g[3]}, {g[2], g[3]}};
                for (int i = 0; i < 3; i++) {
                    dst[(3 * i + 0) * s] = t[i][0];
                    dst[(3 * i + 1) * s] = t[i][0] + t[i][1];
                    dst[(3 * i + 2) * s] = t[i][1];
                }
                continue;
            }
            const float *g = w + (oc * c + ci) * 9;
            float t[4][3];
            for (int j = 0; j < 3; j++) {
                t[0][j] = g[j];
                t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
                t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
                t[3][j] = g[6 + j];
            }
            for (int i = 0; i < 4; i++) {
                dst[(4 * i + 0) * s] = t[i][0];
                dst[(4 * i + 1) * s] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
                dst[(4 * i + 2) * s] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
                dst[(4 * i + 3) * s] = t[i][2];
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Portable bodies: one tile at a time over the padded rows.

static void input_row_generic(const float *rows, ptrdiff_t sw, ptrdiff_t tw, float *v, ptrdiff_t sv) {
    for (ptrdiff_t tx = 0; tx < tw; tx++) {
        float d[4][4], t[4][4];
        for (int r = 0; r < 4; r++)
            for (int m = 0; m < 4; m++) d[r][m] = rows[r * sw + 2 * tx + m];
        for (int m = 0; m < 4; m++) {
            t[0][m] = d[0][m] - d[2][m];
            t[1][m] = d[1][m] + d[2][m];
            t[2][m] = d[2][m] - d[1][m];
            t[3][m] = d[1][m] - d[3][m];
        }
        for (int i = 0; i < 4; i++) {
            v[(4 * i + 0) * sv + tx] = t[i][0] - t[i][2];
            v[(4 * i + 1) * sv + tx] = t[i][1] + t[i][2];
            v[(4 * i + 2) * sv + tx] = t[i][2] - t[i][1];
            v[(4 * i + 3) * sv + tx] = t[i][1] - t[i][3];
        }
    }
}

/// Two output rows of `tw` tiles (2·tw floats each, bias added) from the 16 transformed products.
static void output_row_generic(const float *m, ptrdiff_t sm, ptrdiff_t tw, float bias, float *y0, float *y1) {
    for (ptrdiff_t tx = 0; tx < tw; tx++) {
        float a[2][4];
        for (int j = 0; j < 4; j++) {
            float m0 = m[j * sm + tx], m1 = m[(4 + j) * sm + tx], m2 = m[(8 + j) * sm + tx], m3 = m[(12 + j) * sm + tx];
            a[0][j] = m0 + m1 + m2;
            a[1][j] = m1 - m2 - m3;
        }
        y0[2 * tx] = a[0][0] + a[0][1] + a[0][2] + bias;
        y0[2 * tx + 1] = a[0][1] - a[0][2] - a[0][3] + bias;
        y1[2 * tx] = a[1][0] + a[1][1] + a[1][2] + bias;
        y1[2 * tx + 1] = a[1][1] - a[1][2] - a[1][3] + bias;
    }
}

static void input_row_generic_k2(const float *rows, ptrdiff_t sw, ptrdiff_t tw, float *v, ptrdiff_t sv) {
    for (ptrdiff_t tx = 0; tx < tw; tx++) {
        float d[3][3], t[3][3];
        for (int r = 0; r < 3; r++)
            for (int m = 0; m < 3; m++) d[r][m] = rows[r * sw + 2 * tx + m];
        for (int m = 0; m < 3; m++) {
            t[0][m] = d[0][m] - d[1][m];
            t[1][m] = d[1][m];
            t[2][m] = d[2][m] - d[1][m];
        }
        for (int i = 0; i < 3; i++) {
            v[(3 * i + 0) * sv + tx] = t[i][0] - t[i][1];
            v[(3 * i + 1) * sv + tx] = t[i][1];
            v[(3 * i + 2) * sv + tx] = t[i][2] - t[i][1];
        }
    }
}

static void output_row_generic_k2(const float *m, ptrdiff_t sm, ptrdiff_t tw, float bias, float *y0, float *y1) {
    for (ptrdiff_t tx = 0; tx < tw; tx++) {
        float a[2][3];
        for (int j = 0; j < 3; j++) {
            float m0 = m[j * sm + tx], m1 = m[(3 + j) * sm + tx], m2 = m[(6 + j) * sm + tx];
            a[0][j] = m0 + m1;
            a[1][j] = m1 + m2;
        }
        y0[2 * tx] = a[0][0] + a[0][1] + bias;
        y0[2 * tx + 1] = a[0][1] + a[0][2] + bias;
        y1[2 * tx] = a[1][0] + a[1][1] + bias;
        y1[2 * tx + 1] = a[1][1] + a[1][2] + bias;
    }
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

/// Bᵀ along one axis of k + 1 values: (d0 − d2, d1 + d2, d2 − d1, d1 − d3) for k = 3,
/// (d0 − d1, d1, d2 − d1) for k = 2.
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

/// Aᵀ along one axis of k + 1 values: (m0 + m1 + m2, m1 − m2 − m3) for k = 3, (m0 + m1, m1 + m2)
/// for k = 2.
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
    return k == 2 ? input_row_generic_k2 : input_row_generic;
}

static output_row_fn output_row(ptrdiff_t k, int vector) {
#ifdef TCK_X86
    if (vector && tck_has_avx2()) return k == 2 ? output_row_avx2_k2 : output_row_avx2;
#endif
    (void)vector;
    return k == 2 ? output_row_generic_k2 : output_row_generic;
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
