/* tests/test-quant.c -- quantized weights (src/core/quant.c, doc/quantization.md):
 *   1. sana_quantize and the dequantizer (sana_wt_range_f32) on hand-made values: Q8's per-row
 *      scale and rounding, Q4's groups, nibble order, the exact extreme and the clamp, zero rows,
 *      partial ranges, bf16 input, the refusals;
 *   2. quantize at load (sana_load_options.quantize) on the trained demo checkpoint
 *      golden/ckpt/sana-shapes (ref: int8 and q4; cpu: also per component): the image of "a white triangle on a green background" (the
 *      README's demo) against float32 on each backend, above the PSNR floors (int8 >= 35 dB,
 *      q4 >= 28 dB), q4 the same on ref and cpu (both dequantize into float32 products), and the
 *      bad --quantize values.
 *   3. `sana convert` (sana_pipeline_convert): a converted folder gives the same latents as quantizing
 *      at load; broken quantized folders (a missing or mis-shaped scale, a missing tensor, a truncated
 *      file) and convert's own refusals give one message.
 * The int8 / q4 kernels themselves are checked op by op against ref in tests/test-backend-ops.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden.h"
#include "test_backends.h"
#include "core/quant.h"
#include "io/safetensors.h"
#include "sana.h"

#include <sys/stat.h>
#include <unistd.h>


static sana_wt f32_matrix(const float *v, int64_t rows, int64_t cols)
{
    const int64_t shape[2] = {rows, cols};
    return sana_wt_f32(v, 2, shape);
}

static void test_q8(void)
{
    /* row 0: max 127 -> scale 1, values round to nearest even (0.5 -> 0, 2.5 -> 2, -1.5 -> -2);
     * row 1: zero -> scale 0; row 2: max 0.5 -> scale 0.5/127 */
    const float v[3][4] = {{0.5f, 2.5f, -1.5f, 127.0f}, {0, 0, 0, 0}, {0.5f, -0.25f, 0.125f, 0}};
    sana_wt in = f32_matrix(&v[0][0], 3, 4), q;
    void *own = NULL;
    GOLDEN_CHECK(sana_quantize(&in, SANA_Q8, &q, &own) == SANA_OK, "q8: quantize");
    const int8_t *d = q.data;
    GOLDEN_CHECK(q.dtype == SANA_Q8 && q.scale[0] == 1.0f && q.scale[1] == 0.0f && q.scale[2] == 0.5f / 127.0f,
          "q8: scales %g %g %g", q.scale[0], q.scale[1], q.scale[2]);
    GOLDEN_CHECK(d[0] == 0 && d[1] == 2 && d[2] == -2 && d[3] == 127, "q8: row 0 = %d %d %d %d", d[0], d[1], d[2], d[3]);
    GOLDEN_CHECK(d[4] == 0 && d[7] == 0 && d[8] == 127 && d[9] == -64 && d[10] == 32, "q8: rows 1-2 = %d %d %d", d[8], d[9],
          d[10]);
    float back[12];
    sana_wt_range_f32(back, &q, 0, 12);
    float maxerr = 0;
    for (int i = 0; i < 12; i++) maxerr = fmaxf(maxerr, fabsf(back[i] - (&v[0][0])[i]) / (i < 4 ? 1.0f : 0.5f / 127));
    GOLDEN_CHECK(maxerr <= 0.5f, "q8: error %g steps (<= half a step)", maxerr);
    float part[5];
    sana_wt_range_f32(part, &q, 3, 5); /* across a row boundary */
    GOLDEN_CHECK(!memcmp(part, back + 3, sizeof part), "q8: a partial range differs from the whole");
    free(own);
}

