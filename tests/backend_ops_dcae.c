/* Backend-op cases of the dcae family (see backend_ops.h). Sizes are odd on purpose.
 * Real config: dc-ae-f32c32-sana-1.0 (golden/dump_dcae.py REAL_SANA_CONFIG): widths 128, 256, 512,
 * 512, 1024, 1024, 32 latent channels, attention heads of 32 (x2 for the multi-scale branch), the
 * decoder at 512 px going from 16x16 (1024 channels) to 512x512 (128 channels); B = 1. */
#include "backend_ops.h"

/* rms_norm_2d: p = {B, C, HW, weight dtype} */
static float *run_rms_norm_2d(const bo_case *c, const sana_backend *be, bo_rng *r, int64_t *n)
{
    const int64_t B = c->p[0], C = c->p[1], HW = c->p[2];
    float *x = bo_in(be, r, B * C * HW, -3, 3), *y = bo_out(be, B * C * HW);
    const sana_wt *w = bo_wt(be, r, (sana_dtype)c->p[3], SHP(C), 0.5f, 1.5f), *b = bo_wt(be, r, SANA_F32, SHP(C), -1, 1);
    bo_cost(5.0 * B * C * HW, BO_F(2 * B * C * HW));
    BO_OP(be, rms_norm_2d, y, x, w, b, B, C, HW, 1e-5f);
    *n = B * C * HW;
    return bo_result(be, y, *n);
}

/* batch_norm_2d: p = {B, C, HW} */
static float *run_batch_norm_2d(const bo_case *c, const sana_backend *be, bo_rng *r, int64_t *n)
{
    const int64_t B = c->p[0], C = c->p[1], HW = c->p[2];
    float *x = bo_in(be, r, B * C * HW, -3, 3), *y = bo_out(be, B * C * HW);
    const sana_wt *mean = bo_wt(be, r, SANA_F32, SHP(C), -0.5f, 0.5f), *var = bo_wt(be, r, SANA_F32, SHP(C), 0.5f, 1.5f);
    const sana_wt *w = bo_wt(be, r, SANA_F16, SHP(C), 0.5f, 1.5f), *b = bo_wt(be, r, SANA_F32, SHP(C), -1, 1);
    bo_cost(2.0 * B * C * HW, BO_F(2 * B * C * HW));
    BO_OP(be, batch_norm_2d, y, x, mean, var, w, b, B, C, HW, 1e-5f);
    *n = B * C * HW;
    return bo_result(be, y, *n);
}

BO_UNARY_CASE(gelu_erf, 10)
BO_UNARY_CASE(mish, 12)

/* pixel_shuffle / pixel_unshuffle / upsample_nearest: p = {B, C, H, W, r}; C, H, W of the input
 * (pixel_shuffle's C is its output's: the input has C*r*r channels) */
static float *run_pixel_shuffle(const bo_case *c, const sana_backend *be, bo_rng *r, int64_t *n)
{
    const int64_t B = c->p[0], C = c->p[1], H = c->p[2], W = c->p[3], f = c->p[4], len = B * C * f * f * H * W;
    float *x = bo_in(be, r, len, -1, 1), *y = bo_out(be, len);
    bo_cost(0, BO_F(2 * len));
    BO_OP(be, pixel_shuffle, y, x, B, C, H, W, f);
    *n = len;
    return bo_result(be, y, *n);
}

static float *run_pixel_unshuffle(const bo_case *c, const sana_backend *be, bo_rng *r, int64_t *n)
{
    const int64_t B = c->p[0], C = c->p[1], H = c->p[2], W = c->p[3], f = c->p[4], len = B * C * H * W;
    float *x = bo_in(be, r, len, -1, 1), *y = bo_out(be, len);
    bo_cost(0, BO_F(2 * len));
    BO_OP(be, pixel_unshuffle, y, x, B, C, H, W, f);
    *n = len;
    return bo_result(be, y, *n);
}

static float *run_upsample_nearest(const bo_case *c, const sana_backend *be, bo_rng *r, int64_t *n)
{
    const int64_t B = c->p[0], C = c->p[1], H = c->p[2], W = c->p[3], s = c->p[4], len = B * C * H * W;
    float *x = bo_in(be, r, len, -1, 1), *y = bo_out(be, len * s * s);
    bo_cost(0, BO_F(len + len * s * s));
    BO_OP(be, upsample_nearest, y, x, B, C, H, W, s);
    *n = len * s * s;
    return bo_result(be, y, *n);
}

/* dcae_shortcut_up: p = {B, C, H, W, repeats, r}; y += shortcut in place */
static float *run_shortcut_up(const bo_case *c, const sana_backend *be, bo_rng *r, int64_t *n)
{
    const int64_t B = c->p[0], C = c->p[1], H = c->p[2], W = c->p[3], rep = c->p[4], f = c->p[5];
    float *x = bo_in(be, r, B * C * H * W, -1, 1);
    *n = B * (C * rep / (f * f)) * f * f * H * W;
    float *y = bo_out_filled(be, r, *n);
    bo_cost((double)*n, BO_F(B * C * H * W + 2 * *n));
    BO_OP(be, dcae_shortcut_up, y, x, B, C, H, W, rep, f);
    return bo_result(be, y, *n);
}

