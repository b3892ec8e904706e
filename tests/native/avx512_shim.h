/*
 * avx512_shim.h - tests only: the AVX-512 intrinsics that the "avx512" kernel
 * of ob_crc32.c uses, emulated lane by lane with SSE/AVX2 + PCLMULQDQ, so the
 * kernel's algorithm (constants, lane order, fold-down) can be checked on a
 * CPU or VM without AVX-512.  Each shim follows the intrinsic's definition in
 * the Intel Intrinsics Guide.  Used as
 *     -DOB_CRC32_TEST_AVX512_SHIM='"avx512_shim.h"' -Itests/native
 * by tests/test_crc32.py; never part of a package build.
 */
#ifndef OB_AVX512_SHIM_H
#define OB_AVX512_SHIM_H

#include <immintrin.h>

typedef struct { __m128i l[4]; } shim_m512i;   /* l[i]: bits 128i..128i+127 */
#define __m512i shim_m512i

#define SHIM_TGT __attribute__((target("avx2,pclmul,sse4.1"), always_inline))

SHIM_TGT static inline shim_m512i shim_loadu(const void *p)
{
    shim_m512i r;
    for (int i = 0; i < 4; i++)
        r.l[i] = _mm_loadu_si128((const __m128i *)p + i);
    return r;
}

SHIM_TGT static inline shim_m512i shim_xor(shim_m512i a, shim_m512i b)
{
    for (int i = 0; i < 4; i++)
        a.l[i] = _mm_xor_si128(a.l[i], b.l[i]);
    return a;
}

/* dword j = v where mask bit j is set, else 0 */
SHIM_TGT static inline shim_m512i shim_maskz_set1_epi32(unsigned mask, int v)
{
    int d[16];
    for (int j = 0; j < 16; j++)
        d[j] = (mask >> j) & 1 ? v : 0;
    return shim_loadu(d);
}

/* per 128-bit lane: _mm_clmulepi64_si128 with the same selector */
#define shim_clmul(a, b, imm) __extension__({                               \
    shim_m512i a_ = (a), b_ = (b);                                          \
    for (int i_ = 0; i_ < 4; i_++)                                          \
        a_.l[i_] = _mm_clmulepi64_si128(a_.l[i_], b_.l[i_], (imm));         \
    a_; })

/* only truth table 0x96 (a ^ b ^ c) is used by the kernel */
#define shim_ternarylogic(a, b, c, imm) \
    (__extension__({ _Static_assert((imm) == 0x96, "shim: 0x96 only"); \
                     shim_xor(shim_xor((a), (b)), (c)); }))

SHIM_TGT static inline shim_m512i shim_broadcast_i32x4(__m128i x)
{
    shim_m512i r = {{x, x, x, x}};
    return r;
}

/* arguments from qword 7 down to qword 0 */
SHIM_TGT static inline shim_m512i shim_set_epi64(long long e7, long long e6,
    long long e5, long long e4, long long e3, long long e2, long long e1,
    long long e0)
{
    shim_m512i r = {{_mm_set_epi64x(e1, e0), _mm_set_epi64x(e3, e2),
                     _mm_set_epi64x(e5, e4), _mm_set_epi64x(e7, e6)}};
    return r;
}

/* qword j kept where mask bit j is set, else 0 */
SHIM_TGT static inline shim_m512i shim_maskz_mov_epi64(unsigned mask,
                                                       shim_m512i a)
{
    long long q[8];
    for (int i = 0; i < 4; i++)
        _mm_storeu_si128((__m128i *)q + i, a.l[i]);
    for (int j = 0; j < 8; j++)
        if (!((mask >> j) & 1))
            q[j] = 0;
    return shim_loadu(q);
}

SHIM_TGT static inline __m256i shim_cast256(shim_m512i a)
{
    return _mm256_set_m128i(a.l[1], a.l[0]);
}

SHIM_TGT static inline __m256i shim_extract256(shim_m512i a, int hi)
{
    return hi ? _mm256_set_m128i(a.l[3], a.l[2])
              : _mm256_set_m128i(a.l[1], a.l[0]);
}

#define _mm512_loadu_si512 shim_loadu
#define _mm512_xor_si512 shim_xor
#define _mm512_maskz_set1_epi32 shim_maskz_set1_epi32
#define _mm512_clmulepi64_epi128 shim_clmul
#define _mm512_ternarylogic_epi64 shim_ternarylogic
#define _mm512_broadcast_i32x4 shim_broadcast_i32x4
#define _mm512_set_epi64 shim_set_epi64
#define _mm512_maskz_mov_epi64 shim_maskz_mov_epi64
#define _mm512_castsi512_si256 shim_cast256
#define _mm512_extracti64x4_epi64 shim_extract256

#endif /* OB_AVX512_SHIM_H */
