/* tests/test-dit.c -- SanaTransformer2DModel end to end against golden/dit/model_*.safetensors:
 * tiny checkpoints of golden/ckpt/dit-* loaded from their diffusers folders, whole forward passes,
 * intermediates (time embedding, caption), block 0 alone, fp16/bf16 variants, PAG, and the
 * loader's errors for a missing or mis-shaped tensor. */
#include "golden.h"
#include "test_backends.h"
#include "models/dit.h"
#include "io/safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const sana_backend *be; /* the backend of this round: every compiled one in turn */

static char *ckpt_dir(const char *name)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/ckpt/dit-%s/transformer", golden_dir(), name);
    return path;
}

static float *gget(golden *g, const char *c, const char *what, int64_t *n)
{
    char name[128];
    snprintf(name, sizeof name, "%s.%s", c, what);
    return golden_f32(g, name, n);
}
static int ghas(golden *g, const char *c, const char *what)
{
    char name[128];
    snprintf(name, sizeof name, "%s.%s", c, what);
    return golden_has(g, name);
}

/* Run case c of golden g on model m; compare the output with `want` (e.g. "a.out"). */
static float *run_case(golden *g, sana_dit *m, const char *c, const sana_dit_pag *pag, int64_t *n_out,
                       int64_t shape[4])
{
    const sana_dit_config *cfg = sana_dit_get_config(m);
    char sname[64];
    snprintf(sname, sizeof sname, "%s.shape", c);
    int64_t *s = golden_i64(g, sname, NULL);
    const int64_t B = s[0], H = s[1], W = s[2], L = s[3];
    memcpy(shape, s, 4 * sizeof(int64_t));
    free(s);
    float *x = gget(g, c, "x", NULL), *t = gget(g, c, "t", NULL), *enc = gget(g, c, "enc_in", NULL);
    float *mask = ghas(g, c, "mask") ? gget(g, c, "mask", NULL) : NULL;
    float *gd = ghas(g, c, "guidance") ? gget(g, c, "guidance", NULL) : NULL;
    /* the pipeline scales the timestep (SanaPipeline: t * config.timestep_scale) */
    for (int64_t b = 0; b < B; b++) t[b] = (float)(t[b] * cfg->timestep_scale);
    int64_t n = B * cfg->out_channels * H * W;
    float *out = malloc((size_t)n * sizeof(float));
    sana_status st = sana_dit_forward(m, out, x, B, H, W, t, enc, mask, L, gd, pag);
    if (st != SANA_OK) golden_fail("sana_dit_forward case %s: %s", c, sana_errmsg());
    free(x); free(t); free(enc); free(mask); free(gd);
    *n_out = n;
    return out;
}

