/*
 * ref/gemma_attn.c -- rotary position embedding and the causal grouped-query
 * attention of Gemma-2 (soft-capped logits, sliding window, key padding mask).
 *
 * Part of ref/, the reference operators: plain C11, CBLAS for the two products
 * of each head (scores = Q K^T, out = P V), softmax one row at a time. Each head
 * computes its whole [nq, nk] score matrix, masked entries included, and reads
 * its kv head in place. The tuned kernel (accel/cpu/cpu_gemma.c) blocks the
 * queries and skips what the masks remove; this one is the oracle it is tested against.
 * Shapes and the transformers classes they mirror are in ref_gemma.h.
 */
#include "ref.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/*
 * Rotary embedding in place on x: [n, H, D] at positions pos0 .. pos0+n-1.
 * inv_freq is computed in float32 the way transformers' default rope does it,
 * 1 / theta^(float(2i) / D); the angle pos * inv_freq is one float32 product
 * (transformers forms it as a [D/2, 1] x [1, n] matmul), and cos/sin are taken
 * of that float32 angle. Dimension i pairs with i + D/2 (rotate_half).
 * transformers: Gemma2RotaryEmbedding.forward + apply_rotary_pos_emb.
 */
void ref_gemma_rope(float *x, int64_t n, int64_t H, int64_t D, int64_t pos0, float theta)
{
    int64_t half = D / 2;
    float *inv_freq = malloc((size_t)half * sizeof(float));
    for (int64_t i = 0; i < half; i++)
        inv_freq[i] = 1.0f / powf(theta, (float)(2 * i) / (float)D);
#pragma omp parallel for if (n * H * D >= REF_OMP_MIN)
    for (int64_t t = 0; t < n; t++) {
        float pos = (float)(pos0 + t);
        for (int64_t i = 0; i < half; i++) {
            float a = pos * inv_freq[i];
            float c = cosf(a), s = sinf(a);
            for (int64_t h = 0; h < H; h++) {
                float *xh = x + (t * H + h) * D;
                float x1 = xh[i], x2 = xh[i + half];
                xh[i] = x1 * c - x2 * s;
                xh[i + half] = x2 * c + x1 * s;
            }
        }
    }
    free(inv_freq);
}

/*
 * One head at a time:
 *   S = (Q_h K_g^T) * scale         Q_h: [nq, D] (row stride Hq*D), K_g: [nk, D] (row stride Hkv*D)
 *   S = softcap * tanh(S / softcap)  when softcap > 0 (eager_attention_forward order:
 *                                    product, * scaling, / cap, tanh, * cap)
 *   P = softmax over the allowed keys of each row (others get weight 0, as exp of
 *       finfo.min or -inf does in torch); a row with no allowed key follows eager_rows
 *   O_h = P V_g                      written into out[:, h, :]
 * transformers: eager_attention_forward / sdpa_attention_forward of Gemma2Attention.
 */
void ref_gemma_attention(float *out, const float *q, const float *k, const float *v,
                         const int32_t *key_mask, int64_t nq, int64_t q0, int64_t nk,
                         int64_t Hq, int64_t Hkv, int64_t D,
                         float scale, float softcap, int64_t window, int eager_rows)
{
    if (nq <= 0)
        return;
    int64_t group = Hq / Hkv;
    float *S = malloc((size_t)(nq * nk) * sizeof(float));
    for (int64_t h = 0; h < Hq; h++) {
        int64_t g = h / group;
        const float *qh = q + h * D;
        const float *kg = k + g * D;
        const float *vg = v + g * D;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nq, (int)nk, (int)D,
                    1.0f, qh, (int)(Hq * D), kg, (int)(Hkv * D), 0.0f, S, (int)nk);
#pragma omp parallel for if (nq * nk >= REF_OMP_MIN)
        for (int64_t i = 0; i < nq; i++) {
            float *s = S + i * nk;
            int64_t p = q0 + i;
            int64_t lo = window > 0 && p - window + 1 > 0 ? p - window + 1 : 0;
            int64_t hi = p < nk - 1 ? p : nk - 1; /* allowed keys lie in [lo, hi] */
            float mx = -INFINITY;
            for (int64_t j = 0; j < nk; j++) {
                int ok = j >= lo && j <= hi && (!key_mask || key_mask[j]);
                if (!ok) {
                    s[j] = -INFINITY;
                    continue;
                }
                float x = s[j] * scale;
                if (softcap > 0.0f)
                    x = tanhf(x / softcap) * softcap;
                s[j] = x;
                if (x > mx) mx = x;
            }
            if (mx == -INFINITY) {
                /* No allowed key: eager -> every logit is finfo.min, a uniform row over all
                 * nk keys; sdpa -> torch returns zeros. */
                float u = eager_rows ? 1.0f / (float)nk : 0.0f;
                for (int64_t j = 0; j < nk; j++)
                    s[j] = u;
                continue;
            }
            float sum = 0.0f;
            for (int64_t j = 0; j < nk; j++) {
                float e = s[j] == -INFINITY ? 0.0f : expf(s[j] - mx);
                s[j] = e;
                sum += e;
            }
            for (int64_t j = 0; j < nk; j++)
                s[j] = s[j] / sum;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nq, (int)D, (int)nk,
                    1.0f, S, (int)nk, vg, (int)(Hkv * D), 0.0f, out + h * D, (int)(Hq * D));
    }
    free(S);
}
