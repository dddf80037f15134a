/*
 * ref/glumbconv.c -- GLUMBConv, the Mix-FFN of the Sana blocks (and of the DC-AE).
 *
 * Part of ref/, the reference operators: plain C11. The two 1x1 convolutions are
 * ref_conv2d (a single sgemm each); the middle of the block (SiLU, the depthwise 3x3
 * convolution and the gate) works on one channel pair at a time in a single loop, parallel
 * only for large images: an OpenMP region between sgemm calls is expensive (see ref/act.c).
 */
#include "ref.h"

#include <math.h>
#include <stdlib.h>

int64_t ref_glumbconv_work(int64_t Hd, int64_t H, int64_t W) { return 4 * Hd * H * W; }

static float silu(float v) { return v / (1.0f + expf(-v)); }

/*
 * Depthwise 3x3 convolution of one plane, stride 1, zero padding 1 (nn.Conv2d(C, C, 3,
 * padding=1, groups=C) for one channel):
 *   y[i, j] = bias + sum_{u, v < 3, (i-1+u, j-1+v) inside} w[u, v] x[i-1+u, j-1+v]
 * summed in (u, v) order, as ref_conv2d's depthwise path does (same result, bit for bit).
 * x, y: [H, W]  w: [3, 3]. Row by row, so the inner loop runs over contiguous memory.
 */
static void dwconv3x3_plane(float *y, const float *x, const float *w, float bias, int64_t H, int64_t W)
{
    for (int64_t i = 0; i < H; i++) {
        float *yr = y + i * W;
        for (int64_t j = 0; j < W; j++) yr[j] = 0.0f;
        for (int64_t u = 0; u < 3; u++) {
            const int64_t hi = i - 1 + u;
            if (hi < 0 || hi >= H) continue;
            const float *xr = x + hi * W, *wu = w + 3 * u;
            yr[0] += wu[1] * xr[0];                   /* first column: no left neighbour */
            if (W > 1) yr[0] += wu[2] * xr[1];
            for (int64_t j = 1; j < W - 1; j++)
                yr[j] = yr[j] + wu[0] * xr[j - 1] + wu[1] * xr[j] + wu[2] * xr[j + 1];
            if (W > 1) {                              /* last column: no right neighbour */
                yr[W - 1] += wu[0] * xr[W - 2];
                yr[W - 1] += wu[1] * xr[W - 1];
            }
        }
        for (int64_t j = 0; j < W; j++) yr[j] += bias;
    }
}

/*
 * diffusers: models.transformers.sana_transformer.GLUMBConv (residual_connection=False;
 * the DC-AE adds its own norm and residual around it).
 * Per image b:  t1 = silu(conv1x1(x_b))  [2Hd, H, W];  t2 = dwconv3x3(t1)  [2Hd, H, W];
 *               gated = t2[:Hd] * silu(t2[Hd:]);     y_b = conv1x1(gated)  [Cout, H, W]
 * x: [B, Cin, H, W]  w_inv: [2Hd, Cin, 1, 1]  w_dep: [2Hd, 1, 3, 3]  w_pt: [Cout, Hd, 1, 1]
 * biases per output channel or NULL (diffusers: conv_point has none). y: [B, Cout, H, W]
 * work: [2Hd*H*W] for t1, then [2Hd*H*W] for t2 (gated overwrites t2[:Hd]).
 * The middle runs per channel c < Hd: planes c and Hd + c of t1 and t2 belong to it alone.
 */
void ref_glumbconv(float *y, float *work, const float *x,
                   const sana_wt *w_inv, const sana_wt *b_inv,
                   const sana_wt *w_dep, const sana_wt *b_dep,
                   const sana_wt *w_pt, const sana_wt *b_pt,
                   int64_t B, int64_t Cin, int64_t H, int64_t W, int64_t Hd, int64_t Cout)
{
    const int64_t HW = H * W, C2 = 2 * Hd;
    float *t1 = work, *t2 = work + C2 * HW;
    float *wown = NULL;
    const float *wd = sana_wt_f32_view(w_dep, &wown);
    float *bd = sana_wt_vec_f32(b_dep, C2);
    for (int64_t b = 0; b < B; b++) {
        ref_conv2d(t1, x + b * Cin * HW, w_inv, b_inv, 1, Cin, H, W, C2, 1, 1, 1, 0, 1);
#pragma omp parallel for if (C2 * HW >= REF_OMP_MIN)
        for (int64_t c = 0; c < Hd; c++) {
            float *xa = t1 + c * HW, *xg = t1 + (Hd + c) * HW;   /* value and gate planes */
            float *ya = t2 + c * HW, *yg = t2 + (Hd + c) * HW;
            for (int64_t k = 0; k < HW; k++) { xa[k] = silu(xa[k]); xg[k] = silu(xg[k]); }
            dwconv3x3_plane(ya, xa, wd + 9 * c, bd ? bd[c] : 0.0f, H, W);
            dwconv3x3_plane(yg, xg, wd + 9 * (Hd + c), bd ? bd[Hd + c] : 0.0f, H, W);
            for (int64_t k = 0; k < HW; k++) ya[k] = ya[k] * silu(yg[k]); /* x * SiLU(gate) */
        }
        ref_conv2d(y + b * Cout * HW, t2, w_pt, b_pt, 1, Hd, H, W, Cout, 1, 1, 1, 0, 1);
    }
    free(wown);
    free(bd);
}
