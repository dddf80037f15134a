/* tests/test-controlnet.c -- SanaControlNetModel against golden/dit/controlnet.safetensors
 * (golden/dump_controlnet.py): golden/ckpt/controlnet-tiny loaded from its diffusers folder, its block
 * samples (conditioning scale 0.8, masked caption), and sana-tiny's transformer fed with them
 * (controlnet_block_samples: sample k after block k + 1); without the samples the transformer gives
 * diffusers' plain output. Then the loader's errors: a missing tensor, a mis-shaped one, a bad config
 * key, another class, each naming the tensor or the key. Every compiled backend in turn. */
#define _POSIX_C_SOURCE 200809L
#include "golden.h"
#include "test_backends.h"
#include "models/controlnet.h"
#include "models/dit.h"
#include "io/safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *path_of(const char *rel)
{
    static char path[2][4096];
    static int k;
    k ^= 1;
    snprintf(path[k], sizeof path[k], "%s/%s", golden_dir(), rel);
    return path[k];
}

static void run_backend(const sana_backend *be)
{
    golden *g = golden_open("dit/controlnet.safetensors");
    sana_controlnet *cn = NULL;
    sana_dit *tr = NULL;
    if (sana_controlnet_load(&cn, path_of("ckpt/controlnet-tiny"), NULL, be) != SANA_OK ||
        sana_dit_load(&tr, path_of("ckpt/sana-tiny/transformer"), NULL, be) != SANA_OK) {
        golden_fail("[%s] load: %s", be->name, sana_errmsg());
        sana_controlnet_free(cn);
        golden_close(g);
        return;
    }
    const sana_dit_config *cc = sana_controlnet_get_config(cn);
    const int64_t B = 2, C = 4, H = 3, W = 5, L = 6, D = cc->num_attention_heads * cc->attention_head_dim;
    const int ns = (int)cc->num_layers;
    float *x = golden_f32(g, "x", NULL), *cond = golden_f32(g, "cond", NULL), *enc = golden_f32(g, "enc", NULL);
    float *mask = golden_f32(g, "mask", NULL), *t = golden_f32(g, "t", NULL);
    float *samples = malloc(sizeof(float) * (size_t)(ns * B * H * W * D));
    float *out = malloc(sizeof(float) * (size_t)(B * C * H * W));
    char what[128];
    /* twice: the second call reuses the caption's k, v (same caption) and must give the same */
    for (int rep = 0; rep < 2; rep++) {
        if (sana_controlnet_forward(cn, samples, x, cond, B, H, W, t, enc, mask, L, 0.8) != SANA_OK) {
            golden_fail("[%s] controlnet forward: %s", be->name, sana_errmsg());
            break;
        }
        snprintf(what, sizeof what, "[%s] controlnet block samples (scale 0.8)%s", be->name, rep ? ", again" : "");
        golden_check(g, what, samples, ns * B * H * W * D, "samples", "dit_model");
    }
    if (sana_dit_forward_controlnet(tr, out, x, B, H, W, t, enc, mask, L, NULL, NULL, samples, ns) != SANA_OK)
        golden_fail("[%s] transformer forward with samples: %s", be->name, sana_errmsg());
    snprintf(what, sizeof what, "[%s] transformer + controlnet_block_samples", be->name);
    golden_check(g, what, out, B * C * H * W, "out", "dit_model");
    if (sana_dit_forward(tr, out, x, B, H, W, t, enc, mask, L, NULL, NULL) != SANA_OK)
        golden_fail("[%s] transformer forward: %s", be->name, sana_errmsg());
    snprintf(what, sizeof what, "[%s] transformer without samples", be->name);
    golden_check(g, what, out, B * C * H * W, "out_plain", "dit_model");
    free(x); free(cond); free(enc); free(mask); free(t); free(samples); free(out);
    sana_controlnet_free(cn);
    sana_dit_free(tr);
    golden_close(g);
}

/* Copy file src to dst (0 on success). */
static int copy_file(const char *src, const char *dst)
{
    FILE *fi = fopen(src, "rb"), *fo = fopen(dst, "wb");
    char buf[4096];
    size_t k;
    int ok = fi && fo;
    while (ok && (k = fread(buf, 1, sizeof buf, fi)) > 0) ok = fwrite(buf, 1, k, fo) == k;
    if (fi) fclose(fi);
    if (fo && fclose(fo) != 0) ok = 0;
    return ok ? 0 : -1;
}

/* controlnet-tiny in tmp with tensor `drop` left out or `reshape` flattened, or config key `key` set to
 * `value` (JSON text); then the load must fail naming `needle`. */
