/* bench/q8_bench.c -- the int8 matrix products of the cpu backend against float32 sgemm, at the
 * DiT's and Gemma-2's shapes, in the same run, through the backend table as the models call them
 * (linear on a weight prepared by the cpu backend: float32 -> sgemm; Q8 -> packed for oneDNN's int8
 * matmul, activations quantized per row in the call). Not a test.
 *
 *   bench/q8_bench [THREADS [RUNS]]
 *
 * One line per shape: "q8 M K N: sgemm X GFLOP/s, int8 Y GOP/s, Y/X" and the median ratio. */
#include "config.h"
#include "backend/backend.h"
#include "core/quant.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "bench.h"

/* Best seconds of runs of be's linear y = x W^T on w (prepared for linear). */
static double best_time(const sana_backend *be, const sana_wt *w, const float *x, float *y, int M, int K, int N,
                        int runs)
{
    double best = 1e30;
    for (int r = 0; r < runs + 1; r++) {
        double t0 = now();
        SANA_OP_CALL(be, linear, y, x, w, NULL, M, K, N);
        double t = now() - t0;
        if (r > 0 && t < best) best = t;
    }
    return best;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : omp_get_num_procs();
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    const sana_backend *be = sana_backend_cpu();
    be->set_threads(be->ctx, threads);
    static const int shapes[][3] = {
        {512, 1152, 1152}, {512, 1152, 5760}, {512, 2880, 1152}, {2048, 1152, 1152},
        {512, 2240, 2240}, {512, 2240, 11200}, {300, 2304, 9216}, {300, 9216, 2304}, {300, 2304, 2048},
    };
    const int n = (int)(sizeof shapes / sizeof shapes[0]);
    double ratio[sizeof shapes / sizeof shapes[0]];
    printf("q8 threads: %d, best of %d runs, cpu backend (%s)\n", threads, runs, be->description);
    for (int i = 0; i < n; i++) {
        const int M = shapes[i][0], K = shapes[i][1], N = shapes[i][2];
        float *x = malloc(sizeof(float) * (size_t)M * K), *wf = malloc(sizeof(float) * (size_t)N * K);
        float *y = malloc(sizeof(float) * (size_t)M * N);
        bench_fill(x, (size_t)M * K, 7919);
        bench_fill(wf, (size_t)N * K, 104729);
        const int64_t shape[2] = {N, K};
        sana_wt f = sana_wt_f32(wf, 2, shape), q, pf, pq;
        void *own = NULL;
        size_t bytes;
        if (sana_quantize(&f, SANA_Q8, &q, &own) != SANA_OK ||
            be->prepare_weight(be->ctx, &f, SANA_OP_linear, 0, &pf, &bytes) != SANA_OK ||
            be->prepare_weight(be->ctx, &q, SANA_OP_linear, 0, &pq, &bytes) != SANA_OK) {
            fprintf(stderr, "q8_bench: preparing the weights failed\n");
            return 1;
        }
        const double fl = 2.0 * M * K * N;
        const double ts = best_time(be, &pf, x, y, M, K, N, runs), tq = best_time(be, &pq, x, y, M, K, N, runs);
        ratio[i] = ts / tq;
        printf("q8 %d %d %d: sgemm %.1f GFLOP/s, int8%s %.1f GOP/s, %.2fx\n", M, K, N, fl / ts / 1e9,
               pq.dtype == SANA_PACKED ? "" : " (not packed: dequantized panels)", fl / tq / 1e9, ratio[i]);
        if (be->release_weight) {
            be->release_weight(be->ctx, &pq);
            be->release_weight(be->ctx, &pf);
        }
        if (sana_backend_sync(be) != SANA_OK) fprintf(stderr, "q8_bench: an op failed\n");
        free(own);
        free(x);
        free(wf);
        free(y);
    }
    printf("q8 int8 / sgemm: %.2fx (median of the shapes)\n", median(ratio, n));
    return 0;
}
