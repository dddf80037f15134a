/* Backend-op cases of the dit family (see backend_ops.h). Sizes are odd where the op allows it;
 * weights in bf16 or fp16 in some cases so that the conversion path of each backend runs too. */
#include "backend_ops.h"

static float *run_timestep_embedding(const sana_backend *be, bo_rng *r, int64_t *n)
{
    int64_t B = 5, dim = 256;
    float *t = bo_in(be, r, B, 0, 1000), *y = bo_out(be, B * dim);
    SANA_OP_CALL(be, timestep_embedding, y, t, B, dim);
    *n = B * dim;
    return bo_result(be, y, *n);
}

static float *run_mlp2(const sana_backend *be, bo_rng *r, int64_t *n, int act, sana_dtype dt)
{
    int64_t M = 13, K = 71, Hd = 48, N = 33;
    float *x = bo_in(be, r, M * K, -2, 2), *y = bo_out(be, M * N), *work = bo_out(be, ref_mlp2_work(M, Hd));
    SANA_OP_CALL(be, mlp2, y, work, x, bo_wt(r, dt, SHP(Hd, K), -0.2f, 0.2f), bo_wt(r, dt, SHP(Hd), -1, 1),
                 bo_wt(r, dt, SHP(N, Hd), -0.2f, 0.2f), bo_wt(r, dt, SHP(N), -1, 1), M, K, Hd, N, act);
    *n = M * N;
    return bo_result(be, y, *n);
}
static float *run_mlp2_silu(const sana_backend *be, bo_rng *r, int64_t *n)
{
    return run_mlp2(be, r, n, SANA_ACT_SILU, SANA_F32);
}
static float *run_mlp2_gelu(const sana_backend *be, bo_rng *r, int64_t *n)
{
    return run_mlp2(be, r, n, SANA_ACT_GELU_TANH, SANA_BF16);
}

static float *run_pos_embed_2d(const sana_backend *be, bo_rng *r, int64_t *n)
{
    (void)r;
    int64_t h = 7, w = 11, D = 72;
    float *y = bo_out(be, h * w * D);
    SANA_OP_CALL(be, pos_embed_2d, y, h, w, D, 16.0, 2.0);
    *n = h * w * D;
    return bo_result(be, y, *n);
}

static float *run_patch_embed(const sana_backend *be, bo_rng *r, int64_t *n, int64_t p, int pos)
{
    int64_t B = 2, C = 5, H = 6, W = 10, D = 24, N = (H / p) * (W / p);
    float *x = bo_in(be, r, B * C * H * W, -1, 1), *y = bo_out(be, B * N * D);
    float *pe = pos ? bo_in(be, r, N * D, -1, 1) : NULL;
    SANA_OP_CALL(be, patch_embed, y, x, bo_wt(r, SANA_F16, SHP(D, C, p, p), -0.3f, 0.3f),
                 bo_wt(r, SANA_F16, SHP(D), -1, 1), pe, B, C, H, W, D, p);
    *n = B * N * D;
    return bo_result(be, y, *n);
}
static float *run_patch_embed_p1(const sana_backend *be, bo_rng *r, int64_t *n) { return run_patch_embed(be, r, n, 1, 1); }
static float *run_patch_embed_p2(const sana_backend *be, bo_rng *r, int64_t *n) { return run_patch_embed(be, r, n, 2, 0); }

static float *run_unpatchify(const sana_backend *be, bo_rng *r, int64_t *n)
{
    int64_t B = 2, h = 3, w = 5, p = 2, C = 7;
    float *x = bo_in(be, r, B * h * w * p * p * C, -1, 1), *y = bo_out(be, B * h * w * p * p * C);
    SANA_OP_CALL(be, unpatchify, y, x, B, h, w, p, C);
    *n = B * h * w * p * p * C;
    return bo_result(be, y, *n);
}

static float *run_dit_modulation(const sana_backend *be, bo_rng *r, int64_t *n)
{
    int64_t B = 3, C = 37;
    float *temb = bo_in(be, r, B * 6 * C, -1, 1), *mod = bo_out(be, B * 6 * C);
    SANA_OP_CALL(be, dit_modulation, mod, bo_wt(r, SANA_BF16, SHP(6, C), -1, 1), temb, B, 6, C, 1);
    *n = B * 6 * C;
    return bo_result(be, mod, *n);
}
static float *run_dit_modulation_shared(const sana_backend *be, bo_rng *r, int64_t *n)
{
    int64_t B = 3, C = 37;
    float *temb = bo_in(be, r, B * C, -1, 1), *mod = bo_out(be, B * 2 * C);
    SANA_OP_CALL(be, dit_modulation, mod, bo_wt(r, SANA_F32, SHP(2, C), -1, 1), temb, B, 2, C, 0);
    *n = B * 2 * C;
    return bo_result(be, mod, *n);
}

static float *run_modulated_layer_norm(const sana_backend *be, bo_rng *r, int64_t *n)
{
    int64_t B = 2, N = 29, C = 131;
    float *x = bo_in(be, r, B * N * C, -3, 3), *mod = bo_in(be, r, B * 6 * C, -1, 1), *y = bo_out(be, B * N * C);
    SANA_OP_CALL(be, modulated_layer_norm, y, x, bo_wt(r, SANA_F32, SHP(C), 0.5f, 1.5f),
                 bo_wt(r, SANA_F32, SHP(C), -1, 1), mod, B, N, C, 6, 3, 4, 1e-6f);
    *n = B * N * C;
    return bo_result(be, y, *n);
}

