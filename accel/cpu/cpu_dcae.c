/* accel/cpu/cpu_dcae.c -- the cpu backend's kernels of the dcae ops (src/backend/ops/dcae.def).
 *
 *   rms_norm_2d        pixels in blocks of DCAE_PIX (the channel walk stays in L2), in parallel
 *   ms_linear_attn     fused: heads in parallel, ReLU folded into the copies, the two products by
 *                      single-threaded sgemm per head, the division folded into the output pass
 *   pixel_shuffle, upsample_nearest, dcae_shortcut_up
 *                      whole rows at a time without a division per element, in parallel
 * The data moves are bit-exact with ref. SANA_CPU_FUSION=0 (cpu_ctx.fusion = 0) runs ref's
 * unfused ms_linear_attn instead. The other dcae ops (batch_norm_2d, gelu_erf, mish, the down
 * path's shuffles and shortcut: not in SANA's decoder) run ref's.
 */
#include "config.h"
#include "accel/cpu/cpu.h"
#include "ref.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Loops over fewer floats than this run on one thread (an OpenMP region costs a few us). */
#define DCAE_OMP_MIN (1 << 15)
/* Pixels per block of rms_norm_2d: DCAE_PIX * C floats are read twice (1024 channels: 256 KiB). */
#define DCAE_PIX 64

/* ------------------------------------------------------------ rms_norm_2d */

/* Pixels [p0, p0 + n) of one image x [C, HW]: y = x / sqrt(mean_c x^2 + eps) * w + b. */
static void rms2d_block(float *y, const float *x, const float *w, const float *b, int64_t C, int64_t HW, int64_t p0,
                        int64_t n, float eps)
{
    double ss[DCAE_PIX];
    float inv[DCAE_PIX];
    for (int64_t p = 0; p < n; p++) ss[p] = 0.0;
    for (int64_t c = 0; c < C; c++) {
        const float *xc = x + c * HW + p0;
#pragma omp simd
        for (int64_t p = 0; p < n; p++) ss[p] += (double)xc[p] * xc[p];
    }
    for (int64_t p = 0; p < n; p++) inv[p] = (float)(1.0 / sqrt(ss[p] / (double)C + (double)eps));
    for (int64_t c = 0; c < C; c++) {
        const float *xc = x + c * HW + p0;
        float *yc = y + c * HW + p0, wc = w ? w[c] : 1.0f, bc = b ? b[c] : 0.0f;
        if (w) {
#pragma omp simd
            for (int64_t p = 0; p < n; p++) yc[p] = xc[p] * inv[p] * wc + bc;
        } else {
#pragma omp simd
            for (int64_t p = 0; p < n; p++) yc[p] = xc[p] * inv[p] + bc;
        }
    }
}

static void cpu_rms_norm_2d(void *ctx, float *y, const float *x, const sana_wt *w, const sana_wt *b, int64_t B,
                            int64_t C, int64_t HW, float eps)
{
    float *wf = sana_wt_vec_f32(w, C), *bf = sana_wt_vec_f32(b, C);
    if ((w && !wf) || (b && !bf)) {
        cpu_fail(ctx, SANA_ERR_NOMEM);
    } else {
        int64_t nblk = (HW + DCAE_PIX - 1) / DCAE_PIX;
#pragma omp parallel for if (B * C * HW >= DCAE_OMP_MIN)
        for (int64_t t = 0; t < B * nblk; t++) {
            int64_t bi = t / nblk, p0 = t % nblk * DCAE_PIX, n = HW - p0 < DCAE_PIX ? HW - p0 : DCAE_PIX;
            rms2d_block(y + bi * C * HW, x + bi * C * HW, wf, bf, C, HW, p0, n, eps);
        }
    }
    free(wf);
    free(bf);
}

/* ------------------------------------------------------------ ms_linear_attn (fused) */

/*
 * One head (ref_ms_linear_attn's math): q, k, v: [d, N] rows of the head in qkv (stride N).
 * kr = relu(k), ks[j] = sum_n kr[j, n]; S = v kr^T [d, d]; qr = relu(q);
 * y[i, n] = (S qr)[i, n] / (sum_j ks[j] qr[j, n] + eps).  buf: 2 d N + d d + N floats.
 */
static void msla_head(float *y, const float *q, const float *k, const float *v, int64_t d, int64_t N, float eps,
                      float *buf)
{
    float *kr = buf, *qr = kr + d * N, *S = qr + d * N, *den = S + d * d;
    float ks[256 + 1];
    for (int64_t j = 0; j < d; j++) {
        float s = 0.0f;
        for (int64_t n = 0; n < N; n++) {
            float kv = k[j * N + n] > 0.0f ? k[j * N + n] : 0.0f, qv = q[j * N + n];
            kr[j * N + n] = kv;
            qr[j * N + n] = qv > 0.0f ? qv : 0.0f;
            s += kv;
        }
        ks[j] = s;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)d, (int)d, (int)N, 1.0f, v, (int)N, kr, (int)N, 0.0f, S,
                (int)d);
    for (int64_t n = 0; n < N; n++) den[n] = 0.0f;
    for (int64_t j = 0; j < d; j++)
        for (int64_t n = 0; n < N; n++) den[n] += ks[j] * qr[j * N + n];
    for (int64_t n = 0; n < N; n++) den[n] += eps;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)d, (int)N, (int)d, 1.0f, S, (int)d, qr, (int)N, 0.0f,
                y, (int)N);
    for (int64_t i = 0; i < d; i++)
        for (int64_t n = 0; n < N; n++) y[i * N + n] /= den[n];
}

