/* Backend-op cases of the dit family (see backend_ops.h). Sizes are odd where the op allows it;
 * weights in bf16 or fp16 in some cases so that the conversion path of each backend runs too.
 * Real configs (bench/generate_ckpt.py, the published transformer configs):
 *   Sana 600M:  hidden 1152, 36 linear-attention heads of 32, 16 cross-attention heads of 72, MLP 2880
 *   Sana 1600M: hidden 2240, 70 linear-attention heads of 32, 20 cross-attention heads of 112, MLP 5600
 * at 512 px (16x16 latent tokens) with B = 2 (classifier-free guidance), captions of 300 tokens. */
#include "backend_ops.h"

#include <math.h>
#include <stdlib.h>

/* timestep_embedding: p = {B, dim} */
static float *run_timestep_embedding(const bo_case *c, const sana_backend *be, bo_rng *r, int64_t *n)
{
    const int64_t B = c->p[0], dim = c->p[1];
    float *t = bo_in(be, r, B, 0, 1000), *y = bo_out(be, B * dim);
    bo_cost(20.0 * B * dim, BO_F(B * dim));
    BO_OP(be, timestep_embedding, y, t, B, dim);
    *n = B * dim;
    return bo_result(be, y, *n);
}

/* mlp2: p = {M, K, Hd, N, act, weight dtype} */
static float *run_mlp2(const bo_case *c, const sana_backend *be, bo_rng *r, int64_t *n)
{
    const int64_t M = c->p[0], K = c->p[1], Hd = c->p[2], N = c->p[3];
    const sana_dtype dt = (sana_dtype)c->p[5];
    float *x = bo_in(be, r, M * K, -2, 2), *y = bo_out(be, M * N);
    float *work = bo_out(be, sana_backend_work(be, SANA_OP_mlp2, M, Hd, 0));
    const float s1 = sqrtf(3.0f / (float)K), s2 = sqrtf(3.0f / (float)Hd); /* unit-variance outputs */
    const sana_wt *w1 = bo_wt(be, r, dt, SHP(Hd, K), -s1, s1), *b1 = bo_wt(be, r, dt, SHP(Hd), -1, 1);
    const sana_wt *w2 = bo_wt(be, r, dt, SHP(N, Hd), -s2, s2), *b2 = bo_wt(be, r, dt, SHP(N), -1, 1);
    bo_cost(2.0 * M * (K * Hd + Hd * N), BO_F(M * K + M * N + 2 * M * Hd + K * Hd + Hd * N));
    BO_OP(be, mlp2, y, work, x, w1, b1, w2, b2, M, K, Hd, N, (int)c->p[4]);
    *n = M * N;
    return bo_result(be, y, *n);
}

/* pos_embed_2d: p = {h, w, D} */
static float *run_pos_embed_2d(const bo_case *c, const sana_backend *be, bo_rng *r, int64_t *n)
{
    (void)r;
    const int64_t h = c->p[0], w = c->p[1], D = c->p[2];
    float *y = bo_out(be, h * w * D);
    bo_cost(20.0 * h * w * D, BO_F(h * w * D));
    BO_OP(be, pos_embed_2d, y, h, w, D, 16.0, 2.0);
    *n = h * w * D;
    return bo_result(be, y, *n);
}

/* patch_embed: p = {B, C, H, W, D, patch, with pos} */
static float *run_patch_embed(const bo_case *c, const sana_backend *be, bo_rng *r, int64_t *n)
{
    const int64_t B = c->p[0], C = c->p[1], H = c->p[2], W = c->p[3], D = c->p[4], p = c->p[5];
    const int64_t N = (H / p) * (W / p);
    float *x = bo_in(be, r, B * C * H * W, -1, 1), *y = bo_out(be, B * N * D);
    float *pe = c->p[6] ? bo_in(be, r, N * D, -1, 1) : NULL;
    const sana_wt *w = bo_wt(be, r, SANA_F16, SHP(D, C, p, p), -0.3f, 0.3f), *b = bo_wt(be, r, SANA_F16, SHP(D), -1, 1);
    bo_cost(2.0 * B * N * D * C * p * p, BO_F(B * C * H * W + B * N * D));
    BO_OP(be, patch_embed, y, x, w, b, pe, B, C, H, W, D, p);
    *n = B * N * D;
    return bo_result(be, y, *n);
}

