/*
 * ob_crc32.c - CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320) with the
 * exact semantics of zlib.crc32(data, value).  See ob_crc32.h.
 *
 * Kernels (one is chosen at first use, see ob_crc32.h for the override):
 *
 *   avx512     x86-64: AVX-512F/VL + VPCLMULQDQ.  Four zmm accumulators
 *              (16 lanes of 128 bits, 256 bytes per iteration) folded 2048
 *              bits ahead; then 4 zmm -> 1 zmm, 64-byte folds, and one
 *              multiply that folds the zmm's four lanes into one.
 *   avx2       x86-64: AVX2 + VPCLMULQDQ, the same folding on eight ymm
 *              (256 bytes per iteration), for inputs of 256 bytes or more.
 *   pclmul     x86-64: PCLMULQDQ + SSE4.1, four xmm lanes, 64 bytes per
 *              iteration (Intel, "Fast CRC Computation for Generic
 *              Polynomials Using PCLMULQDQ Instruction", 2009).
 *   armv8-crc  aarch64: the ARMv8 CRC32X/W/H/B instructions (this IEEE
 *              polynomial, not CRC32C), 8 bytes per instruction.
 *   pmull      aarch64: PMULL folding of four 128-bit lanes for inputs of
 *              64 bytes or more; the 128-bit remainder and the tail go
 *              through the CRC32 instructions (so it needs both).
 *   table      everywhere: slice-by-16 tables, built once at first use.
 *
 * All x86 folding kernels share one 128-bit tail: whole 16-byte blocks are
 * folded, a last partial block is merged with a byte shuffle (no byte loop),
 * and 128 bits are reduced to 32 with a Barrett reduction.  Inputs under 16
 * bytes use the tables on x86.  Every fold constant is a #define K_* below,
 * derived and checked by tools/crc_constants.py (tests run its --check).
 *
 * The SIMD kernels use function-level target attributes, so the file builds
 * with plain `cc -O3` (no -m flags) for generic x86-64 or armv8-a, and a
 * kernel runs only when CPUID/XGETBV (x86) or AT_HWCAP (aarch64) says the CPU
 * and the OS support it.
 *
 * Kernels operate on the "raw" CRC register (already inverted); the public
 * functions do zlib's pre- and post-inversion, which is what makes chaining
 * through the `crc` argument work.
 */
#include "ob_crc32.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && \
    __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "ob_crc32.c assumes a little-endian target"
#endif

#if defined(__x86_64__) && defined(__GNUC__)
#define OB_CRC32_X86 1
#include <cpuid.h>
#include <immintrin.h>
#else
#define OB_CRC32_X86 0
#endif

/* 512- and 256-bit VPCLMULQDQ intrinsics (and _mm256_zextsi128_si256): GCC 10+, clang 8+. */
#if OB_CRC32_X86 && ((defined(__clang__) && __clang_major__ >= 8) || \
                     (!defined(__clang__) && __GNUC__ >= 10))
#define OB_CRC32_VPCLMUL 1
#else
#define OB_CRC32_VPCLMUL 0
#endif

#if defined(__aarch64__) && defined(__GNUC__) && defined(__linux__)
#define OB_CRC32_ARM 1
#include <arm_acle.h>
#include <arm_neon.h>
#include <sys/auxv.h>
#ifndef HWCAP_PMULL
#define HWCAP_PMULL (1UL << 4)
#endif
#ifndef HWCAP_CRC32
#define HWCAP_CRC32 (1UL << 7)
#endif
#else
#define OB_CRC32_ARM 0
#endif

typedef uint32_t (*crc_kernel_fn)(uint32_t c, const unsigned char *p,
                                  size_t len);

/* ------------------------------------------------------------------------ */
/* Portable slice-by-16, tables built once                                   */
/* ------------------------------------------------------------------------ */

/* T[0][i] is the classic reflected byte table for 0xEDB88320;
 * T[k][i] = (T[k-1][i] >> 8) ^ T[0][T[k-1][i] & 0xff] is the register
 * contribution of byte i followed by k zero bytes. */
static uint32_t crc_table[16][256];

static void tables_build(void)
{
    for (unsigned i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int bit = 0; bit < 8; bit++)
            c = (c >> 1) ^ (0xEDB88320U & (0U - (c & 1U)));
        crc_table[0][i] = c;
    }
    for (unsigned i = 0; i < 256; i++)
        for (int k = 1; k < 16; k++) {
            uint32_t prev = crc_table[k - 1][i];
            crc_table[k][i] = (prev >> 8) ^ crc_table[0][prev & 0xff];
        }
}

