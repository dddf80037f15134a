/* tests/test-pipeline-cmp.c -- a helper of the command-line tests (not a test by itself):
 *
 *   test-pipeline-cmp png OUT.png GOLDEN [INDEX]      the PNG equals image[INDEX] of the golden within 1 level
 *   test-pipeline-cmp latent OUT.safetensors GOLDEN   the tensor "latents" equals the golden's within
 *                                                     the pipeline_latents tolerance
 *   test-pipeline-cmp tensor FILE NAME GOLDEN GNAME TOL  tensor NAME of FILE equals GNAME of the golden
 *                                                     (same element count) within tolerance TOL
 *   test-pipeline-cmp extract GOLDEN NAME OUT.safetensors NEWNAME   copy a golden tensor (float32) to a file
 *
 * GOLDEN is a name under $GOLDEN_DIR (e.g. pipeline/e2e_cfg.safetensors). Exit 0 when equal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden.h"
#include "io/pngio.h"
#include "io/safetensors.h"

static int cmp_png(const char *png, const char *gname, int index)
{
    uint8_t *rgb = NULL;
    int w = 0, h = 0;
    if (sana_png_read(png, &rgb, &w, &h, NULL) != SANA_OK) {
        printf("FAIL: %s: %s\n", png, sana_errmsg());
        return 1;
    }
    golden *g = golden_open(gname);
    const sana_st_tensor *t = golden_get(g, "image");
    int rc = 0;
    if (index >= t->wt.shape[0] || t->wt.shape[1] != h || t->wt.shape[2] != w) {
        printf("FAIL: %s is %dx%d; the golden image %d is %lldx%lld of %lld\n", png, w, h, index,
               (long long)t->wt.shape[2], (long long)t->wt.shape[1], (long long)t->wt.shape[0]);
        rc = 1;
    } else {
        float *want = golden_f32(g, "image", NULL);
        int64_t n = (int64_t)w * h * 3, off = (int64_t)index * n, ndiff = 0;
        int maxd = 0;
        for (int64_t i = 0; i < n; i++) {
            int d = abs((int)rgb[i] - (int)want[off + i]);
            if (d > maxd) maxd = d;
            ndiff += d != 0;
        }
        rc = maxd > 1;
        printf("%s: %s vs %s[%d]: max level difference %d, %lld values differ (tol 1)\n", rc ? "FAIL" : "ok  ", png,
               gname, index, maxd, (long long)ndiff);
        free(want);
    }
    free(rgb);
    golden_close(g);
    return rc;
}

static int cmp_latent(const char *file, const char *gname)
{
    sana_st_file *f = NULL;
    if (sana_st_open(&f, file) != SANA_OK) {
        printf("FAIL: %s\n", sana_errmsg());
        return 1;
    }
    const sana_st_tensor *t = sana_st_find(f, "latents");
    golden *g = golden_open(gname);
    int rc = 1;
    if (!t || t->wt.dtype != SANA_F32) {
        printf("FAIL: %s: no float32 tensor \"latents\"\n", file);
    } else {
        const sana_st_tensor *gt = golden_get(g, "latents");
        int same = gt->wt.ndim == t->wt.ndim;
        for (int i = 0; same && i < t->wt.ndim; i++) same = gt->wt.shape[i] == t->wt.shape[i];
        if (!same) {
            printf("FAIL: %s: latents shape differs from the golden's\n", file);
        } else {
            int64_t n = sana_wt_numel(&t->wt);
            float *v = malloc(sizeof(float) * (size_t)n);
            sana_convert_f32(v, t->wt.data, t->wt.dtype, 0, n);
            rc = golden_check(g, file, v, n, "latents", "pipeline_latents");
            free(v);
        }
    }
    golden_close(g);
    sana_st_close(f);
    return rc;
}

static int cmp_tensor(const char *file, const char *name, const char *gname, const char *wname, const char *tol)
{
    sana_st_file *f = NULL;
    if (sana_st_open(&f, file) != SANA_OK) {
        printf("FAIL: %s\n", sana_errmsg());
        return 1;
    }
    const sana_st_tensor *t = sana_st_find(f, name);
    golden *g = golden_open(gname);
    int rc = 1;
    if (!t) {
        printf("FAIL: %s: no tensor \"%s\"\n", file, name);
    } else {
        int64_t n = sana_wt_numel(&t->wt);
        float *v = malloc(sizeof(float) * (size_t)(n ? n : 1));
        sana_convert_f32(v, t->wt.data, t->wt.dtype, 0, n);
        char what[256];
        snprintf(what, sizeof what, "%s %s", file, name);
        rc = golden_check(g, what, v, n, wname, tol);
        free(v);
    }
    golden_close(g);
    sana_st_close(f);
    return rc;
}

static int extract(const char *gname, const char *name, const char *out, const char *newname)
{
    golden *g = golden_open(gname);
    const sana_st_tensor *t = golden_get(g, name);
    float *v = golden_f32(g, name, NULL);
    sana_st_write_tensor w = {newname, SANA_F32, t->wt.ndim, {0}, v};
    for (int i = 0; i < t->wt.ndim; i++) w.shape[i] = t->wt.shape[i];
    int rc = sana_st_write(out, &w, 1, NULL, 0) != SANA_OK;
    if (rc) printf("FAIL: %s\n", sana_errmsg());
    free(v);
    golden_close(g);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && !strcmp(argv[1], "png")) return cmp_png(argv[2], argv[3], argc > 4 ? atoi(argv[4]) : 0);
    if (argc == 4 && !strcmp(argv[1], "latent")) return cmp_latent(argv[2], argv[3]);
    if (argc == 7 && !strcmp(argv[1], "tensor")) return cmp_tensor(argv[2], argv[3], argv[4], argv[5], argv[6]);
    if (argc == 6 && !strcmp(argv[1], "extract")) return extract(argv[2], argv[3], argv[4], argv[5]);
    fprintf(stderr, "usage: test-pipeline-cmp png OUT.png GOLDEN [INDEX] | latent OUT GOLDEN | "
                    "tensor FILE NAME GOLDEN GNAME TOL | extract GOLDEN NAME OUT NEWNAME\n");
    return 2;
}
