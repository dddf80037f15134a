/* tests/test-lora.c -- LoRA merged at load (src/models/lora.c) against diffusers' load_lora_weights +
 * set_adapters on golden/ckpt/sana-tiny (golden/dump_lora.py: two adapters at scales 0.7 and 1.5,
 * one with metadata (alpha 8, rank 4, attention and GLUMBConv 1x1 convolutions), one bf16 without
 * (alpha = rank)), on every backend: the latents and the image; the same from the first adapter under
 * kohya names; and the bad files: a module that matches nothing, a rank that does not fit, a
 * text-encoder LoRA, a lone lora_A, a bad scale, a missing file, a LoRA on a quantized folder. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "golden.h"
#include "test_backends.h"
#include "io/safetensors.h"
#include "sana.h"


static char tiny[1024];

/* The golden's call with the given LoRA specs on backend be; latents and image in r. */
static int run(const char *be, const char *const *lora, int nlora, const char *quant, sana_result *r)
{
    sana_load_options lo = {.backend = be, .lora = lora, .nlora = nlora, .quantize = quant};
    sana_pipeline *p = NULL;
    if (sana_pipeline_load(&p, tiny, &lo)) return -1;
    sana_generate_params g;
    sana_generate_params_default(&g, p);
    g.prompt = "a red fox in the snow, watercolor";
    g.negative_prompt = "blurry, low quality";
    g.num_inference_steps = 3;
    g.guidance_scale = 4.5;
    g.height = 96;
    g.width = 160;
    g.use_resolution_binning = 0;
    g.seed = 42;
    int rc = sana_generate(p, &g, r);
    sana_pipeline_free(p);
    return rc;
}

/* A small LoRA file with the tensors (name, shape) given, values 0.01. */
static int write_lora(const char *path, int n, const char *const *names, const int64_t (*shapes)[2])
{
    sana_st_write_tensor t[8];
    static float data[4096];
    for (int i = 0; i < 4096; i++) data[i] = 0.01f;
    for (int i = 0; i < n; i++) {
        memset(&t[i], 0, sizeof t[i]);
        t[i].name = names[i];
        t[i].dtype = SANA_F32;
        t[i].ndim = 2;
        t[i].shape[0] = shapes[i][0];
        t[i].shape[1] = shapes[i][1];
        t[i].data = data;
    }
    return sana_st_write(path, t, n, NULL, 0) == SANA_OK ? 0 : -1;
}

static void bad(const char *what, const char *spec, const char *want)
{
    sana_load_options lo = {.backend = "ref", .lora = &spec, .nlora = 1};
    sana_pipeline *p = NULL;
    int rc = sana_pipeline_load(&p, tiny, &lo);
    GOLDEN_CHECK(rc != 0 && strstr(sana_last_error(), want), "%s: %s", what, rc ? sana_last_error() : "loaded");
    if (rc) printf("ok  : %s: %s\n", what, sana_last_error());
    sana_pipeline_free(p);
}

/* The golden on every backend, from the diffusers-named and the kohya-named adapter; then with int8. */
static void conformance(const char *a, const char *b, const char *k)
{
    golden *gd = golden_open("pipeline/e2e_lora.safetensors");
    int64_t nl = 0, ni = 0;
    float *want_lat = golden_f32(gd, "latents", &nl), *nolora = golden_f32(gd, "latents_nolora", NULL);
    float *want_img = golden_f32(gd, "image", &ni);
    const char *name, *desc;
    for (int be = 0; sana_backend_list(be, &name, &desc); be++) {
        if (!test_backend_wanted(name)) continue;
        for (int form = 0; form < 2; form++) {
            const char *specs[2] = {form ? k : a, b};
            sana_result r;
            if (run(name, specs, 2, NULL, &r)) {
                GOLDEN_CHECK(0, "%s: %s", name, sana_last_error());
                continue;
            }
            const int64_t n = (int64_t)r.batch * r.lat_channels * r.lat_height * r.lat_width;
            char what[128];
            snprintf(what, sizeof what, "%s %s latents", name, form ? "kohya names" : "diffusers names");
            if (n == nl) golden_compare(gd, what, r.latents, want_lat, n, "pipeline_latents");
            else GOLDEN_CHECK(0, "%s: %lld latents, want %lld", what, (long long)n, (long long)nl);
            /* the adapters move the latents far more than the tolerance */
            double moved = 0;
            for (int64_t i = 0; i < n && n == nl; i++) moved = fmax(moved, fabs((double)want_lat[i] - nolora[i]));
            GOLDEN_CHECK(moved > 0.1, "the LoRA golden barely differs from the plain model (%g)", moved);
            const int64_t np = (int64_t)r.batch * r.height * r.width * 3;
            int maxd = np == ni ? 0 : 999;
            for (int64_t i = 0; i < np && np == ni; i++) {
                int d = abs((int)r.images[i] - (int)want_img[i]);
                if (d > maxd) maxd = d;
            }
            GOLDEN_CHECK(maxd <= 1, "%s %s image: %d levels off", name, form ? "kohya" : "diffusers", maxd);
            printf("%s: %s %s image within %d level\n", maxd <= 1 ? "ok  " : "FAIL", name,
                   form ? "kohya names" : "diffusers names", maxd);
            sana_result_free(&r);
        }
        /* with int8 on top (merged first, then quantized): it runs and stays near the float result */
        const char *specs[2] = {a, b};
        sana_result r;
        if (run(name, specs, 2, "transformer=int8", &r) == 0) {
            const int64_t n = (int64_t)r.batch * r.lat_channels * r.lat_height * r.lat_width;
            double e = 0, s = 0;
            for (int64_t i = 0; i < n && n == nl; i++) {
                e = fmax(e, fabs((double)r.latents[i] - want_lat[i]));
                s = fmax(s, fabs((double)want_lat[i]));
            }
            GOLDEN_CHECK(n == nl && e < 0.1 * s, "%s lora + int8: latents %g of their scale from float", name, e / s);
            printf("ok  : %s lora + transformer=int8: latents within %.3f of their scale\n", name, e / s);
            sana_result_free(&r);
        } else {
            GOLDEN_CHECK(0, "%s lora + int8: %s", name, sana_last_error());
        }
    }
    free(want_lat);
    free(nolora);
    free(want_img);
    golden_close(gd);

}

