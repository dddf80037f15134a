/*
 * ref/glumbconv.c -- GLUMBConv, the Mix-FFN of the Sana blocks (and of the DC-AE).
 *
 * Part of ref/, the reference operators: plain C11, the composition of diffusers' forward:
 * ref_conv2d (1x1, then depthwise 3x3, then 1x1; the 1x1s are one sgemm each), ref_silu, and
 * the gate. accel/cpu fuses the middle (SiLU, 3x3, gate) into one pass. glumbconv_tokens is the
 * DiT's form: token layout in and out, here the transposes around ref_glumbconv.
 */
#include "ref.h"

int64_t ref_glumbconv_work(int64_t Hd, int64_t H, int64_t W) { return 4 * Hd * H * W; }

/*
 * diffusers: models.transformers.sana_transformer.GLUMBConv (residual_connection=False;
 * the DC-AE adds its own norm and residual around it).
 * Per image b:  t1 = silu(conv_inverted(x_b))  [2Hd, H, W];  t2 = conv_depth(t1)  [2Hd, H, W];
 *               a, g = t2.chunk(2, dim=1);  t2[:Hd] = a * silu(g);  y_b = conv_point(t2[:Hd])
 * x: [B, Cin, H, W]  w_inv: [2Hd, Cin, 1, 1]  w_dep: [2Hd, 1, 3, 3]  w_pt: [Cout, Hd, 1, 1]
 * biases per output channel or NULL (diffusers: conv_point has none). y: [B, Cout, H, W]
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
        ref_conv2d(t1, x + b * Cin * HW, w_inv, b_inv, 1, Cin, H, W, C2, 1, 1, 1, 0, 1); /* conv_inverted */
        ref_silu(t1, t1, C2 * HW);
        ref_conv2d(t2, t1, w_dep, b_dep, 1, C2, H, W, C2, 3, 3, 1, 1, C2);              /* conv_depth */
        float *a = t2, *g = t2 + Hd * HW;                                                /* chunk(2, dim=1) */
        ref_silu(g, g, Hd * HW);
        for (int64_t i = 0; i < Hd * HW; i++) a[i] = a[i] * g[i];                        /* x * silu(gate) */
        ref_conv2d(y + b * Cout * HW, a, w_pt, b_pt, 1, Hd, H, W, Cout, 1, 1, 1, 0, 1);  /* conv_point */
    }
}

int64_t ref_glumbconv_tokens_work(int64_t Hd, int64_t HW, int64_t C) { return (4 * Hd + 2 * C) * HW; }

/*
 * diffusers: SanaTransformerBlock.forward, "4. Feed-forward":
 *   x.unflatten(1, (H, W)).permute(0, 3, 1, 2) -> GLUMBConv -> .flatten(2, 3).permute(0, 2, 1)
 * x: [B, H*W, Cin]  y: [B, H*W, Cout]. work: [4Hd*HW] for ref_glumbconv, then x_b as [Cin, HW] and
 * y_b as [Cout, HW] (C*HW floats each, C >= Cin, Cout).
 */
void ref_glumbconv_tokens(float *y, float *work, const float *x,
                          const sana_wt *w_inv, const sana_wt *b_inv,
                          const sana_wt *w_dep, const sana_wt *b_dep,
                          const sana_wt *w_pt, const sana_wt *b_pt,
                          int64_t B, int64_t Cin, int64_t H, int64_t W, int64_t Hd, int64_t Cout)
{
    const int64_t HW = H * W, C = Cin > Cout ? Cin : Cout;
    float *xc = work + 4 * Hd * HW, *yc = xc + C * HW;
    for (int64_t b = 0; b < B; b++) {
        ref_transpose_batched(xc, x + b * HW * Cin, 1, HW, Cin);                    /* permute(0, 3, 1, 2) */
        ref_glumbconv(yc, work, xc, w_inv, b_inv, w_dep, b_dep, w_pt, b_pt, 1, Cin, H, W, Hd, Cout);
        ref_transpose_batched(y + b * HW * Cout, yc, 1, Cout, HW);                  /* permute(0, 2, 1) */
    }
}