static void check_model(const char *name, const char *variant)
{
    char gname[128], label[160];
    snprintf(gname, sizeof gname, "dit/model_%s.safetensors", name);
    golden *g = golden_open(gname);
    sana_dit *m = NULL;
    if (sana_dit_load(&m, ckpt_dir(name), variant, be) != SANA_OK) {
        golden_fail("load %s: %s", ckpt_dir(name), sana_errmsg());
        golden_close(g);
        return;
    }
    const sana_dit_config *cfg = sana_dit_get_config(m);
    const int64_t D = cfg->num_attention_heads * cfg->attention_head_dim;
    const char *cases[] = {"a", "b"};
    for (int ci = 0; ci < 2; ci++) {
        const char *c = cases[ci];
        if (!ghas(g, c, "x")) continue;
        int64_t n, shp[4];
        float *out = run_case(g, m, c, NULL, &n, shp);
        const int64_t B = shp[0], H = shp[1], W = shp[2], L = shp[3], N = (H / cfg->patch_size) * (W / cfg->patch_size);
        snprintf(label, sizeof label, "%s case %s B=%lld %lldx%lld L=%lld%s: output", name, c, (long long)B,
                 (long long)H, (long long)W, (long long)L, ghas(g, c, "mask") ? "" : " (no mask)");
        char want[64];
        snprintf(want, sizeof want, "%s.out", c);
        golden_check(g, label, out, n, want, "dit_model");
        /* intermediates of the same call */
        float *buf = malloc((size_t)(B * (L > 6 ? L : 6) * D) * sizeof(float));
        const char *inter[][2] = {{"temb", "temb"}, {"temb6", "temb6"}, {"enc", "enc"}};
        const int64_t sizes[] = {B * D, B * 6 * D, B * L * D};
        for (int k = 0; k < 3; k++) {
            if (sana_dit_read(m, inter[k][0], buf, sizes[k]) != SANA_OK) {
                golden_fail("sana_dit_read %s: %s", inter[k][0], sana_errmsg());
                continue;
            }
            snprintf(label, sizeof label, "%s case %s: %s", name, c, inter[k][0]);
            snprintf(want, sizeof want, "%s.%s", c, inter[k][1]);
            golden_check(g, label, buf, sizes[k], want, "dit_model");
        }
        free(buf);
        /* the same shape again: reuses the arena and must give the same bits */
        float *again = run_case(g, m, c, NULL, &n, shp);
        if (memcmp(again, out, (size_t)n * sizeof(float)))
            golden_fail("%s case %s: a second call with the same shape gives other numbers", name, c);
        free(again);
        free(out);
        /* block 0 alone, from diffusers' block input */
        if (ghas(g, c, "b0_x")) {
            float *x = gget(g, c, "b0_x", NULL), *enc = gget(g, c, "enc", NULL), *t6 = gget(g, c, "temb6", NULL);
            float *mask = ghas(g, c, "mask") ? gget(g, c, "mask", NULL) : NULL;
            if (sana_dit_block_forward(m, 0, x, enc, mask, t6, B, H, W, L, -1) != SANA_OK)
                golden_fail("block 0: %s", sana_errmsg());
            snprintf(label, sizeof label, "%s case %s: block 0 alone", name, c);
            snprintf(want, sizeof want, "%s.b0_out", c);
            golden_check(g, label, x, B * N * D, want, "dit_block");
            free(x); free(enc); free(t6); free(mask);
        }
    }
    /* PAG identity self-attention on one layer for the second half of the batch */
    if (golden_has(g, "pag.out")) {
        int64_t *layer = golden_i64(g, "pag.layer", NULL);
        int l = (int)layer[0];
        sana_dit_pag pag = {1, &l, 1};
        int64_t n, shp[4];
        float *out = run_case(g, m, "a", &pag, &n, shp);
        snprintf(label, sizeof label, "%s PAG identity attn1 in layer %d, items >= 1", name, l);
        golden_check(g, label, out, n, "pag.out", "dit_model");
        free(out);
        free(layer);
    }
    sana_dit_free(m);
    /* the fp16 and bf16 variants of the same checkpoint against diffusers on the upcast weights */
    const char *variants[] = {"fp16", "bf16"};
    for (int vi = 0; vi < 2; vi++) {
        char want[64];
        snprintf(want, sizeof want, "%s.out", variants[vi]);
        if (!golden_has(g, want)) continue;
        if (sana_dit_load(&m, ckpt_dir(name), variants[vi], NULL) != SANA_OK) {
            golden_fail("load %s variant %s: %s", ckpt_dir(name), variants[vi], sana_errmsg());
            continue;
        }
        int64_t n, shp[4];
        float *out = run_case(g, m, "a", NULL, &n, shp);
        snprintf(label, sizeof label, "%s variant %s (diffusers on the upcast %s weights)", name, variants[vi],
                 variants[vi]);
        golden_check(g, label, out, n, want, "dit_model");
        free(out);
        sana_dit_free(m);
    }
    golden_close(g);
}

