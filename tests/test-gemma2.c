/*
 * tests/test-gemma2.c -- the Gemma-2 text encoder against transformers' Gemma2Model.
 *
 * Goldens: golden/text/gemma2-ops.safetensors (single operators) and
 * golden/text/gemma2-forward.safetensors (last hidden state of the tiny checkpoints
 * golden/ckpt/text-gemma2-{f32,bf16}), both from golden/dump_gemma2.py.
 * Also checks that running a sequence in two pieces through the key/value cache
 * gives the same hidden states as one piece, and the loader's error messages.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/weight.h"
#include "models/gemma2.h"
#include "golden.h"
#include "test_backends.h"

static const sana_backend *be; /* every compiled backend in turn */

static int32_t *to_i32(const int64_t *v, int64_t n)
{
    int32_t *o = malloc((size_t)n * sizeof(int32_t));
    for (int64_t i = 0; i < n; i++) o[i] = (int32_t)v[i];
    return o;
}

static const char *meta_int(golden *g, const char *key)
{
    const char *v = golden_meta(g, key);
    if (!v) { golden_fail("golden has no metadata %s", key); return "0"; }
    return v;
}

static void test_ops(void)
{
    golden *g = golden_open("text/gemma2-ops.safetensors");
    int64_t n;

    /* Embedding times sqrt(hidden). */
    const sana_st_tensor *table = golden_get(g, "embed_table");
    int64_t *ids64 = golden_i64(g, "embed_ids", &n);
    int32_t *ids = to_i32(ids64, n);
    int64_t C = table->wt.shape[1];
    float *y = malloc((size_t)(n * C) * sizeof(float));
    SANA_OP_CALL(be, gemma_embed, y, ids, &table->wt, n, C, (float)sqrt((double)C));
    golden_check(g, "embed * sqrt(hidden)", y, n * C, "embed_out", "gemma_ops");
    free(y); free(ids); free(ids64);

    /* (1 + w) RMSNorm, without and with the residual. */
    int64_t nx;
    float *x = golden_f32(g, "norm_x", &nx), *res = golden_f32(g, "norm_res", NULL);
    const sana_st_tensor *w = golden_get(g, "norm_w");
    int64_t Cn = w->wt.shape[0], rows = nx / Cn;
    y = malloc((size_t)nx * sizeof(float));
    SANA_OP_CALL(be, gemma_rms_norm, y, x, &w->wt, NULL, rows, Cn, 1e-6f);
    golden_check(g, "rms_norm (1+w)", y, nx, "norm_out", "gemma_ops");
    SANA_OP_CALL(be, gemma_rms_norm, res, x, &w->wt, res, rows, Cn, 1e-6f); /* in place on the residual */
    golden_check(g, "res + rms_norm (1+w)", res, nx, "norm_out_res", "gemma_ops");
    free(x); free(res); free(y);

    /* RoPE on q [N, 4, 16] and k [N, 2, 16]; then the second half of q at pos0 = 5. */
    const sana_st_tensor *tq = golden_get(g, "rope_q"), *tk = golden_get(g, "rope_k");
    int64_t N = tq->wt.shape[0], Hq = tq->wt.shape[1], D = tq->wt.shape[2], Hkv = tk->wt.shape[1];
    float *q = golden_f32(g, "rope_q", NULL), *k = golden_f32(g, "rope_k", NULL);
    float *qo = golden_f32(g, "rope_q_out", NULL);
    SANA_OP_CALL(be, gemma_rope, q, N, Hq, D, 0, 10000.0f);
    SANA_OP_CALL(be, gemma_rope, k, N, Hkv, D, 0, 10000.0f);
    golden_check(g, "rope q", q, N * Hq * D, "rope_q_out", "gemma_ops");
    golden_check(g, "rope k", k, N * Hkv * D, "rope_k_out", "gemma_ops");
    free(q);
    q = golden_f32(g, "rope_q", NULL);
    int64_t p0 = 5;
    SANA_OP_CALL(be, gemma_rope, q + p0 * Hq * D, N - p0, Hq, D, p0, 10000.0f);
    golden_compare(g, "rope q at positions 5..", q + p0 * Hq * D, qo + p0 * Hq * D, (N - p0) * Hq * D, "gemma_ops");
    free(q); free(k); free(qo);

    /* Attention: causal, key padding, window, GQA, softcap; eager and sdpa rows. */
    const sana_st_tensor *ta = golden_get(g, "attn_q"), *tka = golden_get(g, "attn_k");
    N = ta->wt.shape[0]; Hq = ta->wt.shape[1]; D = ta->wt.shape[2]; Hkv = tka->wt.shape[1];
    float *aq = golden_f32(g, "attn_q", NULL), *ak = golden_f32(g, "attn_k", NULL), *av = golden_f32(g, "attn_v", NULL);
    int64_t *km64 = golden_i64(g, "attn_keymask", NULL);
    int32_t *km = to_i32(km64, N);
    int64_t W = atoll(meta_int(g, "attn_window"));
    float scale = (float)pow(24.0, -0.5), cap = 4.0f;
    float *out = malloc((size_t)(N * Hq * D) * sizeof(float));
    struct { const char *want, *what; int64_t window; float cap; int eager; } cases[] = {
        {"attn_eager_full_cap", "attention eager causal+pad softcap", 0, 4.0f, 1},
        {"attn_eager_full_nocap", "attention eager causal+pad", 0, 0.0f, 1},
        {"attn_eager_win_cap", "attention eager window softcap (fully masked rows)", W, 4.0f, 1},
        {"attn_eager_win_nocap", "attention eager window", W, 0.0f, 1},
        {"attn_sdpa_full", "attention sdpa causal+pad", 0, 0.0f, 0},
        {"attn_sdpa_win", "attention sdpa window (fully masked rows)", W, 0.0f, 0},
    };
    (void)cap;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        SANA_OP_CALL(be, gemma_attention, out, aq, ak, av, km, N, 0, N, Hq, Hkv, D, scale, cases[c].cap,
                     cases[c].window, cases[c].eager);
        golden_check(g, cases[c].what, out, N * Hq * D, cases[c].want, "gemma_ops");
        /* The same rows computed as the tail of a cached sequence: queries from position 4 on. */
        int64_t q0 = 4;
        float *want = golden_f32(g, cases[c].want, NULL);
        SANA_OP_CALL(be, gemma_attention, out, aq + q0 * Hq * D, ak, av, km, N - q0, q0, N, Hq, Hkv, D, scale,
                     cases[c].cap, cases[c].window, cases[c].eager);
        char what[160];
        snprintf(what, sizeof what, "%s, queries 4.. over cached keys", cases[c].what);
        golden_compare(g, what, out, want + q0 * Hq * D, (N - q0) * Hq * D, "gemma_ops");
        free(want);
    }
    free(aq); free(ak); free(av); free(km); free(km64); free(out);

    /* GeGLU. */
    int64_t ng;
    float *gate = golden_f32(g, "geglu_gate", &ng), *up = golden_f32(g, "geglu_up", NULL);
    SANA_OP_CALL(be, gemma_geglu, gate, up, ng);
    golden_check(g, "geglu gelu_tanh(gate) * up", gate, ng, "geglu_out", "gemma_ops");
    free(gate); free(up);
    golden_close(g);
}

