/* Coverage feedback from a gcc-instrumented extension to atheris' libFuzzer,
 * under an LD_PRELOADed libasan.
 *
 * tools/sanitize.sh builds the extension with -fsanitize-coverage=trace-cmp:
 * gcc then calls __sanitizer_cov_trace_cmp* before every integer comparison
 * and switch.  libFuzzer (inside atheris' core_with_libfuzzer module) turns
 * those calls into value-profile features and into its table of recent
 * compares, which is how it learns magic numbers, lengths and checksums.
 * But libasan defines weak no-op versions of these hooks, and of the ones
 * atheris registers its Python coverage counters with
 * (__sanitizer_cov_8bit_counters_init, __sanitizer_cov_pcs_init); preloaded
 * first, libasan's win every symbol lookup, atheris' own calls included, and
 * the fuzzer runs blind.
 *
 * This library is preloaded *before* libasan (ASAN_OPTIONS=
 * verify_asan_link_order=0), so its strong definitions are the ones everybody
 * binds to.  They forward to atheris' libFuzzer once it is loaded: the
 * counter registrations (made by atheris itself when fuzzing starts) find it
 * by name among the loaded objects, and fuzz/run.py also calls
 * ob_cov_attach() with its path.  Until then, as in a plain test run, every
 * hook is a null check.  The comparison hooks forward with a tail call, so
 * libFuzzer still sees the comparison's own return address.
 *
 * gcc also traces floating-point comparisons, which libFuzzer does not take:
 * those are no-ops here (and would be undefined symbols without this file).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef void (*cmp1_fn)(uint8_t, uint8_t);
typedef void (*cmp2_fn)(uint16_t, uint16_t);
typedef void (*cmp4_fn)(uint32_t, uint32_t);
typedef void (*cmp8_fn)(uint64_t, uint64_t);
typedef void (*switch_fn)(uint64_t, uint64_t *);
typedef void (*div4_fn)(uint32_t);
typedef void (*div8_fn)(uint64_t);
typedef void (*gep_fn)(uintptr_t);
typedef void (*counters_init_fn)(uint8_t *, uint8_t *);
typedef void (*pcs_init_fn)(const uintptr_t *, const uintptr_t *);

static cmp1_fn cmp1, const_cmp1;
static cmp2_fn cmp2, const_cmp2;
static cmp4_fn cmp4, const_cmp4;
static cmp8_fn cmp8, const_cmp8;
static switch_fn trace_switch;
static div4_fn div4;
static div8_fn div8;
static gep_fn gep;
static counters_init_fn counters_init;
static pcs_init_fn pcs_init;

#define LOOKUP(var, type, name) var = (type)dlsym(core, name)

static int attach_handle(void *core) {
    if (core == NULL)
        return -1;
    LOOKUP(cmp1, cmp1_fn, "__sanitizer_cov_trace_cmp1");
    LOOKUP(cmp2, cmp2_fn, "__sanitizer_cov_trace_cmp2");
    LOOKUP(cmp4, cmp4_fn, "__sanitizer_cov_trace_cmp4");
    LOOKUP(cmp8, cmp8_fn, "__sanitizer_cov_trace_cmp8");
    LOOKUP(const_cmp1, cmp1_fn, "__sanitizer_cov_trace_const_cmp1");
    LOOKUP(const_cmp2, cmp2_fn, "__sanitizer_cov_trace_const_cmp2");
    LOOKUP(const_cmp4, cmp4_fn, "__sanitizer_cov_trace_const_cmp4");
    LOOKUP(const_cmp8, cmp8_fn, "__sanitizer_cov_trace_const_cmp8");
    LOOKUP(trace_switch, switch_fn, "__sanitizer_cov_trace_switch");
    LOOKUP(div4, div4_fn, "__sanitizer_cov_trace_div4");
    LOOKUP(div8, div8_fn, "__sanitizer_cov_trace_div8");
    LOOKUP(gep, gep_fn, "__sanitizer_cov_trace_gep");
    LOOKUP(counters_init, counters_init_fn, "__sanitizer_cov_8bit_counters_init");
    LOOKUP(pcs_init, pcs_init_fn, "__sanitizer_cov_pcs_init");
    return cmp4 != NULL && cmp8 != NULL && counters_init != NULL ? 0 : -2;
}

static int find_core(struct dl_phdr_info *info, size_t size, void *found) {
    (void)size;
    if (info->dlpi_name != NULL && strstr(info->dlpi_name, "core_with_libfuzzer") != NULL) {
        *(const char **)found = info->dlpi_name;
        return 1;
    }
    return 0;
}

static void attach_loaded_core(void) {
    const char *name = NULL;
    dl_iterate_phdr(find_core, &name);
    if (name != NULL)
        attach_handle(dlopen(name, RTLD_NOW | RTLD_NOLOAD));
}

/* Point the hooks at the libFuzzer in the already-loaded module `path`.
   Returns 0 on success. */
int ob_cov_attach(const char *path) {
    return attach_handle(dlopen(path, RTLD_NOW | RTLD_NOLOAD));
}

/* atheris registers its Python coverage counters through these. */
void __sanitizer_cov_8bit_counters_init(uint8_t *start, uint8_t *stop) {
    if (counters_init == NULL)
        attach_loaded_core();
    if (counters_init != NULL)
        counters_init(start, stop);
}

void __sanitizer_cov_pcs_init(const uintptr_t *start, const uintptr_t *stop) {
    if (pcs_init == NULL)
        attach_loaded_core();
    if (pcs_init != NULL)
        pcs_init(start, stop);
}

void __sanitizer_cov_trace_cmp1(uint8_t a, uint8_t b) { if (cmp1) cmp1(a, b); }
void __sanitizer_cov_trace_cmp2(uint16_t a, uint16_t b) { if (cmp2) cmp2(a, b); }
void __sanitizer_cov_trace_cmp4(uint32_t a, uint32_t b) { if (cmp4) cmp4(a, b); }
void __sanitizer_cov_trace_cmp8(uint64_t a, uint64_t b) { if (cmp8) cmp8(a, b); }
void __sanitizer_cov_trace_const_cmp1(uint8_t a, uint8_t b) { if (const_cmp1) const_cmp1(a, b); }
void __sanitizer_cov_trace_const_cmp2(uint16_t a, uint16_t b) { if (const_cmp2) const_cmp2(a, b); }
void __sanitizer_cov_trace_const_cmp4(uint32_t a, uint32_t b) { if (const_cmp4) const_cmp4(a, b); }
void __sanitizer_cov_trace_const_cmp8(uint64_t a, uint64_t b) { if (const_cmp8) const_cmp8(a, b); }
void __sanitizer_cov_trace_switch(uint64_t v, uint64_t *cases) { if (trace_switch) trace_switch(v, cases); }
void __sanitizer_cov_trace_div4(uint32_t v) { if (div4) div4(v); }
void __sanitizer_cov_trace_div8(uint64_t v) { if (div8) div8(v); }
void __sanitizer_cov_trace_gep(uintptr_t v) { if (gep) gep(v); }
void __sanitizer_cov_trace_cmpf(float a, float b) { (void)a; (void)b; }
void __sanitizer_cov_trace_cmpd(double a, double b) { (void)a; (void)b; }
