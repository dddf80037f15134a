/*
 * ref/gemma_norm.c -- the elementwise and per-token pieces of the Gemma-2 decoder:
 * scaled token embedding, (1 + w) RMSNorm with the residual add, GeGLU.
 *
 * Part of ref/, the reference operators: plain C11, one row at a time, libm's
 * tanhf and sqrtf (accel/cpu/cpu_gemma.c has the vectorised kernels).
 * Shapes and the transformers classes they mirror are in ref_gemma.h.
 */
#include "ref.h"

#include <math.h>
#include <stdlib.h>

/*
 * y[i, :] = table[ids[i], :] * scale      ids: [n]  table: [vocab, C]  y: [n, C]
 * transformers: Gemma2Model.embed_tokens, then `hidden_states * normalizer`.
 * Ids out of range are the caller's error (the model checks them before the call);
 * here they are clamped so that a bad id cannot read outside the table.
 */
void ref_gemma_embed(float *y, const int32_t *ids, const sana_wt *table,
                     int64_t n, int64_t C, float scale)
{
    int64_t vocab = table->shape[0];
#pragma omp parallel for if (n * C >= REF_OMP_MIN)
    for (int64_t i = 0; i < n; i++) {
        int64_t id = ids[i];
        if (id < 0) id = 0;
        if (id >= vocab) id = vocab - 1;
        float *yr = y + i * C;
        sana_wt_rows_f32(yr, table, id, 1);
        for (int64_t c = 0; c < C; c++)
            yr[c] = yr[c] * scale;
    }
}

/*
 * y = res + x * rsqrt(mean(x^2) + eps) * (1 + w)      x, res, y: [rows, C]  w: [C]
 * transformers: Gemma2RMSNorm.forward: the normalised x (float32) times (1.0 + weight.float()),
 * in that order; the decoder layer then adds the residual. The mean of squares is
 * accumulated in double (at least as accurate as torch's float32 reduction).
 */
void ref_gemma_rms_norm(float *y, const float *x, const sana_wt *w, const float *res,
                        int64_t rows, int64_t C, float eps)
{
    float *w1 = sana_wt_vec_f32(w, C);
    for (int64_t c = 0; c < C; c++)
        w1[c] = 1.0f + w1[c];
#pragma omp parallel for if (rows * C >= REF_OMP_MIN)
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * C;
        double ss = 0;
        for (int64_t c = 0; c < C; c++)
            ss += (double)xr[c] * (double)xr[c];
        float ms = (float)(ss / (double)C);
        float inv = 1.0f / sqrtf(ms + eps);
        float *yr = y + r * C;
        const float *rr = res ? res + r * C : NULL;
        for (int64_t c = 0; c < C; c++) {
            float v = (xr[c] * inv) * w1[c];
            yr[c] = rr ? rr[c] + v : v;
        }
    }
    free(w1);
}

/*
 * gate[i] = gelu_tanh(gate[i]) * up[i]
 * gelu_tanh(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))   (F.gelu(approximate="tanh"))
 * transformers: Gemma2MLP.forward, act_fn(gate_proj(x)) * up_proj(x).
 */
void ref_gemma_geglu(float *gate, const float *up, int64_t n)
{
    const float k = 0.7978845608028654f; /* sqrt(2/pi) */
#pragma omp parallel for if (n >= REF_OMP_MIN)
    for (int64_t i = 0; i < n; i++) {
        float x = gate[i];
        float g = 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x)));
        gate[i] = g * up[i];
    }
}
