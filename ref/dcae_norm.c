/*
 * ref/dcae_norm.c -- normalisations over the channel axis of [B, C, H, W] images.
 *
 * Part of ref/, the reference operators. The DC-AE normalises images over their
 * channels, at every pixel: diffusers moves the channel axis last and applies a
 * RMSNorm, or applies nn.BatchNorm2d (inference mode) directly. Here we walk the
 * channel axis with stride HW instead of transposing. Statistics are accumulated
 * in double and applied in float32.
 */
#include "ref.h"

#include <math.h>
#include <stdlib.h>

/*
 * y[b, c, p] = x[b, c, p] / sqrt(mean_c x[b, :, p]^2 + eps) * w[c] + b[c]
 * x, y: [B, C, HW]   w, b: [C] or NULL
 * diffusers: normalization.RMSNorm over channels (x.movedim(1, -1) ... .movedim(-1, 1)):
 * variance in float32, hidden * rsqrt(variance + eps), then * weight, + bias.
 */
void ref_rms_norm_2d(float *y, const float *x, const sana_wt *w, const sana_wt *b,
                     int64_t B, int64_t C, int64_t HW, float eps)
{
    float *wf = sana_wt_vec_f32(w, C), *bf = sana_wt_vec_f32(b, C);
#pragma omp parallel for collapse(2)
    for (int64_t bi = 0; bi < B; bi++)
        for (int64_t p = 0; p < HW; p++) {
            const float *xp = x + bi * C * HW + p;
            float *yp = y + bi * C * HW + p;
            double ss = 0;
            for (int64_t c = 0; c < C; c++) ss += (double)xp[c * HW] * xp[c * HW];
            float inv = (float)(1.0 / sqrt(ss / (double)C + (double)eps));
            for (int64_t c = 0; c < C; c++) {
                float v = xp[c * HW] * inv;
                if (wf) v *= wf[c];
                if (bf) v += bf[c];
                yp[c * HW] = v;
            }
        }
    free(wf);
    free(bf);
}

/*
 * BatchNorm2d, inference:  a[c] = w[c] / sqrt(var[c] + eps),  y = x * a[c] + (b[c] - mean[c] a[c])
 * x, y: [B, C, HW]   mean, var: [C]   w, b: [C] or NULL
 * torch: nn.BatchNorm2d(C, eps).eval() (running statistics; the CPU kernel precomputes the
 * per-channel scale and shift the same way).
 */
void ref_batch_norm_2d(float *y, const float *x, const sana_wt *mean, const sana_wt *var,
                       const sana_wt *w, const sana_wt *b, int64_t B, int64_t C, int64_t HW, float eps)
{
    float *mf = sana_wt_vec_f32(mean, C), *vf = sana_wt_vec_f32(var, C), *wf = sana_wt_vec_f32(w, C), *bf = sana_wt_vec_f32(b, C);
    float *scale = malloc((size_t)C * sizeof(float)), *shift = malloc((size_t)C * sizeof(float));
    for (int64_t c = 0; c < C; c++) {
        float inv = 1.0f / sqrtf(vf[c] + eps);
        scale[c] = wf ? wf[c] * inv : inv;
        shift[c] = (bf ? bf[c] : 0.0f) - mf[c] * scale[c];
    }
#pragma omp parallel for collapse(2)
    for (int64_t bi = 0; bi < B; bi++)
        for (int64_t c = 0; c < C; c++) {
            const float *xc = x + (bi * C + c) * HW;
            float *yc = y + (bi * C + c) * HW;
            for (int64_t p = 0; p < HW; p++) yc[p] = xc[p] * scale[c] + shift[c];
        }
    free(mf);
    free(vf);
    free(wf);
    free(bf);
    free(scale);
    free(shift);
}