static void ckpt_dir(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/ckpt/%s", golden_dir(), name);
}


/* The two golden rows as one batch of two sequences (sana_gemma2_forward_batch, each with its own
 * cache) against diffusers; two sequences sharing a cache are an argument error. */
static void test_batch(golden *g, sana_gemma2 *m, const int32_t *ids, const int32_t *mask, int64_t N, int64_t C)
{
    sana_gemma2_set_attn(m, SANA_GEMMA2_SDPA);
    sana_gemma2_kv kv[2];
    float *h = malloc((size_t)(2 * N * C) * sizeof(float));
    float *want = golden_f32(g, "out_sdpa_f32", NULL);
    memset(kv, 0, sizeof kv);
    if (sana_gemma2_kv_init(&kv[0], m, N) != SANA_OK || sana_gemma2_kv_init(&kv[1], m, N) != SANA_OK) {
        golden_fail("batch: %s", sana_errmsg());
        if (kv[0].k) sana_gemma2_kv_free(&kv[0]);
        free(h);
        free(want);
        return;
    }
    sana_gemma2_seq sq[2];
    for (int b = 0; b < 2; b++)
        sq[b] = (sana_gemma2_seq){.kv = &kv[b], .ids = ids + b * N, .n = N, .key_mask = mask + b * N,
                                  .hidden = h + b * N * C};
    if (sana_gemma2_forward_batch(m, sq, 2) != SANA_OK)
        golden_fail("batch of two sequences: %s", sana_errmsg());
    else
        golden_compare(g, "both rows as one batch of two sequences, sdpa", h, want, 2 * N * C, "gemma2");
    kv[0].n = kv[1].n = 0;
    sq[1].kv = &kv[0];
    sana_status st = sana_gemma2_forward_batch(m, sq, 2);
    if (st != SANA_ERR_ARG || !strstr(sana_errmsg(), "share a cache"))
        golden_fail("two sequences on one cache: status %d, message \"%s\"", (int)st, sana_errmsg());
    else
        printf("ok: two sequences on one cache rejected: %s\n", sana_errmsg());
    sana_gemma2_kv_free(&kv[0]);
    sana_gemma2_kv_free(&kv[1]);
    free(h);
    free(want);
}

