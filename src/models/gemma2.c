/*
 * src/models/gemma2.c -- Gemma2Model (transformers 4.57, models/gemma2/modeling_gemma2.py)
 * as a sequence of backend ops, for SANA's text encoder.
 *
 * Forward of one sequence (Gemma2Model.forward, Gemma2DecoderLayer.forward):
 *   x = embed_tokens(ids) * sqrt(hidden)                          [n, C]
 *   for each layer l:
 *     h = input_layernorm(x)
 *     q = q_proj(h) [n, Hq, D], k = k_proj(h), v = v_proj(h) [n, Hkv, D]
 *     q, k = rope(q, k) at the positions of the tokens
 *     a = attention(q, K cache + k, V cache + v)   (causal, key padding mask,
 *         sliding window on "sliding_attention" layers, soft-capping under eager)
 *     x = x + post_attention_layernorm(o_proj(a))
 *     x = x + post_feedforward_layernorm(down_proj(gelu_tanh(gate_proj(h2)) * up_proj(h2)))
 *         with h2 = pre_feedforward_layernorm(x)
 *   out = norm(x)
 */
#include "models/gemma2.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "io/safetensors.h"
#include "models/weights.h"

#define MAX_LAYERS 1024

typedef struct {
    const sana_wt *input_layernorm, *post_attention_layernorm;
    const sana_wt *pre_feedforward_layernorm, *post_feedforward_layernorm;
    const sana_wt *q_proj, *k_proj, *v_proj, *o_proj;
    const sana_wt *q_bias, *k_bias, *v_bias, *o_bias;
    const sana_wt *gate_proj, *up_proj, *down_proj;
} gemma2_layer;

struct sana_gemma2 {
    sana_gemma2_config cfg;
    sana_gemma2_attn attn;
    const sana_backend *be;
    sana_st_set *st;
    sana_weights w;          /* every weight, as the backend prepared it (compact: read once per prompt) */
    const sana_wt *embed_tokens, *norm;
    gemma2_layer *layers;
};

/* ------------------------------------------------------------ config */

void sana_gemma2_config_free(sana_gemma2_config *c)
{
    free(c->sliding);
    c->sliding = NULL;
}

/* The numeric keys of Gemma2Config with their defaults (Gemma2Config.__init__ of transformers 4.57). */
#define FIELD(f) offsetof(sana_gemma2_config, f)
static const struct { const char *key; int64_t def; size_t off; } int_keys[] = {
    {"vocab_size", 256000, FIELD(vocab_size)},
    {"hidden_size", 2304, FIELD(hidden_size)},
    {"intermediate_size", 9216, FIELD(intermediate_size)},
    {"num_hidden_layers", 26, FIELD(num_hidden_layers)},
    {"num_attention_heads", 8, FIELD(num_attention_heads)},
    {"num_key_value_heads", 4, FIELD(num_key_value_heads)},
    {"head_dim", 256, FIELD(head_dim)},
    {"sliding_window", 4096, FIELD(sliding_window)},
    {"pad_token_id", 0, FIELD(pad_token_id)},
};
static const struct { const char *key; double def; size_t off; } double_keys[] = {
    {"rms_norm_eps", 1e-6, FIELD(rms_norm_eps)},
    {"rope_theta", 10000.0, FIELD(rope_theta)},
    {"query_pre_attn_scalar", 256, FIELD(query_pre_attn_scalar)},
};
#undef FIELD

/* A string key that must be `want` (its default): "KEY": "\"VALUE\" WHY" otherwise. */
static sana_status json_string_is(const sana_json *j, const char *key, const char *want, const char *why)
{
    char *s = NULL;
    sana_status st = sana_json_string(j, key, want, &s);
    if (st == SANA_OK && strcmp(s, want) != 0)
        st = sana_json_bad(j, key, "\"%s\" %s", s, why);
    free(s);
    return st;
}