static void cpu_ms_linear_attn(void *ctx, float *y, const float *qkv, int64_t B, int64_t heads, int64_t d, int64_t N,
                               float eps)
{
    cpu_ctx *c = ctx;
    if (!c->fusion || d > 256) {
        ref_ms_linear_attn(y, qkv, B, heads, d, N, eps);
        return;
    }
    int fail = 0;
#pragma omp parallel if (B * heads * d * N >= DCAE_OMP_MIN) reduction(| : fail)
    {
        float *buf = malloc((size_t)(2 * d * N + d * d + N) * sizeof(float));
        if (!buf) fail = 1;
#pragma omp for schedule(static)
        for (int64_t t = 0; t < B * heads; t++) {
            if (!buf) continue;
            const float *base = qkv + t * 3 * d * N;
            msla_head(y + t * d * N, base, base + d * N, base + 2 * d * N, d, N, eps, buf);
        }
        free(buf);
    }
    if (fail) cpu_fail(c, SANA_ERR_NOMEM);
}

/* ------------------------------------------------------------ resampling (bit-exact moves) */

/* y[b, c, i*r + u, j*r + v] = x[b, c*r*r + u*r + v, i, j] */
static void cpu_pixel_shuffle(void *ctx, float *y, const float *x, int64_t B, int64_t C, int64_t H, int64_t W,
                              int64_t r)
{
    (void)ctx;
    int64_t Ho = H * r, Wo = W * r;
#pragma omp parallel for if (B * C * Ho * Wo >= DCAE_OMP_MIN)
    for (int64_t row = 0; row < B * C * Ho; row++) {
        int64_t bc = row / Ho, oi = row % Ho, i = oi / r, u = oi % r;
        float *yr = y + row * Wo;
        for (int64_t v = 0; v < r; v++) {
            const float *xr = x + ((bc * r * r + u * r + v) * H + i) * W;
            for (int64_t j = 0; j < W; j++) yr[j * r + v] = xr[j];
        }
    }
}

/* y[b, c, i, j] = x[b, c, i / s, j / s]: each input row widened once, then copied s times. */
static void cpu_upsample_nearest(void *ctx, float *y, const float *x, int64_t B, int64_t C, int64_t H, int64_t W,
                                 int64_t s)
{
    (void)ctx;
    int64_t Wo = W * s;
#pragma omp parallel for if (B * C * H * s * Wo >= DCAE_OMP_MIN)
    for (int64_t row = 0; row < B * C * H; row++) {
        const float *xr = x + row * W;
        float *yr = y + row * s * Wo;
        for (int64_t j = 0; j < W; j++)
            for (int64_t v = 0; v < s; v++) yr[j * s + v] = xr[j];
        for (int64_t u = 1; u < s; u++) memcpy(yr + u * Wo, yr, (size_t)Wo * sizeof(float));
    }
}

/* y[b, o, i*r + u, j*r + v] += x[b, (o*r*r + u*r + v) / repeats, i, j] */
static void cpu_dcae_shortcut_up(void *ctx, float *y, const float *x, int64_t B, int64_t C, int64_t H, int64_t W,
                                 int64_t repeats, int64_t r)
{
    (void)ctx;
    int64_t Co = C * repeats / (r * r), Ho = H * r, Wo = W * r;
#pragma omp parallel for if (B * Co * Ho * Wo >= DCAE_OMP_MIN)
    for (int64_t row = 0; row < B * Co * Ho; row++) {
        int64_t b = row / (Co * Ho), o = row / Ho % Co, oi = row % Ho, i = oi / r, u = oi % r;
        float *yr = y + row * Wo;
        for (int64_t v = 0; v < r; v++) {
            const float *xr = x + ((b * C + (o * r * r + u * r + v) / repeats) * H + i) * W;
            for (int64_t j = 0; j < W; j++) yr[j * r + v] += xr[j];
        }
    }
}

void cpu_fill_dcae(sana_backend *be, cpu_ctx *c)
{
    CPU_SET(be, c, rms_norm_2d, cpu_rms_norm_2d);
    CPU_SET(be, c, ms_linear_attn, cpu_ms_linear_attn);
    CPU_SET(be, c, pixel_shuffle, cpu_pixel_shuffle);
    CPU_SET(be, c, upsample_nearest, cpu_upsample_nearest);
    CPU_SET(be, c, dcae_shortcut_up, cpu_dcae_shortcut_up);
}
