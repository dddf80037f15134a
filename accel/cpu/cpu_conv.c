/* accel/cpu/cpu_conv.c -- the cpu backend's kernels of conv2d (src/backend/ops/core.def).
 *
 * By kind of convolution, at the DC-AE's shapes (doc/dcae.md has the measurements):
 *   dense kxk (k > 1 or stride > 1)  oneDNN when built (cpu_dnnl.c: direct, or Winograd on
 *                                    AVX-512 at >= 128x128 outputs); else ref's im2col + sgemm
 *   dense 1x1, stride 1              one sgemm per image: y = W x (x is already the column matrix)
 *   depthwise (groups = Cin = Cout)  direct loops over whole rows (no bounds test per tap),
 *                                    parallel over channels
 *   grouped (other groups)           one single-threaded sgemm per (image, group), in parallel
 *                                    (the grouped 1x1 proj_out of the multiscale attention: 96
 *                                    groups of 32 channels)
 * Weights are read as float32 (as prepare_weight leaves them; 16-bit ones are converted per call).
 */
#include "config.h"
#include "accel/cpu/cpu.h"
#include "accel/cpu/cpu_conv.h"
#include "ref.h"

#include <cblas.h>
#include <stdlib.h>

/* Loops over fewer output floats than this run on one thread (an OpenMP region costs a few us). */
#define CONV_OMP_MIN (1 << 15)

#ifndef SANA_HAVE_DNNL
int cpu_dnnl_conv2d(float *y, const float *x, const float *w, const float *bias, int64_t B, int64_t Cin, int64_t H,
                    int64_t W, int64_t Cout, int64_t kh, int64_t kw, int64_t stride, int64_t pad)
{
    (void)y, (void)x, (void)w, (void)bias, (void)B, (void)Cin, (void)H, (void)W, (void)Cout, (void)kh, (void)kw;
    (void)stride, (void)pad;
    return 0; /* built without oneDNN: the caller runs im2col + sgemm */
}
#endif

/* y[b] = W x[b] + bias: x [B, Cin, HW], W [Cout, Cin], y [B, Cout, HW] (y filled with the bias,
 * then sgemm with beta = 1, as ref: measured faster than a bias pass after the product). */
static void fill_bias(float *y, const float *bias, int64_t C, int64_t HW)
{
    for (int64_t o = 0; o < C; o++)
        for (int64_t p = 0; p < HW; p++) y[o * HW + p] = bias ? bias[o] : 0.0f;
}

static void conv_1x1(float *y, const float *x, const float *w, const float *bias, int64_t B, int64_t Cin,
                     int64_t HW, int64_t Cout)
{
    for (int64_t b = 0; b < B; b++) {
        float *yb = y + b * Cout * HW;
        if (bias) fill_bias(yb, bias, Cout, HW);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)Cout, (int)HW, (int)Cin, 1.0f, w, (int)Cin,
                    x + b * Cin * HW, (int)HW, bias ? 1.0f : 0.0f, yb, (int)HW);
    }
}

/* One output row of a depthwise convolution: yr[j] = bias + sum_{u,v} w[u, v] x[i*s - p + u, j*s - p + v]. */
static void dw_row(float *yr, const float *xc, const float *wc, float bias, int64_t H, int64_t W, int64_t kh,
                   int64_t kw, int64_t s, int64_t p, int64_t i, int64_t Wo)
{
    for (int64_t j = 0; j < Wo; j++) yr[j] = bias;
    for (int64_t u = 0; u < kh; u++) {
        int64_t hi = i * s - p + u;
        if (hi < 0 || hi >= H) continue;
        const float *xr = xc + hi * W;
        for (int64_t v = 0; v < kw; v++) {
            /* the j whose input column j*s - p + v lies in [0, W) */
            int64_t j0 = p - v > 0 ? (p - v + s - 1) / s : 0, j1 = (W - 1 + p - v) / s + 1;
            if (j1 > Wo) j1 = Wo;
            float wv = wc[u * kw + v];
            if (s == 1) {
                const float *xs = xr - p + v;
#pragma omp simd
                for (int64_t j = j0; j < j1; j++) yr[j] += wv * xs[j];
            } else {
                for (int64_t j = j0; j < j1; j++) yr[j] += wv * xr[j * s - p + v];
            }
        }
    }
}

