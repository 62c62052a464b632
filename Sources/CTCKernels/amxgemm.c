#include "tckernels.h"
#include "bf16tile.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__linux__)
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>
#define TCK_AMX_BUILD 1
#define TCK_AMX __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,amx-tile,amx-bf16")))
#endif

// ---------------------------------------------------------------------------------------------
// bf16 GEMM on AMX tiles (Sapphire Rapids and later): C += A·B with tdpbf16ps, 16×16 f32 outputs
// per instruction from a 16×32 bf16 A tile and a 16-pair × 16-column B tile.
//
// The micro-kernel holds a 32×32 block of C in four accumulator tiles (tmm0–3) and streams two A
// tiles (tmm4–5, rows 0–15 and 16–31) and two B tiles (tmm6–7, columns 0–15 and 16–31) per step of
// 32 along k. Packed panels are laid out tile by tile so every tile load is 1 KiB contiguous:
//   A panel (32 rows):    [step][row half][16 rows][32 bf16]
//   B panel (32 columns): [step][column half][16 k-pairs][16 columns][2 bf16]   (VNNI pairs)
// One A panel (KC·64 B = 32 KiB) stays in L1 while the B block (KC × NC, 1 MiB) streams from L2.
//
// Rounding is the AVX-512 BF16 path's: operands to bf16 by nearest even, products summed in f32.

enum { AMX_KC = 512, AMX_MC = 256, AMX_NC = 1024, AMX_STEP = 32, AMX_TILE = 32 };

#ifdef TCK_AMX_BUILD

#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

/// CPUID says AMX-TILE and AMX-BF16, the OS enables the tile state in XCR0, and Linux grants this
/// process the tile data (permission is per process; each thread still loads its tile config).
static int amx_usable(void) {
    const char *env = getenv("TCGRAPH_AMX");
    if (env && strcmp(env, "0") == 0) return 0;
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    if (!((d >> 22) & 1) || !((d >> 24) & 1)) return 0;  // AMX-BF16, AMX-TILE
    if (!__get_cpuid(1, &a, &b, &c, &d) || !((c >> 27) & 1)) return 0;  // OSXSAVE
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & (3u << 17)) != (3u << 17)) return 0;  // XTILECFG, XTILEDATA
    return syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
}

typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_config;

TCK_AMX static void load_tile_config(void) {
    tile_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) { cfg.rows[t] = 16; cfg.colsb[t] = 64; }
    _tile_loadconfig(&cfg);
}

/// 32 floats → 32 bf16 in order (nearest even); lanes past `count` are zero.
TCK_AMX static inline __m512i bf16x32(const float *p, ptrdiff_t count) {
    __m512 lo = _mm512_maskz_loadu_ps(lanes16(count), p), hi = _mm512_maskz_loadu_ps(lanes16(count - 16), p + 16);
    return (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
}

/// The same for 32 floats `stride` apart.
TCK_AMX static inline __m512i bf16x32_strided(const float *p, ptrdiff_t stride, __m512i offsets, ptrdiff_t count) {
    __m512 lo = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), lanes16(count), offsets, p, 4);
    __m512 hi = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), lanes16(count - 16), offsets, p + 16 * stride, 4);
    return (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
}

/// op(A)[0 ..< mc, 0 ..< kc] into A panels (zero rows past mc, zero k past kc).
TCK_AMX static void pack_a(int trans, const float *a, ptrdiff_t lda, ptrdiff_t mc, ptrdiff_t kc, uint16_t *dst) {
    ptrdiff_t steps = (kc + AMX_STEP - 1) / AMX_STEP;
    __m512i offsets = lane_offsets(lda);
    for (ptrdiff_t i = 0; i < mc; i += AMX_TILE) {
        uint16_t *panel = dst + i * steps * AMX_STEP;
        for (ptrdiff_t s = 0; s < steps; s++) {
            ptrdiff_t p = s * AMX_STEP, count = kc - p;
            uint16_t *tile = panel + s * AMX_TILE * AMX_STEP;
            for (ptrdiff_t r = 0; r < AMX_TILE; r++) {
                uint16_t *row = tile + r * AMX_STEP;
                if (i + r >= mc) { _mm512_storeu_si512(row, _mm512_setzero_si512()); continue; }
                _mm512_storeu_si512(row, trans ? bf16x32_strided(a + p * lda + i + r, lda, offsets, count)
                                               : bf16x32(a + (i + r) * lda + p, count));
            }
        }
    }
}