/* Every key of config.json, in the order of Gemma2Config.__init__, with its default. */
static sana_status config_read(sana_gemma2_config *c, const sana_json *j)
{
    sana_status st = json_string_is(j, "model_type", "gemma2", "is not a Gemma-2 model (\"gemma2\")");
    for (size_t i = 0; st == SANA_OK && i < sizeof int_keys / sizeof int_keys[0]; i++)
        st = sana_json_int(j, int_keys[i].key, int_keys[i].def, (int64_t *)((char *)c + int_keys[i].off));
    for (size_t i = 0; st == SANA_OK && i < sizeof double_keys / sizeof double_keys[0]; i++)
        st = sana_json_double(j, double_keys[i].key, double_keys[i].def, (double *)((char *)c + double_keys[i].off));
    if (st != SANA_OK)
        return st;
    /* attn_logit_softcapping: null means none (the eager path tests `is not None`). */
    json_object *o = NULL;
    if (json_object_object_get_ex(j->root, "attn_logit_softcapping", &o) && !o)
        c->attn_logit_softcapping = 0.0;
    else if ((st = sana_json_double(j, "attn_logit_softcapping", 50.0, &c->attn_logit_softcapping)) != SANA_OK)
        return st;
    if ((st = sana_json_bool(j, "attention_bias", 0, &c->attention_bias)) != SANA_OK)
        return st;
    if ((st = json_string_is(j, "hidden_activation", "gelu_pytorch_tanh",
                             "is not supported (only \"gelu_pytorch_tanh\")")) != SANA_OK)
        return st;
    if (sana_json_has(j, "rope_scaling"))
        return sana_json_bad(j, "rope_scaling", "only the default rope (rope_scaling null) is supported");
    return SANA_OK;
}

/* Sizes and numbers that the forward pass needs to make sense. */
static sana_status config_check(const sana_gemma2_config *c, const sana_json *j, const char *path)
{
    if (c->vocab_size <= 0 || c->hidden_size <= 0 || c->intermediate_size <= 0 || c->head_dim <= 0 ||
        c->head_dim % 2 != 0 || c->num_hidden_layers <= 0 || c->num_hidden_layers > MAX_LAYERS ||
        c->num_attention_heads <= 0 || c->num_key_value_heads <= 0 ||
        c->num_attention_heads % c->num_key_value_heads != 0)
        return sana_err(SANA_ERR_FORMAT, "%s: inconsistent sizes (vocab %lld, hidden %lld, intermediate %lld, "
                        "layers %lld, heads %lld/%lld, head_dim %lld)", path, (long long)c->vocab_size,
                        (long long)c->hidden_size, (long long)c->intermediate_size, (long long)c->num_hidden_layers,
                        (long long)c->num_attention_heads, (long long)c->num_key_value_heads, (long long)c->head_dim);
    if (c->sliding_window <= 0)
        return sana_json_bad(j, "sliding_window", "must be positive");
    if (!(c->query_pre_attn_scalar > 0) || !(c->rms_norm_eps >= 0) || !(c->rope_theta > 0) ||
        !(c->attn_logit_softcapping >= 0))
        return sana_err(SANA_ERR_FORMAT, "%s: query_pre_attn_scalar, rope_theta must be positive, "
                        "rms_norm_eps and attn_logit_softcapping non-negative", path);
    return SANA_OK;
}

/* c->sliding from "layer_types" (one entry per layer), or Gemma2Config's default alternation. */
static sana_status config_layer_types(sana_gemma2_config *c, const sana_json *j, const char *path)
{
    c->sliding = calloc((size_t)c->num_hidden_layers, sizeof(int));
    if (!c->sliding)
        return sana_err(SANA_ERR_NOMEM, "%s: out of memory", path);
    char *types[MAX_LAYERS];
    int nt = -1;
    sana_status st = sana_json_string_array(j, "layer_types", types, MAX_LAYERS, &nt);
    if (st != SANA_OK)
        return st;
    if (nt < 0) {
        /* Gemma2Config default: "sliding_attention" when (i + 1) % 2, else "full_attention". */
        for (int64_t i = 0; i < c->num_hidden_layers; i++)
            c->sliding[i] = (int)((i + 1) % 2);
        return SANA_OK;
    }
    for (int i = 0; i < nt; i++) {
        if (st == SANA_OK && i < c->num_hidden_layers) {
            if (strcmp(types[i], "sliding_attention") == 0)
                c->sliding[i] = 1;
            else if (strcmp(types[i], "full_attention") == 0)
                c->sliding[i] = 0;
            else
                st = sana_json_bad(j, "layer_types", "unknown layer type \"%s\"", types[i]);
        }
        free(types[i]);
    }
    if (st == SANA_OK && nt != c->num_hidden_layers)
        st = sana_json_bad(j, "layer_types", "%d entries for %lld layers", nt, (long long)c->num_hidden_layers);
    return st;
}

sana_status sana_gemma2_config_load(sana_gemma2_config *c, const char *path)
{
    memset(c, 0, sizeof *c);
    sana_json j;
    sana_status st = sana_json_load(&j, path);
    if (st != SANA_OK)
        return st;
    st = config_read(c, &j);
    if (st == SANA_OK)
        st = config_check(c, &j, path);
    if (st == SANA_OK)
        st = config_layer_types(c, &j, path);
    sana_json_free(&j);
    if (st != SANA_OK)
        sana_gemma2_config_free(c);
    return st;
}