static void expect_error(const char *tmp, const char *drop, const char *reshape, const char *key, const char *value,
                         const char *needle)
{
    char src[4096], dst[4096], cfg[4096];
    snprintf(src, sizeof src, "%s/diffusion_pytorch_model.safetensors", path_of("ckpt/controlnet-tiny"));
    snprintf(dst, sizeof dst, "%s/diffusion_pytorch_model.safetensors", tmp);
    snprintf(cfg, sizeof cfg, "%s/config.json", tmp);
    /* config.json: the original, with one key replaced */
    char cfg_src[4096];
    snprintf(cfg_src, sizeof cfg_src, "%s/config.json", path_of("ckpt/controlnet-tiny"));
    FILE *fi = fopen(cfg_src, "rb");
    char text[8192];
    size_t n = fi ? fread(text, 1, sizeof text - 1, fi) : 0;
    if (fi) fclose(fi);
    text[n] = 0;
    FILE *fo = fopen(cfg, "wb");
    if (!fo) { golden_fail("cannot write %s", cfg); return; }
    if (key) {
        char pat[128];
        snprintf(pat, sizeof pat, "\"%s\":", key);
        char *at = strstr(text, pat), *end = at ? strpbrk(at + strlen(pat), ",\n}") : NULL;
        if (!at || !end) { golden_fail("no key %s in %s", key, cfg_src); fclose(fo); return; }
        fprintf(fo, "%.*s %s%s", (int)(at - text + (ptrdiff_t)strlen(pat)), text, value, end);
    } else {
        fputs(text, fo);
    }
    fclose(fo);
    if (!drop && !reshape) {
        if (copy_file(src, dst) != 0) golden_fail("copy %s", src);
    } else {
        sana_st_file *f = NULL;
        if (sana_st_open(&f, src) != SANA_OK) { golden_fail("open %s: %s", src, sana_errmsg()); return; }
        sana_st_write_tensor *t = calloc((size_t)f->ntensors, sizeof *t);
        int k = 0;
        for (int i = 0; i < f->ntensors; i++) {
            const sana_st_tensor *s = &f->tensors[i];
            if (drop && !strcmp(s->name, drop)) continue;
            t[k].name = s->name;
            t[k].dtype = s->wt.dtype;
            t[k].ndim = s->wt.ndim;
            memcpy(t[k].shape, s->wt.shape, sizeof t[k].shape);
            t[k].data = s->wt.data;
            if (reshape && !strcmp(s->name, reshape)) { /* [a, b] -> [a*b, 1]: same bytes, another shape */
                t[k].shape[0] *= t[k].shape[1];
                t[k].shape[1] = 1;
            }
            k++;
        }
        if (sana_st_write(dst, t, k, NULL, 0) != SANA_OK) golden_fail("write %s: %s", dst, sana_errmsg());
        free(t);
        sana_st_close(f);
    }
    sana_controlnet *cn = NULL;
    sana_status st = sana_controlnet_load(&cn, tmp, NULL, NULL);
    const char *what = drop ? drop : reshape ? reshape : key;
    if (st == SANA_OK) {
        golden_fail("a controlnet with a bad %s loads", what);
        sana_controlnet_free(cn);
    } else if (!strstr(sana_errmsg(), needle) || !strstr(sana_errmsg(), tmp)) {
        golden_fail("the error for %s does not name \"%s\" and the folder: %s", what, needle, sana_errmsg());
    } else {
        printf("PASS bad %s: \"%s\"\n", what, sana_errmsg());
    }
    unlink(dst);
    unlink(cfg);
}

static void check_load_errors(void)
{
    char tmp[] = "/tmp/sana-test-controlnet-XXXXXX";
    if (!mkdtemp(tmp)) { golden_fail("mkdtemp"); return; }
    expect_error(tmp, "controlnet_blocks.1.weight", NULL, NULL, NULL, "controlnet_blocks.1.weight");
    expect_error(tmp, "input_block.bias", NULL, NULL, NULL, "input_block.bias");
    expect_error(tmp, "transformer_blocks.0.attn1.to_q.weight", NULL, NULL, NULL, "transformer_blocks.0.attn1.to_q");
    expect_error(tmp, NULL, "input_block.weight", NULL, NULL, "input_block.weight");
    expect_error(tmp, NULL, NULL, "num_layers", "3", "transformer_blocks.2");
    expect_error(tmp, NULL, NULL, "num_layers", "\"two\"", "num_layers");
    expect_error(tmp, NULL, NULL, "cross_attention_dim", "48", "cross_attention_dim");
    expect_error(tmp, NULL, NULL, "_class_name", "\"SanaTransformer2DModel\"", "SanaControlNetModel");
    rmdir(tmp);
}

int main(void)
{
    for (int b = 0; b < sana_backend_count(); b++) {
        const sana_backend *be = sana_backend_get(b);
        if (!test_backend_wanted(be->name)) continue;
        printf("-- backend %s\n", be->name);
        run_backend(be);
    }
    check_load_errors();
    return golden_exit();
}