int main(void)
{
    snprintf(tiny, sizeof tiny, "%s/ckpt/sana-tiny", golden_dir());
    char a[1100], b[1100], k[1100];
    snprintf(a, sizeof a, "%s/lora/a.safetensors:0.7", golden_dir());
    snprintf(b, sizeof b, "%s/lora/b.safetensors:1.5", golden_dir());
    snprintf(k, sizeof k, "%s/lora/a-kohya.safetensors:0.7", golden_dir());
    conformance(a, b, k);

    /* bad files */
    char dir[] = "/tmp/sana-test-lora-XXXXXX", f1[1100], f2[1100], f3[1100], f4[1100], spec[1200];
    if (!mkdtemp(dir)) return 99;
    snprintf(f1, sizeof f1, "%s/nomatch.safetensors", dir);
    snprintf(f2, sizeof f2, "%s/rank.safetensors", dir);
    snprintf(f3, sizeof f3, "%s/te.safetensors", dir);
    snprintf(f4, sizeof f4, "%s/lone.safetensors", dir);
    static const char *const n1[] = {"transformer.blocks.7.attn.to_q.lora_A.weight", "transformer.blocks.7.attn.to_q.lora_B.weight"};
    static const int64_t s1[][2] = {{2, 32}, {32, 2}};
    static const char *const n2[] = {"transformer.transformer_blocks.0.attn1.to_q.lora_A.weight",
                                     "transformer.transformer_blocks.0.attn1.to_q.lora_B.weight"};
    static const int64_t s2[][2] = {{2, 31}, {32, 2}};
    static const char *const n3[] = {"text_encoder.layers.0.self_attn.q_proj.lora_A.weight"};
    static const char *const n4[] = {"transformer.transformer_blocks.0.attn1.to_q.lora_A.weight"};
    GOLDEN_CHECK(!write_lora(f1, 2, n1, s1) && !write_lora(f2, 2, n2, s2) && !write_lora(f3, 1, n3, s1) &&
              !write_lora(f4, 1, n4, s1), "writing the bad LoRA files");
    bad("a module that matches nothing", f1, "matches no weight");
    bad("a rank that does not fit", f2, "does not fit");
    bad("a text-encoder LoRA", f3, "text-encoder LoRA");
    bad("a lone lora_A", f4, "no lora_B");
    snprintf(spec, sizeof spec, "%s:1e9", f1);
    bad("a scale out of range", spec, "out of range");
    snprintf(spec, sizeof spec, "%s/missing.safetensors", dir);
    bad("a missing file", spec, "missing.safetensors");
    unlink(f1), unlink(f2), unlink(f3), unlink(f4);
    /* a quantized folder (sana convert) cannot take a LoRA: it merges into float weights */
    char q[1100];
    snprintf(q, sizeof q, "%s/int8", dir);
    sana_load_options co = {.quantize = "transformer=int8"};
    if (sana_pipeline_convert(tiny, q, &co) == 0) {
        const char *spec1 = a;
        sana_load_options lo = {.backend = "ref", .lora = &spec1, .nlora = 1};
        sana_pipeline *p = NULL;
        int rc = sana_pipeline_load(&p, q, &lo);
        GOLDEN_CHECK(rc != 0 && strstr(sana_last_error(), "is quantized"), "LoRA on a quantized folder: %s",
              rc ? sana_last_error() : "loaded");
        if (rc) printf("ok  : LoRA on a quantized folder: %s\n", sana_last_error());
        sana_pipeline_free(p);
        char cmd[1300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", q);
        if (system(cmd) != 0) printf("warning: %s not removed\n", q);
    } else {
        GOLDEN_CHECK(0, "convert: %s", sana_last_error());
    }
    rmdir(dir);
    return golden_exit();
}