/* Write a copy of the v1 checkpoint with one tensor left out (drop) or given another shape (reshape). */
static void expect_load_error(const char *tmp, const char *tensor, int reshape)
{
    char src[4096], dst[4096], cfg_src[4096], cfg_dst[4096];
    snprintf(src, sizeof src, "%s/diffusion_pytorch_model.safetensors", ckpt_dir("v1"));
    snprintf(cfg_src, sizeof cfg_src, "%s/config.json", ckpt_dir("v1"));
    snprintf(dst, sizeof dst, "%s/diffusion_pytorch_model.safetensors", tmp);
    snprintf(cfg_dst, sizeof cfg_dst, "%s/config.json", tmp);
    FILE *fi = fopen(cfg_src, "rb"), *fo = fopen(cfg_dst, "wb");
    char buf[4096];
    size_t k;
    while (fi && fo && (k = fread(buf, 1, sizeof buf, fi)) > 0) fwrite(buf, 1, k, fo);
    if (fi) fclose(fi);
    if (fo) fclose(fo);
    sana_st_file *f = NULL;
    if (sana_st_open(&f, src) != SANA_OK) { golden_fail("open %s: %s", src, sana_errmsg()); return; }
    sana_st_write_tensor *t = calloc((size_t)f->ntensors, sizeof *t);
    int n = 0;
    for (int i = 0; i < f->ntensors; i++) {
        const sana_st_tensor *s = &f->tensors[i];
        if (!reshape && !strcmp(s->name, tensor)) continue;
        t[n].name = s->name;
        t[n].dtype = s->wt.dtype;
        t[n].ndim = s->wt.ndim;
        memcpy(t[n].shape, s->wt.shape, sizeof t[n].shape);
        t[n].data = s->wt.data;
        if (reshape && !strcmp(s->name, tensor)) { /* [a, b, ...] -> [a*b, 1, ...]: same bytes, other shape */
            t[n].shape[0] *= t[n].shape[1];
            t[n].shape[1] = 1;
        }
        n++;
    }
    if (sana_st_write(dst, t, n, NULL, 0) != SANA_OK) golden_fail("write %s: %s", dst, sana_errmsg());
    free(t);
    sana_st_close(f);
    sana_dit *m = NULL;
    sana_status st = sana_dit_load(&m, tmp, NULL, NULL);
    if (st == SANA_OK) {
        golden_fail("a checkpoint with %s %s loads without error", tensor, reshape ? "mis-shaped" : "missing");
        sana_dit_free(m);
    } else if (!strstr(sana_errmsg(), tensor)) {
        golden_fail("the error for %s %s does not name it: %s", reshape ? "mis-shaped" : "missing", tensor,
                    sana_errmsg());
    } else {
        printf("PASS %s %s: \"%s\"\n", reshape ? "mis-shaped" : "missing", tensor, sana_errmsg());
    }
    unlink(dst);
    unlink(cfg_dst);
}

static void check_config_errors(const char *tmp)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", tmp);
    const char *bad[][2] = {
        {"{\"_class_name\": \"SanaTransformer2DModel\", \"qk_norm\": \"layer_norm\"}", "qk_norm"},
        {"{\"num_layers\": \"twenty\"}", "num_layers"},
        {"{\"cross_attention_dim\": 1000}", "cross_attention_dim"},
    };
    for (int i = 0; i < 3; i++) {
        FILE *f = fopen(path, "wb");
        if (!f) { golden_fail("cannot write %s", path); return; }
        fputs(bad[i][0], f);
        fclose(f);
        sana_dit_config c;
        if (sana_dit_config_load(&c, path) == SANA_OK || !strstr(sana_errmsg(), bad[i][1]))
            golden_fail("config %s: expected an error naming %s, got \"%s\"", bad[i][0], bad[i][1], sana_errmsg());
        else
            printf("PASS config error: \"%s\"\n", sana_errmsg());
    }
    /* defaults and the nullable out_channels */
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fputs("{\"in_channels\": 16, \"out_channels\": null, \"interpolation_scale\": null}", f);
    fclose(f);
    sana_dit_config c;
    if (sana_dit_config_load(&c, path) != SANA_OK || c.out_channels != 16 || c.num_layers != 20 ||
        c.cross_attention_dim != 2240 || c.has_interpolation_scale || c.norm_eps != 1e-6 || c.mlp_ratio != 2.5)
        golden_fail("config defaults / out_channels null: wrong values (%s)", sana_errmsg());
    else
        printf("PASS config defaults, out_channels null -> in_channels\n");
    unlink(path);
}


/* A ref backend that counts its allocations: the arena is allocated once per shape. */
static int nalloc;
static void *count_alloc(void *ctx, size_t n)
{
    nalloc++;
    return sana_backend_ref()->alloc(ctx, n);
}

