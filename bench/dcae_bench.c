/* bench/dcae_bench.c -- decode (and optionally encode) with an AutoencoderDC folder, printing
 * the time and the peak resident memory. Not a test: bench/dcae_real.sh runs it on a random
 * checkpoint of the real dc-ae-f32c32-sana-1.0 config.
 *
 *   dcae_bench VAE_DIR [h w [B [tiled [OUT.safetensors]]]]
 *
 * h w: latent size (default 16 16 -> 512 x 512); OUT: write the latent "z" and the image "img"
 * there (bench/dcae_real.sh compares them with diffusers when DCAE_COMPARE=1).
 * Environment: DCAE_BACKEND=NAME (default: the default backend, cpu where built; "ref" for the
 * oracle); DCAE_PROFILE=1 runs the ops through a timing wrapper of the backend table and prints
 * the time per op (conv2d split by kernel and groups), i.e. the decode's phases.
 */
#include "models/dcae.h"
#include "io/safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench.h"

static double peak_rss_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0; /* Linux: KiB */
}

/* ------------------------------------------------------------ the timing wrapper
 * A copy of the backend whose op slots time the inner backend's slot (synchronising after each
 * op), by op; conv2d is split into kinds (kxk dense, 1x1, depthwise kxk, grouped). */
static const sana_backend *inner;
static double op_time[SANA_OP_COUNT];
static long op_calls[SANA_OP_COUNT];
#define CONV_KINDS 16
static char conv_kind[CONV_KINDS][32];
static double conv_time[CONV_KINDS], conv_flop[CONV_KINDS];
static long conv_calls[CONV_KINDS];

