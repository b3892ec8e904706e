/*
 * ob_crc32.h - CRC-32 (IEEE 802.3 / zlib / PNG / gzip) at memory speed.
 *
 * Polynomial 0x04C11DB7, reflected (0xEDB88320), initial value and final
 * XOR 0xFFFFFFFF.  Results are bit-identical to Python's
 * zlib.crc32(data, value), including its chaining semantics:
 *
 *     ob_crc32(ob_crc32(0, a, na), b, nb) == ob_crc32(0, a||b, na + nb)
 *
 * On x86-64 with GCC/Clang a carry-less-multiply folding kernel (PCLMULQDQ,
 * or AVX2 + VPCLMULQDQ where available) is selected at run time; everywhere
 * else a portable slice-by-16 table implementation is used.
 */
#ifndef OB_CRC32_H
#define OB_CRC32_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Same result as zlib.crc32(buf[0:len], crc) for every input.
 * Never reads outside [buf, buf+len).  Thread-safe.  buf may be NULL when
 * len == 0. */
uint32_t ob_crc32(uint32_t crc, const unsigned char *buf, size_t len);

/* Portable table-driven implementation (slice-by-16), exposed for testing.
 * Same contract as ob_crc32(). */
uint32_t ob_crc32_portable(uint32_t crc, const unsigned char *buf, size_t len);

/* 1 when the hardware (PCLMULQDQ + SSE4.1) path is used on this CPU, else 0.
 * (Also 1 when the wider AVX2 + VPCLMULQDQ variant of it is used.) */
int ob_crc32_hw_available(void);

/* Name of the active implementation: "vpclmulqdq-avx2", "pclmul" or
 * "slice-by-16".  Whatever the name, inputs under 64 bytes take the table
 * path (faster there), and the avx2 kernel hands inputs under 256 bytes to
 * the 128-bit one. */
const char *ob_crc32_impl_name(void);

#ifdef __cplusplus
}
#endif

#endif /* OB_CRC32_H */