static void check_arena_and_args(void)
{
    sana_backend cb = *sana_backend_ref();
    cb.alloc = count_alloc;
    sana_dit *m = NULL;
    if (sana_dit_load(&m, ckpt_dir("v15"), NULL, &cb) != SANA_OK) {
        golden_fail("load v15: %s", sana_errmsg());
        return;
    }
    const int64_t B = 1, L = 3, Ccap = 24;
    float x[1 * 4 * 8 * 12] = {0}, out[1 * 4 * 8 * 12], t[1] = {500}, enc[3 * 24] = {0}, gd[1] = {0.4f};
    for (int i = 0; i < (int)(sizeof x / sizeof x[0]); i++) x[i] = (float)(i % 7) / 7.0f;
    for (int i = 0; i < L * Ccap; i++) enc[i] = (float)(i % 5) / 5.0f - 0.4f;
    int ok = 1;
    for (int r = 0; r < 3; r++) ok &= sana_dit_forward(m, out, x, B, 8, 12, t, enc, NULL, L, NULL, NULL) == SANA_OK;
    int after_same = nalloc;
    ok &= sana_dit_forward(m, out, x, B, 8, 8, t, enc, NULL, L, NULL, NULL) == SANA_OK;
    if (!ok || after_same != 1 || nalloc != 2)
        golden_fail("arena: %d allocations for 3 calls of one shape, %d after a new shape (want 1, 2)", after_same, nalloc);
    else
        printf("PASS arena: one allocation for 3 calls of one shape, one more for a new shape\n");
    /* argument errors */
    struct { sana_status st; const char *what; } e[] = {
        {sana_dit_forward(m, out, x, B, 7, 12, t, enc, NULL, L, NULL, NULL), "7x12 with patch 2"},
        {sana_dit_forward(m, out, x, B, 8, 12, t, enc, NULL, L, gd, NULL), "guidance without guidance_embeds"},
        {sana_dit_forward(m, out, x, 0, 8, 12, t, enc, NULL, L, NULL, NULL), "B = 0"},
    };
    for (int i = 0; i < 3; i++) {
        if (e[i].st != SANA_ERR_ARG) golden_fail("forward with %s: expected SANA_ERR_ARG", e[i].what);
        else printf("PASS rejects %s\n", e[i].what);
    }
    sana_dit_free(m);
}

/*
 * The caption projection and attn2's k, v are kept while the caption repeats (src/models/dit.c).
 * A model reused over the captions A, A, B, A, A' (A' differs from A in its last value only)
 * must give, at every call, the same bits as a freshly loaded model given that call alone.
 */
static void check_caption_cache(const char *name)
{
    enum { B = 2, C = 4, H = 6, W = 10, L = 5, Ccap = 24, NCALL = 5 };
    static float x[B * C * H * W], out[B * C * H * W], ref[B * C * H * W], enc[3][B * L * Ccap], mask[B * L];
    for (int i = 0; i < B * C * H * W; i++) x[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < B * L * Ccap; i++) enc[k][i] = (float)((i * (13 + 4 * k)) % 29) / 14.0f - 1.0f;
    memcpy(enc[2], enc[0], sizeof enc[0]);
    enc[2][B * L * Ccap - 1] += 0.25f; /* A': A with its last value changed */
    for (int i = 0; i < B * L; i++) mask[i] = (i % L) < (i < L ? 5 : 3);
    const int seq[NCALL] = {0, 0, 1, 0, 2};
    const float ts[NCALL] = {999, 500, 250, 0, 10};
    sana_dit *m = NULL;
    if (sana_dit_load(&m, ckpt_dir(name), NULL, be) != SANA_OK) {
        golden_fail("load %s: %s", name, sana_errmsg());
        return;
    }
    int bad = -1;
    for (int c = 0; c < NCALL && bad < 0; c++) {
        const float t[B] = {ts[c], ts[c] / 2};
        const float *e = enc[seq[c]];
        sana_dit *fresh = NULL;
        int ok = sana_dit_forward(m, out, x, B, H, W, t, e, mask, L, NULL, NULL) == SANA_OK &&
                 sana_dit_load(&fresh, ckpt_dir(name), NULL, be) == SANA_OK &&
                 sana_dit_forward(fresh, ref, x, B, H, W, t, e, mask, L, NULL, NULL) == SANA_OK;
        sana_dit_free(fresh);
        if (!ok || memcmp(out, ref, sizeof out) != 0) bad = c;
    }
    sana_dit_free(m);
    if (bad >= 0)
        golden_fail("%s caption cache: call %d of A,A,B,A,A' differs from a fresh model", name, bad);
    else
        golden_compare(NULL, "caption cache A,A,B,A,A' == fresh model", out, ref, B * C * H * W, "dit_exact");
}

/* A ref backend whose prepare_weight converts every weight to a float32 copy (as a tuned backend
 * may), counting what it prepares and releases. */