static void test_q4(void)
{
    /* two rows of one group (32): the value of largest magnitude (-3.2 in row 0) maps to -8 exactly,
     * its opposite (+3.2) clamps to +7; row 1 is zero */
    float v[2][32] = {{0}};
    for (int i = 0; i < 32; i++) v[0][i] = 0.1f * (float)(i - 16);
    v[0][31] = 3.2f;
    v[0][0] = -3.2f;
    v[0][1] = 3.2f;
    sana_wt in = f32_matrix(&v[0][0], 2, 32), q;
    void *own = NULL;
    GOLDEN_CHECK(sana_quantize(&in, SANA_Q4, &q, &own) == SANA_OK, "q4: quantize");
    const unsigned char *d = q.data;
    const float s = q.scale[0];
    /* |max| is 3.2 at index 0 (the first of equal magnitudes, negative): d = -3.2 / -8 = 0.4 */
    GOLDEN_CHECK(s == -3.2f / -8.0f && q.scale[1] == 0.0f, "q4: scales %g %g", s, q.scale[1]);
    GOLDEN_CHECK((d[0] & 15) == 0 && (d[0] >> 4) == 15, "q4: byte 0 = %02x (-8 low nibble, +7 high)", d[0]);
    float back[64];
    sana_wt_range_f32(back, &q, 0, 64);
    GOLDEN_CHECK(back[0] == -3.2f && back[1] == 7 * s, "q4: extremes %g %g", back[0], back[1]);
    float maxerr = 0;
    for (int i = 2; i < 31; i++) maxerr = fmaxf(maxerr, fabsf(back[i] - v[0][i]));
    GOLDEN_CHECK(maxerr <= 0.5f * s * 1.0001f, "q4: error %g (<= half a step %g)", maxerr, 0.5f * s);
    for (int i = 32; i < 64; i++) GOLDEN_CHECK(back[i] == 0.0f, "q4: zero row dequantizes to %g", back[i]);
    float part[7];
    sana_wt_range_f32(part, &q, 29, 7); /* odd start, across the row boundary */
    GOLDEN_CHECK(!memcmp(part, back + 29, sizeof part), "q4: a partial range differs from the whole");
    free(own);
    /* rows that are not whole groups are refused */
    float w[2][48] = {{0}};
    sana_wt bad = f32_matrix(&w[0][0], 2, 48);
    GOLDEN_CHECK(sana_quantize(&bad, SANA_Q4, &q, &own) == SANA_ERR_ARG && !own, "q4: 48 columns accepted");
    GOLDEN_CHECK(sana_quantize(&bad, SANA_BF16, &q, &own) == SANA_ERR_ARG, "quantize to bf16 accepted");
}

/* bf16 input: the same as its float32 values */
static void test_bf16(void)
{
    float f[64];
    uint16_t h[64];
    for (int i = 0; i < 64; i++) {
        h[i] = sana_f32_to_bf16(sinf((float)i));
        f[i] = sana_bf16_to_f32(h[i]);
    }
    const int64_t shape[2] = {2, 32};
    sana_wt wb = {.data = h, .dtype = SANA_BF16, .ndim = 2, .shape = {2, 32}}, wf = sana_wt_f32(f, 2, shape), a, b;
    void *oa, *ob;
    for (int t = 0; t < 2; t++) {
        sana_dtype ty = t ? SANA_Q4 : SANA_Q8;
        GOLDEN_CHECK(sana_quantize(&wb, ty, &a, &oa) == SANA_OK && sana_quantize(&wf, ty, &b, &ob) == SANA_OK, "bf16: quantize");
        GOLDEN_CHECK(!memcmp(a.data, b.data, sana_wt_bytes(&a)) && !memcmp(a.scale, b.scale, sana_wt_scale_bytes(&a)),
              "bf16 %s: differs from its float32 values", sana_quant_name(ty));
        free(oa);
        free(ob);
    }
    sana_quant qq;
    GOLDEN_CHECK(sana_quant_parse("int8", &qq) == 0 && qq == SANA_Q8 && sana_quant_parse("q4", &qq) == 0 && qq == SANA_Q4 &&
              sana_quant_parse("none", &qq) == 0 && qq == SANA_F32 && sana_quant_parse("int3", &qq) == -1,
          "sana_quant_parse");
}