/* ------------------------------------------------------------ loading */

void sana_gemma2_free(sana_gemma2 *m)
{
    if (!m)
        return;
    free(m->layers);
    sana_weights_free(&m->w);
    sana_st_set_close(m->st);
    sana_gemma2_config_free(&m->cfg);
    free(m);
}

const sana_gemma2_config *sana_gemma2_get_config(const sana_gemma2 *m) { return &m->cfg; }
size_t sana_gemma2_weight_bytes(const sana_gemma2 *m) { return m->w.bytes; }
void sana_gemma2_set_attn(sana_gemma2 *m, sana_gemma2_attn attn) { m->attn = attn; }

/* Every tensor of Gemma2Model under its checkpoint key (pre: "" or "model."), shapes checked. */
static sana_status load_weights(sana_gemma2 *m, const char *pre)
{
    const sana_gemma2_config *c = &m->cfg;
    sana_status st = SANA_OK;
    int64_t C = c->hidden_size, I = c->intermediate_size;
    int64_t QD = c->num_attention_heads * c->head_dim, KD = c->num_key_value_heads * c->head_dim;
    sana_weights *set = &m->w;
    sana_model_weight(&st, set, &m->embed_tokens, SANA_OP_gemma_embed, SHP(c->vocab_size, C),
                      "%sembed_tokens.weight", pre);
    sana_model_weight(&st, set, &m->norm, SANA_OP_gemma_rms_norm, SHP(C), "%snorm.weight", pre);
    for (int64_t l = 0; l < c->num_hidden_layers && st == SANA_OK; l++) {
        gemma2_layer *L = &m->layers[l];
        long long li = (long long)l;
        sana_model_weight(&st, set, &L->input_layernorm, SANA_OP_gemma_rms_norm, SHP(C),
                          "%slayers.%lld.input_layernorm.weight", pre, li);
        sana_model_weight(&st, set, &L->post_attention_layernorm, SANA_OP_gemma_rms_norm, SHP(C), "%slayers.%lld.post_attention_layernorm.weight",
                       pre, li);
        sana_model_weight(&st, set, &L->pre_feedforward_layernorm, SANA_OP_gemma_rms_norm, SHP(C),
                       "%slayers.%lld.pre_feedforward_layernorm.weight", pre, li);
        sana_model_weight(&st, set, &L->post_feedforward_layernorm, SANA_OP_gemma_rms_norm, SHP(C),
                       "%slayers.%lld.post_feedforward_layernorm.weight", pre, li);
        sana_model_weight(&st, set, &L->q_proj, SANA_OP_linear, SHP(QD, C),
                          "%slayers.%lld.self_attn.q_proj.weight", pre, li);
        sana_model_weight(&st, set, &L->k_proj, SANA_OP_linear, SHP(KD, C),
                          "%slayers.%lld.self_attn.k_proj.weight", pre, li);
        sana_model_weight(&st, set, &L->v_proj, SANA_OP_linear, SHP(KD, C),
                          "%slayers.%lld.self_attn.v_proj.weight", pre, li);
        sana_model_weight(&st, set, &L->o_proj, SANA_OP_linear, SHP(C, QD),
                          "%slayers.%lld.self_attn.o_proj.weight", pre, li);
        if (c->attention_bias) {
            sana_model_weight(&st, set, &L->q_bias, SANA_OP_linear, SHP(QD),
                              "%slayers.%lld.self_attn.q_proj.bias", pre, li);
            sana_model_weight(&st, set, &L->k_bias, SANA_OP_linear, SHP(KD),
                              "%slayers.%lld.self_attn.k_proj.bias", pre, li);
            sana_model_weight(&st, set, &L->v_bias, SANA_OP_linear, SHP(KD),
                              "%slayers.%lld.self_attn.v_proj.bias", pre, li);
            sana_model_weight(&st, set, &L->o_bias, SANA_OP_linear, SHP(C),
                              "%slayers.%lld.self_attn.o_proj.bias", pre, li);
        }
        sana_model_weight(&st, set, &L->gate_proj, SANA_OP_linear, SHP(I, C),
                          "%slayers.%lld.mlp.gate_proj.weight", pre, li);
        sana_model_weight(&st, set, &L->up_proj, SANA_OP_linear, SHP(I, C),
                          "%slayers.%lld.mlp.up_proj.weight", pre, li);
        sana_model_weight(&st, set, &L->down_proj, SANA_OP_linear, SHP(C, I),
                          "%slayers.%lld.mlp.down_proj.weight", pre, li);
    }
    return st;
}