#define SANA_OP(name, params, args)                                                                  \
    static void prof_##name(void *ctx, SANA_UNPAREN params)                                          \
    {                                                                                                \
        (void)ctx;                                                                                   \
        double t0_ = now();                                                                          \
        inner->name(inner->ctx, SANA_UNPAREN args);                                                  \
        sana_backend_sync(inner);                                                                    \
        op_time[SANA_OP_##name] += now() - t0_;                                                      \
        op_calls[SANA_OP_##name]++;                                                                  \
    }
#include "backend/ops/all.def"
#undef SANA_OP

static void prof_conv(void *ctx, float *y, const float *x, const sana_wt *w, const sana_wt *bias, int64_t B, int64_t Cin,
                      int64_t H, int64_t W, int64_t Cout, int64_t kh, int64_t kw, int64_t stride, int64_t pad,
                      int64_t groups)
{
    (void)ctx;
    char k[32];
    if (groups == 1) snprintf(k, sizeof k, "%lldx%lld%s", (long long)kh, (long long)kw, stride > 1 ? " s2" : "");
    else if (groups == Cin && groups == Cout) snprintf(k, sizeof k, "depthwise %lldx%lld", (long long)kh, (long long)kw);
    else snprintf(k, sizeof k, "grouped %lldx%lld", (long long)kh, (long long)kw);
    int i = 0;
    while (i < CONV_KINDS - 1 && conv_kind[i][0] && strcmp(conv_kind[i], k)) i++;
    if (!conv_kind[i][0]) snprintf(conv_kind[i], sizeof conv_kind[i], "%s", k);
    double t = now();
    inner->conv2d(inner->ctx, y, x, w, bias, B, Cin, H, W, Cout, kh, kw, stride, pad, groups);
    sana_backend_sync(inner);
    conv_time[i] += now() - t;
    conv_calls[i]++;
    int64_t Ho = (H + 2 * pad - kh) / stride + 1, Wo = (W + 2 * pad - kw) / stride + 1;
    conv_flop[i] += 2.0 * (double)B * (double)Cout * (double)(Cin / groups) * (double)(kh * kw) * (double)(Ho * Wo);
}

static sana_backend prof_backend;

static const sana_backend *profiled(const sana_backend *be)
{
    inner = be;
    prof_backend = *be;
#define SANA_OP(name, params, args) prof_backend.name = prof_##name;
#include "backend/ops/all.def"
#undef SANA_OP
    prof_backend.conv2d = prof_conv;
    return &prof_backend;
}

static void print_profile(double total)
{
    printf("%-22s %6s %9s %6s %9s\n", "op", "calls", "s", "%", "GFLOP/s");
    for (int i = 0; i < CONV_KINDS && conv_kind[i][0]; i++)
        printf("conv2d %-15s %6ld %9.3f %6.1f %9.1f\n", conv_kind[i], conv_calls[i], conv_time[i],
               100 * conv_time[i] / total, conv_flop[i] / conv_time[i] / 1e9);
    for (int op = 0; op < SANA_OP_COUNT; op++)
        if (op_calls[op] && op != SANA_OP_conv2d)
            printf("%-22s %6ld %9.3f %6.1f\n", sana_op_name((sana_op)op), op_calls[op], op_time[op], 100 * op_time[op] / total);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s VAE_DIR [h w [B [tiled [OUT.safetensors]]]]\n", argv[0]);
        return 2;
    }
    int64_t h = argc > 3 ? atoll(argv[2]) : 16, w = argc > 3 ? atoll(argv[3]) : 16;
    int64_t B = argc > 4 ? atoll(argv[4]) : 1;
    int tiled = argc > 5 ? atoi(argv[5]) : 0;
    const char *bname = getenv("DCAE_BACKEND"), *prof = getenv("DCAE_PROFILE");
    const sana_backend *be = bname ? sana_backend_find(bname) : sana_backend_default();
    if (!be) {
        fprintf(stderr, "dcae_bench: no backend %s\n", bname);
        return 2;
    }
    int profiling = prof && strcmp(prof, "0");
    if (profiling) be = profiled(be);
    double t0 = now();
    sana_dcae *m;
    if (sana_dcae_load(&m, argv[1], NULL, be) != SANA_OK) {
        fprintf(stderr, "dcae_bench: %s\n", sana_errmsg());
        return 1;
    }
    const sana_dcae_config *c = sana_dcae_get_config(m);
    int64_t H, W, nz = B * c->latent_channels * h * w;
    sana_dcae_decoded_size(m, h, w, &H, &W);
    printf("backend %s%s\n", be->name, profiling ? " (profiled: every op synchronised)" : "");
    printf("loaded %s in %.2f s (peak RSS %.0f MiB)\n", argv[1], now() - t0, peak_rss_mib());
    float *z = malloc((size_t)nz * sizeof(float)), *img = malloc((size_t)(B * c->in_channels * H * W) * sizeof(float));
    uint64_t s = 42;
    for (int64_t i = 0; i < nz; i++) { /* uniform in [-2, 2) from a 64-bit LCG */
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        z[i] = (float)((double)(s >> 11) / 9007199254740992.0 * 4.0 - 2.0);
    }
    t0 = now();
    sana_status st = sana_dcae_decode(m, img, z, B, h, w, tiled);
    double dt = now() - t0;
    if (st != SANA_OK) {
        fprintf(stderr, "dcae_bench: decode: %s\n", sana_errmsg());
        return 1;
    }
    double mn = img[0], mx = img[0];
    for (int64_t i = 0; i < B * c->in_channels * H * W; i++) {
        if (img[i] < mn) mn = img[i];
        if (img[i] > mx) mx = img[i];
    }
    printf("decode %lldx%lldx%lldx%lld -> %lldx%lldx%lldx%lld%s: %.2f s, peak RSS %.0f MiB, output in [%.3g, %.3g]\n",
           (long long)B, (long long)c->latent_channels, (long long)h, (long long)w, (long long)B,
           (long long)c->in_channels, (long long)H, (long long)W, tiled ? " (tiled)" : "", dt, peak_rss_mib(), mn, mx);
    if (profiling) print_profile(dt);
    int rc = 0;
    if (argc > 6) {
        sana_st_write_tensor t[2] = {
            {"z", SANA_F32, 4, {B, c->latent_channels, h, w}, z},
            {"img", SANA_F32, 4, {B, c->in_channels, H, W}, img},
        };
        if (sana_st_write(argv[6], t, 2, NULL, 0) != SANA_OK) {
            fprintf(stderr, "dcae_bench: %s\n", sana_errmsg());
            rc = 1;
        }
    }
    free(z);
    free(img);
    sana_dcae_free(m);
    return rc;
}
