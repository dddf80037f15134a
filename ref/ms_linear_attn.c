/*
 * ref/ms_linear_attn.c -- the attention kernels of SanaMultiscaleLinearAttention (DC-AE).
 *
 * Part of ref/, the reference operators. One head at a time: gather q, k, v of the
 * head out of the concatenated multi-scale qkv, apply ReLU to q and k, and do the two
 * matrix products with sgemm, in float32 as diffusers does.
 */
#include "ref.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

/* q, k (relu'd) and v of head (b, h): [d, N] each, rows [0,d), [d,2d), [2d,3d) of the head. */
static void head_qkv(float *q, float *k, float *v, const float *qkv, int64_t b, int64_t h,
                     int64_t heads, int64_t d, int64_t N)
{
    const float *base = qkv + (b * heads + h) * 3 * d * N;
    for (int64_t i = 0; i < d * N; i++) {
        float qi = base[i], ki = base[d * N + i];
        q[i] = qi > 0.0f ? qi : 0.0f;
        k[i] = ki > 0.0f ? ki : 0.0f;
    }
    if (v) memcpy(v, base + 2 * d * N, (size_t)(d * N) * sizeof(float));
}

/*
 * Linear path:  S = [v; 1] k^T  ([d+1, d]),  O = S q  ([d+1, N]),  y[i, n] = O[i, n] / (O[d, n] + eps)
 * qkv: [B, heads*3d, N]  y: [B, heads*d, N]
 * diffusers: SanaMultiscaleLinearAttention.apply_linear_attention
 */
void ref_ms_linear_attn(float *y, const float *qkv, int64_t B, int64_t heads, int64_t d, int64_t N,
                        float eps)
{
    float *q = malloc((size_t)(d * N) * sizeof(float)), *k = malloc((size_t)(d * N) * sizeof(float));
    float *vp = malloc((size_t)((d + 1) * N) * sizeof(float)); /* v padded with a row of ones */
    float *S = malloc((size_t)((d + 1) * d) * sizeof(float));
    float *O = malloc((size_t)((d + 1) * N) * sizeof(float));
    for (int64_t n = 0; n < N; n++) vp[d * N + n] = 1.0f;
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < heads; h++) {
            head_qkv(q, k, vp, qkv, b, h, heads, d, N);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(d + 1), (int)d, (int)N,
                        1.0f, vp, (int)N, k, (int)N, 0.0f, S, (int)d);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(d + 1), (int)N, (int)d,
                        1.0f, S, (int)d, q, (int)N, 0.0f, O, (int)N);
            float *yh = y + (b * heads + h) * d * N;
            for (int64_t i = 0; i < d; i++)
                for (int64_t n = 0; n < N; n++) yh[i * N + n] = O[i * N + n] / (O[d * N + n] + eps);
        }
    free(q);
    free(k);
    free(vp);
    free(S);
    free(O);
}

/*
 * Quadratic path:  A = k^T q  ([N, N]),  A[:, m] /= (sum_n A[n, m] + eps),  y = v A  ([d, N])
 * qkv: [B, heads*3d, N]  y: [B, heads*d, N]
 * diffusers: SanaMultiscaleLinearAttention.apply_quadratic_attention
 */
void ref_ms_quadratic_attn(float *y, const float *qkv, int64_t B, int64_t heads, int64_t d, int64_t N,
                           float eps)
{
    float *q = malloc((size_t)(d * N) * sizeof(float)), *k = malloc((size_t)(d * N) * sizeof(float));
    float *v = malloc((size_t)(d * N) * sizeof(float));
    float *A = malloc((size_t)(N * N) * sizeof(float));
    float *colsum = malloc((size_t)N * sizeof(float));
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < heads; h++) {
            head_qkv(q, k, v, qkv, b, h, heads, d, N);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)N, (int)N, (int)d,
                        1.0f, k, (int)N, q, (int)N, 0.0f, A, (int)N);
            for (int64_t m = 0; m < N; m++) colsum[m] = 0.0f;
            for (int64_t n = 0; n < N; n++)
                for (int64_t m = 0; m < N; m++) colsum[m] += A[n * N + m];
            for (int64_t n = 0; n < N; n++)
                for (int64_t m = 0; m < N; m++) A[n * N + m] /= colsum[m] + eps;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)d, (int)N, (int)N,
                        1.0f, v, (int)N, A, (int)N, 0.0f, y + (b * heads + h) * d * N, (int)N);
        }
    free(q);
    free(k);
    free(v);
    free(A);
    free(colsum);
}
