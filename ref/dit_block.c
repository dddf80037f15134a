/*
 * ref/dit_block.c -- the adaLN-single modulation of a Sana block and the small
 * elementwise pieces around it (gated residuals, sums, token <-> image transposes).
 *
 * Part of ref/, the reference operators: plain C11. The math of each function is in
 * ref/ref_dit.h above its declaration.
 */
#include "ref.h"

#include <math.h>
#include <stdlib.h>

/*
 * mod[b, k, :] = table[k, :] + temb[b, k, :]    (per_row: temb [B, nmod*C], the block's 6 vectors)
 * mod[b, k, :] = table[k, :] + temb[b, :]       (!per_row: temb [B, C], SanaModulatedNorm)
 */
void ref_dit_modulation(float *mod, const sana_wt *table, const float *temb, int64_t B, int64_t nmod,
                        int64_t C, int per_row)
{
    float *tab = sana_wt_vec_f32(table, nmod * C);
    if (!tab) return;
    for (int64_t b = 0; b < B; b++)
        for (int64_t k = 0; k < nmod; k++) {
            const float *t = per_row ? temb + (b * nmod + k) * C : temb + b * C;
            float *m = mod + (b * nmod + k) * C;
            for (int64_t c = 0; c < C; c++)
                m[c] = tab[k * C + c] + t[c];
        }
    free(tab);
}

/*
 * y = LayerNorm(x) * (1 + scale[b]) + shift[b] for every token of batch item b.
 * Statistics in double (like ref_layer_norm), the affine and the modulation in float32 in
 * diffusers' order: ((x - mean) * inv [* w + b]) * (1 + scale) + shift.
 */
void ref_modulated_layer_norm(float *y, const float *x, const sana_wt *ln_w, const sana_wt *ln_b,
                              const float *mod, int64_t B, int64_t N, int64_t C, int64_t nmod,
                              int64_t i_shift, int64_t i_scale, float eps)
{
    float *wf = sana_wt_vec_f32(ln_w, C), *bf = sana_wt_vec_f32(ln_b, C);
#pragma omp parallel for if (B * N * C >= REF_OMP_MIN)
    for (int64_t r = 0; r < B * N; r++) {
        const int64_t b = r / N;
        const float *shift = mod + (b * nmod + i_shift) * C, *scale = mod + (b * nmod + i_scale) * C;
        const float *xr = x + r * C;
        float *yr = y + r * C;
        double mean = 0, var = 0;
        for (int64_t c = 0; c < C; c++) mean += xr[c];
        mean /= (double)C;
        for (int64_t c = 0; c < C; c++) { double d = xr[c] - mean; var += d * d; }
        var /= (double)C;
        const float inv = (float)(1.0 / sqrt(var + (double)eps)), mf = (float)mean;
        for (int64_t c = 0; c < C; c++) {
            float v = (xr[c] - mf) * inv;
            if (wf) v *= wf[c];
            if (bf) v += bf[c];
            yr[c] = v * (1.0f + scale[c]) + shift[c];
        }
    }
    free(wf);
    free(bf);
}

/* x += gate[b] * r  (mod NULL: x += r) */
void ref_gated_residual(float *x, const float *r, const float *mod, int64_t B, int64_t N, int64_t C,
                        int64_t nmod, int64_t i_gate)
{
#pragma omp parallel for if (B * N * C >= REF_OMP_MIN)
    for (int64_t row = 0; row < B * N; row++) {
        const int64_t b = row / N;
        float *xr = x + row * C;
        const float *rr = r + row * C;
        if (mod) {
            const float *gate = mod + (b * nmod + i_gate) * C;
            for (int64_t c = 0; c < C; c++) xr[c] += gate[c] * rr[c];
        } else {
            for (int64_t c = 0; c < C; c++) xr[c] += rr[c];
        }
    }
}

/* y[b, c, r] = x[b, r, c] */
void ref_transpose_batched(float *y, const float *x, int64_t B, int64_t R, int64_t Cc)
{
    for (int64_t b = 0; b < B; b++)
        for (int64_t r = 0; r < R; r++)
            for (int64_t c = 0; c < Cc; c++)
                y[(b * Cc + c) * R + r] = x[(b * R + r) * Cc + c];
}