static void conv_depthwise(float *y, const float *x, const float *w, const float *bias, int64_t B, int64_t C,
                           int64_t H, int64_t W, int64_t kh, int64_t kw, int64_t s, int64_t p, int64_t Ho, int64_t Wo)
{
#pragma omp parallel for if (B * C * Ho * Wo >= CONV_OMP_MIN)
    for (int64_t bc = 0; bc < B * C; bc++) {
        int64_t c = bc % C;
        for (int64_t i = 0; i < Ho; i++)
            dw_row(y + (bc * Ho + i) * Wo, x + bc * H * W, w + c * kh * kw, bias ? bias[c] : 0.0f, H, W, kh, kw, s, p,
                   i, Wo);
    }
}

/* Grouped 1x1 (stride 1): per (image, group) y_g = W_g x_g + bias_g, the groups in parallel. */
static void conv_grouped_1x1(float *y, const float *x, const float *w, const float *bias, int64_t B, int64_t Cin,
                             int64_t HW, int64_t Cout, int64_t groups)
{
    int64_t cig = Cin / groups, cog = Cout / groups;
#pragma omp parallel for if (B * Cout * HW >= CONV_OMP_MIN)
    for (int64_t bg = 0; bg < B * groups; bg++) {
        int64_t b = bg / groups, g = bg % groups;
        float *yg = y + (b * Cout + g * cog) * HW;
        if (bias) fill_bias(yg, bias + g * cog, cog, HW);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)cog, (int)HW, (int)cig, 1.0f, w + g * cog * cig,
                    (int)cig, x + (b * Cin + g * cig) * HW, (int)HW, bias ? 1.0f : 0.0f, yg, (int)HW);
    }
}

static void cpu_conv2d(void *ctx, float *y, const float *x, const sana_wt *w, const sana_wt *bias, int64_t B,
                       int64_t Cin, int64_t H, int64_t W, int64_t Cout, int64_t kh, int64_t kw, int64_t stride,
                       int64_t pad, int64_t groups)
{
    int64_t Ho = (H + 2 * pad - kh) / stride + 1, Wo = (W + 2 * pad - kw) / stride + 1;
    if (Ho <= 0 || Wo <= 0 || B <= 0 || Cout <= 0) return;
    int dense_k = groups == 1 && (kh * kw > 1 || stride > 1 || pad > 0);
    int one = kh == 1 && kw == 1 && stride == 1 && pad == 0;
    int dw = groups == Cin && groups == Cout && groups > 1;
    if (!dense_k && !one && !dw) { /* grouped kxk: not in the models, ref's per-group im2col */
        ref_conv2d(y, x, w, bias, B, Cin, H, W, Cout, kh, kw, stride, pad, groups);
        return;
    }
    float *wown = NULL, *bf = NULL;
    const float *wf = sana_wt_f32_view(w, &wown);
    if (bias && !(bf = sana_wt_vec_f32(bias, Cout))) wf = NULL;
    if (!wf) {
        cpu_fail(ctx, SANA_ERR_NOMEM);
    } else if (dense_k) {
        int r = cpu_dnnl_conv2d(y, x, wf, bf, B, Cin, H, W, Cout, kh, kw, stride, pad);
        if (r < 0) cpu_fail(ctx, SANA_ERR_NOMEM);
        if (r == 0) ref_conv2d(y, x, w, bias, B, Cin, H, W, Cout, kh, kw, stride, pad, groups);
    } else if (dw) {
        conv_depthwise(y, x, wf, bf, B, Cin, H, W, kh, kw, stride, pad, Ho, Wo);
    } else if (groups == 1) {
        conv_1x1(y, x, wf, bf, B, Cin, H * W, Cout);
    } else {
        conv_grouped_1x1(y, x, wf, bf, B, Cin, H * W, Cout, groups);
    }
    free(wown);
    free(bf);
}

void cpu_fill_conv(sana_backend *be, cpu_ctx *c)
{
    CPU_SET(be, c, conv2d, cpu_conv2d);
}
