/* tests/backend_ops.h -- cases for tests/test-backend-ops (every op of every backend against ref).
 *
 * A case runs one op on a backend with inputs drawn from a seeded generator
 * and returns the output downloaded to the host. The driver runs each case
 * on ref and on every other compiled backend with the same seed and compares;
 * outputs are allocated with guard floats after them, checked after the op.
 *
 * Each family lists its cases in tests/backend_ops_<family>.c:
 *   const bo_case bo_cases_<family>[] = { {"linear 7x33->65", SANA_OP_linear, run_linear}, ..., {0} };
 */
#ifndef SANA_TESTS_BACKEND_OPS_H
#define SANA_TESTS_BACKEND_OPS_H

#include <stdint.h>
#include "backend/backend.h"
#include "ref.h"

typedef struct { uint64_t s; } bo_rng;

/* Uniform float in [lo, hi). */
float bo_uniform(bo_rng *r, float lo, float hi);
/* Device buffer of n floats filled with uniform values in [lo, hi) (freed by the driver). */
float *bo_in(const sana_backend *be, bo_rng *r, int64_t n, float lo, float hi);
/* Host weight of the given shape (SHP(d0, d1, ...)) and dtype, uniform in [lo, hi) (freed by the driver). */
const sana_wt *bo_wt(bo_rng *r, sana_dtype dt, sana_shape shape, float lo, float hi);
/* Device output buffer of n floats followed by guard floats. */
float *bo_out(const sana_backend *be, int64_t n);
/* Like bo_out, holding uniform values in [-1, 1): the output of an op that updates y in place. */
float *bo_out_filled(const sana_backend *be, bo_rng *r, int64_t n);
/* Download an output made by bo_out (checks its guard; a damaged guard fails the case). */
float *bo_result(const sana_backend *be, const float *dev, int64_t n);

typedef struct {
    const char *name;
    sana_op op;
    /* Run the op on be; return the host output (from bo_result) and its length in *n. */
    float *(*run)(const sana_backend *be, bo_rng *r, int64_t *n);
} bo_case;

/* A case for an elementwise op (float *y, const float *x, int64_t n): defines run_<op> over 1031 values in [-8, 8). */
#define BO_UNARY_CASE(op)                                                  \
    static float *run_##op(const sana_backend *be, bo_rng *r, int64_t *n)  \
    {                                                                      \
        int64_t len = 1031;                                                \
        float *x = bo_in(be, r, len, -8, 8), *y = bo_out(be, len);         \
        SANA_OP_CALL(be, op, y, x, len);                                   \
        *n = len;                                                          \
        return bo_result(be, y, len);                                      \
    }

extern const bo_case bo_cases_core[];
extern const bo_case bo_cases_dit[];
extern const bo_case bo_cases_dcae[];
extern const bo_case bo_cases_gemma[];

#endif