/* ------------------------------------------------------------ quantize at load, the demo checkpoint */

static uint8_t *demo_image(const char *dir, const char *backend, const char *quant, int64_t *n)
{
    sana_load_options lo = {.backend = backend, .quantize = quant};
    sana_pipeline *p = NULL;
    if (sana_pipeline_load(&p, dir, &lo)) {
        GOLDEN_CHECK(0, "%s %s: %s", backend, quant ? quant : "none", sana_last_error());
        return NULL;
    }
    sana_generate_params g;
    sana_generate_params_default(&g, p);
    g.prompt = "a white triangle on a green background";
    g.seed = 42;
    sana_result r;
    uint8_t *img = NULL;
    if (sana_generate(p, &g, &r)) GOLDEN_CHECK(0, "%s %s: %s", backend, quant ? quant : "none", sana_last_error());
    else {
        *n = (int64_t)r.batch * r.height * r.width * 3;
        img = malloc((size_t)*n);
        if (img) memcpy(img, r.images, (size_t)*n);
        sana_result_free(&r);
    }
    sana_pipeline_free(p);
    return img;
}

static double psnr(const uint8_t *a, const uint8_t *b, int64_t n)
{
    double se = 0;
    for (int64_t i = 0; i < n; i++) se += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    return se == 0 ? INFINITY : 10 * log10(255.0 * 255.0 / (se / (double)n));
}

static void test_load(void)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/ckpt/sana-shapes", golden_dir());
    static const struct { const char *quant; double floor; } Q[] = {
        {"int8", 35}, {"q4", 28}, {"transformer=int8", 35}, {"text_encoder=q4,transformer=none", 28}};
    uint8_t *q4img[2] = {NULL, NULL};
    int64_t nq4 = 0;
    for (int b = 0; b < 2; b++) {
        const char *be = b ? "cpu" : "ref";
        if (!test_backend_wanted(be)) continue;
        int64_t n = 0, nq = 0;
        uint8_t *base = demo_image(dir, be, NULL, &n);
        for (size_t i = 0; base && i < (b ? sizeof Q / sizeof Q[0] : 2); i++) { /* ref: int8 and q4 */
            uint8_t *img = demo_image(dir, be, Q[i].quant, &nq);
            if (!img || nq != n) {
                GOLDEN_CHECK(0, "%s %s: no image", be, Q[i].quant);
                free(img);
                continue;
            }
            const double db = psnr(base, img, n);
            if (db >= Q[i].floor) {
                printf("ok  : %-4s %-34s PSNR %.1f dB against float32 (floor %.0f)\n", be, Q[i].quant, db, Q[i].floor);
                golden_pass();
            } else
                golden_fail("%-4s %-34s PSNR %.1f dB against float32 (floor %.0f)", be, Q[i].quant, db, Q[i].floor);
            if (!strcmp(Q[i].quant, "q4")) q4img[b] = img, nq4 = n;
            else free(img);
        }
        free(base);
    }
    if (q4img[0] && q4img[1]) {
        int maxd = 0;
        for (int64_t i = 0; i < nq4; i++) maxd = abs(q4img[0][i] - q4img[1][i]) > maxd ? abs(q4img[0][i] - q4img[1][i]) : maxd;
        GOLDEN_CHECK(maxd <= 1, "q4: ref and cpu images differ by %d levels (both dequantize into float32 products)", maxd);
        printf("ok  : q4 ref vs cpu within %d level\n", maxd);
    }
    free(q4img[0]);
    free(q4img[1]);
    /* bad values: one message naming the problem */
    static const char *const bad[] = {"int3", "vae=int8", "transformer", "transformer=int8,text_encoder=fp8", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sana_load_options lo = {.backend = "ref", .quantize = bad[i]};
        sana_pipeline *p = NULL;
        int rc = sana_pipeline_load(&p, dir, &lo);
        if (!*bad[i]) { /* "" is no quantization */
            GOLDEN_CHECK(rc == 0, "quantize \"\" refused: %s", sana_last_error());
        } else {
            GOLDEN_CHECK(rc != 0 && strstr(sana_last_error(), "quantize"), "quantize \"%s\": %s", bad[i],
                  rc ? sana_last_error() : "accepted");
            if (rc) printf("ok  : quantize \"%s\": %s\n", bad[i], sana_last_error());
        }
        sana_pipeline_free(p);
    }
}

