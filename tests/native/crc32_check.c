/*
 * crc32_check.c - every CRC-32 kernel of orderbook/src/ob_crc32.c against a
 * bitwise reference: all lengths 0..MAXLEN (10,000) at offsets 0..63, each
 * from a start value that differs per offset, plus a chained split, plus
 * every length ending at the end of the buffer (for ASan).
 *
 *     cc -O2 -Iorderbook/src tests/native/crc32_check.c orderbook/src/ob_crc32.c -lpthread
 *     ./a.out [--max-len N] [--bench]
 *
 * Built natively by tests/test_crc32.py and for aarch64 by `make crc-aarch64`
 * (under qemu-aarch64-static).  Prints the kernels it checked and ends with
 * "N passed, N failed"; exits 1 on any mismatch.  --bench prints ns per call
 * of every kernel at 64 B, 6,200 B and 1 MiB instead.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ob_crc32.h"

#define MAXOFF 64

/* One byte of the reflected CRC, bit by bit: the definition, no tables. */
static uint32_t ref_byte(uint32_t reg, unsigned char b)
{
    reg ^= b;
    for (int i = 0; i < 8; i++)
        reg = (reg >> 1) ^ (0xEDB88320U & (0U - (reg & 1U)));
    return reg;
}

static uint32_t ref_crc(uint32_t crc, const unsigned char *p, size_t n)
{
    uint32_t reg = ~crc;
    while (n--)
        reg = ref_byte(reg, *p++);
    return ~reg;
}

/* xorshift64: the same bytes on every platform. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int check_kernel(int k, const unsigned char *buf, size_t maxlen,
                        long *passed)
{
    long bad = 0;
    for (size_t off = 0; off < MAXOFF; off++) {
        const unsigned char *p = buf + off;
        uint32_t start = off == 0 ? 0 : (uint32_t)rng();
        uint32_t reg = ~start;            /* reference register, prefix by prefix */
        for (size_t len = 0; len <= maxlen; len++) {
            uint32_t want = ~reg, got = ob_crc32_with(k, start, p, len);
            if (got != want && bad++ < 5)
                fprintf(stderr, "FAIL %s off=%zu len=%zu start=%08x: got %08x want %08x\n",
                        ob_crc32_kernel_name(k), off, len, start, got, want);
            if (len % 7 == 3) {             /* chained: a split at len / 3 */
                size_t a = len / 3;
                uint32_t mid = ob_crc32_with(k, start, p, a);
                got = ob_crc32_with(k, mid, p + a, len - a);
                if (got != want && bad++ < 5)
                    fprintf(stderr, "FAIL %s chained off=%zu len=%zu split=%zu\n",
                            ob_crc32_kernel_name(k), off, len, a);
            }
            if (len < maxlen)
                reg = ref_byte(reg, p[len]);
        }
    }
    /* Inputs that end at the end of the allocation (offset 0 starts at its
     * start), so that ASan sees any read past either end; the table kernel,
     * checked above, is the reference here. */
    for (size_t len = 0; len <= maxlen; len++) {
        const unsigned char *p = buf + maxlen + MAXOFF - len;
        uint32_t want = ob_crc32_with(OB_CRC32_TABLE, (uint32_t)len, p, len);
        uint32_t got = ob_crc32_with(k, (uint32_t)len, p, len);
        if (got != want && bad++ < 5)
            fprintf(stderr, "FAIL %s at end len=%zu\n", ob_crc32_kernel_name(k), len);
    }
    if (!bad)
        (*passed)++;
    return bad != 0;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ns per call, best of 7 runs; calls are chained so latency counts too. */
static void bench(int k, const unsigned char *buf)
{
    static const size_t sizes[] = {64, 6200, 1 << 20};
    printf("%-10s", ob_crc32_kernel_name(k));
    for (size_t s = 0; s < 3; s++) {
        size_t n = sizes[s];
        long iters = (long)(1e8 / (double)(n + 32)) + 1;
        double best = 1e30;
        uint32_t c = 0;
        for (int r = 0; r < 7; r++) {
            double t0 = now();
            for (long i = 0; i < iters; i++)
                c = ob_crc32_with(k, c, buf, n);
            double dt = (now() - t0) / (double)iters;
            if (dt < best)
                best = dt;
        }
        printf("  %7zu B: %10.1f ns %6.2f GB/s", n, best * 1e9,
               (double)n / best / 1e9);
        if (c == 0x12345678)            /* keep c live */
            printf("!");
    }
    printf("\n");
}

int main(int argc, char **argv)
{
    size_t maxlen = 10000;
    int do_bench = 0;
    long passed = 0, failed = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--max-len") && i + 1 < argc)
            maxlen = (size_t)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--bench"))
            do_bench = 1;
        else {
            fprintf(stderr, "usage: %s [--max-len N] [--bench]\n", argv[0]);
            return 2;
        }
    }
    size_t size = do_bench ? (1 << 20) + 64 : maxlen + MAXOFF;
    unsigned char *buf = malloc(size);
    if (!buf)
        return 2;
    for (size_t i = 0; i < size; i++)
        buf[i] = (unsigned char)(rng() >> 56);

    printf("active kernel: %s\n", ob_crc32_impl_name());
    if (ob_crc32(0, (const unsigned char *)"123456789", 9) != 0xCBF43926U) {
        printf("FAIL check value of \"123456789\"\n");
        failed++;
    }
    for (int k = 0; k < OB_CRC32_KERNEL_COUNT; k++) {
        if (!ob_crc32_kernel_available(k))
            continue;
        if (do_bench) {
            bench(k, buf);
            continue;
        }
        /* ob_crc32() itself once, so the default path is covered too. */
        if (k == ob_crc32_active_kernel() &&
            ob_crc32(7, buf, maxlen) != ref_crc(7, buf, maxlen)) {
            printf("FAIL ob_crc32 (active %s)\n", ob_crc32_kernel_name(k));
            failed++;
        }
        int bad = check_kernel(k, buf, maxlen, &passed);
        failed += bad;
        printf("%-10s lengths 0..%zu x offsets 0..%d: %s\n",
               ob_crc32_kernel_name(k), maxlen, MAXOFF - 1, bad ? "FAIL" : "ok");
    }
    free(buf);
    if (!do_bench)
        printf("%ld passed, %ld failed\n", passed, failed);
    return failed ? 1 : 0;
}