/* unpatchify: p = {B, h, w, patch, C} */
static float *run_unpatchify(const bo_case *c, const sana_backend *be, bo_rng *r, int64_t *n)
{
    const int64_t B = c->p[0], h = c->p[1], w = c->p[2], p = c->p[3], C = c->p[4], len = B * h * w * p * p * C;
    float *x = bo_in(be, r, len, -1, 1), *y = bo_out(be, len);
    bo_cost(0, BO_F(2 * len));
    BO_OP(be, unpatchify, y, x, B, h, w, p, C);
    *n = len;
    return bo_result(be, y, *n);
}

/* dit_modulation: p = {B, nmod, C, per_row, table dtype} */
static float *run_dit_modulation(const bo_case *c, const sana_backend *be, bo_rng *r, int64_t *n)
{
    const int64_t B = c->p[0], nmod = c->p[1], C = c->p[2];
    const int per_row = (int)c->p[3];
    float *temb = bo_in(be, r, B * (per_row ? nmod : 1) * C, -1, 1), *mod = bo_out(be, B * nmod * C);
    const sana_wt *table = bo_wt(be, r, (sana_dtype)c->p[4], SHP(nmod, C), -1, 1);
    bo_cost((double)(B * nmod * C), BO_F(3 * B * nmod * C));
    BO_OP(be, dit_modulation, mod, table, temb, B, nmod, C, per_row);
    *n = B * nmod * C;
    return bo_result(be, mod, *n);
}

/* modulated_layer_norm: p = {B, N, C, affine} (the Sana blocks have no affine: norm_elementwise_affine=False) */
static float *run_modulated_layer_norm(const bo_case *c, const sana_backend *be, bo_rng *r, int64_t *n)
{
    const int64_t B = c->p[0], N = c->p[1], C = c->p[2];
    float *x = bo_in(be, r, B * N * C, -3, 3), *mod = bo_in(be, r, B * 6 * C, -1, 1), *y = bo_out(be, B * N * C);
    const sana_wt *w = c->p[3] ? bo_wt(be, r, SANA_F32, SHP(C), 0.5f, 1.5f) : NULL;
    const sana_wt *b = c->p[3] ? bo_wt(be, r, SANA_F32, SHP(C), -1, 1) : NULL;
    bo_cost(10.0 * B * N * C, BO_F(2 * B * N * C));
    BO_OP(be, modulated_layer_norm, y, x, w, b, mod, B, N, C, 6, 3, 4, 1e-6f);
    *n = B * N * C;
    return bo_result(be, y, *n);
}

/* gated_residual: p = {B, N, C}; x += gate * r in place */
static float *run_gated_residual(const bo_case *c, const sana_backend *be, bo_rng *r, int64_t *n)
{
    const int64_t B = c->p[0], N = c->p[1], C = c->p[2];
    float *x = bo_out_filled(be, r, B * N * C), *r2 = bo_in(be, r, B * N * C, -1, 1);
    float *mod = bo_in(be, r, B * 6 * C, -1, 1);
    bo_cost(2.0 * B * N * C, BO_F(3 * B * N * C));
    BO_OP(be, gated_residual, x, r2, mod, B, N, C, 6, 2);
    *n = B * N * C;
    return bo_result(be, x, *n);
}

/* transpose_batched: p = {B, R, Cc} */
static float *run_transpose_batched(const bo_case *c, const sana_backend *be, bo_rng *r, int64_t *n)
{
    const int64_t B = c->p[0], R = c->p[1], Cc = c->p[2];
    float *x = bo_in(be, r, B * R * Cc, -1, 1), *y = bo_out(be, B * R * Cc);
    bo_cost(0, BO_F(2 * B * R * Cc));
    BO_OP(be, transpose_batched, y, x, B, R, Cc);
    *n = B * R * Cc;
    return bo_result(be, y, *n);
}

