/* tests/backend_ops.h -- cases for tests/test-backend-ops (every op of every backend against ref).
 *
 * A case runs one op on a backend with inputs drawn from a seeded generator and returns the
 * output downloaded to the host. The driver runs each case on ref and on every other compiled
 * backend with the same seed and compares; outputs are allocated with guard floats after them,
 * checked after the op. In perf mode the driver times the op instead (BO_OP repeats it).
 *
 * Each family lists its cases in tests/backend_ops_<family>.c, with the sizes in p[] (read by
 * the case's run function in its own order, named in the case's comment):
 *   const bo_case bo_cases_<family>[] = {
 *       {"linear 600M to_q 512x1152->1152", SANA_OP_linear, run_linear, {512, 1152, 1152, SANA_F32}, BO_BIG},
 *       ..., {0}};
 * A family holds small odd sizes (the vector tails), sizes above every threading threshold of
 * ref/ and accel/ (REF_OMP_MIN elements and more), and the shapes of the real configs
 * (Sana 600M / 1600M, Gemma-2-2B, DC-AE f32c32) at least once.
 */
#ifndef SANA_TESTS_BACKEND_OPS_H
#define SANA_TESTS_BACKEND_OPS_H

#include <stdint.h>
#include "backend/backend.h"
#include "ref.h"

typedef struct { uint64_t s; } bo_rng;

/* Case flags. BIG: a real-config case of a second or more on ref (skipped under sanitizers
 * unless --all). COMPACT: weights prepared with SANA_PREP_COMPACT (the text encoder's). */
enum { BO_BIG = 1, BO_COMPACT = 2 };

typedef struct bo_case bo_case;
struct bo_case {
    const char *name; /* what and which shape */
    sana_op op;
    /* Run the op on be; return the host output (from bo_result) and its length in *n. */
    float *(*run)(const bo_case *c, const sana_backend *be, bo_rng *r, int64_t *n);
    int64_t p[10]; /* sizes, in the order the run function reads them */
    unsigned flags;
};

/* Uniform float in [lo, hi). */
float bo_uniform(bo_rng *r, float lo, float hi);
/* Device buffer of n floats filled with uniform values in [lo, hi) (freed by the driver). */
float *bo_in(const sana_backend *be, bo_rng *r, int64_t n, float lo, float hi);
/* Device buffer holding the n host values v (freed by the driver). */
void *bo_in_host(const sana_backend *be, const void *v, size_t nbytes);
/* Weight of the given shape (SHP(d0, d1, ...)) and dtype, uniform in [lo, hi), prepared by be's
 * prepare_weight for the case's op when it has one (freed by the driver). The first weight of a
 * case is its main weight: its prepared dtype is the one asked of supports_op. */
const sana_wt *bo_wt(const sana_backend *be, bo_rng *r, sana_dtype dt, sana_shape shape, float lo, float hi);
/* Device output buffer of n floats followed by guard floats. */
float *bo_out(const sana_backend *be, int64_t n);
/* Like bo_out, holding uniform values in [-1, 1): the output of an op that updates y in place. */
float *bo_out_filled(const sana_backend *be, bo_rng *r, int64_t n);
/* Download an output made by bo_out (checks its guard; a damaged guard fails the case). */
float *bo_result(const sana_backend *be, const float *dev, int64_t n);

/* The work of one call, for perf mode: floating-point operations and bytes moved. */
void bo_cost(double flops, double bytes);

/* Call an op through the table. Skipped when be does not support it for the case's main weight
 * dtype (the driver then reports the case as not supported); repeated and timed in perf mode.
 *   BO_OP(be, linear, y, x, w, b, M, K, N);
 * bo_op_begin/bo_op_next are the loop of BO_OP, for a case that must redo something before
 * each call (an op that works in place on its input). */
int bo_op_begin(const sana_backend *be, sana_op op);
int bo_op_next(const sana_backend *be);
#define BO_OP(be, op, ...)                                                           \
    for (int bo_it_ = bo_op_begin(be, SANA_OP_##op); bo_it_; bo_it_ = bo_op_next(be)) \
    SANA_OP_CALL(be, op, __VA_ARGS__)

/* Bytes of n floats, as a double (for bo_cost). */
#define BO_F(n) (4.0 * (double)(n))

/* A case for an elementwise op (float *y, const float *x, int64_t n): run_<op> over p[0] values in [-8, 8). */
#define BO_UNARY_CASE(op, flops_per)                                                         \
    static float *run_##op(const bo_case *c, const sana_backend *be, bo_rng *r, int64_t *n) \
    {                                                                                        \
        int64_t len = c->p[0];                                                               \
        float *x = bo_in(be, r, len, -8, 8), *y = bo_out(be, len);                           \
        bo_cost((double)(flops_per) * (double)len, BO_F(2 * len));                           \
        BO_OP(be, op, y, x, len);                                                            \
        *n = len;                                                                            \
        return bo_result(be, y, len);                                                        \
    }

/* The sizes every elementwise op runs at: a short tail, an odd size, and one above REF_OMP_MIN. */
#define BO_N_TAIL 7
#define BO_N_ODD 1031
#define BO_N_BIG ((1 << 22) + 37)

extern const bo_case bo_cases_core[];
extern const bo_case bo_cases_dit[];
extern const bo_case bo_cases_dcae[];
extern const bo_case bo_cases_gemma[];

/* ---- the driver's side (tests/test-backend-ops.c) ---- */

/* What one run of a case left behind, and how the driver wants it run. */
typedef struct {
    sana_op op;          /* the case's op (prepare_weight's `use`) */
    unsigned prep_flags; /* SANA_PREP_* for bo_wt */
    int perf;            /* 1: BO_OP repeats the op for perf_seconds and times it */
    double perf_seconds;
    /* results */
    int guard_damaged;   /* an output's guard floats were overwritten */
    int unsupported;     /* supports_op said 0: the op was not called */
    int have_wdtype;     /* a main weight was made; its prepared dtype, and the one it was made in: */
    sana_dtype wdtype, file_wdtype;
    double flops, bytes; /* bo_cost */
    int64_t calls;       /* timed calls (perf) */
    double seconds, best; /* their total and the fastest one */
} bo_run_state;
extern bo_run_state bo_state;
/* Free everything the last run allocated (outputs from bo_result excepted). */
void bo_release_all(void);
/* Monotonic seconds. */
double bo_now(void);

#endif
