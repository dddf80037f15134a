/* bench/sgemm_bench.c -- the hardware bound of the benchmarks: cblas_sgemm GFLOP/s of the BLAS
 * libsana links, at the matrix shapes of a SANA generation, on the threads given. Not a test.
 *
 *   bench/sgemm_bench [THREADS [RUNS]]
 *
 * Prints one line per shape ("sgemm M K N: X GFLOP/s") and the median of all the shapes as
 * "sgemm bound: X GFLOP/s", which bench/compare.py divides the FLOPs of each phase by. */
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "bench.h"

/* y[M, N] = x[M, K] W[N, K]^T, as nn.Linear: the best of runs, in GFLOP/s. */
static double rate(int M, int K, int N, int runs)
{
    float *x = malloc(sizeof(float) * (size_t)M * K), *w = malloc(sizeof(float) * (size_t)N * K);
    float *y = malloc(sizeof(float) * (size_t)M * N);
    bench_fill(x, (size_t)M * K, 7919);
    bench_fill(w, (size_t)N * K, 104729);
    double best = 1e30;
    for (int r = 0; r < runs + 1; r++) { /* the first run warms up */
        double t0 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, x, K, w, K, 0.0f, y, N);
        double t = now() - t0;
        if (r > 0 && t < best) best = t;
    }
    free(x);
    free(w);
    free(y);
    return 2.0 * M * K * N / best / 1e9;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : omp_get_num_procs();
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);
    /* DiT 600M at 512 px with CFG (B*N = 512 tokens, D = 1152, GLUMBConv 2*2880), 1600M (D = 2240),
     * Gemma-2-2B on 300 tokens (2304 -> 9216, 2304 -> 2048), DC-AE conv as im2col (Cout x Cin*9 x HW). */
    static const int shapes[][3] = {
        {512, 1152, 1152}, {512, 1152, 5760}, {512, 2880, 1152}, {2048, 1152, 1152},
        {512, 2240, 2240}, {300, 2304, 9216}, {300, 9216, 2304}, {300, 2304, 2048},
        {4096, 1152, 128}, {16384, 1152, 128},
    };
    int n = (int)(sizeof shapes / sizeof shapes[0]);
    double r[sizeof shapes / sizeof shapes[0]];
    printf("sgemm threads: %d, best of %d runs\n", threads, runs);
    for (int i = 0; i < n; i++) {
        r[i] = rate(shapes[i][0], shapes[i][1], shapes[i][2], runs);
        printf("sgemm %d %d %d: %.1f GFLOP/s\n", shapes[i][0], shapes[i][1], shapes[i][2], r[i]);
    }
    printf("sgemm bound: %.1f GFLOP/s (median of the shapes)\n", median(r, n));
    return 0;
}
