/*
 * tests/test-backend-ops.c -- every op of every compiled backend against ref.
 *
 * For each case (tests/backend_ops_<family>.c) and each backend: the case runs
 * on ref and on the backend with the same seed; outputs must agree within
 * BACKEND_TOL relative to the output's scale, NaN/Inf must appear at the same
 * places, and the guard floats after each output must be untouched. ref is
 * also run twice against itself: same thread count, same bits (determinism).
 * Every op of the table must have at least one case.
 */
#include "backend_ops.h"
#include "golden.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Other backends may fuse and reorder sums: 1e-4 of the output scale. */
#define BACKEND_TOL 1e-4

extern int bo_guard_damaged;
void bo_release_all(void);

static const bo_case *const families[] = {bo_cases_core, bo_cases_dit, bo_cases_dcae, bo_cases_gemma};

static float *run_case(const bo_case *c, const sana_backend *be, int64_t *n)
{
    bo_rng r = {0x5a4a};
    bo_guard_damaged = 0;
    float *out = c->run(be, &r, n);
    bo_release_all();
    return out;
}

int main(void)
{
    int failures = 0, ncases = 0, covered[SANA_OP_COUNT] = {0};
    const sana_backend *ref = sana_backend_ref();
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++)
        for (const bo_case *c = families[f]; c->name; c++) {
            ncases++;
            covered[c->op] = 1;
            int64_t n1, n2;
            float *a = run_case(c, ref, &n1);
            int guard = bo_guard_damaged;
            float *b = run_case(c, ref, &n2);
            int same = n1 == n2 && memcmp(a, b, (size_t)n1 * sizeof(float)) == 0;
            int finite = 1;
            for (int64_t i = 0; i < n1; i++) finite &= isfinite(a[i]) != 0;
            int fail = guard || !same || !finite;
            printf("%s: ref  %-12s %-32s n=%lld%s%s%s\n", fail ? "FAIL" : "ok  ", sana_op_name(c->op), c->name,
                   (long long)n1, guard ? " guard bytes overwritten" : "", same ? "" : " not deterministic",
                   finite ? "" : " non-finite output");
            failures += fail;
            for (int k = 1; k < sana_backend_count(); k++) {
                const sana_backend *be = sana_backend_get(k);
                if (!be->supports_op(be->ctx, c->op, SANA_F32)) {
                    printf("skip: %-4s %-12s %s (not supported)\n", be->name, sana_op_name(c->op), c->name);
                    continue;
                }
                int64_t nb;
                float *o = run_case(c, be, &nb);
                char label[128];
                snprintf(label, sizeof label, "%s %s", be->name, c->name);
                if (bo_guard_damaged || nb != n1) {
                    printf("FAIL: %s: %s\n", label, bo_guard_damaged ? "guard bytes overwritten" : "size differs");
                    failures++;
                } else {
                    double scale = 0, err = 0;
                    int special = 0;
                    for (int64_t i = 0; i < n1; i++) {
                        if (isfinite(a[i]) != isfinite(o[i])) special = 1;
                        else if (isfinite(a[i])) {
                            scale = fmax(scale, fabs(a[i]));
                            err = fmax(err, fabs((double)a[i] - o[i]));
                        }
                    }
                    int bad = special || err > BACKEND_TOL * fmax(scale, 1e-30);
                    printf("%s: %s max_abs=%.3e scale=%.3e%s\n", bad ? "FAIL" : "ok  ", label, err, scale,
                           special ? " NaN/Inf mismatch" : "");
                    failures += bad;
                }
                free(o);
            }
            free(a);
            free(b);
        }
    for (int op = 0; op < SANA_OP_COUNT; op++)
        if (!covered[op]) {
            printf("FAIL: op %s has no case in tests/backend_ops_*.c\n", sana_op_name((sana_op)op));
            failures++;
        }
    printf("%d cases on %d backend(s), %d failed\n", ncases, sana_backend_count(), failures);
    return failures ? 1 : 0;
}
