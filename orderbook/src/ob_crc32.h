/*
 * ob_crc32.h - CRC-32 (IEEE 802.3 / zlib / PNG / gzip) at memory speed.
 *
 * Polynomial 0x04C11DB7, reflected (0xEDB88320), initial value and final
 * XOR 0xFFFFFFFF.  Results are bit-identical to Python's
 * zlib.crc32(data, value), including its chaining semantics:
 *
 *     ob_crc32(ob_crc32(0, a, na), b, nb) == ob_crc32(0, a||b, na + nb)
 *
 * Kernels (ob_crc32.c describes each):
 *   "avx512"    x86-64 AVX-512F/VL + VPCLMULQDQ, 512-bit folding
 *   "avx2"      x86-64 AVX2 + VPCLMULQDQ, 256-bit folding
 *   "pclmul"    x86-64 PCLMULQDQ + SSE4.1, 128-bit folding
 *   "armv8-crc" aarch64 CRC32 instructions
 *   "pmull"     aarch64 PMULL folding + CRC32 instructions
 *   "table"     portable slice-by-16 (tables built at first use)
 * The first available one in that order is used, unless the environment
 * variable ORDERBOOK_CRC32_KERNEL names another (read once, at the first
 * call of any function here).  A name that is unknown, or a kernel this CPU
 * or build cannot run, is reported on stderr
 *     orderbook: ORDERBOOK_CRC32_KERNEL=... is ...; using "..." (available: ...)
 * and the default kernel is used; ob_crc32_impl_name() always names the
 * kernel that actually runs.
 *
 * Every function is thread-safe (initialisation runs under pthread_once).
 */
#ifndef OB_CRC32_H
#define OB_CRC32_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Same result as zlib.crc32(buf[0:len], crc) for every input.
 * Never reads outside [buf, buf+len).  buf may be NULL when len == 0. */
uint32_t ob_crc32(uint32_t crc, const unsigned char *buf, size_t len);

/* The table kernel; same contract as ob_crc32(). */
uint32_t ob_crc32_portable(uint32_t crc, const unsigned char *buf, size_t len);

/* Kernel ids, for tests and benchmarks. */
enum {
    OB_CRC32_TABLE = 0,
    OB_CRC32_PCLMUL,
    OB_CRC32_AVX2,
    OB_CRC32_AVX512,
    OB_CRC32_ARMV8_CRC,
    OB_CRC32_PMULL,
    OB_CRC32_KERNEL_COUNT
};

/* Name of a kernel id ("table", ...), NULL when out of range. */
const char *ob_crc32_kernel_name(int kernel);

/* Id of a kernel name, -1 when there is none of that name. */
int ob_crc32_kernel_by_name(const char *name);

/* 1 when this build and CPU (and OS) can run the kernel, else 0. */
int ob_crc32_kernel_available(int kernel);

/* ob_crc32() through the given kernel.  A kernel that is not available is
 * never executed: the table kernel computes the result instead. */
uint32_t ob_crc32_with(int kernel, uint32_t crc, const unsigned char *buf,
                       size_t len);

/* Id and name of the kernel ob_crc32() uses. */
int ob_crc32_active_kernel(void);
const char *ob_crc32_impl_name(void);

/* 1 when that kernel is not the table one. */
int ob_crc32_hw_available(void);

#ifdef __cplusplus
}
#endif

#endif /* OB_CRC32_H */