sana_status sana_gemma2_load(sana_gemma2 **out, const char *dir, const char *variant, const sana_backend *be)
{
    return sana_gemma2_load_q(out, dir, variant, be, SANA_F32);
}

static sana_status gemma2_load(sana_gemma2 **out, const char *dir, const char *variant, const sana_backend *be,
                               sana_quant quant, int rec);

sana_status sana_gemma2_load_q(sana_gemma2 **out, const char *dir, const char *variant, const sana_backend *be,
                               sana_quant quant)
{
    return gemma2_load(out, dir, variant, be, quant, 0);
}

sana_status sana_gemma2_load_recorded(sana_gemma2 **out, const char *dir, const char *variant, const sana_backend *be,
                                      sana_quant quant)
{
    return gemma2_load(out, dir, variant, be, quant, 1);
}

const sana_weights *sana_gemma2_weights(const sana_gemma2 *m) { return &m->w; }
const sana_st_set *sana_gemma2_tensors(const sana_gemma2 *m) { return m->st; }

static sana_status gemma2_load(sana_gemma2 **out, const char *dir, const char *variant, const sana_backend *be,
                               sana_quant quant, int rec)
{
    *out = NULL;
    sana_gemma2 *m = calloc(1, sizeof *m);
    if (!m)
        return sana_err(SANA_ERR_NOMEM, "%s: out of memory", dir);
    m->be = be;
    m->attn = SANA_GEMMA2_SDPA;
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    sana_status st = sana_gemma2_config_load(&m->cfg, path);
    if (st == SANA_OK)
        st = sana_st_set_open(&m->st, dir, "model", variant);
    if (st != SANA_OK) {
        sana_gemma2_free(m);
        return st;
    }
    const sana_gemma2_config *c = &m->cfg;
    /* Gemma2Model keys are "embed_tokens.weight", ...; Gemma2ForCausalLM adds "model.". */
    const char *pre;
    if (sana_st_set_find(m->st, "embed_tokens.weight"))
        pre = "";
    else if (sana_st_set_find(m->st, "model.embed_tokens.weight"))
        pre = "model.";
    else {
        sana_gemma2_free(m);
        return sana_err(SANA_ERR_MISSING, "%s: missing tensor \"embed_tokens.weight\" (or \"model.embed_tokens.weight\")",
                        dir);
    }
    m->layers = calloc((size_t)c->num_hidden_layers, sizeof *m->layers);
    if (!m->layers) {
        sana_gemma2_free(m);
        return sana_err(SANA_ERR_NOMEM, "%s: out of memory", dir);
    }
    /* read once per prompt, not at every step: the backend keeps the weights compact */
    sana_weights_init(&m->w, be, m->st, SANA_PREP_COMPACT);
    sana_weights_quantize(&m->w, quant);
    m->w.record = rec;
    st = load_weights(m, pre);
    if (st != SANA_OK) {
        sana_gemma2_free(m);
        return st;
    }
    *out = m;
    return SANA_OK;
}

/* ------------------------------------------------------------ kv cache */

sana_status sana_gemma2_kv_init(sana_gemma2_kv *kv, const sana_gemma2 *m, int64_t cap)
{
    memset(kv, 0, sizeof *kv);
    const sana_gemma2_config *c = &m->cfg;
    kv->be = m->be;
    kv->cap = cap;
    kv->rows = cap > 0 ? cap : 1;
    kv->layers = c->num_hidden_layers;
    kv->width = c->num_key_value_heads * c->head_dim;
    kv->k = calloc((size_t)kv->layers, sizeof(float *));
    kv->v = calloc((size_t)kv->layers, sizeof(float *));
    size_t bytes = (size_t)kv->rows * (size_t)kv->width * sizeof(float);
    int ok = kv->k && kv->v;
    for (int64_t l = 0; ok && l < kv->layers; l++) {
        kv->k[l] = m->be->alloc(m->be->ctx, bytes);
        kv->v[l] = m->be->alloc(m->be->ctx, bytes);
        ok = kv->k[l] && kv->v[l];
    }
    if (!ok) {
        sana_gemma2_kv_free(kv);
        return sana_err(SANA_ERR_NOMEM, "gemma2: out of memory for a key/value cache of %lld positions",
                        (long long)cap);
    }
    return SANA_OK;
}

void sana_gemma2_kv_free(sana_gemma2_kv *kv)
{
    for (int64_t l = 0; l < kv->layers; l++) {
        if (kv->k && kv->k[l]) kv->be->free(kv->be->ctx, kv->k[l]);
        if (kv->v && kv->v[l]) kv->be->free(kv->be->ctx, kv->v[l]);
    }
    free(kv->k);
    free(kv->v);
    memset(kv, 0, sizeof *kv);
}

