/*
 * ref/linear.c -- the fully connected layer.
 *
 * Part of ref/, the reference operators: plain C11, CBLAS for the product.
 */
#include "ref.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

/* Float32 rows of W converted per block, so that a bf16/fp16 weight never needs a full float32 copy. */
#define LINEAR_BLOCK_FLOATS (1 << 20)

/*
 * y = x W^T + b
 * x: [M, K]  W: [N, K]  b: [N] or NULL  y: [M, N]  (y must not alias x)
 * torch: nn.Linear / F.linear.
 * float32 weights aligned in memory go to sgemm as they are; other dtypes are
 * converted LINEAR_BLOCK_FLOATS at a time (a block of output features) and
 * multiplied block by block into the columns of y.
 */
void ref_linear(float *y, const float *x, const sana_wt *w, const sana_wt *b,
                int64_t M, int64_t K, int64_t N)
{
    if (M <= 0 || N <= 0)
        return;
    if (b) {
        float *bias = sana_wt_vec_f32(b, N);
        for (int64_t m = 0; m < M; m++)
            memcpy(y + m * N, bias, (size_t)N * sizeof(float));
        free(bias);
    } else {
        memset(y, 0, (size_t)(M * N) * sizeof(float));
    }
    if (K <= 0)
        return;
    if (w->dtype == SANA_F32 && ((uintptr_t)w->data % sizeof(float)) == 0) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)N, (int)K,
                    1.0f, x, (int)K, (const float *)w->data, (int)K, 1.0f, y, (int)N);
        return;
    }
    int64_t nb = LINEAR_BLOCK_FLOATS / K;
    if (nb < 16) nb = 16;
    if (nb > N) nb = N;
    float *wb = malloc((size_t)(nb * K) * sizeof(float));
    for (int64_t n0 = 0; n0 < N; n0 += nb) {
        int64_t n = N - n0 < nb ? N - n0 : nb;
        sana_wt_rows_f32(wb, w, n0, n);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)n, (int)K,
                    1.0f, x, (int)K, wb, (int)K, 1.0f, y + n0, (int)N);
    }
    free(wb);
}