static int nprep, nrel;
static sana_status f32_prepare(void *ctx, const sana_wt *in, sana_op use, unsigned flags, sana_wt *out, size_t *bytes)
{
    (void)ctx, (void)flags;
    if ((unsigned)use >= SANA_OP_COUNT) return sana_err(SANA_ERR_ARG, "bad use");
    int64_t n = sana_wt_numel(in);
    float *d = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    if (!d) return SANA_ERR_NOMEM;
    sana_convert_f32(d, in->data, in->dtype, 0, n);
    *out = *in;
    out->data = d;
    out->dtype = SANA_F32;
    *bytes = (size_t)n * sizeof(float);
    nprep++;
    return SANA_OK;
}
static void f32_release(void *ctx, sana_wt *w)
{
    (void)ctx;
    free((void *)w->data);
    nrel++;
}

/* Weights prepared at load: the forward passes read the prepared copies (same bits as ref converting
 * the bf16 rows itself), the bytes are counted, and everything is released with the model. */
static void check_prepare(void)
{
    sana_backend pb = *sana_backend_ref();
    pb.prepare_weight = f32_prepare;
    pb.release_weight = f32_release;
    sana_dit *a = NULL, *b = NULL;
    if (sana_dit_load(&a, ckpt_dir("mid"), "bf16", sana_backend_ref()) != SANA_OK ||
        sana_dit_load(&b, ckpt_dir("mid"), "bf16", &pb) != SANA_OK) {
        golden_fail("load mid: %s", sana_errmsg());
        sana_dit_free(a);
        return;
    }
    const sana_dit_config *c = sana_dit_get_config(a);
    enum { B = 1, H = 8, W = 8, L = 4 };
    const int64_t nx = B * c->in_channels * H * W, ne = B * L * c->caption_channels;
    float *x = calloc((size_t)nx, sizeof(float)), *e = calloc((size_t)ne, sizeof(float));
    float *ya = calloc((size_t)nx, sizeof(float)), *yb = calloc((size_t)nx, sizeof(float)), t[1] = {700};
    for (int64_t i = 0; i < nx; i++) x[i] = (float)(i % 11) / 11.0f - 0.5f;
    for (int64_t i = 0; i < ne; i++) e[i] = (float)(i % 7) / 7.0f - 0.5f;
    int ok = sana_dit_forward(a, ya, x, B, H, W, t, e, NULL, L, NULL, NULL) == SANA_OK &&
             sana_dit_forward(b, yb, x, B, H, W, t, e, NULL, L, NULL, NULL) == SANA_OK;
    size_t bytes = sana_dit_weight_bytes(b);
    int prepared = nprep;
    sana_dit_free(a);
    sana_dit_free(b);
    if (!ok) golden_fail("prepare: forward: %s", sana_errmsg());
    else if (memcmp(ya, yb, (size_t)nx * sizeof(float)) != 0) golden_fail("prepare: float32 copies give other bits");
    else if (prepared == 0 || nrel != prepared || bytes == 0)
        golden_fail("prepare: %d weights prepared, %d released, %zu bytes", prepared, nrel, bytes);
    else
        printf("PASS prepare_weight: %d weights prepared once at load (%.2f MiB), read by the forward pass (same "
               "bits), %d released\n", prepared, (double)bytes / 1048576.0, nrel);
    free(x); free(e); free(ya); free(yb);
}

int main(void)
{
    for (int i = 0; i < sana_backend_count(); i++) {
        be = sana_backend_get(i);
        if (!test_backend_wanted(be->name)) continue;
        printf("-- backend %s\n", be->name);
        check_model("v1", NULL);
        check_model("v15", NULL);
        check_model("sprint", NULL);
        check_model("mid", "bf16");
        check_caption_cache("v15");
    }
    check_arena_and_args();
    check_prepare();

    char tmp[] = "/tmp/sana-test-dit-XXXXXX";
    if (!mkdtemp(tmp)) {
        golden_fail("mkdtemp failed");
        return golden_exit();
    }
    expect_load_error(tmp, "transformer_blocks.1.ff.conv_point.weight", 0);
    expect_load_error(tmp, "transformer_blocks.0.attn2.to_k.weight", 1);
    expect_load_error(tmp, "caption_norm.weight", 0);
    check_config_errors(tmp);
    rmdir(tmp);
    return golden_exit();
}
