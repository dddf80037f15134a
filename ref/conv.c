/*
 * ref/conv.c -- 2D convolution (torch nn.Conv2d, zero padding, dilation 1).
 *
 * Part of ref/, the reference operators: the plain oracle. Dense and grouped
 * convolutions are im2col + sgemm over bands of output rows (so the column
 * buffer stays small at any image size); depthwise convolutions are direct
 * loops. The tuned kernels (oneDNN, Winograd, vectorised depthwise) are the
 * cpu backend's, accel/cpu/cpu_conv.c.
 */
#include "ref.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

/* Upper bound on the im2col buffer, in floats (32 MiB). */
#define IM2COL_MAX_FLOATS (8 << 20)

/*
 * col[(c*kh + u)*kw + v, (i - i0)*Wo + j] = x[c, i*s - p + u, j*s - p + v] (0 outside)
 * for output rows i in [i0, i1).  x: [C, H, W] (one image, C channels of a group)
 */
static void im2col(float *col, const float *x, int64_t C, int64_t H, int64_t W,
                   int64_t kh, int64_t kw, int64_t s, int64_t p,
                   int64_t Wo, int64_t i0, int64_t i1)
{
    int64_t ncol = (i1 - i0) * Wo;
#pragma omp parallel for collapse(2)
    for (int64_t c = 0; c < C; c++)
        for (int64_t uv = 0; uv < kh * kw; uv++) {
            int64_t u = uv / kw, v = uv % kw;
            float *dst = col + (c * kh * kw + uv) * ncol;
            const float *xc = x + c * H * W;
            for (int64_t i = i0; i < i1; i++) {
                int64_t hi = i * s - p + u;
                float *d = dst + (i - i0) * Wo;
                if (hi < 0 || hi >= H) {
                    memset(d, 0, (size_t)Wo * sizeof(float));
                    continue;
                }
                for (int64_t j = 0; j < Wo; j++) {
                    int64_t wi = j * s - p + v;
                    d[j] = (wi >= 0 && wi < W) ? xc[hi * W + wi] : 0.0f;
                }
            }
        }
}

/*
 * Depthwise: y[b, c, i, j] = bias[c] + sum_{u,v} w[c, 0, u, v] x[b, c, i*s-p+u, j*s-p+v]
 * w: [C, 1, kh, kw] float32
 */
static void conv_depthwise(float *y, const float *x, const float *w, const float *bias,
                           int64_t B, int64_t C, int64_t H, int64_t W, int64_t kh, int64_t kw,
                           int64_t s, int64_t p, int64_t Ho, int64_t Wo)
{
#pragma omp parallel for collapse(2)
    for (int64_t b = 0; b < B; b++)
        for (int64_t c = 0; c < C; c++) {
            const float *xc = x + (b * C + c) * H * W;
            const float *wc = w + c * kh * kw;
            float *yc = y + (b * C + c) * Ho * Wo;
            for (int64_t i = 0; i < Ho; i++)
                for (int64_t j = 0; j < Wo; j++) {
                    float acc = 0.0f;
                    for (int64_t u = 0; u < kh; u++) {
                        int64_t hi = i * s - p + u;
                        if (hi < 0 || hi >= H) continue;
                        for (int64_t v = 0; v < kw; v++) {
                            int64_t wi = j * s - p + v;
                            if (wi < 0 || wi >= W) continue;
                            acc += wc[u * kw + v] * xc[hi * W + wi];
                        }
                    }
                    yc[i * Wo + j] = acc + (bias ? bias[c] : 0.0f);
                }
        }
}

/*
 * 2D convolution.
 *   y[b, o, i, j] = bias[o] + sum_{c in group of o, u, v} w[o, c - g*Cin/groups, u, v] x[b, c, i*s-p+u, j*s-p+v]
 * x: [B, Cin, H, W]  w: [Cout, Cin/groups, kh, kw]  bias: [Cout] or NULL
 * y: [B, Cout, Ho, Wo] with Ho = (H + 2p - kh)/s + 1, Wo = (W + 2p - kw)/s + 1
 * torch: nn.Conv2d(Cin, Cout, (kh, kw), stride=s, padding=p, groups=groups)
 */
void ref_conv2d(float *y, const float *x, const sana_wt *w, const sana_wt *bias,
                int64_t B, int64_t Cin, int64_t H, int64_t W,
                int64_t Cout, int64_t kh, int64_t kw,
                int64_t stride, int64_t pad, int64_t groups)
{
    int64_t Ho = (H + 2 * pad - kh) / stride + 1, Wo = (W + 2 * pad - kw) / stride + 1;
    if (Ho <= 0 || Wo <= 0 || B <= 0 || Cout <= 0)
        return;
    float *wown = NULL;
    const float *wf = sana_wt_f32_view(w, &wown);
    float *bf = sana_wt_vec_f32(bias, Cout);
    if (groups == Cin && groups == Cout && groups > 1) {
        conv_depthwise(y, x, wf, bf, B, Cin, H, W, kh, kw, stride, pad, Ho, Wo);
        free(wown);
        free(bf);
        return;
    }
    int64_t cig = Cin / groups, cog = Cout / groups, kdim = cig * kh * kw, HWo = Ho * Wo;
    int direct = kh == 1 && kw == 1 && stride == 1 && pad == 0; /* 1x1: x itself is the column matrix */
    int64_t band = IM2COL_MAX_FLOATS / (kdim * Wo > 0 ? kdim * Wo : 1);
    if (band < 1) band = 1;
    if (band > Ho) band = Ho;
    float *col = direct ? NULL : malloc((size_t)(kdim * band * Wo) * sizeof(float));
    for (int64_t b = 0; b < B; b++)
        for (int64_t g = 0; g < groups; g++) {
            const float *xg = x + (b * Cin + g * cig) * H * W;
            float *yg = y + (b * Cout + g * cog) * HWo;
            const float *wg = wf + g * cog * kdim;
            for (int64_t o = 0; o < cog; o++) {
                float v = bf ? bf[g * cog + o] : 0.0f;
                for (int64_t k = 0; k < HWo; k++) yg[o * HWo + k] = v;
            }
            if (direct) {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)cog, (int)HWo, (int)kdim,
                            1.0f, wg, (int)kdim, xg, (int)HWo, 1.0f, yg, (int)HWo);
                continue;
            }
            for (int64_t i0 = 0; i0 < Ho; i0 += band) {
                int64_t i1 = i0 + band < Ho ? i0 + band : Ho, ncol = (i1 - i0) * Wo;
                im2col(col, xg, cig, H, W, kh, kw, stride, pad, Wo, i0, i1);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)cog, (int)ncol, (int)kdim,
                            1.0f, wg, (int)kdim, col, (int)ncol, 1.0f, yg + i0 * Wo, (int)HWo);
            }
        }
    free(col);
    free(wown);
    free(bf);
}