/* Device-to-device copy through the backend's copy slot, or a download and an upload. */
static int dev_copy(const sana_backend *be, float *dst, const float *src, size_t nfloat)
{
    if (be->copy) {
        be->copy(be->ctx, dst, src, nfloat * sizeof(float));
        return 0;
    }
    float *tmp = malloc(nfloat * sizeof(float) + 1);
    if (!tmp) return -1;
    be->download(be->ctx, tmp, src, nfloat * sizeof(float));
    be->upload(be->ctx, dst, tmp, nfloat * sizeof(float));
    free(tmp);
    return 0;
}

void sana_gemma2_kv_copy_prefix(sana_gemma2_kv *dst, const sana_gemma2_kv *src, int64_t n)
{
    for (int64_t l = 0; l < dst->layers && n > 0; l++) {
        if (dev_copy(dst->be, dst->k[l], src->k[l], (size_t)(n * dst->width)) != 0 ||
            dev_copy(dst->be, dst->v[l], src->v[l], (size_t)(n * dst->width)) != 0) {
            dst->n = 0;
            return;
        }
    }
    dst->n = n;
}

/* ------------------------------------------------------------ forward */

/* The activations of one forward call over the rows of all its sequences (rows of sequence i from
 * off[i]), in backend memory; kb, vb: the keys and values of those rows when there are several
 * sequences (one sequence writes them straight into its cache); masks: each sequence's key padding
 * mask over its whole length (NULL without one). */
typedef struct {
    float *x, *h, *q, *a, *g, *u, *kb, *vb;
    int32_t *ids, **masks;
    int64_t *off;
} gemma2_acts;

static void acts_free(const sana_backend *be, gemma2_acts *t, int ns)
{
    void *bufs[] = {t->x, t->h, t->q, t->a, t->g, t->u, t->kb, t->vb, t->ids};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (bufs[i]) be->free(be->ctx, bufs[i]);
    for (int i = 0; t->masks && i < ns; i++)
        if (t->masks[i]) be->free(be->ctx, t->masks[i]);
    free(t->masks);
    free(t->off);
}

static sana_status acts_alloc(const sana_gemma2 *m, gemma2_acts *t, const sana_gemma2_seq *seqs, int ns, int64_t n)
{
    const sana_gemma2_config *c = &m->cfg;
    const sana_backend *be = m->be;
    const int64_t C = c->hidden_size, I = c->intermediate_size, QD = c->num_attention_heads * c->head_dim;
    const int64_t KD = c->num_key_value_heads * c->head_dim;
    const size_t f = sizeof(float);
    memset(t, 0, sizeof *t);
    t->x = be->alloc(be->ctx, (size_t)(n * C) * f);
    t->h = be->alloc(be->ctx, (size_t)(n * C) * f);
    t->q = be->alloc(be->ctx, (size_t)(n * QD) * f);
    t->a = be->alloc(be->ctx, (size_t)(n * QD) * f);
    t->g = be->alloc(be->ctx, (size_t)(n * I) * f);
    t->u = be->alloc(be->ctx, (size_t)(n * I) * f);
    t->ids = be->alloc(be->ctx, (size_t)n * sizeof(int32_t));
    t->masks = calloc((size_t)ns, sizeof *t->masks);
    t->off = calloc((size_t)ns, sizeof *t->off);
    int ok = t->x && t->h && t->q && t->a && t->g && t->u && t->ids && t->masks && t->off;
    if (ok && ns > 1) {
        t->kb = be->alloc(be->ctx, (size_t)(n * KD) * f);
        t->vb = be->alloc(be->ctx, (size_t)(n * KD) * f);
        ok = t->kb && t->vb;
    }
    for (int i = 0; ok && i < ns; i++) {
        t->off[i] = i ? t->off[i - 1] + seqs[i - 1].n : 0;
        be->upload(be->ctx, t->ids + t->off[i], seqs[i].ids, (size_t)seqs[i].n * sizeof(int32_t));
        if (!seqs[i].key_mask) continue;
        const size_t nm = (size_t)(seqs[i].start + seqs[i].n);
        t->masks[i] = be->alloc(be->ctx, nm * sizeof(int32_t));
        if (t->masks[i]) be->upload(be->ctx, t->masks[i], seqs[i].key_mask, nm * sizeof(int32_t));
        else ok = 0;
    }
    if (!ok) return sana_err(SANA_ERR_NOMEM, "gemma2: out of memory for the activations of %lld tokens", (long long)n);
    return SANA_OK;
}

