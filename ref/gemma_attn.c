/*
 * ref/gemma_attn.c -- rotary position embedding and the causal grouped-query
 * attention of Gemma-2 (soft-capped logits, sliding window, key padding mask).
 *
 * Part of ref/, the reference operators: plain C11, one query row at a time (its
 * scores over the keys it may see, their softmax, the weighted sum of the values),
 * each head reading its kv head in place. A row's arithmetic is fixed by that row
 * and its keys alone, so the bits of a position do not depend on what else the
 * call computes (the contract in ref_gemma.h). The tuned kernel
 * (accel/cpu/cpu_gemma.c) vectorises the same loops; this one is the oracle it is tested against.
 * Shapes and the transformers classes they mirror are in ref_gemma.h.
 */
#include "ref.h"

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
 * Row by row: for query row i (position p = q0 + i) and head h (kv head g = h / (Hq/Hkv)),
 * over exactly the keys row i may see, lo <= j <= hi with key_mask[j] != 0
 * (lo = max(0, p - window + 1) when window > 0, else 0; hi = p):
 *   s[j] = dot(q[i, h, :], k[j, g, :]) * scale     dot: gemma_dot, a fixed order over D
 *   s[j] = softcap * tanh(s[j] / softcap)          when softcap > 0 (eager_attention_forward
 *                                                  order: product, * scaling, / cap, tanh, * cap)
 *   e[j] = exp(s[j] - max s), sum = e[lo] + ... + e[hi] (left to right)
 *   out[i, h, d] = sum over j ascending of (e[j] / sum) * v[j, g, d]
 * Keys a row cannot see are never touched (masked keys weigh 0, as exp of finfo.min or -inf
 * does in torch), so a row's bits are those of the same row in any other call. A row with no
 * allowed key follows eager_rows: out = sum over all nk keys, ascending, of (1/nk) v[j].
 * transformers: eager_attention_forward / sdpa_attention_forward of Gemma2Attention.
 */

/* q . k over D in a fixed order: 8 partial sums (element d goes to sum d % 8, in ascending d),
 * added pairwise at the end. The order depends on D alone, so a score has the same bits in any
 * call; 8 sums rather than one so that the loop is not one long chain of dependent additions
 * (the compiler vectorises it). */
static float gemma_dot(const float *restrict q, const float *restrict k, int64_t D)
{
    float acc[8] = {0};
    int64_t d = 0;
    for (; d + 8 <= D; d += 8)
        for (int l = 0; l < 8; l++)
            acc[l] += q[d + l] * k[d + l];
    for (int l = 0; d < D; d++, l++)
        acc[l] += q[d] * k[d];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* o[d] += p * v[d] for d < D (each o[d] its own sum: any vector width gives the same bits). */
static void gemma_axpy(float *restrict o, float p, const float *restrict v, int64_t D)
{
    int64_t d = 0;
    for (; d + 8 <= D; d += 8) /* in blocks of 8, which the compiler vectorises */
        for (int l = 0; l < 8; l++)
            o[d + l] += p * v[d + l];
    for (; d < D; d++)
        o[d] += p * v[d];
}

/* One (query row, head): s: scratch of hi - lo + 1 floats; kg, vg: the kv head's keys/values at
 * row 0 (row stride ld); o: [D]. */
static void attn_row(float *o, const float *qi, const float *kg, const float *vg, int64_t ld,
                     const int32_t *key_mask, int64_t lo, int64_t hi, int64_t nk, int64_t D,
                     float scale, float softcap, int eager_rows, float *s)
{
    float mx = -INFINITY;
    for (int64_t j = lo; j <= hi; j++) {
        float x = -INFINITY;
        if (!key_mask || key_mask[j]) {
            x = gemma_dot(qi, kg + j * ld, D) * scale;
            if (softcap > 0.0f)
                x = tanhf(x / softcap) * softcap;
        }
        s[j - lo] = x;
        if (x > mx) mx = x;
    }
    memset(o, 0, (size_t)D * sizeof(float));
    if (mx == -INFINITY) {
        /* No allowed key: eager -> every logit is finfo.min, a uniform row over all nk keys;
         * sdpa -> torch returns zeros. */
        if (!eager_rows)
            return;
        float u = 1.0f / (float)nk;
        for (int64_t j = 0; j < nk; j++)
            gemma_axpy(o, u, vg + j * ld, D);
        return;
    }
    float sum = 0.0f;
    for (int64_t j = lo; j <= hi; j++) {
        float e = s[j - lo] == -INFINITY ? 0.0f : expf(s[j - lo] - mx);
        s[j - lo] = e;
        sum += e;
    }
    for (int64_t j = lo; j <= hi; j++) {
        float p = s[j - lo] / sum;
        if (p == 0.0f)
            continue; /* a masked key (or one whose weight underflows): adds exactly nothing */
        gemma_axpy(o, p, vg + j * ld, D);
    }
}

void ref_gemma_attention(float *out, const float *q, const float *k, const float *v,
                         const int32_t *key_mask, int64_t nq, int64_t q0, int64_t nk,
                         int64_t Hq, int64_t Hkv, int64_t D,
                         float scale, float softcap, int64_t window, int eager_rows)
{
    if (nq <= 0)
        return;
    int64_t group = Hq / Hkv;
    float *S = malloc((size_t)nq * (size_t)nk * sizeof(float)); /* row i's scores at S + i * nk */
    /* Each (row, head) is written by one iteration: the bits do not depend on the threads. */
#pragma omp parallel for schedule(dynamic, 1) if (nq * nk * Hq * D >= REF_OMP_MIN)
    for (int64_t i = nq - 1; i >= 0; i--) {
        int64_t p = q0 + i;
        int64_t lo = window > 0 && p - window + 1 > 0 ? p - window + 1 : 0;
        int64_t hi = p < nk - 1 ? p : nk - 1; /* row i may see keys lo .. hi */
        for (int64_t h = 0; h < Hq; h++) {
            int64_t g = h / group;
            attn_row(out + (i * Hq + h) * D, q + (i * Hq + h) * D, k + g * D, v + g * D, Hkv * D,
                     key_mask, lo, hi, nk, D, scale, softcap, eager_rows, S + i * nk);
        }
    }
    free(S);
}
