/* bench/bench.h -- what the benchmark programs share: a monotonic clock, the comparison for qsort of
 * times (each program reports the best or the median of its runs), the median itself, and the
 * deterministic operands of the matrix-product benchmarks. */
#ifndef SANA_BENCH_H
#define SANA_BENCH_H

#include <stdlib.h>
#include <time.h>

static inline double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* qsort comparison of doubles, ascending. */
static inline int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of v[0..n), which it sorts. */
static inline double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof v[0], cmp);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Matrix-product operands in [-0.5, 0.5): x (mult 7919) and W (mult 104729) of sgemm_bench and
 * q8_bench, the same values in both. */
static inline void bench_fill(float *v, size_t n, size_t mult)
{
    for (size_t i = 0; i < n; i++) v[i] = (float)((i * mult) % 1000) * 1e-3f - 0.5f;
}

#endif