static float *run_gated_residual(const sana_backend *be, bo_rng *r, int64_t *n)
{
    int64_t B = 2, N = 29, C = 131;
    float *x = bo_out(be, B * N * C), *r2 = bo_in(be, r, B * N * C, -1, 1), *mod = bo_in(be, r, B * 6 * C, -1, 1);
    float *x0 = bo_in(be, r, B * N * C, -1, 1);
    SANA_OP_CALL(be, add, x, x0, r2, B * N * C); /* x = x0 + r, then x += gate * r */
    SANA_OP_CALL(be, gated_residual, x, r2, mod, B, N, C, 6, 2);
    *n = B * N * C;
    return bo_result(be, x, *n);
}

static float *run_transpose_batched(const sana_backend *be, bo_rng *r, int64_t *n)
{
    int64_t B = 2, R = 67, Cc = 45;
    float *x = bo_in(be, r, B * R * Cc, -1, 1), *y = bo_out(be, B * R * Cc);
    SANA_OP_CALL(be, transpose_batched, y, x, B, R, Cc);
    *n = B * R * Cc;
    return bo_result(be, y, *n);
}

static float *run_linear_attn(const sana_backend *be, bo_rng *r, int64_t *n)
{
    int64_t B = 2, N = 77, heads = 3, d = 32, C = heads * d;
    float *q = bo_in(be, r, B * N * C, -1, 1), *k = bo_in(be, r, B * N * C, -1, 1), *v = bo_in(be, r, B * N * C, -1, 1);
    float *y = bo_out(be, B * N * C), *work = bo_out(be, ref_linear_attn_work(d));
    SANA_OP_CALL(be, linear_attn, y, work, q, k, v, B, N, heads, d);
    *n = B * N * C;
    return bo_result(be, y, *n);
}

static float *run_attn_mask_bias(const sana_backend *be, bo_rng *r, int64_t *n)
{
    int64_t len = 300;
    float *m = bo_in(be, r, len, 0, 1), *y = bo_out(be, len);
    SANA_OP_CALL(be, attn_mask_bias, y, m, len);
    *n = len;
    return bo_result(be, y, *n);
}

static float *run_softmax_attn(const sana_backend *be, bo_rng *r, int64_t *n)
{
    int64_t B = 2, N = 53, L = 19, heads = 3, d = 24, C = heads * d;
    float *q = bo_in(be, r, B * N * C, -1, 1), *k = bo_in(be, r, B * L * C, -1, 1), *v = bo_in(be, r, B * L * C, -1, 1);
    float *bias = bo_in(be, r, B * L, -3, 0), *y = bo_out(be, B * N * C), *work = bo_out(be, ref_softmax_attn_work(N, L));
    SANA_OP_CALL(be, softmax_attn, y, work, q, k, v, bias, B, N, L, heads, d);
    *n = B * N * C;
    return bo_result(be, y, *n);
}

static float *run_glumbconv(const sana_backend *be, bo_rng *r, int64_t *n)
{
    int64_t B = 2, Cin = 24, H = 5, W = 9, Hd = 60, Cout = 24;
    float *x = bo_in(be, r, B * Cin * H * W, -1, 1), *y = bo_out(be, B * Cout * H * W);
    float *work = bo_out(be, ref_glumbconv_work(Hd, H, W));
    SANA_OP_CALL(be, glumbconv, y, work, x, bo_wt(r, SANA_BF16, SHP(2 * Hd, Cin, 1, 1), -0.3f, 0.3f),
                 bo_wt(r, SANA_BF16, SHP(2 * Hd), -0.5f, 0.5f), bo_wt(r, SANA_BF16, SHP(2 * Hd, 1, 3, 3), -0.5f, 0.5f),
                 bo_wt(r, SANA_BF16, SHP(2 * Hd), -0.5f, 0.5f), bo_wt(r, SANA_BF16, SHP(Cout, Hd, 1, 1), -0.3f, 0.3f),
                 NULL, B, Cin, H, W, Hd, Cout);
    *n = B * Cout * H * W;
    return bo_result(be, y, *n);
}

const bo_case bo_cases_dit[] = {
    {"timestep_embedding 5x256", SANA_OP_timestep_embedding, run_timestep_embedding},
    {"mlp2 silu f32 13x71->48->33", SANA_OP_mlp2, run_mlp2_silu},
    {"mlp2 gelu_tanh bf16", SANA_OP_mlp2, run_mlp2_gelu},
    {"pos_embed_2d 7x11x72", SANA_OP_pos_embed_2d, run_pos_embed_2d},
    {"patch_embed p1 +pos f16", SANA_OP_patch_embed, run_patch_embed_p1},
    {"patch_embed p2 f16", SANA_OP_patch_embed, run_patch_embed_p2},
    {"unpatchify p2 C7", SANA_OP_unpatchify, run_unpatchify},
    {"dit_modulation 6 rows bf16", SANA_OP_dit_modulation, run_dit_modulation},
    {"dit_modulation shared temb", SANA_OP_dit_modulation, run_dit_modulation_shared},
    {"modulated_layer_norm affine", SANA_OP_modulated_layer_norm, run_modulated_layer_norm},
    {"gated_residual 2x29x131", SANA_OP_gated_residual, run_gated_residual},
    {"transpose_batched 2x67x45", SANA_OP_transpose_batched, run_transpose_batched},
    {"linear_attn 2x77 3 heads of 32", SANA_OP_linear_attn, run_linear_attn},
    {"attn_mask_bias 300", SANA_OP_attn_mask_bias, run_attn_mask_bias},
    {"softmax_attn 2x53x19 3 heads", SANA_OP_softmax_attn, run_softmax_attn},
    {"glumbconv 24->2x60->24 5x9 bf16", SANA_OP_glumbconv, run_glumbconv},
    {0, 0, 0}
};
