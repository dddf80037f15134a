/* Backend-op cases of the core family (see backend_ops.h). Sizes are odd on purpose. */
#include "backend_ops.h"

static float *run_linear(const sana_backend *be, bo_rng *r, int64_t *n, sana_dtype dt)
{
    int64_t M = 37, K = 129, N = 65;
    float *x = bo_in(be, r, M * K, -1, 1), *y = bo_out(be, M * N);
    const sana_wt *w = bo_wt(r, dt, SHP(N, K), -0.1f, 0.1f), *b = bo_wt(r, dt, SHP(N), -1, 1);
    SANA_OP_CALL(be, linear, y, x, w, b, M, K, N);
    *n = M * N;
    return bo_result(be, y, *n);
}
static float *run_linear_f32(const sana_backend *be, bo_rng *r, int64_t *n) { return run_linear(be, r, n, SANA_F32); }
static float *run_linear_bf16(const sana_backend *be, bo_rng *r, int64_t *n) { return run_linear(be, r, n, SANA_BF16); }
static float *run_linear_f16(const sana_backend *be, bo_rng *r, int64_t *n) { return run_linear(be, r, n, SANA_F16); }

static float *run_layer_norm(const sana_backend *be, bo_rng *r, int64_t *n)
{
    int64_t rows = 19, C = 257;
    float *x = bo_in(be, r, rows * C, -3, 3), *y = bo_out(be, rows * C);
    SANA_OP_CALL(be, layer_norm, y, x, bo_wt(r, SANA_F32, SHP(C), 0.5f, 1.5f),
                 bo_wt(r, SANA_F32, SHP(C), -1, 1), rows, C, 1e-6f);
    *n = rows * C;
    return bo_result(be, y, *n);
}

static float *run_rms_norm(const sana_backend *be, bo_rng *r, int64_t *n)
{
    int64_t rows = 23, C = 96;
    float *x = bo_in(be, r, rows * C, -3, 3), *y = bo_out(be, rows * C);
    SANA_OP_CALL(be, rms_norm, y, x, bo_wt(r, SANA_BF16, SHP(C), 0.5f, 1.5f), rows, C, 1e-5f);
    *n = rows * C;
    return bo_result(be, y, *n);
}

BO_UNARY_CASE(silu)
BO_UNARY_CASE(gelu_tanh)
BO_UNARY_CASE(relu)

static float *run_add(const sana_backend *be, bo_rng *r, int64_t *n)
{
    int64_t len = 1031;
    float *a = bo_in(be, r, len, -1, 1), *b = bo_in(be, r, len, -1, 1), *y = bo_out(be, len);
    SANA_OP_CALL(be, add, y, a, b, len);
    *n = len;
    return bo_result(be, y, *n);
}
/* y = y + x, as the DC-AE residuals call it (the output aliases the first input). */
static float *run_add_inplace(const sana_backend *be, bo_rng *r, int64_t *n)
{
    int64_t len = 1037;
    float *x = bo_in(be, r, len, -2, 2), *y = bo_out_filled(be, r, len);
    SANA_OP_CALL(be, add, y, y, x, len);
    *n = len;
    return bo_result(be, y, len);
}

static float *run_conv(const sana_backend *be, bo_rng *r, int64_t *n, int64_t Cin, int64_t Cout, int64_t k,
                       int64_t s, int64_t p, int64_t groups)
{
    int64_t B = 2, H = 9, W = 13, Ho = (H + 2 * p - k) / s + 1, Wo = (W + 2 * p - k) / s + 1;
    float *x = bo_in(be, r, B * Cin * H * W, -1, 1), *y = bo_out(be, B * Cout * Ho * Wo);
    const sana_wt *w = bo_wt(r, SANA_F32, SHP(Cout, Cin / groups, k, k), -0.3f, 0.3f);
    const sana_wt *b = bo_wt(r, SANA_F32, SHP(Cout), -1, 1);
    SANA_OP_CALL(be, conv2d, y, x, w, b, B, Cin, H, W, Cout, k, k, s, p, groups);
    *n = B * Cout * Ho * Wo;
    return bo_result(be, y, *n);
}
static float *run_conv3(const sana_backend *be, bo_rng *r, int64_t *n) { return run_conv(be, r, n, 5, 7, 3, 1, 1, 1); }
static float *run_conv1(const sana_backend *be, bo_rng *r, int64_t *n) { return run_conv(be, r, n, 6, 4, 1, 1, 0, 1); }
static float *run_convdw(const sana_backend *be, bo_rng *r, int64_t *n) { return run_conv(be, r, n, 6, 6, 3, 1, 1, 6); }
static float *run_convg(const sana_backend *be, bo_rng *r, int64_t *n) { return run_conv(be, r, n, 6, 9, 1, 1, 0, 3); }
static float *run_convs2(const sana_backend *be, bo_rng *r, int64_t *n) { return run_conv(be, r, n, 3, 5, 3, 2, 1, 1); }

const bo_case bo_cases_core[] = {
    {"linear f32 37x129->65", SANA_OP_linear, run_linear_f32},
    {"linear bf16 weights", SANA_OP_linear, run_linear_bf16},
    {"linear f16 weights", SANA_OP_linear, run_linear_f16},
    {"layer_norm 19x257", SANA_OP_layer_norm, run_layer_norm},
    {"rms_norm 23x96 bf16 weight", SANA_OP_rms_norm, run_rms_norm},
    {"silu 1031", SANA_OP_silu, run_silu},
    {"gelu_tanh 1031", SANA_OP_gelu_tanh, run_gelu_tanh},
    {"relu 1031", SANA_OP_relu, run_relu},
    {"add 1031", SANA_OP_add, run_add},
    {"add in place 1037", SANA_OP_add, run_add_inplace},
    {"conv2d 3x3 5->7", SANA_OP_conv2d, run_conv3},
    {"conv2d 1x1 6->4", SANA_OP_conv2d, run_conv1},
    {"conv2d depthwise 3x3", SANA_OP_conv2d, run_convdw},
    {"conv2d grouped 1x1 g=3", SANA_OP_conv2d, run_convg},
    {"conv2d 3x3 stride 2", SANA_OP_conv2d, run_convs2},
    {0, 0, 0}
};
