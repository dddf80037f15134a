/* Backend-op cases of the core family (see backend_ops.h): small odd sizes for the vector tails,
 * sizes above REF_OMP_MIN for the threaded paths, and the shapes of the real configs:
 * Sana 600M (hidden 1152, MLP 2880), Sana 1600M (hidden 2240, MLP 5600), Gemma-2-2B (hidden 2304,
 * q 8x256, kv 4x256, MLP 9216, 300 tokens), DC-AE f32c32 (widths 128..1024). DiT rows are
 * B = 2 (classifier-free guidance) x 256 tokens (512 px) unless said otherwise. */
#include "backend_ops.h"

#include <math.h>

/* linear: p = {M, K, N, weight dtype, bias (1) or none (0)} */
static float *run_linear(const bo_case *c, const sana_backend *be, bo_rng *r, int64_t *n)
{
    const int64_t M = c->p[0], K = c->p[1], N = c->p[2];
    const sana_dtype dt = (sana_dtype)c->p[3];
    float *x = bo_in(be, r, M * K, -1, 1), *y = bo_out(be, M * N);
    const sana_wt *w = bo_wt(be, r, dt, SHP(N, K), -0.1f, 0.1f);
    const int quant = dt == SANA_Q8 || dt == SANA_Q4; /* biases stay float32 (as sana_weights_quantize) */
    const sana_wt *b = c->p[4] ? bo_wt(be, r, quant ? SANA_F32 : dt, SHP(N), -1, 1) : NULL;
    bo_cost(2.0 * M * K * N, BO_F(M * K + M * N) + (double)(N * K) * (dt == SANA_Q4 ? 0.5 : (double)sana_dtype_size(dt)));
    BO_OP(be, linear, y, x, w, b, M, K, N);
    *n = M * N;
    return bo_result(be, y, *n);
}

/* layer_norm: p = {rows, C, affine} */
static float *run_layer_norm(const bo_case *c, const sana_backend *be, bo_rng *r, int64_t *n)
{
    const int64_t rows = c->p[0], C = c->p[1];
    float *x = bo_in(be, r, rows * C, -3, 3), *y = bo_out(be, rows * C);
    const sana_wt *w = c->p[2] ? bo_wt(be, r, SANA_F32, SHP(C), 0.5f, 1.5f) : NULL;
    const sana_wt *b = c->p[2] ? bo_wt(be, r, SANA_F32, SHP(C), -1, 1) : NULL;
    bo_cost(8.0 * rows * C, BO_F(2 * rows * C));
    BO_OP(be, layer_norm, y, x, w, b, rows, C, 1e-6f);
    *n = rows * C;
    return bo_result(be, y, *n);
}

/* rms_norm: p = {rows, C, weight dtype} */
static float *run_rms_norm(const bo_case *c, const sana_backend *be, bo_rng *r, int64_t *n)
{
    const int64_t rows = c->p[0], C = c->p[1];
    float *x = bo_in(be, r, rows * C, -3, 3), *y = bo_out(be, rows * C);
    const sana_wt *w = bo_wt(be, r, (sana_dtype)c->p[2], SHP(C), 0.5f, 1.5f);
    bo_cost(4.0 * rows * C, BO_F(2 * rows * C));
    BO_OP(be, rms_norm, y, x, w, rows, C, 1e-5f);
    *n = rows * C;
    return bo_result(be, y, *n);
}

BO_UNARY_CASE(silu, 4)
BO_UNARY_CASE(gelu_tanh, 8)
BO_UNARY_CASE(relu, 1)

/* add: p = {n, in place (y = y + x, as the DC-AE residuals call it)} */
static float *run_add(const bo_case *c, const sana_backend *be, bo_rng *r, int64_t *n)
{
    const int64_t len = c->p[0];
    float *a = bo_in(be, r, len, -1, 1), *y;
    bo_cost((double)len, BO_F(3 * len));
    if (c->p[1]) {
        y = bo_out_filled(be, r, len);
        BO_OP(be, add, y, y, a, len);
    } else {
        float *b = bo_in(be, r, len, -1, 1);
        y = bo_out(be, len);
        BO_OP(be, add, y, a, b, len);
    }
    *n = len;
    return bo_result(be, y, len);
}

