/*
 * ref/norms.c -- normalisations over the last dimension.
 *
 * Part of ref/, the reference operators: plain C11, one row at a time.
 * Statistics are accumulated in double and applied in float32, which is at
 * least as accurate as PyTorch's float32 CPU kernels.
 */
#include "ref.h"

#include <math.h>
#include <stdlib.h>

/*
 * LayerNorm:  y = (x - mean) / sqrt(var + eps) * w + b, biased variance over C.
 * x, y: [rows, C]   w, b: [C] or NULL
 * torch: nn.LayerNorm(C, eps=eps, elementwise_affine=w != NULL)
 * (SANA uses elementwise_affine=False, eps=1e-6 in its blocks.)
 */
void ref_layer_norm(float *y, const float *x, const sana_wt *w, const sana_wt *b,
                    int64_t rows, int64_t C, float eps)
{
    float *wf = sana_wt_vec_f32(w, C), *bf = sana_wt_vec_f32(b, C);
#pragma omp parallel for if (rows * C >= REF_OMP_MIN)
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * C;
        float *yr = y + r * C;
        double mean = 0, var = 0;
        for (int64_t c = 0; c < C; c++) mean += xr[c];
        mean /= (double)C;
        for (int64_t c = 0; c < C; c++) { double d = xr[c] - mean; var += d * d; }
        var /= (double)C;
        float inv = (float)(1.0 / sqrt(var + (double)eps)), mf = (float)mean;
        for (int64_t c = 0; c < C; c++) {
            float v = (xr[c] - mf) * inv;
            if (wf) v *= wf[c];
            if (bf) v += bf[c];
            yr[c] = v;
        }
    }
    free(wf);
    free(bf);
}

/*
 * RMSNorm:  y = x / sqrt(mean(x^2) + eps) * w   (no weight: w = 1)
 * x, y: [rows, C]   w: [C] or NULL
 * diffusers: models.normalization.RMSNorm (variance in float32, rsqrt, then * weight).
 */
void ref_rms_norm(float *y, const float *x, const sana_wt *w,
                  int64_t rows, int64_t C, float eps)
{
    float *wf = sana_wt_vec_f32(w, C);
#pragma omp parallel for if (rows * C >= REF_OMP_MIN)
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * C;
        float *yr = y + r * C;
        double ss = 0;
        for (int64_t c = 0; c < C; c++) ss += (double)xr[c] * xr[c];
        float inv = (float)(1.0 / sqrt(ss / (double)C + (double)eps));
        for (int64_t c = 0; c < C; c++)
            yr[c] = wf ? (xr[c] * inv) * wf[c] : xr[c] * inv;
    }
    free(wf);
}