/// op(B)[0 ..< kc, 0 ..< nc] into B panels of VNNI pairs (zero columns past nc, zero k past kc).
TCK_AMX static void pack_b(int trans, const float *b, ptrdiff_t ldb, ptrdiff_t kc, ptrdiff_t nc, uint32_t *dst) {
    ptrdiff_t steps = (kc + AMX_STEP - 1) / AMX_STEP;
    const __m512i rows16 = lane_offsets(16);
    for (ptrdiff_t j = 0; j < nc; j += AMX_TILE) {
        uint32_t *panel = dst + j * steps * (AMX_STEP / 2);
        for (ptrdiff_t s = 0; s < steps; s++) {
            ptrdiff_t p = s * AMX_STEP;
            uint32_t *step = panel + s * AMX_TILE * (AMX_STEP / 2);
            for (int half = 0; half < 2; half++) {
                uint32_t *tile = step + half * 256;
                ptrdiff_t j0 = j + half * 16, cols = nc - j0;
                if (cols <= 0) { memset(tile, 0, 1024); continue; }
                __mmask16 lanes = lanes16(cols);
                if (trans) {
                    // Column c's 32 k values are contiguous: 16 pairs, scattered down tile column c.
                    for (ptrdiff_t c = 0; c < 16; c++) {
                        __m512i v = c < cols ? bf16x32(b + (j0 + c) * ldb + p, kc - p) : _mm512_setzero_si512();
                        _mm512_i32scatter_epi32(tile + c, rows16, v, 4);
                    }
                    continue;
                }
                for (ptrdiff_t q = 0; q < 16; q++) {
                    ptrdiff_t k0 = p + 2 * q;
                    __m512 x0 = k0 < kc ? _mm512_maskz_loadu_ps(lanes, b + k0 * ldb + j0) : _mm512_setzero_ps();
                    __m512 x1 = k0 + 1 < kc ? _mm512_maskz_loadu_ps(lanes, b + (k0 + 1) * ldb + j0) : _mm512_setzero_ps();
                    _mm512_storeu_si512(tile + q * 16, pairs16(x0, x1));
                }
            }
        }
    }
}

/// The four accumulator tiles += A panel · B panel over `steps` steps of 32 along k.
TCK_AMX static inline void accumulate(ptrdiff_t steps, const uint16_t *a, const uint32_t *b) {
    for (ptrdiff_t s = 0; s < steps; s++) {
        _tile_loadd(4, a + s * 1024, 64);
        _tile_loadd(6, b + s * 512, 64);
        _tile_loadd(5, a + s * 1024 + 512, 64);
        _tile_loadd(7, b + s * 512 + 256, 64);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
    }
}

