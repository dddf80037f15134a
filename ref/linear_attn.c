/*
 * ref/linear_attn.c -- ReLU linear attention of the Sana blocks.
 *
 * Part of ref/, the reference operators: plain C11, CBLAS for the two products per head.
 *
 * diffusers (SanaLinearAttnProcessor2_0) pads v with a row of ones and computes
 * (v_pad k^T) q, then divides the first d rows by the last one. The padded row of
 * v_pad k^T is z = sum_n k[n, :], so the same numbers come from two products and a dot:
 *   S = v^T k (d x d), O = q S^T (N x d), den = q z, y = O / (den + 1e-15).
 */
#include "ref.h"

#include <cblas.h>

/* diffusers SanaLinearAttnProcessor2_0: `hidden_states[:, :, -1:] + 1e-15` */
#define SANA_LINEAR_ATTN_EPS 1e-15f

int64_t ref_linear_attn_work(int64_t d) { return d * d + d; }

/*
 * q, k: [B, N, heads*d] (ReLU applied in place), v, y: [B, N, heads*d]
 * work: [d*d + d] (S and z of one head)
 */
void ref_linear_attn(float *y, float *work, float *q, float *k, const float *v, int64_t B, int64_t N,
                     int64_t heads, int64_t d)
{
    const int64_t C = heads * d;
    ref_relu(q, q, B * N * C);
    ref_relu(k, k, B * N * C);
    float *S = work, *z = work + d * d;
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < heads; h++) {
            const float *qh = q + b * N * C + h * d, *kh = k + b * N * C + h * d, *vh = v + b * N * C + h * d;
            float *yh = y + b * N * C + h * d;
            /* S[i, j] = sum_n v[n, i] k[n, j] */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, (int)d, (int)N,
                        1.0f, vh, (int)C, kh, (int)C, 0.0f, S, (int)d);
            /* z[j] = sum_n k[n, j]: the padded row of ones times k */
            for (int64_t j = 0; j < d; j++) z[j] = 0.0f;
            for (int64_t n = 0; n < N; n++)
                for (int64_t j = 0; j < d; j++) z[j] += kh[n * C + j];
            /* y[n, i] = sum_j q[n, j] S[i, j] */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)d, (int)d,
                        1.0f, qh, (int)C, S, (int)d, 0.0f, yh, (int)C);
#pragma omp parallel for if (N * d >= REF_OMP_MIN)
            for (int64_t n = 0; n < N; n++) {
                float den = 0.0f;
                for (int64_t j = 0; j < d; j++) den += qh[n * C + j] * z[j];
                den += SANA_LINEAR_ATTN_EPS;
                for (int64_t i = 0; i < d; i++) yh[n * C + i] /= den;
            }
        }
}