/* Query rows of a layer: positions pos .. pos+n-1 of sequence seq, at rows row.. of the
 * activations. Every layer but the last has one group per sequence; the last has the positions
 * whose hidden states are wanted (sana_gemma2_seq.drop0/drop1), their rows moved together. */
typedef struct {
    int seq;
    int64_t pos, n, row;
} gemma2_qrows;

/*
 * t->a rows of g = attention of its queries (positions g->pos..) of layer l over its sequence's keys
 * [0, start + n): one op call per group. The op is row-exact (ref_gemma.h): a position's result
 * does not depend on the chunk it is computed in, so the cached instruction prefix, the skipped
 * padding and the rows left out of the last layer give the bits of one forward over the whole
 * sequence (doc/text-encoder.md says where the linear layers keep that promise). Eager attention
 * gives a row without any allowed key (only a padded row) the mean of the values of all
 * start + n keys.
 */
static void attention(const sana_gemma2 *m, const sana_gemma2_seq *sq, const gemma2_qrows *g, int64_t l,
                      const gemma2_acts *t)
{
    const sana_gemma2_config *c = &m->cfg;
    const int64_t Hq = c->num_attention_heads, Hkv = c->num_key_value_heads, D = c->head_dim;
    const int64_t end = sq->start + sq->n, window = c->sliding[l] ? c->sliding_window : 0;
    const int eager = m->attn == SANA_GEMMA2_EAGER;
    /* Gemma2Attention.scaling = query_pre_attn_scalar ** -0.5 (a Python float, applied to float32 logits). */
    const float scale = (float)pow(c->query_pre_attn_scalar, -0.5);
    /* sdpa_attention_forward drops `softcap`: only eager applies attn_logit_softcapping. */
    const float softcap = eager ? (float)c->attn_logit_softcapping : 0.0f;
    const int64_t o = g->row * Hq * D;
    SANA_OP_CALL(m->be, gemma_attention, t->a + o, t->q + o, sq->kv->k[l], sq->kv->v[l], t->masks[g->seq], g->n,
                 g->pos, end, Hq, Hkv, D, scale, softcap, window, eager);
}

/* Rows [src, src + n) of a [.., w] buffer to [dst, dst + n), dst <= src, one row at a time in
 * increasing order (a row never overlaps another). */
static int move_rows(const sana_backend *be, float *buf, int64_t w, int64_t dst, int64_t src, int64_t n)
{
    for (int64_t r = 0; dst != src && r < n; r++)
        if (dev_copy(be, buf + (dst + r) * w, buf + (src + r) * w, (size_t)w) != 0) return -1;
    return 0;
}

/* One Gemma2DecoderLayer on t->x [n, C], the rows of all sequences: the matrix products and norms
 * over all rows at once, rotary embedding and attention per sequence at its positions, its
 * keys/values appended to its cache. When the query-row groups qs leave rows out (nq < n: the last
 * layer), everything after the keys and values runs on their nq rows only, moved together. */
