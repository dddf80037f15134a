/*
 * ref/glumbconv.c -- GLUMBConv, the Mix-FFN of the Sana blocks (and of the DC-AE).
 *
 * Part of ref/, the reference operators: plain C11; the three convolutions are
 * ref_conv2d (1x1 convs are a single sgemm there, the 3x3 is depthwise).
 */
#include "ref.h"

#include <math.h>

int64_t ref_glumbconv_work(int64_t Hd, int64_t H, int64_t W) { return 4 * Hd * H * W; }

/*
 * Per image b:  t1 = silu(conv1x1(x_b))  [2Hd, H, W];  t2 = dwconv3x3(t1)  [2Hd, H, W];
 *               t1[:Hd] = t2[:Hd] * silu(t2[Hd:]);      y_b = conv1x1(t1[:Hd])  [Cout, H, W]
 * work: [2Hd*H*W] for t1, then [2Hd*H*W] for t2.
 */
void ref_glumbconv(float *y, float *work, const float *x,
                   const sana_wt *w_inv, const sana_wt *b_inv,
                   const sana_wt *w_dep, const sana_wt *b_dep,
                   const sana_wt *w_pt, const sana_wt *b_pt,
                   int64_t B, int64_t Cin, int64_t H, int64_t W, int64_t Hd, int64_t Cout)
{
    const int64_t HW = H * W, C2 = 2 * Hd;
    float *t1 = work, *t2 = work + C2 * HW;
    for (int64_t b = 0; b < B; b++) {
        ref_conv2d(t1, x + b * Cin * HW, w_inv, b_inv, 1, Cin, H, W, C2, 1, 1, 1, 0, 1);
        ref_silu(t1, t1, C2 * HW);
        ref_conv2d(t2, t1, w_dep, b_dep, 1, C2, H, W, C2, 3, 3, 1, 1, C2);
        const float *a = t2, *g = t2 + Hd * HW;
#pragma omp parallel for if (Hd * HW > 65536)
        for (int64_t i = 0; i < Hd * HW; i++)
            t1[i] = a[i] * (g[i] / (1.0f + expf(-g[i]))); /* x * SiLU(gate) */
        ref_conv2d(y + b * Cout * HW, t1, w_pt, b_pt, 1, Hd, H, W, Cout, 1, 1, 1, 0, 1);
    }
}
