/*
 * ref/dit_embed.c -- the embeddings of SanaTransformer2DModel: timestep (sinusoidal + MLP),
 * caption projection (MLP), 2D sin-cos position table, patch embedding, unpatchify.
 *
 * Part of ref/, the reference operators: plain C11, CBLAS through ref_linear.
 * The math of each function is in ref/ref_dit.h above its declaration.
 */
#include "ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/*
 * Timesteps(num_channels=dim, flip_sin_to_cos=True, downscale_freq_shift=0), max_period 10000.
 * Every step is float32 as in diffusers' get_timestep_embedding (rounded results):
 *   exponent = float(-ln 10000) * k / half, f_k = exp(exponent), arg = t * f_k,
 *   y = [cos(arg), sin(arg)]   (flip_sin_to_cos puts cos first).
 * t: [B]  y: [B, dim]
 */
void ref_timestep_embedding(float *y, const float *t, int64_t B, int64_t dim)
{
    const int64_t half = dim / 2;
    const float neg_log_period = (float)(-log(10000.0)); /* max_period = 10000 (diffusers default) */
    for (int64_t b = 0; b < B; b++) {
        float *yb = y + b * dim;
        for (int64_t k = 0; k < half; k++) {
            /* exp, cos and sin correctly rounded (evaluated in double): torch's vectorised float32
             * versions agree with that in all but a few cases, where they are 1 ulp off */
            float e = (neg_log_period * (float)k) / (float)half; /* downscale_freq_shift = 0 */
            float f = (float)exp((double)e);
            float arg = t[b] * f;
            yb[k] = (float)cos((double)arg);
            yb[half + k] = (float)sin((double)arg);
        }
        if (dim % 2) yb[dim - 1] = 0.0f; /* odd dim: zero pad, as diffusers */
    }
}

int64_t ref_mlp2_work(int64_t M, int64_t Hd) { return M * Hd; }

/*
 * y = act(x W1^T + b1) W2^T + b2   (TimestepEmbedding: SiLU; PixArtAlphaTextProjection: GELU tanh)
 * x: [M, K]  y: [M, N]  work: [M, Hd]
 */
void ref_mlp2(float *y, float *work, const float *x, const sana_wt *w1, const sana_wt *b1,
              const sana_wt *w2, const sana_wt *b2, int64_t M, int64_t K, int64_t Hd, int64_t N,
              int act)
{
    ref_linear(work, x, w1, b1, M, K, Hd);
    if (act == SANA_ACT_GELU_TANH)
        ref_gelu_tanh(work, work, M * Hd);
    else
        ref_silu(work, work, M * Hd);
    ref_linear(y, work, w2, b2, M, Hd, N);
}

/*
 * get_2d_sincos_pos_embed(D, (h, w), base_size=base, interpolation_scale=interp, output_type="pt")
 * Grid coordinates in float32 (torch.arange(float32) / python float / python float), the
 * frequencies and sin/cos in float64 (torch.outer promotes to float64), then float32.
 * y: [h*w, D]; the first D/2 values of a token encode its column, the last D/2 its row.
 */
void ref_pos_embed_2d(float *y, int64_t h, int64_t w, int64_t D, double base, double interp)
{
    const int64_t q = D / 4; /* frequencies per coordinate: 1D embedding of D/2 = [sin(q), cos(q)] */
    const float sh = (float)((double)h / base), sw = (float)((double)w / base), fi = (float)interp;
    for (int64_t i = 0; i < h; i++)
        for (int64_t j = 0; j < w; j++) {
            float gw = (float)j / sw / fi, gh = (float)i / sh / fi;
            float *yn = y + (i * w + j) * D;
            for (int64_t k = 0; k < q; k++) {
                double omega = 1.0 / pow(10000.0, (double)k / ((double)D / 4.0));
                double aw = (double)gw * omega, ah = (double)gh * omega;
                yn[k] = (float)sin(aw);
                yn[q + k] = (float)cos(aw);
                yn[2 * q + k] = (float)sin(ah);
                yn[3 * q + k] = (float)cos(ah);
            }
        }
}

/*
 * Patch embedding as im2col + linear:
 *   P[b*N + i*w + j, (c*p + u)*p + v] = x[b, c, i*p + u, j*p + v]
 *   y = P W^T + bias (W viewed as [D, C*p*p]) (+ pos broadcast over b)
 * x: [B, C, H, W]  y: [B, h*w, D]
 */
void ref_patch_embed(float *y, const float *x, const sana_wt *w, const sana_wt *bias, const float *pos,
                     int64_t B, int64_t C, int64_t H, int64_t W, int64_t D, int64_t p)
{
    const int64_t h = H / p, wd = W / p, N = h * wd, K = C * p * p;
    float *P = calloc((size_t)(B * N * K), sizeof(float));
    if (!P) return;
    for (int64_t b = 0; b < B; b++)
        for (int64_t i = 0; i < h; i++)
            for (int64_t j = 0; j < wd; j++) {
                float *row = P + (b * N + i * wd + j) * K;
                for (int64_t c = 0; c < C; c++)
                    for (int64_t u = 0; u < p; u++)
                        for (int64_t v = 0; v < p; v++)
                            row[(c * p + u) * p + v] = x[((b * C + c) * H + i * p + u) * W + j * p + v];
            }
    ref_linear(y, P, w, bias, B * N, K, D);
    free(P);
    if (pos)
        for (int64_t b = 0; b < B; b++)
            for (int64_t n = 0; n < N * D; n++)
                y[b * N * D + n] += pos[n];
}

/*
 * y[b, c, i*p + u, j*p + v] = x[b, i*w + j, (u*p + v)*C + c]
 * x: [B, h*w, p*p*C]  y: [B, C, h*p, w*p]
 */
void ref_unpatchify(float *y, const float *x, int64_t B, int64_t h, int64_t w, int64_t p, int64_t C)
{
    const int64_t Ho = h * p, Wo = w * p;
    for (int64_t b = 0; b < B; b++)
        for (int64_t i = 0; i < h; i++)
            for (int64_t j = 0; j < w; j++) {
                const float *tok = x + (b * h * w + i * w + j) * p * p * C;
                for (int64_t u = 0; u < p; u++)
                    for (int64_t v = 0; v < p; v++)
                        for (int64_t c = 0; c < C; c++)
                            y[((b * C + c) * Ho + i * p + u) * Wo + j * p + v] = tok[(u * p + v) * C + c];
            }
}
