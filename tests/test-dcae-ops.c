/* tests/test-dcae-ops.c -- the dcae operators through the ref backend against golden/dcae/ops
 * (made by golden/dump_dcae.py from torch / diffusers functions). */
#include "golden.h"
#include "backend/backend.h"

#include <stdio.h>
#include <stdlib.h>

static const sana_backend *be;

static const sana_wt *wt(golden *g, const char *name) { return &golden_get(g, name)->wt; }

/* n floats of zeros (the shortcut ops accumulate into their output). */
static float *zeros(int64_t n) { return calloc((size_t)n, sizeof(float)); }

static int64_t numel(golden *g, const char *name) { return sana_wt_numel(wt(g, name)); }

int main(void)
{
    be = sana_backend_ref();
    golden *g = golden_open("dcae/ops.safetensors");
    float *x, *y;
    int64_t n;

    x = golden_f32(g, "pixel_shuffle.x", NULL);
    y = zeros(n = numel(g, "pixel_shuffle.y"));
    SANA_OP_CALL(be, pixel_shuffle, y, x, 2, 3, 3, 5, 2);
    golden_check(g, "pixel_shuffle [2,12,3,5] r=2", y, n, "pixel_shuffle.y", "dcae_exact");
    free(x); free(y);

    x = golden_f32(g, "pixel_unshuffle.x", NULL);
    y = zeros(n = numel(g, "pixel_unshuffle.y"));
    SANA_OP_CALL(be, pixel_unshuffle, y, x, 2, 3, 6, 10, 2);
    golden_check(g, "pixel_unshuffle [2,3,6,10] r=2", y, n, "pixel_unshuffle.y", "dcae_exact");
    free(x); free(y);

    x = golden_f32(g, "upsample_nearest.x", NULL);
    y = zeros(n = numel(g, "upsample_nearest.y"));
    SANA_OP_CALL(be, upsample_nearest, y, x, 2, 3, 4, 5, 2);
    golden_check(g, "upsample_nearest [2,3,4,5] x2", y, n, "upsample_nearest.y", "dcae_exact");
    free(x); free(y);

    x = golden_f32(g, "shortcut_up.x", NULL);
    y = zeros(n = numel(g, "shortcut_up.y"));
    SANA_OP_CALL(be, dcae_shortcut_up, y, x, 2, 8, 3, 4, 2, 2);
    golden_check(g, "shortcut_up (repeat_interleave 2 + pixel_shuffle 2)", y, n, "shortcut_up.y", "dcae_exact");
    free(x); free(y);

    x = golden_f32(g, "shortcut_in.x", NULL);
    y = zeros(n = numel(g, "shortcut_in.y"));
    SANA_OP_CALL(be, dcae_shortcut_up, y, x, 2, 4, 3, 3, 3, 1);
    golden_check(g, "shortcut_in (repeat_interleave 3)", y, n, "shortcut_in.y", "dcae_exact");
    free(x); free(y);

    x = golden_f32(g, "shortcut_down.x", NULL);
    y = zeros(n = numel(g, "shortcut_down.y"));
    SANA_OP_CALL(be, dcae_shortcut_down, y, x, 2, 4, 6, 8, 2, 2);
    golden_check(g, "shortcut_down (pixel_unshuffle 2 + mean of 2)", y, n, "shortcut_down.y", "dcae_mean");
    free(x); free(y);

    x = golden_f32(g, "shortcut_out.x", NULL);
    y = zeros(n = numel(g, "shortcut_out.y"));
    SANA_OP_CALL(be, dcae_shortcut_down, y, x, 2, 16, 3, 3, 4, 1);
    golden_check(g, "shortcut_out (mean of 4 channels)", y, n, "shortcut_out.y", "dcae_mean");
    free(x); free(y);

    x = golden_f32(g, "rms_norm_2d.x", &n);
    y = zeros(n);
    SANA_OP_CALL(be, rms_norm_2d, y, x, wt(g, "rms_norm_2d.weight"), wt(g, "rms_norm_2d.bias"), 2, 24, 35, 1e-5f);
    golden_check(g, "rms_norm_2d [2,24,5,7]", y, n, "rms_norm_2d.y", "dcae_norm");
    SANA_OP_CALL(be, rms_norm_2d, x, x, wt(g, "rms_norm_2d.weight"), wt(g, "rms_norm_2d.bias"), 2, 24, 35, 1e-5f);
    golden_check(g, "rms_norm_2d in place", x, n, "rms_norm_2d.y", "dcae_norm");
    free(x); free(y);

    x = golden_f32(g, "batch_norm_2d.x", &n);
    y = zeros(n);
    SANA_OP_CALL(be, batch_norm_2d, y, x, wt(g, "batch_norm_2d.running_mean"), wt(g, "batch_norm_2d.running_var"),
                 wt(g, "batch_norm_2d.weight"), wt(g, "batch_norm_2d.bias"), 2, 24, 35, 1e-5f);
    golden_check(g, "batch_norm_2d [2,24,5,7] eval", y, n, "batch_norm_2d.y", "dcae_norm");
    free(x); free(y);

    x = golden_f32(g, "act.x", &n);
    y = zeros(n);
    SANA_OP_CALL(be, gelu_erf, y, x, n);
    golden_check(g, "gelu (erf)", y, n, "act.gelu", "activation");
    SANA_OP_CALL(be, mish, y, x, n);
    golden_check(g, "mish", y, n, "act.mish", "activation");
    SANA_OP_CALL(be, mish, x, x, n);
    golden_check(g, "mish in place", x, n, "act.mish", "activation");
    free(x); free(y);

    x = golden_f32(g, "linear_attn.qkv", NULL);
    y = zeros(n = numel(g, "linear_attn.y"));
    SANA_OP_CALL(be, ms_linear_attn, y, x, 2, 3, 4, 35, 1e-15f);
    golden_check(g, "ms_linear_attn B=2 heads=3 d=4 N=35", y, n, "linear_attn.y", "dcae_attn");
    free(x); free(y);

    x = golden_f32(g, "quadratic_attn.qkv", NULL);
    y = zeros(n = numel(g, "quadratic_attn.y"));
    SANA_OP_CALL(be, ms_quadratic_attn, y, x, 2, 3, 4, 4, 1e-15f);
    golden_check(g, "ms_quadratic_attn B=2 heads=3 d=4 N=4", y, n, "quadratic_attn.y", "dcae_attn");
    free(x); free(y);

    golden_close(g);
    return golden_exit();
}
