/* bench/bench.h -- what the benchmark programs share: a monotonic clock and the comparison for qsort
 * of times (each program reports the best or the median of its runs). */
#ifndef SANA_BENCH_H
#define SANA_BENCH_H

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

#endif
