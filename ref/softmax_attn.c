/*
 * ref/softmax_attn.c -- softmax attention over the caption tokens (cross-attention of
 * the Sana blocks) and the caption mask turned into an additive bias.
 *
 * Part of ref/, the reference operators: plain C11, CBLAS for the two products per head.
 */
#include "ref.h"

#include <cblas.h>
#include <math.h>

/* diffusers SanaTransformer2DModel.forward: `(1 - encoder_attention_mask) * -10000.0` */
#define SANA_MASK_BIAS -10000.0f

/* bias = (1 - mask) * -10000 */
void ref_attn_mask_bias(float *bias, const float *mask, int64_t n)
{
    for (int64_t i = 0; i < n; i++) bias[i] = (1.0f - mask[i]) * SANA_MASK_BIAS;
}

int64_t ref_softmax_attn_work(int64_t N, int64_t L) { return N * L; }

/*
 * Per batch b, head h: P = softmax(q_h k_h^T / sqrt(d) + bias[b]) (rows over L), y_h = P v_h.
 * Every key is scored, masked ones included (their weight underflows to 0); accel/cpu skips them.
 * q, y: [B, N, heads*d]  k, v: [B, L, heads*d]  bias: [B, L] or NULL  work: [N, L]
 */
void ref_softmax_attn(float *y, float *work, const float *q, const float *k, const float *v,
                      const float *bias, int64_t B, int64_t N, int64_t L, int64_t heads, int64_t d)
{
    const int64_t C = heads * d;
    const float scale = (float)(1.0 / sqrt((double)d)); /* scaled_dot_product_attention default */
    float *P = work;
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < heads; h++) {
            const float *qh = q + b * N * C + h * d, *kh = k + b * L * C + h * d, *vh = v + b * L * C + h * d;
            float *yh = y + b * N * C + h * d;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)L, (int)d,
                        scale, qh, (int)C, kh, (int)C, 0.0f, P, (int)L);
#pragma omp parallel for if (N * L >= REF_OMP_MIN)
            for (int64_t n = 0; n < N; n++) {
                float *p = P + n * L, mx = -INFINITY;
                for (int64_t l = 0; l < L; l++) {
                    if (bias) p[l] += bias[b * L + l];
                    if (p[l] > mx) mx = p[l];
                }
                double sum = 0;
                for (int64_t l = 0; l < L; l++) {
                    const float e = p[l] - mx;
                    p[l] = expf(e);
                    sum += p[l];
                }
                const float inv = (float)(1.0 / sum);
                for (int64_t l = 0; l < L; l++) p[l] *= inv;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, (int)d, (int)L,
                        1.0f, P, (int)L, vh, (int)C, 0.0f, yh, (int)C);
        }
}
