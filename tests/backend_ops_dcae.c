/* Backend-op cases of the dcae family (see backend_ops.h). Sizes are odd on purpose. */
#include "backend_ops.h"

#include <stdlib.h>

static float *run_rms_norm_2d(const sana_backend *be, bo_rng *r, int64_t *n)
{
    int64_t B = 2, C = 37, HW = 29;
    float *x = bo_in(be, r, B * C * HW, -3, 3), *y = bo_out(be, B * C * HW);
    SANA_OP_CALL(be, rms_norm_2d, y, x, bo_wt(r, SANA_BF16, SHP(C), 0.5f, 1.5f),
                 bo_wt(r, SANA_F32, SHP(C), -1, 1), B, C, HW, 1e-5f);
    *n = B * C * HW;
    return bo_result(be, y, *n);
}

static float *run_batch_norm_2d(const sana_backend *be, bo_rng *r, int64_t *n)
{
    int64_t B = 3, C = 19, HW = 31;
    float *x = bo_in(be, r, B * C * HW, -3, 3), *y = bo_out(be, B * C * HW);
    SANA_OP_CALL(be, batch_norm_2d, y, x, bo_wt(r, SANA_F32, SHP(C), -0.5f, 0.5f),
                 bo_wt(r, SANA_F32, SHP(C), 0.5f, 1.5f), bo_wt(r, SANA_F16, SHP(C), 0.5f, 1.5f),
                 bo_wt(r, SANA_F32, SHP(C), -1, 1), B, C, HW, 1e-5f);
    *n = B * C * HW;
    return bo_result(be, y, *n);
}

BO_UNARY_CASE(gelu_erf)
BO_UNARY_CASE(mish)

static float *run_pixel_shuffle(const sana_backend *be, bo_rng *r, int64_t *n)
{
    int64_t B = 2, C = 3, H = 5, W = 7, f = 2;
    float *x = bo_in(be, r, B * C * f * f * H * W, -1, 1), *y = bo_out(be, B * C * f * f * H * W);
    SANA_OP_CALL(be, pixel_shuffle, y, x, B, C, H, W, f);
    *n = B * C * f * f * H * W;
    return bo_result(be, y, *n);
}

static float *run_pixel_unshuffle(const sana_backend *be, bo_rng *r, int64_t *n)
{
    int64_t B = 2, C = 5, H = 6, W = 10, f = 2;
    float *x = bo_in(be, r, B * C * H * W, -1, 1), *y = bo_out(be, B * C * H * W);
    SANA_OP_CALL(be, pixel_unshuffle, y, x, B, C, H, W, f);
    *n = B * C * H * W;
    return bo_result(be, y, *n);
}

static float *run_upsample_nearest(const sana_backend *be, bo_rng *r, int64_t *n)
{
    int64_t B = 2, C = 3, H = 5, W = 7;
    float *x = bo_in(be, r, B * C * H * W, -1, 1), *y = bo_out(be, B * C * 4 * H * W);
    SANA_OP_CALL(be, upsample_nearest, y, x, B, C, H, W, 2);
    *n = B * C * 4 * H * W;
    return bo_result(be, y, *n);
}

static float *run_shortcut_up(const sana_backend *be, bo_rng *r, int64_t *n)
{
    int64_t B = 2, C = 6, H = 3, W = 5, rep = 2; /* DCUpBlock2d(6, 3): repeats 3*4/6 = 2 */
    float *x = bo_in(be, r, B * C * H * W, -1, 1);
    *n = B * (C * rep / 4) * 4 * H * W;
    float *y = bo_out_filled(be, r, *n);
    SANA_OP_CALL(be, dcae_shortcut_up, y, x, B, C, H, W, rep, 2);
    return bo_result(be, y, *n);
}

static float *run_shortcut_down(const sana_backend *be, bo_rng *r, int64_t *n)
{
    int64_t B = 2, C = 6, H = 6, W = 4, group = 3; /* DCDownBlock2d(6, 8): group 6*4/8 = 3 */
    float *x = bo_in(be, r, B * C * H * W, -1, 1);
    *n = B * (C * 4 / group) * (H / 2) * (W / 2);
    float *y = bo_out_filled(be, r, *n);
    SANA_OP_CALL(be, dcae_shortcut_down, y, x, B, C, H, W, group, 2);
    return bo_result(be, y, *n);
}

static float *run_attn(const sana_backend *be, bo_rng *r, int64_t *n, int quadratic)
{
    int64_t B = 2, heads = 3, d = 8, N = quadratic ? 6 : 45;
    float *qkv = bo_in(be, r, B * heads * 3 * d * N, -1, 1), *y = bo_out(be, B * heads * d * N);
    if (quadratic) SANA_OP_CALL(be, ms_quadratic_attn, y, qkv, B, heads, d, N, 1e-15f);
    else SANA_OP_CALL(be, ms_linear_attn, y, qkv, B, heads, d, N, 1e-15f);
    *n = B * heads * d * N;
    return bo_result(be, y, *n);
}
static float *run_linear_attn(const sana_backend *be, bo_rng *r, int64_t *n) { return run_attn(be, r, n, 0); }
static float *run_quadratic_attn(const sana_backend *be, bo_rng *r, int64_t *n) { return run_attn(be, r, n, 1); }

const bo_case bo_cases_dcae[] = {
    {"rms_norm_2d 2x37x29 bf16 weight", SANA_OP_rms_norm_2d, run_rms_norm_2d},
    {"batch_norm_2d 3x19x31", SANA_OP_batch_norm_2d, run_batch_norm_2d},
    {"gelu_erf 1031", SANA_OP_gelu_erf, run_gelu_erf},
    {"mish 1031", SANA_OP_mish, run_mish},
    {"pixel_shuffle 2x12x5x7", SANA_OP_pixel_shuffle, run_pixel_shuffle},
    {"pixel_unshuffle 2x5x6x10", SANA_OP_pixel_unshuffle, run_pixel_unshuffle},
    {"upsample_nearest x2", SANA_OP_upsample_nearest, run_upsample_nearest},
    {"dcae_shortcut_up 6->3", SANA_OP_dcae_shortcut_up, run_shortcut_up},
    {"dcae_shortcut_down 6->8", SANA_OP_dcae_shortcut_down, run_shortcut_down},
    {"ms_linear_attn 2x3 heads d=8 N=45", SANA_OP_ms_linear_attn, run_linear_attn},
    {"ms_quadratic_attn 2x3 heads d=8 N=6", SANA_OP_ms_quadratic_attn, run_quadratic_attn},
    {0, 0, 0}
};