static void test_forward(void)
{
    golden *g = golden_open("text/gemma2-forward.safetensors");
    int64_t n;
    const sana_st_tensor *tid = golden_get(g, "input_ids");
    int64_t B = tid->wt.shape[0], N = tid->wt.shape[1];
    int64_t *ids64 = golden_i64(g, "input_ids", &n), *m64 = golden_i64(g, "attention_mask", NULL);
    int32_t *ids = to_i32(ids64, n), *mask = to_i32(m64, n);
    /* f32: sharded, no key prefix; bf16: sharded, "model." keys; f16: the sharded variant "fp16"
     * beside the f32 files (model.fp16-0000k-of-0000n.safetensors + model.safetensors.index.fp16.json). */
    const char *tags[] = {"f32", "bf16", "f16"};
    const char *dirs[] = {"text-gemma2-f32", "text-gemma2-bf16", "text-gemma2-f32"};
    const char *variants[] = {NULL, NULL, "fp16"};
    for (int t = 0; t < 3; t++) {
        char dir[4096];
        ckpt_dir(dir, sizeof dir, dirs[t]);
        sana_gemma2 *m = NULL;
        if (sana_gemma2_load(&m, dir, variants[t], be) != SANA_OK) {
            golden_fail("load %s: %s", dir, sana_errmsg());
            continue;
        }
        int64_t C = sana_gemma2_get_config(m)->hidden_size;
        float *h = malloc((size_t)(B * N * C) * sizeof(float));
        for (int attn = 0; attn < 2; attn++) {
            sana_gemma2_set_attn(m, attn ? SANA_GEMMA2_EAGER : SANA_GEMMA2_SDPA);
            char want[64], what[128];
            snprintf(want, sizeof want, "out_%s_%s", attn ? "eager" : "sdpa", tags[t]);
            snprintf(what, sizeof what, "Gemma2Model %s weights, %s, batch 2 right-padded", tags[t],
                     attn ? "eager" : "sdpa");
            if (sana_gemma2_encode(m, ids, mask, B, N, h) != SANA_OK)
                golden_fail("encode: %s", sana_errmsg());
            else
                golden_check(g, what, h, B * N * C, want, "gemma2");
        }
        if (t == 0) {
            sana_gemma2_set_attn(m, SANA_GEMMA2_SDPA);
            if (sana_gemma2_encode(m, ids, NULL, 1, N, h) != SANA_OK)
                golden_fail("encode: %s", sana_errmsg());
            else
                golden_check(g, "Gemma2Model f32, sdpa, no attention_mask", h, N * C, "out_sdpa_f32_nomask", "gemma2");

            /* Two pieces through the cache (positions [0, 5) then [5, N)) = one piece, row 1 (padded). */
            for (int attn = 0; attn < 2; attn++) {
                sana_gemma2_set_attn(m, attn ? SANA_GEMMA2_EAGER : SANA_GEMMA2_SDPA);
                sana_gemma2_kv kv;
                float *h2 = malloc((size_t)(N * C) * sizeof(float));
                float *want = golden_f32(g, attn ? "out_eager_f32" : "out_sdpa_f32", NULL);
                if (sana_gemma2_kv_init(&kv, m, N) != SANA_OK ||
                    sana_gemma2_forward(m, &kv, ids + N, 0, 5, mask + N, h2) != SANA_OK ||
                    sana_gemma2_forward(m, &kv, ids + N + 5, 5, N - 5, mask + N, h2 + 5 * C) != SANA_OK)
                    golden_fail("cached forward: %s", sana_errmsg());
                else
                    golden_compare(g, attn ? "row 1 in two cached pieces, eager" : "row 1 in two cached pieces, sdpa",
                                   h2, want + N * C, N * C, "gemma2");
                sana_gemma2_kv_free(&kv);
                free(h2);
                free(want);
            }
            /* A token id outside the vocabulary is an argument error, not a read out of bounds. */
            int32_t bad[2] = {2, 1 << 20};
            sana_gemma2_kv kv;
            if (sana_gemma2_kv_init(&kv, m, 2) == SANA_OK) {
                sana_status st = sana_gemma2_forward(m, &kv, bad, 0, 2, NULL, h);
                if (st != SANA_ERR_ARG || !strstr(sana_errmsg(), "vocabulary"))
                    golden_fail("out-of-vocabulary id: status %d, message \"%s\"", (int)st, sana_errmsg());
                else
                    printf("ok: out-of-vocabulary id rejected: %s\n", sana_errmsg());
                sana_gemma2_kv_free(&kv);
            }
            test_batch(g, m, ids, mask, N, C);
        }
        free(h);
        sana_gemma2_free(m);
    }
    free(ids); free(mask); free(ids64); free(m64);
    golden_close(g);
}