/* ------------------------------------------------------------ sana convert and quantized folders */

static void run_rm(const char *dir)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("warning: %s not removed\n", dir);
}

/* Rewrite dir/transformer's weights with tensor `name` dropped (drop), its scale given a wrong shape
 * (reshape), or the file cut in the middle (truncate). */
static int damage(const char *dir, const char *name, int how)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/transformer/diffusion_pytorch_model.safetensors", dir);
    if (how == 2) {
        struct stat s;
        return stat(path, &s) == 0 && truncate(path, s.st_size / 2) == 0 ? 0 : -1;
    }
    sana_st_file *f = NULL;
    if (sana_st_open(&f, path) != SANA_OK) return -1;
    sana_st_write_tensor *t = calloc((size_t)f->ntensors, sizeof *t);
    int n = 0;
    for (int i = 0; i < f->ntensors; i++) {
        const sana_st_tensor *x = &f->tensors[i];
        if (how == 0 && !strcmp(x->name, name)) continue;
        t[n].name = x->name;
        t[n].dtype = x->wt.dtype;
        t[n].ndim = x->wt.ndim;
        memcpy(t[n].shape, x->wt.shape, sizeof t[n].shape);
        t[n].data = x->wt.data;
        if (how == 1 && !strcmp(x->name, name)) { /* [N] -> [N / 2, 2] */
            t[n].ndim = 2;
            t[n].shape[1] = 2;
            t[n].shape[0] = x->wt.shape[0] / 2;
        }
        n++;
    }
    char tmp[1300];
    snprintf(tmp, sizeof tmp, "%s.new", path);
    int rc = sana_st_write(tmp, t, n, NULL, 0) == SANA_OK ? 0 : -1;
    free(t);
    sana_st_close(f);
    return rc || rename(tmp, path) ? -1 : 0;
}

