/* tests/test-binning.c -- resolution bins, resize_and_crop and postprocess against diffusers'
 * own functions (golden/pipeline/binning.safetensors from golden/dump_binning.py); resize_and_crop
 * also where diffusers' int() makes a side one short (torch's F.interpolate at the asked side). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/binning.h"
#include "golden.h"

static void check_classify(golden *g, int ss)
{
    char name[64];
    int n = 0;
    const sana_bin *t = sana_bin_table(ss, &n);
    if (!t) {
        golden_fail("sana_bin_table(%d): %s", ss, sana_errmsg());
        return;
    }
    int64_t nq = 0;
    snprintf(name, sizeof name, "classify_%d_in", ss);
    int64_t *q = golden_i64(g, name, &nq);
    int64_t *got = malloc(sizeof(int64_t) * (size_t)nq);
    for (int64_t i = 0; i + 1 < nq; i += 2) {
        int bh, bw;
        sana_bin_classify(t, n, (int)q[i], (int)q[i + 1], &bh, &bw);
        got[i] = bh;
        got[i + 1] = bw;
    }
    snprintf(name, sizeof name, "classify_%d_out", ss);
    char what[64];
    snprintf(what, sizeof what, "classify sample_size=%d", ss);
    golden_check_i64(g, what, got, nq, name);
    free(q);
    free(got);
}

int main(void)
{
    golden *g = golden_open("pipeline/binning.safetensors");
    check_classify(g, 16);
    check_classify(g, 32);
    check_classify(g, 64);
    check_classify(g, 128);
    int n = 0;
    if (sana_bin_table(48, &n) != NULL || strstr(sana_errmsg(), "sample_size") == NULL)
        golden_fail("sana_bin_table(48) must fail with a message naming sample_size");

    /* resize_*: diffusers' resize_and_crop_tensor; short_*: a side that int() makes one short, which
     * we resize to the asked size (binning.h) */
    for (int k = 0, pre = 0; pre < 2; k++) {
        const char *prefix = pre ? "short" : "resize";
        char nin[32], nout[32], nsz[32], what[64];
        snprintf(nin, sizeof nin, "%s_%d_in", prefix, k);
        if (!golden_has(g, nin)) {
            pre++, k = -1;
            continue;
        }
        snprintf(nout, sizeof nout, "%s_%d_out", prefix, k);
        snprintf(nsz, sizeof nsz, "%s_%d_size", prefix, k);
        const sana_st_tensor *ti = golden_get(g, nin);
        int64_t B = ti->wt.shape[0], C = ti->wt.shape[1], H = ti->wt.shape[2], W = ti->wt.shape[3];
        int64_t *sz = golden_i64(g, nsz, NULL);
        float *x = golden_f32(g, nin, NULL);
        float *y = malloc(sizeof(float) * (size_t)(B * C * sz[0] * sz[1]));
        snprintf(what, sizeof what, "resize_and_crop %lldx%lld->%lldx%lld%s", (long long)H, (long long)W,
                 (long long)sz[0], (long long)sz[1], pre ? " (a side one short)" : "");
        if (sana_resize_and_crop(y, x, B, C, H, W, sz[0], sz[1]) != SANA_OK)
            golden_fail("%s: %s", what, sana_errmsg());
        else
            golden_check(g, what, y, B * C * sz[0] * sz[1], nout, "pipeline_resize");
        free(sz);
        free(x);
        free(y);
    }

    const sana_st_tensor *tp = golden_get(g, "post_in");
    int64_t B = tp->wt.shape[0], C = tp->wt.shape[1], H = tp->wt.shape[2], W = tp->wt.shape[3];
    float *x = golden_f32(g, "post_in", NULL);
    float *f = malloc(sizeof(float) * (size_t)(B * C * H * W));
    uint8_t *u = malloc((size_t)(B * C * H * W));
    float *uf = malloc(sizeof(float) * (size_t)(B * C * H * W));
    sana_postprocess_f32(f, x, B, C, H, W);
    golden_check(g, "postprocess np", f, B * C * H * W, "post_np", "pipeline_postprocess");
    sana_postprocess_u8(u, x, B, C, H, W);
    for (int64_t i = 0; i < B * C * H * W; i++) uf[i] = u[i];
    /* uint8 must be exact: same float32 arithmetic, round half to even */
    golden_check(g, "postprocess uint8", uf, B * C * H * W, "post_u8", "pipeline_exact");
    free(x);
    free(f);
    free(u);
    free(uf);
    golden_close(g);
    return golden_exit();
}
