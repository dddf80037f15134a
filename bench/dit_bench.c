/* bench/dit_bench.c -- time DiT forward passes of a SanaTransformer2DModel folder op by op.
 * Not a test: bench/dit_step.sh builds and runs it on the random Sana_600M_512px-shaped
 * checkpoint of bench/generate.sh.
 *
 *   dit_bench TRANSFORMER_DIR [h w [B [L [runs]]]]     defaults: 16 16 2 300 3
 *
 * The inputs are the shape of one CFG step of a 512x512 generation: latent [B, C, h, w],
 * caption [B, L, caption_channels] with the mask of bench/generate.sh's batch [negative,
 * positive]: the empty negative prompt keeps 1 token of L, the prompt with the complex human
 * instruction all L (it is longer than max_sequence_length).
 * The model runs on a copy of a backend (SANA_BACKEND=NAME, default the default backend, cpu)
 * whose every slot is wrapped by a timer, so the per-op split is the time spent inside each
 * operator (linear is also split by its (K, N) shape). SANA_CPU_FUSION=0 times the cpu backend
 * with its fused kernels off. Each run prints the wall and CPU time of the forward pass; the split is printed
 * for the best run. The first run also touches the mapped weights (page faults).
 */
#include "backend/backend.h"
#include "models/dit.h"
#include "core/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- the timing backend: the chosen backend with a timer around every op ---- */

static const sana_backend *g_ref;
static double op_time[SANA_OP_COUNT];
static long op_calls[SANA_OP_COUNT];

/* linear split by (K, N) */
#define MAX_SHAPES 32
typedef struct { int64_t K, N; double t, flop; long calls; } lin_shape;
static lin_shape lin[MAX_SHAPES];
static int nlin;

static void lin_add(int64_t M, int64_t K, int64_t N, double t)
{
    int i;
    for (i = 0; i < nlin; i++)
        if (lin[i].K == K && lin[i].N == N) break;
    if (i == nlin) {
        if (nlin == MAX_SHAPES) return;
        lin[nlin].K = K, lin[nlin].N = N;
        nlin++;
    }
    lin[i].t += t;
    lin[i].flop += 2.0 * (double)M * (double)K * (double)N;
    lin[i].calls++;
}