/* dcae_shortcut_down: p = {B, C, H, W, group, r}; y += shortcut in place */
static float *run_shortcut_down(const bo_case *c, const sana_backend *be, bo_rng *r, int64_t *n)
{
    const int64_t B = c->p[0], C = c->p[1], H = c->p[2], W = c->p[3], group = c->p[4], f = c->p[5];
    float *x = bo_in(be, r, B * C * H * W, -1, 1);
    *n = B * (C * f * f / group) * (H / f) * (W / f);
    float *y = bo_out_filled(be, r, *n);
    bo_cost((double)(B * C * H * W + *n), BO_F(B * C * H * W + 2 * *n));
    BO_OP(be, dcae_shortcut_down, y, x, B, C, H, W, group, f);
    return bo_result(be, y, *n);
}

/* ms_linear_attn / ms_quadratic_attn: p = {B, heads, d, N, q upper bound x1000} (q below 0 after
 * the ReLU for some pixels when the bound is small: 0 / (0 + 1e-15)) */
static float *run_attn(const bo_case *c, const sana_backend *be, bo_rng *r, int64_t *n, int quadratic)
{
    const int64_t B = c->p[0], heads = c->p[1], d = c->p[2], N = c->p[3];
    const float qmax = (float)c->p[4] / 1000.0f;
    float *qkv = bo_in(be, r, B * heads * 3 * d * N, -1, 1), *y = bo_out(be, B * heads * d * N);
    if (qmax < 1.0f) /* the q rows of every head: [b, h, 0:d, :] */
        for (int64_t bh = 0; bh < B * heads; bh++) {
            float *q = bo_in(be, r, d * N, -1, qmax);
            be->copy(be->ctx, qkv + bh * 3 * d * N, q, (size_t)(d * N) * sizeof(float));
        }
    if (quadratic) {
        bo_cost(4.0 * B * heads * N * N * d, BO_F(4 * B * heads * d * N));
        BO_OP(be, ms_quadratic_attn, y, qkv, B, heads, d, N, 1e-15f);
    } else {
        bo_cost(4.0 * B * heads * N * d * (d + 1), BO_F(4 * B * heads * d * N));
        BO_OP(be, ms_linear_attn, y, qkv, B, heads, d, N, 1e-15f);
    }
    *n = B * heads * d * N;
    return bo_result(be, y, *n);
}
static float *run_linear_attn(const bo_case *c, const sana_backend *be, bo_rng *r, int64_t *n)
{
    return run_attn(c, be, r, n, 0);
}
static float *run_quadratic_attn(const bo_case *c, const sana_backend *be, bo_rng *r, int64_t *n)
{
    return run_attn(c, be, r, n, 1);
}

#define F32 SANA_F32
#define BF16 SANA_BF16
#define BIG ((1 << 22) + 37) /* above REF_OMP_MIN */