/* conv2d: p = {B, Cin, H, W, Cout, k, stride, pad, groups, bias} (weights f32, or bf16 when Cin is odd) */
static float *run_conv(const bo_case *c, const sana_backend *be, bo_rng *r, int64_t *n)
{
    const int64_t B = c->p[0], Cin = c->p[1], H = c->p[2], W = c->p[3], Cout = c->p[4], k = c->p[5];
    const int64_t s = c->p[6], p = c->p[7], groups = c->p[8];
    const int64_t Ho = (H + 2 * p - k) / s + 1, Wo = (W + 2 * p - k) / s + 1;
    const sana_dtype dt = Cin % 2 ? SANA_BF16 : SANA_F32;
    const float ws = sqrtf(3.0f / (float)(Cin / groups * k * k)); /* unit-variance outputs for every K */
    float *x = bo_in(be, r, B * Cin * H * W, -1, 1), *y = bo_out(be, B * Cout * Ho * Wo);
    const sana_wt *w = bo_wt(be, r, dt, SHP(Cout, Cin / groups, k, k), -ws, ws);
    const sana_wt *b = c->p[9] ? bo_wt(be, r, dt, SHP(Cout), -1, 1) : NULL;
    bo_cost(2.0 * B * Cout * Ho * Wo * (Cin / groups) * k * k, BO_F(B * Cin * H * W + B * Cout * Ho * Wo));
    BO_OP(be, conv2d, y, x, w, b, B, Cin, H, W, Cout, k, k, s, p, groups);
    *n = B * Cout * Ho * Wo;
    return bo_result(be, y, *n);
}

#define F32 SANA_F32
#define BF16 SANA_BF16
#define F16 SANA_F16
#define BIG ((1 << 22) + 37) /* above REF_OMP_MIN */
#define Q8 SANA_Q8
#define Q4 SANA_Q4