static sana_status layer_forward(const sana_gemma2 *m, const sana_gemma2_seq *seqs, int ns, int64_t l,
                                 const gemma2_acts *t, int64_t n, const gemma2_qrows *qs, int nqs, int64_t nq)
{
    const sana_gemma2_config *c = &m->cfg;
    const sana_backend *be = m->be;
    const gemma2_layer *L = &m->layers[l];
    const int64_t C = c->hidden_size, I = c->intermediate_size, D = c->head_dim;
    const int64_t Hq = c->num_attention_heads, Hkv = c->num_key_value_heads, QD = Hq * D, KD = Hkv * D;
    const float eps = (float)c->rms_norm_eps, theta = (float)c->rope_theta;
    /* one sequence: its keys/values go straight to the cache */
    float *kb = ns > 1 ? t->kb : seqs[0].kv->k[l] + seqs[0].start * KD;
    float *vb = ns > 1 ? t->vb : seqs[0].kv->v[l] + seqs[0].start * KD;
    SANA_OP_CALL(be, gemma_rms_norm, t->h, t->x, L->input_layernorm, NULL, n, C, eps);
    SANA_OP_CALL(be, linear, t->q, t->h, L->q_proj, L->q_bias, n, C, QD);
    SANA_OP_CALL(be, linear, kb, t->h, L->k_proj, L->k_bias, n, C, KD);
    SANA_OP_CALL(be, linear, vb, t->h, L->v_proj, L->v_bias, n, C, KD);
    for (int i = 0; i < ns; i++) {
        const sana_gemma2_seq *sq = &seqs[i];
        SANA_OP_CALL(be, gemma_rope, t->q + t->off[i] * QD, sq->n, Hq, D, sq->start, theta);
        SANA_OP_CALL(be, gemma_rope, kb + t->off[i] * KD, sq->n, Hkv, D, sq->start, theta);
        if (ns > 1 && (dev_copy(be, sq->kv->k[l] + sq->start * KD, kb + t->off[i] * KD, (size_t)(sq->n * KD)) != 0 ||
                       dev_copy(be, sq->kv->v[l] + sq->start * KD, vb + t->off[i] * KD, (size_t)(sq->n * KD)) != 0))
            return sana_err(SANA_ERR_NOMEM, "gemma2: out of memory copying keys and values");
    }
    for (int g = 0; g < nqs; g++) {
        const gemma2_qrows *q = &qs[g];
        const int64_t src = t->off[q->seq] + (q->pos - seqs[q->seq].start);
        if (move_rows(be, t->q, QD, q->row, src, q->n) != 0 || move_rows(be, t->x, C, q->row, src, q->n) != 0)
            return sana_err(SANA_ERR_NOMEM, "gemma2: out of memory moving rows");
        attention(m, &seqs[q->seq], q, l, t);
    }
    SANA_OP_CALL(be, linear, t->h, t->a, L->o_proj, L->o_bias, nq, QD, C);
    SANA_OP_CALL(be, gemma_rms_norm, t->x, t->h, L->post_attention_layernorm, t->x, nq, C, eps);
    SANA_OP_CALL(be, gemma_rms_norm, t->h, t->x, L->pre_feedforward_layernorm, NULL, nq, C, eps);
    SANA_OP_CALL(be, linear, t->g, t->h, L->gate_proj, NULL, nq, C, I);
    SANA_OP_CALL(be, linear, t->u, t->h, L->up_proj, NULL, nq, C, I);
    SANA_OP_CALL(be, gemma_geglu, t->g, t->u, nq * I);
    SANA_OP_CALL(be, linear, t->h, t->g, L->down_proj, NULL, nq, I, C);
    SANA_OP_CALL(be, gemma_rms_norm, t->x, t->h, L->post_feedforward_layernorm, t->x, nq, C, eps);
    return SANA_OK;
}

/* The query-row groups of a layer into qs (room for 2 per sequence), their row count in *nq: every
 * row in place, or for the last layer the rows outside each sequence's drop range, packed in order. */
static int qrows_make(const sana_gemma2_seq *seqs, int ns, const int64_t *off, int last, gemma2_qrows *qs,
                      int64_t *nq)
{
    int k = 0;
    int64_t row = 0;
    for (int i = 0; i < ns; i++) {
        const sana_gemma2_seq *sq = &seqs[i];
        const int64_t s0 = sq->start, s1 = sq->start + sq->n;
        int64_t d0 = sq->drop0 > s0 ? sq->drop0 : s0, d1 = sq->drop1 < s1 ? sq->drop1 : s1;
        if (!last || d0 >= d1) d0 = d1 = s1; /* nothing left out */
        const int64_t parts[2][2] = {{s0, d0}, {d1, s1}};
        for (int j = 0; j < 2; j++) {
            const int64_t a = parts[j][0], b = parts[j][1];
            if (b <= a) continue;
            qs[k++] = (gemma2_qrows){.seq = i, .pos = a, .n = b - a, .row = last ? row : off[i] + (a - s0)};
            row += b - a;
        }
    }
    *nq = row;
    return k;
}