/* The mid-size layer (hidden 192, intermediate 512, 100 tokens): BLAS blocking paths. */
static void test_forward_mid(void)
{
    golden *g = golden_open("text/gemma2-forward-mid.safetensors");
    int64_t n;
    int64_t *ids64 = golden_i64(g, "input_ids", &n), *m64 = golden_i64(g, "attention_mask", NULL);
    int32_t *ids = to_i32(ids64, n), *mask = to_i32(m64, n);
    char dir[4096];
    ckpt_dir(dir, sizeof dir, "text-gemma2-mid");
    sana_gemma2 *m = NULL;
    if (sana_gemma2_load(&m, dir, NULL, be) != SANA_OK) {
        golden_fail("load %s: %s", dir, sana_errmsg());
    } else {
        int64_t C = sana_gemma2_get_config(m)->hidden_size;
        float *h = malloc((size_t)(n * C) * sizeof(float));
        for (int attn = 0; attn < 2; attn++) {
            sana_gemma2_set_attn(m, attn ? SANA_GEMMA2_EAGER : SANA_GEMMA2_SDPA);
            if (sana_gemma2_encode(m, ids, mask, 1, n, h) != SANA_OK)
                golden_fail("encode: %s", sana_errmsg());
            else
                golden_check(g, attn ? "Gemma2Model mid (192/512, 100 tokens), eager"
                                     : "Gemma2Model mid (192/512, 100 tokens), sdpa",
                             h, n * C, attn ? "out_eager" : "out_sdpa", "gemma2");
        }
        free(h);
        sana_gemma2_free(m);
    }
    free(ids); free(mask); free(ids64); free(m64);
    golden_close(g);
}

/* Hidden states of ids[0, n) run as the chunks [0, c1), [c1, c2), ..., [ck, n) (cuts: k ascending
 * positions, ending with n) through one cache; the mask covers the whole sequence. */
static sana_status run_chunks(sana_gemma2 *m, const int32_t *ids, const int32_t *mask, int64_t n,
                              const int64_t *cuts, int k, float *h)
{
    sana_gemma2_kv kv;
    sana_status st = sana_gemma2_kv_init(&kv, m, n);
    const int64_t C = sana_gemma2_get_config(m)->hidden_size;
    for (int i = 0, s0 = 0; st == SANA_OK && i < k; s0 = (int)cuts[i++])
        st = sana_gemma2_forward(m, &kv, ids + s0, s0, cuts[i] - s0, mask, h + (size_t)s0 * (size_t)C);
    sana_gemma2_kv_free(&kv);
    return st;
}


/*
 * Work saved exactly: a long sequence (the mid-size layer, N = 560 > the BLAS blocking of the
 * attention products, 384 keys) with R real tokens. One forward over all N positions must give the
 * same bits on the real rows as (1) the real rows alone (padding not computed) and (2) a prefix of
 * P positions computed first, then the rest through the same cache (the instruction cache of
 * encode_prompt), by default, with one attention call per chunk. Every op of the forward is
 * row-exact on every backend (gemma_attention by its contract, ref_gemma.h) except possibly
 * `linear`, so the check is hard wherever linear is row-exact at the layer's shapes, which
 * test_linear_row_drift measures first for the same chunks (the cpu backend with AVX2: always, its
 * 16-bit kernel; ref: as OpenBLAS's sgemm happens to be on this CPU: its SkylakeX kernels are at
 * these row counts, its Haswell ones are not); where it is not, the differing values are printed.
 */