#define SANA_OP(op, params, args)                                  \
    static void t_##op(void *ctx, SANA_UNPAREN params)             \
    {                                                              \
        (void)ctx;                                                 \
        double t0 = now();                                         \
        g_ref->op(g_ref->ctx, SANA_UNPAREN args);                  \
        op_time[SANA_OP_##op] += now() - t0;                       \
        op_calls[SANA_OP_##op]++;                                  \
        if (SANA_OP_##op == SANA_OP_linear) lin_last(now() - t0);  \
    }
static int64_t lin_M, lin_K, lin_N;
static void lin_last(double t) { lin_add(lin_M, lin_K, lin_N, t); }
/* linear's own wrapper records its shape first */
static void t_linear_shape(void *ctx, float *y, const float *x, const sana_wt *w, const sana_wt *b, int64_t M,
                           int64_t K, int64_t N);
#include "backend/ops/all.def"
#undef SANA_OP

static void t_linear_shape(void *ctx, float *y, const float *x, const sana_wt *w, const sana_wt *b, int64_t M,
                           int64_t K, int64_t N)
{
    lin_M = M, lin_K = K, lin_N = N;
    t_linear(ctx, y, x, w, b, M, K, N);
}

static void reset(void)
{
    memset(op_time, 0, sizeof op_time);
    memset(op_calls, 0, sizeof op_calls);
    memset(lin, 0, sizeof lin);
    nlin = 0;
}

static uint64_t rng = 42;
static float urand(void) /* uniform in [-1, 1) from a 64-bit LCG */
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s TRANSFORMER_DIR [h w [B [L [runs]]]]\n", argv[0]);
        return 2;
    }
    int64_t h = argc > 3 ? atoll(argv[2]) : 16, w = argc > 3 ? atoll(argv[3]) : 16;
    int64_t B = argc > 4 ? atoll(argv[4]) : 2, L = argc > 5 ? atoll(argv[5]) : 300;
    int runs = argc > 6 ? atoi(argv[6]) : 3;

    const char *bname = getenv("SANA_BACKEND");
    g_ref = bname ? sana_backend_find(bname) : sana_backend_default();
    if (!g_ref) {
        fprintf(stderr, "dit_bench: no backend %s\n", bname);
        return 2;
    }
    sana_backend tb = *g_ref;
    tb.name = "timer";
#define SANA_OP(op, params, args) tb.op = t_##op;
#include "backend/ops/all.def"
#undef SANA_OP
    tb.linear = t_linear_shape;

    sana_dit *m;
    if (sana_dit_load(&m, argv[1], NULL, &tb) != SANA_OK) {
        fprintf(stderr, "dit_bench: %s\n", sana_errmsg());
        return 1;
    }
    const sana_dit_config *c = sana_dit_get_config(m);
    printf("weights prepared by %s: %.1f MiB beyond the mapped file\n", g_ref->name,
           (double)sana_dit_weight_bytes(m) / 1048576.0);
    int64_t nx = B * c->in_channels * h * w, ne = B * L * c->caption_channels;
    float *x = malloc((size_t)nx * sizeof(float)), *out = malloc((size_t)(B * c->out_channels * h * w) * sizeof(float));
    float *enc = malloc((size_t)ne * sizeof(float)), *mask = malloc((size_t)(B * L) * sizeof(float));
    float t[64];
    for (int64_t i = 0; i < nx; i++) x[i] = urand();
    for (int64_t i = 0; i < ne; i++) enc[i] = urand();
    for (int64_t b = 0; b < B; b++)
        for (int64_t l = 0; l < L; l++) mask[b * L + l] = (b % 2 == 1 || l == 0) ? 1.0f : 0.0f;
    for (int64_t b = 0; b < B && b < 64; b++) t[b] = 999.0f;

    printf("dit_bench: %s  backend %s  B=%lld h=%lld w=%lld L=%lld, %d layers\n", argv[1], g_ref->name,
           (long long)B, (long long)h, (long long)w, (long long)L, (int)c->num_layers);
    double best = 1e30, best_cpu = 0, sum = 0;
    double best_time[SANA_OP_COUNT];
    long best_calls[SANA_OP_COUNT];
    lin_shape best_lin[MAX_SHAPES];
    int best_nlin = 0;
    for (int r = 0; r < runs; r++) {
        reset();
        double t0 = now(), c0 = cpu_now();
        if (sana_dit_forward(m, out, x, B, h, w, t, enc, mask, L, NULL, NULL) != SANA_OK) {
            fprintf(stderr, "dit_bench: %s\n", sana_errmsg());
            return 1;
        }
        double dt = now() - t0, dc = cpu_now() - c0;
        sum = 0;
        for (int64_t i = 0; i < B * c->out_channels * h * w; i++) sum += out[i];
        printf("run %d: %.3f s wall, %.3f s CPU (checksum %.6e)\n", r, dt, dc, sum);
        if (dt < best) {
            best = dt, best_cpu = dc;
            memcpy(best_time, op_time, sizeof op_time);
            memcpy(best_calls, op_calls, sizeof op_calls);
            memcpy(best_lin, lin, sizeof lin);
            best_nlin = nlin;
        }
    }
    printf("best: %.3f s wall, %.3f s CPU\n\n%-22s %8s %7s %6s\n", best, best_cpu, "op", "s", "%", "calls");
    for (int i = 0; i < SANA_OP_COUNT; i++)
        if (best_calls[i])
            printf("%-22s %8.3f %6.1f%% %6ld\n", sana_op_name((sana_op)i), best_time[i], 100.0 * best_time[i] / best,
                   best_calls[i]);
    printf("\nlinear by shape:\n%-14s %8s %6s %9s\n", "K x N", "s", "calls", "GFLOP/s");
    for (int i = 0; i < best_nlin; i++) {
        char kn[32];
        snprintf(kn, sizeof kn, "%lldx%lld", (long long)best_lin[i].K, (long long)best_lin[i].N);
        printf("%-14s %8.3f %6ld %9.1f\n", kn, best_lin[i].t, best_lin[i].calls,
               best_lin[i].t > 0 ? best_lin[i].flop / best_lin[i].t * 1e-9 : 0.0);
    }
    sana_dit_free(m);
    free(x), free(out), free(enc), free(mask);
    return 0;
}