sana_status sana_gemma2_forward_batch(sana_gemma2 *m, sana_gemma2_seq *seqs, int ns)
{
    const sana_gemma2_config *c = &m->cfg;
    const sana_backend *be = m->be;
    if (ns < 0 || (ns > 0 && !seqs)) return sana_err(SANA_ERR_ARG, "gemma2: bad sequence list (%d)", ns);
    int64_t n = 0;
    for (int i = 0; i < ns; i++) {
        const sana_gemma2_seq *sq = &seqs[i];
        if (sq->n < 0 || !sq->kv || (sq->n > 0 && (!sq->ids || !sq->hidden)))
            return sana_err(SANA_ERR_ARG, "gemma2: bad sequence %d of the batch", i);
        if (sq->kv->n != sq->start || sq->start + sq->n > sq->kv->cap)
            return sana_err(SANA_ERR_ARG, "gemma2: forward of positions [%lld, %lld) with %lld cached of capacity %lld",
                            (long long)sq->start, (long long)(sq->start + sq->n), (long long)sq->kv->n,
                            (long long)sq->kv->cap);
        for (int j = 0; j < i; j++)
            if (seqs[j].kv == sq->kv && sq->n > 0 && seqs[j].n > 0)
                return sana_err(SANA_ERR_ARG, "gemma2: sequences %d and %d of the batch share a cache", j, i);
        for (int64_t k = 0; k < sq->n; k++)
            if (sq->ids[k] < 0 || sq->ids[k] >= c->vocab_size)
                return sana_err(SANA_ERR_ARG, "gemma2: token id %d at position %lld is outside the vocabulary (%lld)",
                                (int)sq->ids[k], (long long)(sq->start + k), (long long)c->vocab_size);
        n += sq->n;
    }
    /* sequences without rows take no part */
    sana_gemma2_seq *run = malloc(sizeof *run * (size_t)(ns > 0 ? ns : 1));
    if (!run) return sana_err(SANA_ERR_NOMEM, "gemma2: out of memory");
    int nr = 0;
    for (int i = 0; i < ns; i++)
        if (seqs[i].n > 0) run[nr++] = seqs[i];
    if (n == 0) {
        free(run);
        return SANA_OK;
    }
    const int64_t C = c->hidden_size, nl = c->num_hidden_layers;
    gemma2_acts t;
    gemma2_qrows *qs = malloc(sizeof *qs * (size_t)(2 * nr));
    sana_status st = qs ? acts_alloc(m, &t, run, nr, n) : sana_err(SANA_ERR_NOMEM, "gemma2: out of memory");
    int nqs = 0;
    int64_t nq = n;
    if (st == SANA_OK) {
        /* normalizer = torch.tensor(hidden_size ** 0.5, dtype=float32) (Gemma2Model.forward). */
        SANA_OP_CALL(be, gemma_embed, t.x, t.ids, m->embed_tokens, n, C, (float)sqrt((double)C));
        for (int64_t l = 0; st == SANA_OK && l < nl; l++) {
            nqs = qrows_make(run, nr, t.off, l == nl - 1, qs, &nq);
            st = layer_forward(m, run, nr, l, &t, n, qs, nqs, nq);
        }
        SANA_OP_CALL(be, gemma_rms_norm, t.h, t.x, m->norm, NULL, nq, C, (float)c->rms_norm_eps);
        sana_status sy = sana_backend_sync(be);
        if (st == SANA_OK && sy != SANA_OK)
            st = sana_err(sy, "gemma2: backend %s failed in the forward pass (%s)", be->name, sana_status_name(sy));
    }
    for (int i = 0; st == SANA_OK && i < nr; i++) { /* rows left out of the last layer stay 0 */
        memset(run[i].hidden, 0, (size_t)(run[i].n * C) * sizeof(float));
        run[i].kv->n = run[i].start + run[i].n;
    }
    for (int g = 0; st == SANA_OK && g < nqs; g++) {
        const sana_gemma2_seq *sq = &run[qs[g].seq];
        be->download(be->ctx, sq->hidden + (qs[g].pos - sq->start) * C, t.h + qs[g].row * C,
                     (size_t)(qs[g].n * C) * sizeof(float));
    }
    if (qs) acts_free(be, &t, nr);
    free(qs);
    free(run);
    return st;
}

int sana_gemma2_rows_exact(const sana_gemma2 *m)
{
    for (int64_t l = 0; l < m->cfg.num_hidden_layers; l++) {
        const gemma2_layer *L = &m->layers[l];
        const sana_wt *w[7] = {L->q_proj, L->k_proj, L->v_proj, L->o_proj, L->gate_proj, L->up_proj, L->down_proj};
        for (int i = 0; i < 7; i++)
            if (!sana_backend_row_exact(m->be, SANA_OP_linear, w[i]->dtype)) return 0;
    }
    return 1;
}

sana_status sana_gemma2_forward(sana_gemma2 *m, sana_gemma2_kv *kv, const int32_t *ids,
                                int64_t start, int64_t n, const int32_t *key_mask, float *hidden)
{
    sana_gemma2_seq sq = {.kv = kv, .ids = ids, .start = start, .n = n, .key_mask = key_mask, .hidden = hidden};
    return sana_gemma2_forward_batch(m, &sq, 1);
}

sana_status sana_gemma2_encode(sana_gemma2 *m, const int32_t *ids, const int32_t *mask,
                               int64_t B, int64_t N, float *hidden)
{
    sana_gemma2_kv kv;
    sana_status st = sana_gemma2_kv_init(&kv, m, N);
    if (st != SANA_OK)
        return st;
    for (int64_t b = 0; b < B && st == SANA_OK; b++) {
        kv.n = 0;
        st = sana_gemma2_forward(m, &kv, ids + b * N, 0, N, mask ? mask + b * N : NULL,
                                 hidden + b * N * m->cfg.hidden_size);
    }
    sana_gemma2_kv_free(&kv);
    return st;
}