/* glumbconv and glumbconv_tokens (x [B, H*W, Cin] instead of [B, Cin, H, W], y likewise): p = {B, Cin,
 * H, W, Hd, Cout, weight dtype, 1: the weights prepared for the other op} (conv_point without bias,
 * as diffusers). A backend may prepare the DiT's weights for glumbconv_tokens in a form of its own
 * (the cpu backend packs them for oneDNN); glumbconv must still read them. */
static float *run_glumbconv(const bo_case *c, const sana_backend *be, bo_rng *r, int64_t *n)
{
    const int64_t B = c->p[0], Cin = c->p[1], H = c->p[2], W = c->p[3], Hd = c->p[4], Cout = c->p[5];
    const sana_dtype dt = (sana_dtype)c->p[6];
    /* quantized: the two 1x1 matrices only, as sana_weights_quantize does */
    const sana_dtype vt = dt == SANA_Q8 || dt == SANA_Q4 ? SANA_F32 : dt;
    const float s1 = sqrtf(3.0f / (float)Cin), s2 = sqrtf(3.0f / (float)Hd); /* unit-variance outputs */
    float *x = bo_in(be, r, B * Cin * H * W, -1, 1), *y = bo_out(be, B * Cout * H * W);
    float *work = bo_out(be, c->op == SANA_OP_glumbconv ? sana_backend_work(be, SANA_OP_glumbconv, Hd, H, W)
                                 : sana_backend_work(be, SANA_OP_glumbconv_tokens, Hd, H * W, Cin > Cout ? Cin : Cout));
    const sana_op op = bo_state.op;
    if (c->p[7]) bo_state.op = op == SANA_OP_glumbconv ? SANA_OP_glumbconv_tokens : SANA_OP_glumbconv;
    const sana_wt *w_inv = bo_wt(be, r, dt, SHP(2 * Hd, Cin, 1, 1), -s1, s1);
    const sana_wt *b_inv = bo_wt(be, r, vt, SHP(2 * Hd), -0.5f, 0.5f);
    const sana_wt *w_dep = bo_wt(be, r, vt, SHP(2 * Hd, 1, 3, 3), -0.5f, 0.5f);
    const sana_wt *b_dep = bo_wt(be, r, vt, SHP(2 * Hd), -0.5f, 0.5f);
    const sana_wt *w_pt = bo_wt(be, r, dt, SHP(Cout, Hd, 1, 1), -s2, s2);
    bo_state.op = op;
    const double HW = (double)(H * W);
    bo_cost(2.0 * B * HW * (Cin * 2 * Hd + Hd * Cout + 9 * 2 * Hd) + 10.0 * B * HW * 2 * Hd,
            BO_F(B * HW * (Cin + Cout)) + BO_F(2 * Hd * (Cin + 10) + Hd * Cout));
    if (c->op == SANA_OP_glumbconv)
        BO_OP(be, glumbconv, y, work, x, w_inv, b_inv, w_dep, b_dep, w_pt, NULL, B, Cin, H, W, Hd, Cout);
    else
        BO_OP(be, glumbconv_tokens, y, work, x, w_inv, b_inv, w_dep, b_dep, w_pt, NULL, B, Cin, H, W, Hd, Cout);
    *n = B * Cout * H * W;
    return bo_result(be, y, *n);
}

/* linear_attn: p = {B, N, heads, d, q upper bound x1000}. q, k are ReLU'd in place by the op. With
 * q in [-1, 0.1) about 5% of the tokens have q = 0 after the ReLU: 0 / (0 + 1e-15), diffusers' eps. */
static float *run_linear_attn(const bo_case *c, const sana_backend *be, bo_rng *r, int64_t *n)
{
    const int64_t B = c->p[0], N = c->p[1], heads = c->p[2], d = c->p[3], C = heads * d;
    float *q = bo_in(be, r, B * N * C, -1, (float)c->p[4] / 1000.0f), *k = bo_in(be, r, B * N * C, -1, 1);
    float *v = bo_in(be, r, B * N * C, -1, 1), *y = bo_out(be, B * N * C);
    float *work = bo_out(be, sana_backend_work(be, SANA_OP_linear_attn, d, 0, 0));
    bo_cost(4.0 * B * heads * N * d * (d + 1), BO_F(4 * B * N * C));
    BO_OP(be, linear_attn, y, work, q, k, v, B, N, heads, d);
    *n = B * N * C;
    return bo_result(be, y, *n);
}