/* memcpy keeps unaligned loads well-defined (UBSan-clean); compilers turn it
 * into a single mov. Little-endian is asserted above. */
static inline uint32_t load32_le(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline uint64_t load64_le(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Update the raw CRC register c with len bytes at p.  The tables must have
 * been built (every entry point goes through kernels_init first). */
static uint32_t crc32_tables(uint32_t c, const unsigned char *p, size_t len)
{
    const uint32_t (*T)[256] = (const uint32_t (*)[256])crc_table;

    while (len >= 16) {
        uint32_t a = load32_le(p) ^ c;
        uint32_t b = load32_le(p + 4);
        uint32_t d = load32_le(p + 8);
        uint32_t e = load32_le(p + 12);
        /* Byte j of the block is followed by 15 - j more bytes -> T[15 - j]. */
        c = T[15][a & 0xff] ^ T[14][(a >> 8) & 0xff] ^
            T[13][(a >> 16) & 0xff] ^ T[12][a >> 24] ^
            T[11][b & 0xff] ^ T[10][(b >> 8) & 0xff] ^
            T[9][(b >> 16) & 0xff] ^ T[8][b >> 24] ^
            T[7][d & 0xff] ^ T[6][(d >> 8) & 0xff] ^
            T[5][(d >> 16) & 0xff] ^ T[4][d >> 24] ^
            T[3][e & 0xff] ^ T[2][(e >> 8) & 0xff] ^
            T[1][(e >> 16) & 0xff] ^ T[0][e >> 24];
        p += 16;
        len -= 16;
    }
    if (len >= 8) { /* one slice-by-8 step shortens the byte loop below */
        uint32_t a = load32_le(p) ^ c;
        uint32_t b = load32_le(p + 4);
        c = T[7][a & 0xff] ^ T[6][(a >> 8) & 0xff] ^
            T[5][(a >> 16) & 0xff] ^ T[4][a >> 24] ^
            T[3][b & 0xff] ^ T[2][(b >> 8) & 0xff] ^
            T[1][(b >> 16) & 0xff] ^ T[0][b >> 24];
        p += 8;
        len -= 8;
    }
    while (len--)
        c = (c >> 8) ^ T[0][(c ^ *p++) & 0xff];
    return c;
}

/* ------------------------------------------------------------------------ */
/* Fold constants (reflected domain, P(x) = 0x104C11DB7)                     */
/* ------------------------------------------------------------------------ */
/*
 * K(n) = bitrev32(x^n mod P) << 1 (33 bits; the << 1 absorbs the one-bit
 * offset of a carry-less product of reflected operands).  In the reflected
 * layout the low qword of a 128-bit lane holds its higher-degree half, so a
 * lane d bits before the lane it is folded onto is multiplied by K(d + 32)
 * (low qword) and K(d - 32) (high qword).  `python tools/crc_constants.py`
 * prints this table; its --check (run by tests/test_crc32.py) compares it
 * with these lines.
 */
#define K_F2048_LO  0x011542778aULL /* K(2080): fold 2048 bits (4 zmm = 256 B) ahead, low qword */
#define K_F2048_HI  0x01322d1430ULL /* K(2016): fold 2048 bits ahead, high qword */
#define K_F1024_LO  0x01e88ef372ULL /* K(1056): fold 1024 bits (128 B) ahead, low qword */
#define K_F1024_HI  0x014a7fe880ULL /* K(992): fold 1024 bits ahead, high qword */
#define K_F512_LO   0x0154442bd4ULL /* K(544): fold 512 bits (64 B) ahead, low qword */
#define K_F512_HI   0x01c6e41596ULL /* K(480): fold 512 bits ahead, high qword */
#define K_F384_LO   0x003db1ecdcULL /* K(416): fold 384 bits (48 B) ahead, low qword */
#define K_F384_HI   0x0174359406ULL /* K(352): fold 384 bits ahead, high qword */
#define K_F256_LO   0x00f1da05aaULL /* K(288): fold 256 bits (32 B) ahead, low qword */
#define K_F256_HI   0x015a546366ULL /* K(224): fold 256 bits ahead, high qword */
#define K_F128_LO   0x01751997d0ULL /* K(160): fold 128 bits (16 B) ahead, low qword */
#define K_F128_HI   0x00ccaa009eULL /* K(96): fold 128 bits ahead, high qword */
#define K_R64       0x0163cd6124ULL /* K(64): reduce 96 -> 64 bits */
#define K_PX        0x01db710641ULL /* bitrev33(P): Barrett modulus */
#define K_MU        0x01f7011641ULL /* bitrev33(floor(x^64 / P)): Barrett quotient */

/* ------------------------------------------------------------------------ */
/* x86-64 carry-less multiply folding                                        */
/* ------------------------------------------------------------------------ */
#if OB_CRC32_X86

#define TGT_PCLMUL __attribute__((target("pclmul,sse4.1")))
#define TGT_AVX2 __attribute__((target("avx2,vpclmulqdq,pclmul,sse4.1")))
#define TGT_AVX512 \
    __attribute__((target("avx512f,avx512vl,vpclmulqdq,pclmul,sse4.1")))
/* Helpers are forced inline so that, inside a wider kernel, they are
 * compiled with that kernel's VEX/EVEX encoding (no SSE/AVX transitions). */
#define INLINE static inline __attribute__((always_inline))

#define LOADU128(p) _mm_loadu_si128((const __m128i *)(const void *)(p))
#define KPAIR128(lo, hi) _mm_set_epi64x((long long)(hi), (long long)(lo))

/* x := x.lo * k.lo ^ x.hi * k.hi ^ data (one 128-bit fold step). */
TGT_PCLMUL INLINE __m128i fold128(__m128i x, __m128i k, __m128i data)
{
    __m128i lo = _mm_clmulepi64_si128(x, k, 0x00);
    __m128i hi = _mm_clmulepi64_si128(x, k, 0x11);
    return _mm_xor_si128(_mm_xor_si128(lo, hi), data);
}

/* Four consecutive lanes (x0 first) -> one: x0, x1, x2 lie 384, 256, 128
 * bits before x3 and fold straight onto it, three independent multiplies
 * (one multiply latency instead of two chained folds). */
TGT_PCLMUL INLINE __m128i fold4to1(__m128i x0, __m128i x1, __m128i x2,
                                   __m128i x3)
{
    __m128i a = fold128(x0, KPAIR128(K_F384_LO, K_F384_HI), x3);
    __m128i b = fold128(x1, KPAIR128(K_F256_LO, K_F256_HI), _mm_setzero_si128());
    return fold128(x2, KPAIR128(K_F128_LO, K_F128_HI), _mm_xor_si128(a, b));
}

/* Shuffle controls for a variable byte shift: 16 x 0x80, 0..15, 16 x 0x80.
 * Loading 16 bytes at shift_table + 16 + r shifts right by r bytes (pshufb
 * zeroes lanes whose control byte has bit 7 set); at shift_table + r it
 * shifts left by 16 - r bytes. */
static const unsigned char shift_table[48] __attribute__((aligned(16))) = {
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
};

/*
 * x holds the fold of every byte before p (at least 16 of them); 0 < r < 16
 * bytes remain.  The message is X || T (16 + r bytes).  Prepending 16 - r
 * zero bytes does not change the remainder, so it is also A' || B with
 * A' = zeros || X[0..r) (x shifted left by 16 - r bytes) and
 * B = X[r..16) || T, which then is a plain 128-bit fold of A' onto B.  T is
 * read as the last 16 bytes of the input, which lie inside the buffer.
 */
TGT_PCLMUL INLINE __m128i fold_partial(__m128i x, const unsigned char *p,
                                       size_t r)
{
    __m128i left = LOADU128(shift_table + r);        /* shift left 16 - r */
    __m128i right = LOADU128(shift_table + 16 + r);  /* shift right r */
    __m128i last = LOADU128(p + r - 16);
    __m128i a = _mm_shuffle_epi8(x, left);
    /* left's control bytes have bit 7 set exactly in the low 16 - r lanes:
     * there B takes X >> r, in the high r lanes the new bytes T. */
    __m128i b = _mm_blendv_epi8(last, _mm_shuffle_epi8(x, right), left);
    return fold128(a, KPAIR128(K_F128_LO, K_F128_HI), b);
}

/* The raw CRC register of the 16-byte message x (register 0). */
TGT_PCLMUL INLINE uint32_t reduce128(__m128i x)
{
    const __m128i mask32 = _mm_setr_epi32(-1, 0, -1, 0);
    __m128i k, t;

    /* 128 -> 96 bits: low qword * K(96) onto the high qword. */
    k = KPAIR128(K_F128_LO, K_F128_HI);
    t = _mm_clmulepi64_si128(x, k, 0x10);
    x = _mm_xor_si128(_mm_srli_si128(x, 8), t);

    /* 96 -> 64 bits: low dword * K(64) onto the upper 64 bits. */
    k = _mm_set_epi64x(0, (long long)K_R64);
    t = _mm_srli_si128(x, 4);
    x = _mm_clmulepi64_si128(_mm_and_si128(x, mask32), k, 0x00);
    x = _mm_xor_si128(x, t);

    /* Barrett 64 -> 32 bits: q = (lo32 * mu) mod x^32, crc = (x ^ q * P) >> 32
     * in reflected terms. */
    k = KPAIR128(K_PX, K_MU);
    t = _mm_and_si128(x, mask32);
    t = _mm_clmulepi64_si128(t, k, 0x10);
    t = _mm_and_si128(t, mask32);
    t = _mm_clmulepi64_si128(t, k, 0x00);
    x = _mm_xor_si128(x, t);
    return (uint32_t)_mm_extract_epi32(x, 1);
}

/* Common end of every x86 folding kernel: x is the fold of the >= 16 bytes
 * before p; fold in the len remaining bytes and reduce. */
TGT_PCLMUL INLINE uint32_t finish128(__m128i x, const unsigned char *p,
                                     size_t len)
{
    __m128i k = KPAIR128(K_F128_LO, K_F128_HI);
    while (len >= 16) {
        x = fold128(x, k, LOADU128(p));
        p += 16;
        len -= 16;
    }
    if (len)
        x = fold_partial(x, p, len);
    return reduce128(x);
}

/* Any length.  The incoming register is xored into the first 32 bits of
 * the message, exactly as the table code does. */
TGT_PCLMUL static uint32_t crc32_pclmul(uint32_t c, const unsigned char *p,
                                        size_t len)
{
    __m128i x0, x1, x2, x3, k;

    if (len < 16)
        return crc32_tables(c, p, len);
    x0 = _mm_xor_si128(LOADU128(p), _mm_cvtsi32_si128((int)c));
    if (len < 64)
        return finish128(x0, p + 16, len - 16);

    x1 = LOADU128(p + 16);
    x2 = LOADU128(p + 32);
    x3 = LOADU128(p + 48);
    p += 64;
    len -= 64;
    /* Four independent chains, each folded 512 bits ahead, hide the
     * multiply latency. */
    k = KPAIR128(K_F512_LO, K_F512_HI);
    while (len >= 64) {
        x0 = fold128(x0, k, LOADU128(p));
        x1 = fold128(x1, k, LOADU128(p + 16));
        x2 = fold128(x2, k, LOADU128(p + 32));
        x3 = fold128(x3, k, LOADU128(p + 48));
        p += 64;
        len -= 64;
    }
    return finish128(fold4to1(x0, x1, x2, x3), p, len);
}

#if OB_CRC32_VPCLMUL

#ifdef OB_CRC32_TEST_AVX512_SHIM
/* Tests only (tests/native/avx512_shim.h): the avx512 kernel built on
 * lane-by-lane emulations of its intrinsics, to check it on CPUs without
 * AVX-512.  Never defined by a package build. */
#include OB_CRC32_TEST_AVX512_SHIM
#undef TGT_AVX512
#define TGT_AVX512 TGT_AVX2
#endif

#define LOADU256(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))
#define LOADU512(p) _mm512_loadu_si512((const void *)(p))

TGT_AVX2 INLINE __m256i fold256(__m256i x, __m256i k, __m256i data)
{
    __m256i lo = _mm256_clmulepi64_epi128(x, k, 0x00);
    __m256i hi = _mm256_clmulepi64_epi128(x, k, 0x11);
    return _mm256_xor_si256(_mm256_xor_si256(lo, hi), data);
}

/* Below 256 bytes the 128-bit kernel is as fast (fewer fold-downs).  Eight
 * ymm accumulators (256 bytes per iteration) keep the multiplier busy on
 * cores whose VPCLMULQDQ latency exceeds four issue slots; on the Zen 4 VM
 * this was measured on, four and eight run equally fast (~23 GB/s, bound by
 * the multiply throughput). */
TGT_AVX2 static uint32_t crc32_avx2(uint32_t c, const unsigned char *p,
                                    size_t len)
{
    __m256i k, y[8];
    int i;

    if (len < 256)
        return crc32_pclmul(c, p, len);
    for (i = 0; i < 8; i++)
        y[i] = LOADU256(p + 32 * i);
    y[0] = _mm256_xor_si256(y[0], _mm256_zextsi128_si256(
                                      _mm_cvtsi32_si128((int)c)));
    p += 256;
    len -= 256;

    /* Sixteen 128-bit lanes, each folded 2048 bits ahead per iteration. */
    k = _mm256_broadcastsi128_si256(KPAIR128(K_F2048_LO, K_F2048_HI));
    while (len >= 256) {
        for (i = 0; i < 8; i++)
            y[i] = fold256(y[i], k, LOADU256(p + 32 * i));
        p += 256;
        len -= 256;
    }

    /* 8 ymm -> 4: y0..y3 fold 1024 bits ahead onto y4..y7. */
    k = _mm256_broadcastsi128_si256(KPAIR128(K_F1024_LO, K_F1024_HI));
    for (i = 0; i < 4; i++)
        y[i] = fold256(y[i], k, y[i + 4]);
    if (len >= 128) {      /* one more 128-byte step with the 1024-bit fold */
        for (i = 0; i < 4; i++)
            y[i] = fold256(y[i], k, LOADU256(p + 32 * i));
        p += 128;
        len -= 128;
    }

    /* 4 ymm -> 2: y0/y1 fold 512 bits ahead onto y2/y3. */
    k = _mm256_broadcastsi128_si256(KPAIR128(K_F512_LO, K_F512_HI));
    y[2] = fold256(y[0], k, y[2]);
    y[3] = fold256(y[1], k, y[3]);
    return finish128(fold4to1(_mm256_castsi256_si128(y[2]),
                              _mm256_extracti128_si256(y[2], 1),
                              _mm256_castsi256_si128(y[3]),
                              _mm256_extracti128_si256(y[3], 1)),
                     p, len);
}

/* One 512-bit fold step: four 128-bit lanes at once; the three-way xor is a
 * single vpternlogq (0x96 = a ^ b ^ c). */
TGT_AVX512 INLINE __m512i fold512(__m512i x, __m512i k, __m512i data)
{
    __m512i lo = _mm512_clmulepi64_epi128(x, k, 0x00);
    __m512i hi = _mm512_clmulepi64_epi128(x, k, 0x11);
    return _mm512_ternarylogic_epi64(lo, hi, data, 0x96);
}

TGT_AVX512 INLINE __m512i kpair512(uint64_t lo, uint64_t hi)
{
    return _mm512_broadcast_i32x4(KPAIR128(lo, hi));
}

/* Inputs under 64 bytes go to the 128-bit code (a zmm would be mostly
 * empty); from 256 bytes on, four zmm accumulators run. */
TGT_AVX512 static uint32_t crc32_avx512(uint32_t c, const unsigned char *p,
                                        size_t len)
{
    __m512i z0, z1, z2, z3, k, lo, hi;
    __m128i x;

    if (len < 64)
        return crc32_pclmul(c, p, len);
    /* The register goes into the first 32 bits (element 0 only). */
    z0 = _mm512_xor_si512(LOADU512(p), _mm512_maskz_set1_epi32(1, (int)c));
    p += 64;
    len -= 64;

    if (len >= 192) {
        z1 = LOADU512(p);
        z2 = LOADU512(p + 64);
        z3 = LOADU512(p + 128);
        p += 192;
        len -= 192;
        /* 16 lanes in flight, each folded 2048 bits (256 bytes) ahead. */
        k = kpair512(K_F2048_LO, K_F2048_HI);
        while (len >= 256) {
            z0 = fold512(z0, k, LOADU512(p));
            z1 = fold512(z1, k, LOADU512(p + 64));
            z2 = fold512(z2, k, LOADU512(p + 128));
            z3 = fold512(z3, k, LOADU512(p + 192));
            p += 256;
            len -= 256;
        }
        /* 4 zmm -> 1: z0, z1 fold 1024 bits onto z2, z3, then z2 folds 512
         * bits onto z3. */
        k = kpair512(K_F1024_LO, K_F1024_HI);
        z2 = fold512(z0, k, z2);
        z3 = fold512(z1, k, z3);
        z0 = fold512(z2, kpair512(K_F512_LO, K_F512_HI), z3);
    }

    k = kpair512(K_F512_LO, K_F512_HI);
    while (len >= 64) {
        z0 = fold512(z0, k, LOADU512(p));
        p += 64;
        len -= 64;
    }

    /* Lanes 0, 1, 2 lie 384, 256, 128 bits before lane 3: one multiply by
     * per-lane constants (lane 3 by zero), then xor the four lanes. */
    k = _mm512_set_epi64(0, 0,
                         (long long)K_F128_HI, (long long)K_F128_LO,
                         (long long)K_F256_HI, (long long)K_F256_LO,
                         (long long)K_F384_HI, (long long)K_F384_LO);
    lo = _mm512_clmulepi64_epi128(z0, k, 0x00);
    hi = _mm512_clmulepi64_epi128(z0, k, 0x11);
    lo = _mm512_ternarylogic_epi64(lo, hi,
                                   _mm512_maskz_mov_epi64(0xC0, z0), 0x96);
    {
        __m256i h = _mm256_xor_si256(_mm512_castsi512_si256(lo),
                                     _mm512_extracti64x4_epi64(lo, 1));
        x = _mm_xor_si128(_mm256_castsi256_si128(h),
                          _mm256_extracti128_si256(h, 1));
    }
    return finish128(x, p, len);
}

#endif /* OB_CRC32_VPCLMUL */

/* XCR0 through xgetbv (only called when CPUID says OSXSAVE). */
static uint64_t read_xcr0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

/* Which x86 kernels this CPU and OS can run (bit i set: kernel i). */
static unsigned hw_kernels(void)
{
    unsigned a, b, c, d, max_leaf, set = 0;
    unsigned b7 = 0, c7 = 0;
    uint64_t xcr0 = 0;

    max_leaf = __get_cpuid_max(0, NULL);
    if (max_leaf < 1 || !__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    if (!((c >> 1) & 1) || !((c >> 19) & 1))   /* PCLMULQDQ, SSE4.1 */
        return 0;
    set |= 1U << OB_CRC32_PCLMUL;
    if ((c >> 27) & 1)                          /* OSXSAVE: xgetbv usable */
        xcr0 = read_xcr0();
    if (max_leaf >= 7)
        __cpuid_count(7, 0, a, b7, c7, d);
    (void)b7; (void)c7; (void)xcr0;
#if OB_CRC32_VPCLMUL
    {
        int vpclmul = (c7 >> 10) & 1;
        /* AVX + AVX2, and the OS saves xmm/ymm (XCR0 bits 1, 2). */
        int avx2 = ((c >> 28) & 1) && ((b7 >> 5) & 1) && (xcr0 & 0x6) == 0x6;
        /* AVX-512F + VL, and the OS saves xmm, ymm, opmask, zmm0-15 upper
         * halves and zmm16-31 (XCR0 bits 1, 2, 5, 6, 7). */
        int avx512 = avx2 && ((b7 >> 16) & 1) && ((b7 >> 31) & 1) &&
                     (xcr0 & 0xE6) == 0xE6;
        if (vpclmul && avx2)
            set |= 1U << OB_CRC32_AVX2;
        if (vpclmul && avx512)
            set |= 1U << OB_CRC32_AVX512;
#ifdef OB_CRC32_TEST_AVX512_SHIM
        if (vpclmul && avx2)   /* the shim needs AVX2 + VPCLMULQDQ only */
            set |= 1U << OB_CRC32_AVX512;
#endif
    }
#endif
    return set;
}

#endif /* OB_CRC32_X86 */

/* ------------------------------------------------------------------------ */
/* aarch64: CRC32 instructions and PMULL folding                             */
/* ------------------------------------------------------------------------ */
#if OB_CRC32_ARM

#ifdef __clang__
#define TGT_CRC __attribute__((target("crc")))
#define TGT_PMULL __attribute__((target("crc,aes")))
#else
#define TGT_CRC __attribute__((target("+crc")))
#define TGT_PMULL __attribute__((target("+crc+crypto")))
#endif

/* CRC32X has a latency of 2-3 cycles and takes 8 bytes, so one chain is
 * latency-bound; still several times faster than the tables. */
TGT_CRC static uint32_t crc32_armv8(uint32_t c, const unsigned char *p,
                                    size_t len)
{
    while (len >= 32) {
        c = __crc32d(c, load64_le(p));
        c = __crc32d(c, load64_le(p + 8));
        c = __crc32d(c, load64_le(p + 16));
        c = __crc32d(c, load64_le(p + 24));
        p += 32;
        len -= 32;
    }
    while (len >= 8) {
        c = __crc32d(c, load64_le(p));
        p += 8;
        len -= 8;
    }
    if (len & 4) {
        c = __crc32w(c, load32_le(p));
        p += 4;
    }
    if (len & 2) {
        uint16_t h;
        memcpy(&h, p, 2);
        c = __crc32h(c, h);
        p += 2;
    }
    if (len & 1)
        c = __crc32b(c, *p);
    return c;
}

/* x := x.lo * k.lo ^ x.hi * k.hi ^ data, as on x86. */
TGT_PMULL static inline uint64x2_t fold_pmull(uint64x2_t x, poly64x2_t k,
                                              uint64x2_t data)
{
    poly128_t lo = vmull_p64((poly64_t)vgetq_lane_u64(x, 0),
                             vgetq_lane_p64(k, 0));
    poly128_t hi = vmull_high_p64(vreinterpretq_p64_u64(x), k);
    return veorq_u64(veorq_u64(vreinterpretq_u64_p128(lo),
                               vreinterpretq_u64_p128(hi)), data);
}

TGT_PMULL static inline poly64x2_t kpair_neon(uint64_t lo, uint64_t hi)
{
    return vreinterpretq_p64_u64(vcombine_u64(vcreate_u64(lo),
                                              vcreate_u64(hi)));
}

#define LOADU_NEON(p) vreinterpretq_u64_u8(vld1q_u8(p))

/* From 64 bytes: four lanes folded 512 bits ahead, then down to one.  The
 * 128-bit fold is itself a 16-byte message with register 0, so two CRC32X
 * finish it (no Barrett step), and the tail uses CRC32X/W/H/B too. */
TGT_PMULL static uint32_t crc32_pmull(uint32_t c, const unsigned char *p,
                                      size_t len)
{
    uint64x2_t x0, x1, x2, x3;
    poly64x2_t k;

    if (len < 64)
        return crc32_armv8(c, p, len);
    x0 = veorq_u64(LOADU_NEON(p), vcombine_u64(vcreate_u64(c),
                                               vcreate_u64(0)));
    x1 = LOADU_NEON(p + 16);
    x2 = LOADU_NEON(p + 32);
    x3 = LOADU_NEON(p + 48);
    p += 64;
    len -= 64;
    k = kpair_neon(K_F512_LO, K_F512_HI);
    while (len >= 64) {
        x0 = fold_pmull(x0, k, LOADU_NEON(p));
        x1 = fold_pmull(x1, k, LOADU_NEON(p + 16));
        x2 = fold_pmull(x2, k, LOADU_NEON(p + 32));
        x3 = fold_pmull(x3, k, LOADU_NEON(p + 48));
        p += 64;
        len -= 64;
    }
    k = kpair_neon(K_F256_LO, K_F256_HI);
    x2 = fold_pmull(x0, k, x2);
    x3 = fold_pmull(x1, k, x3);
    k = kpair_neon(K_F128_LO, K_F128_HI);
    x0 = fold_pmull(x2, k, x3);
    while (len >= 16) {
        x0 = fold_pmull(x0, k, LOADU_NEON(p));
        p += 16;
        len -= 16;
    }
    c = __crc32d(0, vgetq_lane_u64(x0, 0));
    c = __crc32d(c, vgetq_lane_u64(x0, 1));
    return crc32_armv8(c, p, len);
}

static unsigned hw_kernels(void)
{
    unsigned long hw = getauxval(AT_HWCAP);
    unsigned set = 0;
    if (hw & HWCAP_CRC32) {
        set |= 1U << OB_CRC32_ARMV8_CRC;
        if (hw & HWCAP_PMULL)
            set |= 1U << OB_CRC32_PMULL;
    }
    return set;
}

#endif /* OB_CRC32_ARM */

#if !OB_CRC32_X86 && !OB_CRC32_ARM
static unsigned hw_kernels(void)
{
    return 0;
}
#endif

/* ------------------------------------------------------------------------ */
/* Kernel registry and dispatch                                              */
/* ------------------------------------------------------------------------ */

static const char *const kernel_names[OB_CRC32_KERNEL_COUNT] = {
    [OB_CRC32_TABLE] = "table",
    [OB_CRC32_PCLMUL] = "pclmul",
    [OB_CRC32_AVX2] = "avx2",
    [OB_CRC32_AVX512] = "avx512",
    [OB_CRC32_ARMV8_CRC] = "armv8-crc",
    [OB_CRC32_PMULL] = "pmull",
};

/* NULL: not compiled for this target. */
static const crc_kernel_fn kernel_fns[OB_CRC32_KERNEL_COUNT] = {
    [OB_CRC32_TABLE] = crc32_tables,
#if OB_CRC32_X86
    [OB_CRC32_PCLMUL] = crc32_pclmul,
#endif
#if OB_CRC32_VPCLMUL
    [OB_CRC32_AVX2] = crc32_avx2,
    [OB_CRC32_AVX512] = crc32_avx512,
#endif
#if OB_CRC32_ARM
    [OB_CRC32_ARMV8_CRC] = crc32_armv8,
    [OB_CRC32_PMULL] = crc32_pmull,
#endif
};

/* Best first: the default is the first available one. */
static const int kernel_preference[] = {
    OB_CRC32_AVX512, OB_CRC32_AVX2, OB_CRC32_PCLMUL,
    OB_CRC32_PMULL, OB_CRC32_ARMV8_CRC, OB_CRC32_TABLE,
};

/* Written once under pthread_once, read after it: no further locking. */
static unsigned available_set;
static int active_kernel = OB_CRC32_TABLE;
static crc_kernel_fn active_fn;     /* NULL until initialised */
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void kernels_init_once(void)
{
    const char *want = getenv("ORDERBOOK_CRC32_KERNEL");
    size_t i;

    tables_build();
    available_set = (hw_kernels() | (1U << OB_CRC32_TABLE));
    for (i = 0; i < OB_CRC32_KERNEL_COUNT; i++)  /* not compiled in */
        if (!kernel_fns[i])
            available_set &= ~(1U << i);
    for (i = 0; i < sizeof kernel_preference / sizeof *kernel_preference; i++)
        if (available_set & (1U << kernel_preference[i])) {
            active_kernel = kernel_preference[i];
            break;
        }

    if (want && *want) {
        int k = ob_crc32_kernel_by_name(want);
        if (k >= 0 && (available_set & (1U << k))) {
            active_kernel = k;
        } else {
            fprintf(stderr,
                    "orderbook: ORDERBOOK_CRC32_KERNEL=%s is %s; using "
                    "\"%s\" (available:", want,
                    k < 0 ? "not a CRC-32 kernel name"
                          : "not available on this CPU/build",
                    kernel_names[active_kernel]);
            for (i = 0; i < OB_CRC32_KERNEL_COUNT; i++)
                if (available_set & (1U << i))
                    fprintf(stderr, " %s", kernel_names[i]);
            fprintf(stderr, ")\n");
        }
    }
    __atomic_store_n(&active_fn, kernel_fns[active_kernel], __ATOMIC_RELEASE);
}

static crc_kernel_fn kernels_init(void)
{
    pthread_once(&init_once, kernels_init_once);
    return active_fn;
}

uint32_t ob_crc32(uint32_t crc, const unsigned char *buf, size_t len)
{
    crc_kernel_fn fn = __atomic_load_n(&active_fn, __ATOMIC_ACQUIRE);
    if (__builtin_expect(fn == NULL, 0))
        fn = kernels_init();
    return ~fn(~crc, buf, len);
}

uint32_t ob_crc32_portable(uint32_t crc, const unsigned char *buf, size_t len)
{
    kernels_init();
    return ~crc32_tables(~crc, buf, len);
}

int ob_crc32_kernel_available(int kernel)
{
    kernels_init();
    return kernel >= 0 && kernel < OB_CRC32_KERNEL_COUNT &&
           ((available_set >> kernel) & 1U);
}

uint32_t ob_crc32_with(int kernel, uint32_t crc, const unsigned char *buf,
                       size_t len)
{
    crc_kernel_fn fn = crc32_tables;
    if (ob_crc32_kernel_available(kernel))
        fn = kernel_fns[kernel];
    return ~fn(~crc, buf, len);
}

const char *ob_crc32_kernel_name(int kernel)
{
    if (kernel < 0 || kernel >= OB_CRC32_KERNEL_COUNT)
        return NULL;
    return kernel_names[kernel];
}

int ob_crc32_kernel_by_name(const char *name)
{
    for (int i = 0; i < OB_CRC32_KERNEL_COUNT; i++)
        if (strcmp(name, kernel_names[i]) == 0)
            return i;
    return -1;
}

int ob_crc32_active_kernel(void)
{
    kernels_init();
    return active_kernel;
}

const char *ob_crc32_impl_name(void)
{
    return kernel_names[ob_crc32_active_kernel()];
}

int ob_crc32_hw_available(void)
{
    return ob_crc32_active_kernel() != OB_CRC32_TABLE;
}