static void test_convert(void)
{
    char src[1024], base[] = "/tmp/sana-test-quant-XXXXXX";
    snprintf(src, sizeof src, "%s/ckpt/sana-shapes", golden_dir());
    if (!mkdtemp(base)) {
        GOLDEN_CHECK(0, "mkdtemp");
        return;
    }
    static const char *const types[] = {"int8", "q4"};
    for (int t = 0; t < 2; t++) {
        char out[1100];
        snprintf(out, sizeof out, "%s/%s", base, types[t]);
        sana_load_options lo = {.quantize = types[t]};
        int rc = sana_pipeline_convert(src, out, &lo);
        GOLDEN_CHECK(rc == 0, "convert %s: %s", types[t], rc ? sana_last_error() : "");
        if (rc) continue;
        /* the converted folder gives the same latents as quantizing at load, on every backend */
        for (int b = 0; b < 2; b++) {
            const char *be = b ? "cpu" : "ref";
            if (!test_backend_wanted(be)) continue;
            float *lat[2] = {NULL, NULL};
            int64_t n[2] = {0, 0};
            for (int k = 0; k < 2; k++) {
                sana_load_options l2 = {.backend = be, .quantize = k ? types[t] : NULL};
                sana_pipeline *p = NULL;
                if (sana_pipeline_load(&p, k ? src : out, &l2)) {
                    GOLDEN_CHECK(0, "load %s: %s", k ? src : out, sana_last_error());
                    continue;
                }
                sana_generate_params g;
                sana_generate_params_default(&g, p);
                g.prompt = "a red circle on a blue background";
                g.seed = 7;
                g.num_inference_steps = 4;
                g.output_latent = 1;
                sana_result r;
                if (sana_generate(p, &g, &r) == 0) {
                    n[k] = (int64_t)r.batch * r.lat_channels * r.lat_height * r.lat_width;
                    lat[k] = malloc((size_t)n[k] * sizeof(float));
                    memcpy(lat[k], r.latents, (size_t)n[k] * sizeof(float));
                    sana_result_free(&r);
                }
                sana_pipeline_free(p);
            }
            int same = lat[0] && lat[1] && n[0] == n[1] && !memcmp(lat[0], lat[1], (size_t)n[0] * sizeof(float));
            GOLDEN_CHECK(same, "%s %s: the converted folder's latents differ from quantize at load", be, types[t]);
            if (same) printf("ok  : %s %s: converted folder = quantize at load (same bits)\n", be, types[t]);
            free(lat[0]);
            free(lat[1]);
        }
        /* a second --quantize of another type is refused; the same type is fine */
        sana_load_options l3 = {.backend = "ref", .quantize = t ? "int8" : "q4"};
        sana_pipeline *p = NULL;
        rc = sana_pipeline_load(&p, out, &l3);
        GOLDEN_CHECK(rc != 0 && strstr(sana_last_error(), "already quantized"), "%s folder with --quantize %s: %s", types[t],
              l3.quantize, rc ? sana_last_error() : "accepted");
        sana_pipeline_free(p);
    }
    /* broken quantized folders: one message naming the file and the tensor */
    static const struct { int how; const char *tensor, *want; } bad[] = {
        {0, "proj_out.weight_scale", "no scale tensor"},
        {1, "proj_out.weight_scale", "proj_out.weight_scale"},
        {0, "proj_out.weight", "proj_out.weight"},
        {2, NULL, "diffusion_pytorch_model.safetensors"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char out[1100];
        snprintf(out, sizeof out, "%s/bad%zu", base, i);
        sana_load_options lo = {.quantize = "int8"};
        if (sana_pipeline_convert(src, out, &lo) || damage(out, bad[i].tensor, bad[i].how)) {
            GOLDEN_CHECK(0, "making broken folder %zu", i);
            continue;
        }
        sana_load_options l2 = {.backend = "cpu"};
        sana_pipeline *p = NULL;
        int rc = sana_pipeline_load(&p, out, &l2);
        GOLDEN_CHECK(rc != 0 && strstr(sana_last_error(), bad[i].want), "broken folder %zu: %s", i,
              rc ? sana_last_error() : "loaded");
        if (rc) printf("ok  : broken quantized folder: %s\n", sana_last_error());
        sana_pipeline_free(p);
    }
    /* convert's own refusals; nothing is written */
    char out[1100];
    snprintf(out, sizeof out, "%s/int8", base); /* exists */
    sana_load_options lo = {.quantize = "int8"};
    GOLDEN_CHECK(sana_pipeline_convert(src, out, &lo) != 0 && strstr(sana_last_error(), "exists"), "convert onto a folder");
    snprintf(out, sizeof out, "%s/none", base);
    sana_load_options none = {0};
    GOLDEN_CHECK(sana_pipeline_convert(src, out, &none) != 0 && access(out, F_OK) != 0, "convert without --quantize");
    GOLDEN_CHECK(sana_pipeline_convert("/nonexistent", out, &lo) != 0 && access(out, F_OK) != 0, "convert of no folder");
    sana_load_options badq = {.quantize = "int5"};
    GOLDEN_CHECK(sana_pipeline_convert(src, out, &badq) != 0 && access(out, F_OK) != 0, "convert --quantize int5");
    run_rm(base);
}

int main(void)
{
    test_q8();
    test_q4();
    test_bf16();
    test_load();
    test_convert();
    return golden_exit();
}