/// C[mr×nr] = alpha·(A·B) + beta·C (`first`; beta 0 never reads C) or C += alpha·(A·B).
TCK_AMX static void micro_kernel(ptrdiff_t steps, const uint16_t *a, const uint32_t *b, float *c, ptrdiff_t ldc,
                                 ptrdiff_t mr, ptrdiff_t nr, float alpha, float beta, int first) {
    const size_t stride = (size_t)ldc * sizeof(float);
    if (mr == AMX_TILE && nr == AMX_TILE && alpha == 1 && (!first || beta == 0 || beta == 1)) {
        // A whole block that only accumulates: the tiles start from C itself.
        if (first && beta == 0) {
            _tile_zero(0); _tile_zero(1); _tile_zero(2); _tile_zero(3);
        } else {
            _tile_loadd(0, c, stride);
            _tile_loadd(1, c + 16, stride);
            _tile_loadd(2, c + 16 * ldc, stride);
            _tile_loadd(3, c + 16 * ldc + 16, stride);
        }
        accumulate(steps, a, b);
        _tile_stored(0, c, stride);
        _tile_stored(1, c + 16, stride);
        _tile_stored(2, c + 16 * ldc, stride);
        _tile_stored(3, c + 16 * ldc + 16, stride);
        return;
    }
    _Alignas(64) float acc[AMX_TILE * AMX_TILE];
    _tile_zero(0); _tile_zero(1); _tile_zero(2); _tile_zero(3);
    accumulate(steps, a, b);
    _tile_stored(0, acc, AMX_TILE * sizeof(float));
    _tile_stored(1, acc + 16, AMX_TILE * sizeof(float));
    _tile_stored(2, acc + 16 * AMX_TILE, AMX_TILE * sizeof(float));
    _tile_stored(3, acc + 16 * AMX_TILE + 16, AMX_TILE * sizeof(float));
    for (ptrdiff_t r = 0; r < mr; r++)
        merge_row(c + r * ldc, _mm512_load_ps(acc + r * AMX_TILE), _mm512_load_ps(acc + r * AMX_TILE + 16), nr, alpha,
                  beta, first);
}

/// Packing buffers, kept per thread (the workers of TCCore's parallel loops are long-lived).
static _Thread_local uint16_t *amx_packed_a;
static _Thread_local uint32_t *amx_packed_b;

TCK_AMX static void gemm_amx(int transA, int transB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha,
                             const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb, float beta, float *c,
                             ptrdiff_t ldc) {
    if (!amx_packed_a) amx_packed_a = aligned_alloc(64, sizeof(uint16_t) * AMX_MC * AMX_KC);
    if (!amx_packed_b) amx_packed_b = aligned_alloc(64, sizeof(uint16_t) * AMX_NC * AMX_KC);
    load_tile_config();
    for (ptrdiff_t j0 = 0; j0 < n; j0 += AMX_NC) {
        ptrdiff_t nc = n - j0 < AMX_NC ? n - j0 : AMX_NC;
        for (ptrdiff_t p0 = 0; p0 < k; p0 += AMX_KC) {
            ptrdiff_t kc = k - p0 < AMX_KC ? k - p0 : AMX_KC, steps = (kc + AMX_STEP - 1) / AMX_STEP;
            pack_b(transB, transB ? b + j0 * ldb + p0 : b + p0 * ldb + j0, ldb, kc, nc, amx_packed_b);
            for (ptrdiff_t i0 = 0; i0 < m; i0 += AMX_MC) {
                ptrdiff_t mc = m - i0 < AMX_MC ? m - i0 : AMX_MC;
                pack_a(transA, transA ? a + p0 * lda + i0 : a + i0 * lda + p0, lda, mc, kc, amx_packed_a);
                for (ptrdiff_t i = 0; i < mc; i += AMX_TILE) {
                    const uint16_t *ap = amx_packed_a + i * steps * AMX_STEP;
                    for (ptrdiff_t j = 0; j < nc; j += AMX_TILE) {
                        micro_kernel(steps, ap, amx_packed_b + j * steps * (AMX_STEP / 2),
                                     c + (i0 + i) * ldc + j0 + j, ldc, mc - i < AMX_TILE ? mc - i : AMX_TILE,
                                     nc - j < AMX_TILE ? nc - j : AMX_TILE, alpha, beta, p0 == 0);
                    }
                }
            }
        }
    }
}
#endif

int tck_has_amx(void) {
#ifdef TCK_AMX_BUILD
    static int cached = -1;
    if (cached < 0) cached = tck_has_bf16() && amx_usable();
    return cached;
#else
    return 0;
#endif
}

int tck_gemm_bf16_amx(int transA, int transB, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha, const float *a,
                      ptrdiff_t lda, const float *b, ptrdiff_t ldb, float beta, float *c, ptrdiff_t ldc) {
#ifdef TCK_AMX_BUILD
    if (!tck_has_amx() || m <= 0 || n <= 0 || k <= 0) return 0;
    gemm_amx(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return 1;
#else
    return 0;
#endif
}