/* attn_mask_bias: p = {n, binary}: a 0/1 caption mask (as the pipeline gives) or uniform values */
static float *run_attn_mask_bias(const bo_case *c, const sana_backend *be, bo_rng *r, int64_t *n)
{
    const int64_t len = c->p[0];
    float *m = bo_in(be, r, len, 0, 1), *y = bo_out(be, len);
    if (c->p[1]) {
        float *h = malloc((size_t)len * sizeof(float));
        for (int64_t i = 0; i < len; i++) h[i] = i < len / 3 ? 1.0f : 0.0f;
        be->upload(be->ctx, m, h, (size_t)len * sizeof(float));
        free(h);
    }
    bo_cost(2.0 * len, BO_F(2 * len));
    BO_OP(be, attn_mask_bias, y, m, len);
    *n = len;
    return bo_result(be, y, *n);
}

/* The additive caption bias [B, L]: uniform in [-3, 0) (valid = 0), or the pipeline's
 * (1 - mask) * -10000 with the first `valid` keys unmasked (valid = L + 1: batch item 1 has every
 * key masked, where softmax over equal scores gives the plain mean, as torch). */
static float *caption_bias(const sana_backend *be, bo_rng *r, int64_t B, int64_t L, int64_t valid)
{
    float *bias = bo_in(be, r, B * L, -3, 0);
    if (!valid) return bias;
    float *h = malloc((size_t)(B * L) * sizeof(float));
    for (int64_t b = 0; b < B; b++)
        for (int64_t l = 0; l < L; l++) {
            const int64_t v = valid > L ? (b == 1 ? 0 : L) : valid + 17 * b;
            h[b * L + l] = l < v ? 0.0f : -10000.0f;
        }
    be->upload(be->ctx, bias, h, (size_t)(B * L) * sizeof(float));
    free(h);
    return bias;
}

/* softmax_attn: p = {B, N, L, heads, d, valid keys (0: uniform bias, see caption_bias)} */
static float *run_softmax_attn(const bo_case *c, const sana_backend *be, bo_rng *r, int64_t *n)
{
    const int64_t B = c->p[0], N = c->p[1], L = c->p[2], heads = c->p[3], d = c->p[4], C = heads * d;
    float *q = bo_in(be, r, B * N * C, -1, 1), *k = bo_in(be, r, B * L * C, -1, 1), *v = bo_in(be, r, B * L * C, -1, 1);
    float *bias = caption_bias(be, r, B, L, c->p[5]), *y = bo_out(be, B * N * C);
    float *work = bo_out(be, sana_backend_work(be, SANA_OP_softmax_attn, N, L, 0));
    bo_cost(4.0 * B * heads * N * L * d + 5.0 * B * heads * N * L, BO_F(2 * B * N * C + 2 * B * L * C));
    BO_OP(be, softmax_attn, y, work, q, k, v, bias, B, N, L, heads, d);
    *n = B * N * C;
    return bo_result(be, y, *n);
}

#define F32 SANA_F32
#define BF16 SANA_BF16
#define F16 SANA_F16
#define SILU SANA_ACT_SILU
#define GELU SANA_ACT_GELU_TANH

