// Pieces shared by the two bf16 GEMM kernels (bf16gemm.c on AVX-512 BF16, amxgemm.c on AMX tiles):
// the conversion of float32 lanes to bf16 and the write-back of a finished row of C. Functions carry
// the AVX-512 BF16 target, a subset of the AMX kernel's, so they inline into either.
#ifndef TCK_BF16TILE_H
#define TCK_BF16TILE_H

#if defined(__x86_64__)
#include <immintrin.h>
#include <stddef.h>

#define TCK_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))

/// Interleaves bf16(x0[i]) and bf16(x1[i]) (round to nearest even) into 16 pairs.
TCK_BF16 static inline __m512i pairs16(__m512 x0, __m512 x1) {
    const __m512i order = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
                                           23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    return _mm512_permutexvar_epi16(order, (__m512i)_mm512_cvtne2ps_pbh(x1, x0));
}

/// Lane i at i·stride (gather offsets, in elements).
TCK_BF16 static inline __m512i lane_offsets(ptrdiff_t stride) {
    return _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                              _mm512_set1_epi32((int)stride));
}

/// Lanes [0, count) of a 16-lane vector, and of its upper neighbour (count − 16).
static inline __mmask16 lanes16(ptrdiff_t count) {
    return count >= 16 ? 0xFFFF : count <= 0 ? 0 : (__mmask16)((1u << count) - 1);
}

/// One row of a finished C block, its 32 columns as two vectors of products, masked to nr columns:
/// row = alpha·acc + beta·row (`first`; beta 0 never reads row) or row += alpha·acc.
TCK_BF16 static inline void merge_row(float *row, __m512 acc0, __m512 acc1, ptrdiff_t nr, float alpha, float beta,
                                      int first) {
    __mmask16 m0 = lanes16(nr), m1 = lanes16(nr - 16);
    __m512 v0 = _mm512_mul_ps(_mm512_set1_ps(alpha), acc0), v1 = _mm512_mul_ps(_mm512_set1_ps(alpha), acc1);
    if (!first) {
        v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, row));
        v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, row + 16));
    } else if (beta != 0) {
        __m512 vb = _mm512_set1_ps(beta);
        v0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, row), v0);
        v1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, row + 16), v1);
    }
    _mm512_mask_storeu_ps(row, m0, v0);
    _mm512_mask_storeu_ps(row + 16, m1, v1);
}
#endif

#endif