const bo_case bo_cases_core[] = {
    {"linear f32 37x129->65", SANA_OP_linear, run_linear, {37, 129, 65, F32, 1}, 0},
    {"linear bf16 37x129->65", SANA_OP_linear, run_linear, {37, 129, 65, BF16, 1}, 0},
    {"linear f16 37x129->65", SANA_OP_linear, run_linear, {37, 129, 65, F16, 1}, 0},
    {"linear tails 5x17->3", SANA_OP_linear, run_linear, {5, 17, 3, F32, 1}, 0},
    {"linear one row 1x1031->77 bf16", SANA_OP_linear, run_linear, {1, 1031, 77, BF16, 1}, 0},
    {"linear compact bf16 37x129->65", SANA_OP_linear, run_linear, {37, 129, 65, BF16, 1}, BO_COMPACT},
    {"linear compact f16 37x129->65", SANA_OP_linear, run_linear, {37, 129, 65, F16, 1}, BO_COMPACT},
    {"linear 600M t_block 2x1152->6912 bf16", SANA_OP_linear, run_linear, {2, 1152, 6912, BF16, 1}, 0},
    {"linear 600M to_q 512x1152->1152 no bias", SANA_OP_linear, run_linear, {512, 1152, 1152, F32, 0}, 0},
    {"linear 1600M to_out 512x2240->2240 bf16", SANA_OP_linear, run_linear, {512, 2240, 2240, BF16, 1}, BO_BIG},
    {"linear gemma q_proj 300x2304->2048 compact", SANA_OP_linear, run_linear, {300, 2304, 2048, BF16, 0},
     BO_COMPACT | BO_BIG},
    {"linear gemma up_proj 300x2304->9216 compact", SANA_OP_linear, run_linear, {300, 2304, 9216, BF16, 0},
     BO_COMPACT | BO_BIG},
    {"linear gemma down_proj 300x9216->2304 compact", SANA_OP_linear, run_linear, {300, 9216, 2304, BF16, 0},
     BO_COMPACT | BO_BIG},
    {"linear gemma up_proj 14x2304->9216 compact (a prompt's own rows)", SANA_OP_linear, run_linear,
     {14, 2304, 9216, BF16, 0}, BO_COMPACT},
    {"linear q8 37x129->65", SANA_OP_linear, run_linear, {37, 129, 65, Q8, 1}, 0},
    {"linear q8 tails 5x17->3", SANA_OP_linear, run_linear, {5, 17, 3, Q8, 1}, 0},
    {"linear q8 one row 1x1031->77 compact", SANA_OP_linear, run_linear, {1, 1031, 77, Q8, 1}, BO_COMPACT},
    {"linear q8 600M to_q 512x1152->1152", SANA_OP_linear, run_linear, {512, 1152, 1152, Q8, 0}, 0},
    {"linear q8 gemma up_proj 300x2304->9216 compact", SANA_OP_linear, run_linear, {300, 2304, 9216, Q8, 0},
     BO_COMPACT | BO_BIG},
    {"linear q4 37x128->65", SANA_OP_linear, run_linear, {37, 128, 65, Q4, 1}, 0},
    {"linear q4 600M to_q 512x1152->1152", SANA_OP_linear, run_linear, {512, 1152, 1152, Q4, 0}, 0},
    {"linear q4 gemma down_proj 300x9216->2304 compact", SANA_OP_linear, run_linear, {300, 9216, 2304, Q4, 0},
     BO_COMPACT | BO_BIG},
    {"layer_norm 19x257", SANA_OP_layer_norm, run_layer_norm, {19, 257, 1}, 0},
    {"layer_norm tails 3x7", SANA_OP_layer_norm, run_layer_norm, {3, 7, 1}, 0},
    {"layer_norm 600M 512x1152 no affine", SANA_OP_layer_norm, run_layer_norm, {512, 1152, 0}, 0},
    {"layer_norm 1600M 1024px 2048x2240 (4.6M)", SANA_OP_layer_norm, run_layer_norm, {2048, 2240, 1}, 0},
    {"rms_norm 23x96 bf16 weight", SANA_OP_rms_norm, run_rms_norm, {23, 96, BF16}, 0},
    {"rms_norm tails 3x7", SANA_OP_rms_norm, run_rms_norm, {3, 7, F32}, 0},
    {"rms_norm 600M 512x1152", SANA_OP_rms_norm, run_rms_norm, {512, 1152, BF16}, 0},
    {"rms_norm 4099x1031 (4.2M)", SANA_OP_rms_norm, run_rms_norm, {4099, 1031, F32}, 0},
    {"silu 7", SANA_OP_silu, run_silu, {BO_N_TAIL}, 0},
    {"silu 1031", SANA_OP_silu, run_silu, {BO_N_ODD}, 0},
    {"silu 4194341", SANA_OP_silu, run_silu, {BIG}, 0},
    {"gelu_tanh 7", SANA_OP_gelu_tanh, run_gelu_tanh, {BO_N_TAIL}, 0},
    {"gelu_tanh 1031", SANA_OP_gelu_tanh, run_gelu_tanh, {BO_N_ODD}, 0},
    {"gelu_tanh 4194341", SANA_OP_gelu_tanh, run_gelu_tanh, {BIG}, 0},
    {"relu 7", SANA_OP_relu, run_relu, {BO_N_TAIL}, 0},
    {"relu 1031", SANA_OP_relu, run_relu, {BO_N_ODD}, 0},
    {"relu 4194341", SANA_OP_relu, run_relu, {BIG}, 0},
    {"add 7", SANA_OP_add, run_add, {BO_N_TAIL, 0}, 0},
    {"add 1031", SANA_OP_add, run_add, {BO_N_ODD, 0}, 0},
    {"add 4194341", SANA_OP_add, run_add, {BIG, 0}, 0},
    {"add in place 1037", SANA_OP_add, run_add, {1037, 1}, 0},
    {"add in place 4194341", SANA_OP_add, run_add, {BIG, 1}, 0},
    /*                                          B  Cin   H    W  Cout k  s  p  g  bias */
    {"conv2d 3x3 5->7 9x13", SANA_OP_conv2d, run_conv, {2, 5, 9, 13, 7, 3, 1, 1, 1, 1}, 0},
    {"conv2d 1x1 6->4 9x13", SANA_OP_conv2d, run_conv, {2, 6, 9, 13, 4, 1, 1, 0, 1, 1}, 0},
    {"conv2d depthwise 3x3 6ch 9x13", SANA_OP_conv2d, run_conv, {2, 6, 9, 13, 6, 3, 1, 1, 6, 1}, 0},
    {"conv2d grouped 1x1 6->9 g=3", SANA_OP_conv2d, run_conv, {2, 6, 9, 13, 9, 1, 1, 0, 3, 1}, 0},
    {"conv2d 3x3 stride 2 3->5", SANA_OP_conv2d, run_conv, {2, 3, 9, 13, 5, 3, 2, 1, 1, 1}, 0},
    {"conv2d 3x3 16->24 17x23 (tails)", SANA_OP_conv2d, run_conv, {2, 16, 17, 23, 24, 3, 1, 1, 1, 1}, 0},
    {"conv2d 3x3 1x1 image 8->8", SANA_OP_conv2d, run_conv, {1, 8, 1, 1, 8, 3, 1, 1, 1, 0}, 0},
    {"conv2d dcae conv_in 3x3 32->1024 16x16", SANA_OP_conv2d, run_conv, {1, 32, 16, 16, 1024, 3, 1, 1, 1, 1}, 0},
    {"conv2d dcae 3x3 128->128 64x64", SANA_OP_conv2d, run_conv, {1, 128, 64, 64, 128, 3, 1, 1, 1, 1}, 0},
    {"conv2d dcae 3x3 256->256 64x64 no bias", SANA_OP_conv2d, run_conv, {1, 256, 64, 64, 256, 3, 1, 1, 1, 0}, BO_BIG},
    {"conv2d dcae 3x3 512->512 32x32", SANA_OP_conv2d, run_conv, {1, 512, 32, 32, 512, 3, 1, 1, 1, 1}, BO_BIG},
    {"conv2d dcae 3x3 1024->1024 16x16", SANA_OP_conv2d, run_conv, {1, 1024, 16, 16, 1024, 3, 1, 1, 1, 1}, BO_BIG},
    {"conv2d dcae conv_out 3x3 128->3 128x128", SANA_OP_conv2d, run_conv, {1, 128, 128, 128, 3, 3, 1, 1, 1, 1}, 0},
    {"conv2d dcae down 3x3 s2 128->256 64x64", SANA_OP_conv2d, run_conv, {1, 128, 64, 64, 256, 3, 2, 1, 1, 1}, 0},
    {"conv2d dcae qkv 1x1 512->1536 32x32", SANA_OP_conv2d, run_conv, {1, 512, 32, 32, 1536, 1, 1, 0, 1, 0}, 0},
    {"conv2d dcae aggreg dw 5x5 1536ch 32x32", SANA_OP_conv2d, run_conv, {1, 1536, 32, 32, 1536, 5, 1, 2, 1536, 0}, 0},
    {"conv2d dcae aggreg 1x1 g=48 1536ch 32x32", SANA_OP_conv2d, run_conv, {1, 1536, 32, 32, 1536, 1, 1, 0, 48, 0}, 0},
    {"conv2d dw 3x3 256ch 130x131 (4.4M)", SANA_OP_conv2d, run_conv, {1, 256, 130, 131, 256, 3, 1, 1, 256, 1}, 0},
    {0, 0, 0, {0}, 0}
};
