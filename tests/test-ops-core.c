/* tests/test-ops-core.c -- the core operators through the ref backend against golden/ops/core. */
#include "golden.h"
#include "backend/backend.h"

#include <stdio.h>
#include <stdlib.h>

static const sana_backend *be;

/* A weight view over a golden tensor in its stored dtype. */
static const sana_wt *wt(golden *g, const char *name)
{
    return &golden_get(g, name)->wt;
}

static void check_linear(golden *g, const char *c, int64_t M, int64_t K, int64_t N, int bias)
{
    char nx[64], nw[64], nb[64], ny[64];
    snprintf(nx, sizeof nx, "%s.x", c);
    snprintf(nw, sizeof nw, "%s.w", c);
    snprintf(nb, sizeof nb, "%s.b", c);
    snprintf(ny, sizeof ny, "%s.y", c);
    float *x = golden_f32(g, nx, NULL), *y = malloc((size_t)(M * N) * sizeof(float));
    SANA_OP_CALL(be, linear, y, x, wt(g, nw), bias ? wt(g, nb) : NULL, M, K, N);
    golden_check(g, c, y, M * N, ny, "linear");
    free(x);
    free(y);
}

static void check_conv(golden *g, const char *c, int64_t B, int64_t Cin, int64_t H, int64_t W, int64_t Cout,
                       int64_t k, int64_t s, int64_t groups, int bias)
{
    char nx[64], nw[64], nb[64], ny[64];
    snprintf(nx, sizeof nx, "%s.x", c);
    snprintf(nw, sizeof nw, "%s.w", c);
    snprintf(nb, sizeof nb, "%s.b", c);
    snprintf(ny, sizeof ny, "%s.y", c);
    int64_t p = k / 2, Ho = (H + 2 * p - k) / s + 1, Wo = (W + 2 * p - k) / s + 1, n = B * Cout * Ho * Wo;
    float *x = golden_f32(g, nx, NULL), *y = malloc((size_t)n * sizeof(float));
    SANA_OP_CALL(be, conv2d, y, x, wt(g, nw), bias ? wt(g, nb) : NULL, B, Cin, H, W, Cout, k, k, s, p, groups);
    golden_check(g, c, y, n, ny, "conv2d");
    free(x);
    free(y);
}

static void check_act(golden *g, const char *op, void (*fn)(void *, float *, const float *, int64_t))
{
    int64_t n;
    char ny[64];
    snprintf(ny, sizeof ny, "%s.y", op);
    float *x = golden_f32(g, "act.x", &n), *y = malloc((size_t)n * sizeof(float));
    fn(be->ctx, y, x, n);
    golden_check(g, op, y, n, ny, "activation");
    /* in place, as model code uses them */
    fn(be->ctx, x, x, n);
    golden_check(g, op, x, n, ny, "activation");
    free(x);
    free(y);
}

int main(void)
{
    be = sana_backend_ref();
    golden *g = golden_open("ops/core.safetensors");

    check_linear(g, "linear", 7, 33, 65, 1);
    check_linear(g, "linear_nobias", 5, 48, 24, 0);
    check_linear(g, "linear_mid", 40, 576, 320, 1);
    check_linear(g, "linear_bf16", 9, 64, 40, 1);
    check_linear(g, "linear_f16", 9, 64, 40, 1);

    int64_t n;
    float *x = golden_f32(g, "layer_norm.x", &n), *y = malloc((size_t)n * sizeof(float));
    SANA_OP_CALL(be, layer_norm, y, x, NULL, NULL, n / 96, 96, 1e-6f);
    golden_check(g, "layer_norm (no affine, eps 1e-6)", y, n, "layer_norm.y", "layer_norm");
    free(x);
    free(y);

    x = golden_f32(g, "rms_norm.x", &n);
    y = malloc((size_t)n * sizeof(float));
    SANA_OP_CALL(be, rms_norm, y, x, wt(g, "rms_norm.w"), n / 96, 96, 1e-5f);
    golden_check(g, "rms_norm (affine, eps 1e-5)", y, n, "rms_norm.y", "rms_norm");
    free(x);
    free(y);

    check_act(g, "silu", be->silu);
    check_act(g, "gelu_tanh", be->gelu_tanh);
    check_act(g, "relu", be->relu);

    check_conv(g, "conv3x3", 2, 8, 9, 11, 12, 3, 1, 1, 1);
    check_conv(g, "conv1x1", 2, 16, 6, 10, 24, 1, 1, 1, 0);
    check_conv(g, "conv_dw3x3", 2, 16, 7, 9, 16, 3, 1, 16, 1);
    check_conv(g, "conv3x3_s2", 1, 4, 10, 7, 6, 3, 2, 1, 1);
    check_conv(g, "conv_mid", 1, 64, 16, 16, 96, 3, 1, 1, 1);

    golden_close(g);
    return golden_exit();
}