const bo_case bo_cases_dit[] = {
    {"timestep_embedding 5x256", SANA_OP_timestep_embedding, run_timestep_embedding, {5, 256}, 0},
    {"timestep_embedding 2x1026", SANA_OP_timestep_embedding, run_timestep_embedding, {2, 1026}, 0},
    /*                                                  M     K    Hd     N   act dtype */
    {"mlp2 silu f32 13x71->48->33", SANA_OP_mlp2, run_mlp2, {13, 71, 48, 33, SILU, F32}, 0},
    {"mlp2 gelu_tanh bf16 13x71->48->33", SANA_OP_mlp2, run_mlp2, {13, 71, 48, 33, GELU, BF16}, 0},
    {"mlp2 tails 3x5->7->9 f16", SANA_OP_mlp2, run_mlp2, {3, 5, 7, 9, SILU, F16}, 0},
    {"mlp2 600M timestep 2x256->1152->1152", SANA_OP_mlp2, run_mlp2, {2, 256, 1152, 1152, SILU, F32}, 0},
    {"mlp2 600M caption 600x2304->1152->1152", SANA_OP_mlp2, run_mlp2, {600, 2304, 1152, 1152, GELU, BF16}, 0},
    {"mlp2 1600M caption 600x2304->2240->2240", SANA_OP_mlp2, run_mlp2, {600, 2304, 2240, 2240, GELU, BF16}, BO_BIG},
    {"pos_embed_2d 7x11x72", SANA_OP_pos_embed_2d, run_pos_embed_2d, {7, 11, 72}, 0},
    {"pos_embed_2d 600M 16x16x1152", SANA_OP_pos_embed_2d, run_pos_embed_2d, {16, 16, 1152}, 0},
    /*                                                   B  C   H   W     D  p pos */
    {"patch_embed p1 +pos f16", SANA_OP_patch_embed, run_patch_embed, {2, 5, 6, 10, 24, 1, 1}, 0},
    {"patch_embed p2 f16", SANA_OP_patch_embed, run_patch_embed, {2, 5, 6, 10, 24, 2, 0}, 0},
    {"patch_embed 600M 2x32x16x16 p1 ->1152", SANA_OP_patch_embed, run_patch_embed, {2, 32, 16, 16, 1152, 1, 0}, 0},
    {"patch_embed 1600M 1024px 2x32x32x32 ->2240 +pos", SANA_OP_patch_embed, run_patch_embed,
     {2, 32, 32, 32, 2240, 1, 1}, 0},
    {"unpatchify p2 C7", SANA_OP_unpatchify, run_unpatchify, {2, 3, 5, 2, 7}, 0},
    {"unpatchify 600M 2x16x16 p1 C32", SANA_OP_unpatchify, run_unpatchify, {2, 16, 16, 1, 32}, 0},
    {"unpatchify 2x128x128 p2 C32 (4.2M)", SANA_OP_unpatchify, run_unpatchify, {2, 128, 128, 2, 32}, 0},
    {"dit_modulation 6 rows bf16 3x37", SANA_OP_dit_modulation, run_dit_modulation, {3, 6, 37, 1, BF16}, 0},
    {"dit_modulation shared temb 3x37", SANA_OP_dit_modulation, run_dit_modulation, {3, 2, 37, 0, F32}, 0},
    {"dit_modulation 600M 2x6x1152", SANA_OP_dit_modulation, run_dit_modulation, {2, 6, 1152, 1, F32}, 0},
    {"dit_modulation 1600M final 2x2x2240", SANA_OP_dit_modulation, run_dit_modulation, {2, 2, 2240, 0, BF16}, 0},
    {"modulated_layer_norm affine 2x29x131", SANA_OP_modulated_layer_norm, run_modulated_layer_norm, {2, 29, 131, 1}, 0},
    {"modulated_layer_norm tails 1x3x13", SANA_OP_modulated_layer_norm, run_modulated_layer_norm, {1, 3, 13, 0}, 0},
    {"modulated_layer_norm 600M 2x256x1152", SANA_OP_modulated_layer_norm, run_modulated_layer_norm,
     {2, 256, 1152, 0}, 0},
    {"modulated_layer_norm 1600M 1024px 2x1024x2240", SANA_OP_modulated_layer_norm, run_modulated_layer_norm,
     {2, 1024, 2240, 0}, 0},
    {"gated_residual 2x29x131", SANA_OP_gated_residual, run_gated_residual, {2, 29, 131}, 0},
    {"gated_residual tails 1x3x13", SANA_OP_gated_residual, run_gated_residual, {1, 3, 13}, 0},
    {"gated_residual 600M 2x256x1152", SANA_OP_gated_residual, run_gated_residual, {2, 256, 1152}, 0},
    {"gated_residual 1600M 1024px 2x1024x2240", SANA_OP_gated_residual, run_gated_residual, {2, 1024, 2240}, 0},
    {"transpose_batched 2x67x45", SANA_OP_transpose_batched, run_transpose_batched, {2, 67, 45}, 0},
    {"transpose_batched tails 1x3x5", SANA_OP_transpose_batched, run_transpose_batched, {1, 3, 5}, 0},
    {"transpose_batched 600M 2x256x1152", SANA_OP_transpose_batched, run_transpose_batched, {2, 256, 1152}, 0},
    {"transpose_batched 1600M 1024px 2x2240x1024", SANA_OP_transpose_batched, run_transpose_batched,
     {2, 2240, 1024}, 0},
    /*                                                         B     N heads  d  q max x1000 */
    {"linear_attn 2x77 3 heads of 32", SANA_OP_linear_attn, run_linear_attn, {2, 77, 3, 32, 1000}, 0},
    {"linear_attn tails 1x5 2 heads of 3", SANA_OP_linear_attn, run_linear_attn, {1, 5, 2, 3, 1000}, 0},
    {"linear_attn zero q rows (eps 1e-15) 2x301", SANA_OP_linear_attn, run_linear_attn, {2, 301, 4, 32, 100}, 0},
    {"linear_attn 600M 2x256 36 heads of 32", SANA_OP_linear_attn, run_linear_attn, {2, 256, 36, 32, 1000}, 0},
    {"linear_attn 1600M 2x256 70 heads of 32", SANA_OP_linear_attn, run_linear_attn, {2, 256, 70, 32, 1000}, 0},
    {"linear_attn 1x131101 1 head (N*d 4.2M)", SANA_OP_linear_attn, run_linear_attn, {1, 131101, 1, 32, 1000}, 0},
    {"attn_mask_bias 300 uniform", SANA_OP_attn_mask_bias, run_attn_mask_bias, {300, 0}, 0},
    {"attn_mask_bias 2x300 binary", SANA_OP_attn_mask_bias, run_attn_mask_bias, {600, 1}, 0},
    /*                                                           B     N    L heads  d valid */
    {"softmax_attn 2x53x19 3 heads", SANA_OP_softmax_attn, run_softmax_attn, {2, 53, 19, 3, 24, 0}, 0},
    {"softmax_attn tails 1x3x5 2 heads of 5", SANA_OP_softmax_attn, run_softmax_attn, {1, 3, 5, 2, 5, 0}, 0},
    {"softmax_attn all keys masked in batch 1", SANA_OP_softmax_attn, run_softmax_attn, {2, 13, 21, 2, 8, 22}, 0},
    {"softmax_attn 600M 2x256x300 16x72 masked", SANA_OP_softmax_attn, run_softmax_attn, {2, 256, 300, 16, 72, 37}, 0},
    {"softmax_attn 1600M 2x256x300 20x112 masked", SANA_OP_softmax_attn, run_softmax_attn,
     {2, 256, 300, 20, 112, 120}, 0},
    {"softmax_attn 1x14000x300 1 head (N*L 4.2M)", SANA_OP_softmax_attn, run_softmax_attn,
     {1, 14000, 300, 1, 72, 0}, 0},
    /*                                                       B  Cin   H   W    Hd  Cout dtype */
    {"glumbconv q8 24->2x60->24 5x9", SANA_OP_glumbconv, run_glumbconv, {2, 24, 5, 9, 60, 24, SANA_Q8}, 0},
    {"glumbconv q8 600M 1152->2x2880->1152 16x16", SANA_OP_glumbconv, run_glumbconv,
     {2, 1152, 16, 16, 2880, 1152, SANA_Q8}, 0},
    {"glumbconv q4 64->2x96->32 7x5", SANA_OP_glumbconv, run_glumbconv, {1, 64, 7, 5, 96, 32, SANA_Q4}, 0},
    {"glumbconv 24->2x60->24 5x9 bf16", SANA_OP_glumbconv, run_glumbconv, {2, 24, 5, 9, 60, 24, BF16}, 0},
    {"glumbconv tails 3->2x5->7 1x7 f32", SANA_OP_glumbconv, run_glumbconv, {1, 3, 1, 7, 5, 7, F32}, 0},
    {"glumbconv 600M 1152->2x2880->1152 16x16", SANA_OP_glumbconv, run_glumbconv, {2, 1152, 16, 16, 2880, 1152, F32},
     BO_BIG},
    {"glumbconv 1600M 2240->2x5600->2240 16x16 bf16", SANA_OP_glumbconv, run_glumbconv,
     {2, 2240, 16, 16, 5600, 2240, BF16}, BO_BIG},
    {"glumbconv dcae 512->2x2048->512 32x32", SANA_OP_glumbconv, run_glumbconv, {1, 512, 32, 32, 2048, 512, F32},
     BO_BIG},
    {"glumbconv 64->2x512->64 64x67 (work 4.4M)", SANA_OP_glumbconv, run_glumbconv, {1, 64, 64, 67, 512, 64, F32}, 0},
    {"glumbconv on tokens' weights 40->2x45->33 5x9 f32", SANA_OP_glumbconv, run_glumbconv,
     {2, 40, 5, 9, 45, 33, F32, 1}, 0},
    {"glumbconv on tokens' weights 600M 16x16 bf16", SANA_OP_glumbconv, run_glumbconv,
     {2, 1152, 16, 16, 2880, 1152, BF16, 1}, BO_BIG},
    {"glumbconv_tokens on glumbconv's weights 24->2x60->24 5x9 f32", SANA_OP_glumbconv_tokens, run_glumbconv,
     {2, 24, 5, 9, 60, 24, F32, 1}, 0},
    {"glumbconv_tokens q8 24->2x60->24 5x9", SANA_OP_glumbconv_tokens, run_glumbconv, {2, 24, 5, 9, 60, 24, SANA_Q8}, 0},
    {"glumbconv_tokens q8 600M 1152->2x2880->1152 16x16", SANA_OP_glumbconv_tokens, run_glumbconv,
     {2, 1152, 16, 16, 2880, 1152, SANA_Q8}, 0},
    {"glumbconv_tokens q4 64->2x96->32 7x5", SANA_OP_glumbconv_tokens, run_glumbconv, {1, 64, 7, 5, 96, 32, SANA_Q4},
     0},
    {"glumbconv_tokens 24->2x60->24 5x9 bf16", SANA_OP_glumbconv_tokens, run_glumbconv,
     {2, 24, 5, 9, 60, 24, BF16}, 0},
    {"glumbconv_tokens tails 3->2x5->7 1x7 f32", SANA_OP_glumbconv_tokens, run_glumbconv, {1, 3, 1, 7, 5, 7, F32}, 0},
    {"glumbconv_tokens wide in 40->2x9->6 3x4 f32", SANA_OP_glumbconv_tokens, run_glumbconv,
     {2, 40, 3, 4, 9, 6, F32}, 0},
    {"glumbconv_tokens 600M 1152->2x2880->1152 16x16", SANA_OP_glumbconv_tokens, run_glumbconv,
     {2, 1152, 16, 16, 2880, 1152, F32}, BO_BIG},
    {"glumbconv_tokens 1600M 2240->2x5600->2240 16x16 bf16", SANA_OP_glumbconv_tokens, run_glumbconv,
     {2, 2240, 16, 16, 5600, 2240, BF16}, BO_BIG},
    {"glumbconv_tokens 600M 1152->2x2880->1152 32x32 (1024 px)", SANA_OP_glumbconv_tokens, run_glumbconv,
     {2, 1152, 32, 32, 2880, 1152, F32}, BO_BIG},
    {"glumbconv_tokens 64->2x512->64 64x67", SANA_OP_glumbconv_tokens, run_glumbconv, {1, 64, 64, 67, 512, 64, F32},
     0},
    {0, 0, 0, {0}, 0}
};