const bo_case bo_cases_dcae[] = {
    {"rms_norm_2d 2x37x29 bf16 weight", SANA_OP_rms_norm_2d, run_rms_norm_2d, {2, 37, 29, BF16}, 0},
    {"rms_norm_2d tails 1x3x5", SANA_OP_rms_norm_2d, run_rms_norm_2d, {1, 3, 5, F32}, 0},
    {"rms_norm_2d dcae 1024x16x16", SANA_OP_rms_norm_2d, run_rms_norm_2d, {1, 1024, 256, F32}, 0},
    {"rms_norm_2d dcae 128x256x256 (8.4M)", SANA_OP_rms_norm_2d, run_rms_norm_2d, {1, 128, 65536, F32}, 0},
    {"batch_norm_2d 3x19x31", SANA_OP_batch_norm_2d, run_batch_norm_2d, {3, 19, 31}, 0},
    {"batch_norm_2d tails 1x3x5", SANA_OP_batch_norm_2d, run_batch_norm_2d, {1, 3, 5}, 0},
    {"batch_norm_2d 1x257x16411 (4.2M)", SANA_OP_batch_norm_2d, run_batch_norm_2d, {1, 257, 16411}, 0},
    {"gelu_erf 7", SANA_OP_gelu_erf, run_gelu_erf, {BO_N_TAIL}, 0},
    {"gelu_erf 1031", SANA_OP_gelu_erf, run_gelu_erf, {BO_N_ODD}, 0},
    {"gelu_erf 4194341", SANA_OP_gelu_erf, run_gelu_erf, {BIG}, 0},
    {"mish 7", SANA_OP_mish, run_mish, {BO_N_TAIL}, 0},
    {"mish 1031", SANA_OP_mish, run_mish, {BO_N_ODD}, 0},
    {"mish 4194341", SANA_OP_mish, run_mish, {BIG}, 0},
    /*                                                                B    C    H    W  r */
    {"pixel_shuffle 2x12x5x7 r2", SANA_OP_pixel_shuffle, run_pixel_shuffle, {2, 3, 5, 7, 2}, 0},
    {"pixel_shuffle dcae 512x16x16 r2", SANA_OP_pixel_shuffle, run_pixel_shuffle, {1, 128, 16, 16, 2}, 0},
    {"pixel_shuffle 512x128x128 r2 (8.4M)", SANA_OP_pixel_shuffle, run_pixel_shuffle, {1, 128, 128, 128, 2}, 0},
    {"pixel_unshuffle 2x5x6x10 r2", SANA_OP_pixel_unshuffle, run_pixel_unshuffle, {2, 5, 6, 10, 2}, 0},
    {"pixel_unshuffle dcae 128x64x64 r2", SANA_OP_pixel_unshuffle, run_pixel_unshuffle, {1, 128, 64, 64, 2}, 0},
    {"pixel_unshuffle 128x256x258 r2 (8.5M)", SANA_OP_pixel_unshuffle, run_pixel_unshuffle, {1, 128, 256, 258, 2}, 0},
    {"upsample_nearest x2 2x3x5x7", SANA_OP_upsample_nearest, run_upsample_nearest, {2, 3, 5, 7, 2}, 0},
    {"upsample_nearest dcae 1024x16x16 x2", SANA_OP_upsample_nearest, run_upsample_nearest, {1, 1024, 16, 16, 2}, 0},
    {"upsample_nearest 256x65x63 x2 (4.2M out)", SANA_OP_upsample_nearest, run_upsample_nearest,
     {1, 256, 65, 63, 2}, 0},
    /*                                                                  B    C    H    W rep r */
    {"dcae_shortcut_up 6->3 3x5", SANA_OP_dcae_shortcut_up, run_shortcut_up, {2, 6, 3, 5, 2, 2}, 0},
    {"dcae_shortcut_up dcae 1024->512 16x16", SANA_OP_dcae_shortcut_up, run_shortcut_up, {1, 1024, 16, 16, 2, 2}, 0},
    {"dcae_shortcut_up dcae in_shortcut 32->1024", SANA_OP_dcae_shortcut_up, run_shortcut_up, {1, 32, 16, 16, 32, 1}, 0},
    {"dcae_shortcut_up 256->128 128x128 (8.4M)", SANA_OP_dcae_shortcut_up, run_shortcut_up,
     {1, 256, 128, 128, 2, 2}, 0},
    /*                                                                     B    C    H    W grp r */
    {"dcae_shortcut_down 6->8 6x4", SANA_OP_dcae_shortcut_down, run_shortcut_down, {2, 6, 6, 4, 3, 2}, 0},
    {"dcae_shortcut_down dcae 512->1024 32x32", SANA_OP_dcae_shortcut_down, run_shortcut_down,
     {1, 512, 32, 32, 2, 2}, 0},
    {"dcae_shortcut_down dcae out_shortcut 1024->32", SANA_OP_dcae_shortcut_down, run_shortcut_down,
     {1, 1024, 16, 16, 32, 1}, 0},
    {"dcae_shortcut_down 128->256 256x256 (8.4M)", SANA_OP_dcae_shortcut_down, run_shortcut_down,
     {1, 128, 256, 256, 2, 2}, 0},
    /*                                                                 B heads  d     N qmax */
    {"ms_linear_attn 2x3 heads d=8 N=45", SANA_OP_ms_linear_attn, run_linear_attn, {2, 3, 8, 45, 1000}, 0},
    {"ms_linear_attn zero q (eps 1e-15)", SANA_OP_ms_linear_attn, run_linear_attn, {1, 4, 8, 61, 50}, 0},
    {"ms_linear_attn dcae 512ch 32x32: 32 heads", SANA_OP_ms_linear_attn, run_linear_attn, {1, 32, 32, 1024, 1000}, 0},
    {"ms_linear_attn dcae 1024ch 16x16: 64 heads", SANA_OP_ms_linear_attn, run_linear_attn, {1, 64, 32, 256, 1000}, 0},
    {"ms_linear_attn 1x1 head N=131101 (4.2M)", SANA_OP_ms_linear_attn, run_linear_attn, {1, 1, 32, 131101, 1000}, 0},
    {"ms_quadratic_attn 2x3 heads d=8 N=6", SANA_OP_ms_quadratic_attn, run_quadratic_attn, {2, 3, 8, 6, 1000}, 0},
    {"ms_quadratic_attn zero q (eps 1e-15)", SANA_OP_ms_quadratic_attn, run_quadratic_attn, {1, 4, 8, 7, 50}, 0},
    {"ms_quadratic_attn dcae 1024ch 4x8: 64 heads", SANA_OP_ms_quadratic_attn, run_quadratic_attn,
     {1, 64, 32, 32, 1000}, 0},
    {0, 0, 0, {0}, 0}
};
