/* tests/golden.h -- the golden conformance harness.
 *
 * A golden file is a safetensors file (optionally .gz) dumped by a script in
 * golden/ from diffusers/transformers: inputs, sometimes weights, outputs, and
 * __metadata__ (script, versions, module config). A test opens it, runs the C
 * code, and compares with golden_check(): one line per tensor with the max
 * abs error, the max abs error relative to max |expected|, the max
 * elementwise relative error, and the tolerance, which comes from the table
 * in tests/tolerances.def by name. NaN/Inf where the golden has a finite
 * value (or the reverse) is always a failure.
 *
 * Goldens are found under $GOLDEN_DIR (set by `make check` to $(srcdir)/golden).
 */
#ifndef SANA_TESTS_GOLDEN_H
#define SANA_TESTS_GOLDEN_H

#include <stdint.h>
#include "io/safetensors.h"

typedef struct {
    sana_st_file *f;
    char *path;
    int checks, failures;
} golden;

/* The golden folder ($GOLDEN_DIR, default "golden"). */
const char *golden_dir(void);
/* Open GOLDEN_DIR/name; tries name, then name + ".gz". Aborts the test (exit 99) when missing or broken. */
golden *golden_open(const char *name);
/* A tensor that must exist (exit 99 when absent). */
const sana_st_tensor *golden_get(golden *g, const char *name);
/* 1 when the golden holds a tensor of that name. */
int golden_has(golden *g, const char *name);
/* Float32 copy of a tensor (malloc'd; *numel receives the count when non-NULL). */
float *golden_f32(golden *g, const char *name, int64_t *numel);
/* Int64 copy of an integer tensor (malloc'd). */
int64_t *golden_i64(golden *g, const char *name, int64_t *numel);
/* A __metadata__ value, or NULL. */
const char *golden_meta(golden *g, const char *key);

/* Tolerance of a named entry of tests/tolerances.def (exit 99 when unknown). */
double golden_tol(const char *tol_name);

/*
 * Compare n floats against expected values. Pass when
 *   max|got - want| <= tol * max(max|want|, 1e-30)    (error relative to the output's scale)
 * and NaN/Inf appear at exactly the same places. Prints one line; returns 0 on pass, 1 on failure,
 * and counts the failure in g (g may be NULL).
 */
int golden_compare(golden *g, const char *what, const float *got, const float *want, int64_t n,
                   const char *tol_name);
/* Compare against the golden tensor `want_name` (its numel must equal n). */
int golden_check(golden *g, const char *what, const float *got, int64_t n, const char *want_name,
                 const char *tol_name);
/* Exact comparison of integer sequences (token ids, masks): prints the first mismatch. */
int golden_check_i64(golden *g, const char *what, const int64_t *got, int64_t n, const char *want_name);

/* Close; returns the number of failures of this golden. */
int golden_close(golden *g);

/* Test-program totals: golden_exit() prints "N checks, N failed" and returns the exit status. */
void golden_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void golden_pass(void); /* one check that held */
int golden_exit(void);

/* One condition checked by a test program, counted by golden_exit(); "FAIL: ..." when it is false. */
#define GOLDEN_CHECK(cond, ...)                                                                                        \
    do {                                                                                                               \
        if (cond)                                                                                                      \
            golden_pass();                                                                                             \
        else                                                                                                           \
            golden_fail(__VA_ARGS__);                                                                                  \
    } while (0)

#endif