static void test_prefix_bits(void)
{
    char dir[4096];
    ckpt_dir(dir, sizeof dir, "text-gemma2-mid");
    sana_gemma2 *m = NULL;
    if (sana_gemma2_load(&m, dir, NULL, be) != SANA_OK) {
        golden_fail("load %s: %s", dir, sana_errmsg());
        return;
    }
    const sana_gemma2_config *cf = sana_gemma2_get_config(m);
    const int64_t N = 560, P = 260, R = 500, C = cf->hidden_size, V = cf->vocab_size, I = cf->intermediate_size;
    const int64_t QD = cf->num_attention_heads * cf->head_dim, KD = cf->num_key_value_heads * cf->head_dim;
    /* The checkpoint is bf16 (golden/ckpt/text-gemma2-mid/config.json). */
    const int64_t shapes[5][2] = {{C, QD}, {C, KD}, {QD, C}, {C, I}, {I, C}};
    const int64_t chunks[3][2] = {{0, R}, {0, P}, {P, R - P}}; /* the forward calls below, against all N rows */
    long drift = 0;
    for (int i = 0; i < 5; i++) drift += test_linear_row_drift(be, SANA_BF16, shapes[i][0], shapes[i][1], N, chunks, 3);
    int32_t *ids = malloc((size_t)N * sizeof(int32_t)), *mask = malloc((size_t)N * sizeof(int32_t));
    for (int64_t i = 0; i < N; i++) {
        ids[i] = (int32_t)(i ? 3 + (i * 7919) % (V - 3) : 2);
        mask[i] = i < R;
    }
    float *full = malloc((size_t)(N * C) * sizeof(float)), *part = malloc((size_t)(N * C) * sizeof(float));
    const int64_t all[1] = {N}, real[1] = {R}, split[2] = {P, R};
    long d[2] = {0, 0};
    sana_status st = run_chunks(m, ids, mask, N, all, 1, full);
    for (int w = 0; st == SANA_OK && w < 2; w++) {
        memset(part, 0, (size_t)(N * C) * sizeof(float));
        st = w ? run_chunks(m, ids, mask, N, split, 2, part) : run_chunks(m, ids, mask, N, real, 1, part);
        for (int64_t i = 0; i < R * C; i++) d[w] += memcmp(&full[i], &part[i], sizeof(float)) != 0;
    }
    if (st != SANA_OK) {
        golden_fail("prefix bits: %s", sana_errmsg());
    } else {
        const int ok = d[0] == 0 && d[1] == 0;
        printf("%s: [%s] one forward over %lld positions vs the %lld real ones alone: %ld of %lld values differ; "
               "vs a cached prefix of %lld + the rest: %ld differ (linear's rows at the layer's shapes: %ld values "
               "change with the row count%s)\n",
               ok ? "ok  " : drift ? "info" : "FAIL", be->name, (long long)N, (long long)R, d[0], (long long)(R * C),
               (long long)P, d[1], drift, drift ? ": this backend's BLAS is not row-exact here, not checked" : "");
        if (!ok && !drift) golden_fail("[%s] the prefix / padding shortcuts change bits", be->name);
    }
    free(ids); free(mask); free(full); free(part);
    sana_gemma2_free(m);
}

/* Write a config.json into a fresh temporary folder and check that loading fails naming KEY. */
static void expect_config_error(const char *json, const char *key)
{
    char dir[] = "/tmp/sana-gemma2-XXXXXX";
    if (!mkdtemp(dir)) { golden_fail("mkdtemp"); return; }
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "w");
    fputs(json, f);
    fclose(f);
    sana_gemma2 *m = NULL;
    sana_status st = sana_gemma2_load(&m, dir, NULL, be);
    if (st == SANA_OK || !strstr(sana_errmsg(), key))
        golden_fail("config %s: expected an error naming \"%s\", got status %d \"%s\"", json, key, (int)st,
                    sana_errmsg());
    else
        printf("ok: %s\n", sana_errmsg());
    sana_gemma2_free(m);
    unlink(path);
    rmdir(dir);
}

static void test_errors(void)
{
    expect_config_error("{\"model_type\": \"gemma2\", \"hidden_activation\": \"gelu\"}", "hidden_activation");
    expect_config_error("{\"model_type\": \"llama\"}", "model_type");
    expect_config_error("{\"num_hidden_layers\": 2, \"layer_types\": [\"sliding_attention\"]}", "layer_types");
    expect_config_error("{\"layer_types\": [\"chunked\", \"full_attention\"], \"num_hidden_layers\": 2}", "chunked");
    expect_config_error("{\"rope_scaling\": {\"rope_type\": \"linear\", \"factor\": 2.0}}", "rope_scaling");
    expect_config_error("{\"hidden_size\": \"big\"}", "hidden_size");
    /* A valid config without weights: the message names the folder and the files looked for. */
    expect_config_error("{\"model_type\": \"gemma2\"}", "model.safetensors");
}

int main(void)
{
    for (int i = 0; i < sana_backend_count(); i++) {
        be = sana_backend_get(i);
        if (!test_backend_wanted(be->name)) continue;
        printf("-- backend %s\n", be->name);
        test_ops();
        test_forward();
        test_forward_mid();
        test_prefix_bits();
    }
    be = sana_backend_ref();
    test_errors();
    return golden_exit();
}
