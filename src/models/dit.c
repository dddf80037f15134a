/*
 * src/models/dit.c -- SanaTransformer2DModel: config, weights, activation arena, forward pass.
 *
 * The forward pass reads like diffusers' SanaTransformer2DModel.forward and
 * SanaTransformerBlock.forward (models/transformers/sana_transformer.py, v0.35.2): a sequence
 * of operator calls through the backend table, with the checkpoint's weight names.
 * Data flow and shapes: doc/dit.md.
 */
#include "models/dit.h"
#include "models/dit_impl.h"
#include "core/json.h"
#include "io/safetensors.h"
#include "models/weights.h"
#include "models/lora.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fixed numbers of diffusers' SanaTransformer2DModel that config.json does not carry. */
#define DIT_TPROJ_DIM 256         /* Timesteps(num_channels=256) in AdaLayerNormSingle / Sprint */
#define DIT_CAPTION_NORM_EPS 1e-5f /* caption_norm = RMSNorm(inner_dim, eps=1e-5) */
#define DIT_QK_NORM_EPS 1e-5f     /* Attention(eps=1e-5) default, used by its RMSNorm q/k norms */
#define DIT_NORM_OUT_EPS 1e-6f    /* norm_out = SanaModulatedNorm(eps=1e-6) */

/* ------------------------------------------------------------------ config */

void sana_dit_config_default(sana_dit_config *c)
{
    memset(c, 0, sizeof *c);
    c->in_channels = 32;
    c->out_channels = 32;
    c->num_attention_heads = 70;
    c->attention_head_dim = 32;
    c->num_layers = 20;
    c->num_cross_attention_heads = 20;
    c->cross_attention_head_dim = 112;
    c->cross_attention_dim = 2240;
    c->caption_channels = 2304;
    c->mlp_ratio = 2.5;
    c->dropout = 0.0;
    c->attention_bias = 0;
    c->sample_size = 32;
    c->patch_size = 1;
    c->norm_elementwise_affine = 0;
    c->norm_eps = 1e-6;
    c->has_interpolation_scale = 0;
    c->interpolation_scale = 1.0;
    c->guidance_embeds = 0;
    c->guidance_embeds_scale = 0.1;
    c->qk_norm = SANA_QK_NORM_NONE;
    c->timestep_scale = 1.0;
}

/* 1 when the key is present with the JSON value null (diffusers' None for Optional args). */
static int json_is_null(const sana_json *j, const char *key)
{
    json_object *o = NULL;
    return json_object_object_get_ex(j->root, key, &o) && o == NULL;
}

sana_status sana_dit_config_parse(sana_dit_config *c, const sana_json *j, int controlnet)
{
    sana_status st;
#define INT(k) if ((st = sana_json_int(j, #k, c->k, &c->k)) != SANA_OK) return st
#define DBL(k) if ((st = sana_json_double(j, #k, c->k, &c->k)) != SANA_OK) return st
#define BOOL(k) if ((st = sana_json_bool(j, #k, c->k, &c->k)) != SANA_OK) return st
    INT(in_channels);
    INT(out_channels);
    INT(num_attention_heads);
    INT(attention_head_dim);
    INT(num_layers);
    INT(num_cross_attention_heads);
    INT(cross_attention_head_dim);
    INT(cross_attention_dim);
    INT(caption_channels);
    DBL(mlp_ratio);
    DBL(dropout);
    BOOL(attention_bias);
    INT(sample_size);
    INT(patch_size);
    BOOL(norm_elementwise_affine);
    DBL(norm_eps);
    if (!controlnet) { /* SanaControlNetModel.__init__ has none of these */
        BOOL(guidance_embeds);
        DBL(guidance_embeds_scale);
        DBL(timestep_scale);
    }
#undef INT
#undef DBL
#undef BOOL
    /* out_channels = out_channels or in_channels */
    if (json_is_null(j, "out_channels") || c->out_channels == 0) c->out_channels = c->in_channels;
    if (json_is_null(j, "num_cross_attention_heads") || json_is_null(j, "cross_attention_head_dim"))
        return sana_json_bad(j, "num_cross_attention_heads", "null is not supported (diffusers cannot build it)");
    if (json_is_null(j, "cross_attention_dim"))
        return sana_json_bad(j, "cross_attention_dim", "null (no cross-attention) is not supported: "
                             "SanaTransformerBlock.forward needs norm2 and attn2");
    c->has_interpolation_scale = sana_json_has(j, "interpolation_scale");
    if (c->has_interpolation_scale &&
        (st = sana_json_double(j, "interpolation_scale", 1.0, &c->interpolation_scale)) != SANA_OK)
        return st;
    char *qk = NULL;
    if (!controlnet && (st = sana_json_string(j, "qk_norm", NULL, &qk)) != SANA_OK) return st;
    if (qk) {
        int ok = strcmp(qk, "rms_norm_across_heads") == 0;
        free(qk);
        if (!ok) return sana_json_bad(j, "qk_norm", "only null and \"rms_norm_across_heads\" are supported");
        c->qk_norm = SANA_QK_NORM_RMS_ACROSS_HEADS;
    }
    /* Shapes that diffusers would accept only to fail in forward(), and plain nonsense. */
    if (c->in_channels <= 0) return sana_json_bad(j, "in_channels", "must be positive");
    if (c->out_channels <= 0) return sana_json_bad(j, "out_channels", "must be positive");
    if (c->num_attention_heads <= 0) return sana_json_bad(j, "num_attention_heads", "must be positive");
    if (c->attention_head_dim <= 0) return sana_json_bad(j, "attention_head_dim", "must be positive");
    if (c->num_layers < 0) return sana_json_bad(j, "num_layers", "must not be negative");
    if (c->num_cross_attention_heads <= 0) return sana_json_bad(j, "num_cross_attention_heads", "must be positive");
    if (c->cross_attention_head_dim <= 0) return sana_json_bad(j, "cross_attention_head_dim", "must be positive");
    if (c->caption_channels <= 0) return sana_json_bad(j, "caption_channels", "must be positive");
    if (c->patch_size <= 0) return sana_json_bad(j, "patch_size", "must be positive");
    if (c->sample_size < c->patch_size) return sana_json_bad(j, "sample_size", "must be at least patch_size");
    if (c->cross_attention_dim != c->num_attention_heads * c->attention_head_dim)
        return sana_json_bad(j, "cross_attention_dim",
                             "%lld differs from num_attention_heads * attention_head_dim = %lld (the caption is "
                             "projected to the inner dim before the cross-attention)",
                             (long long)c->cross_attention_dim,
                             (long long)(c->num_attention_heads * c->attention_head_dim));
    if ((int64_t)(c->mlp_ratio * (double)(c->num_attention_heads * c->attention_head_dim)) <= 0)
        return sana_json_bad(j, "mlp_ratio", "gives an empty feed-forward");
    if (c->has_interpolation_scale && (c->num_attention_heads * c->attention_head_dim) % 4 != 0)
        return sana_json_bad(j, "interpolation_scale", "the sin-cos position embedding needs an inner dim divisible by 4");
    if (!(c->norm_eps > 0)) return sana_json_bad(j, "norm_eps", "must be positive");
    return SANA_OK;
}

sana_status sana_dit_config_load(sana_dit_config *c, const char *config_json_path)
{
    sana_dit_config_default(c);
    sana_json j;
    sana_status st = sana_json_load(&j, config_json_path);
    if (st != SANA_OK) return st;
    char *cls = NULL;
    st = sana_json_string(&j, "_class_name", NULL, &cls);
    if (st == SANA_OK && cls && strcmp(cls, "SanaTransformer2DModel") != 0)
        st = sana_json_bad(&j, "_class_name", "\"%s\" is not SanaTransformer2DModel", cls);
    free(cls);
    if (st == SANA_OK) st = sana_dit_config_parse(c, &j, 0);
    sana_json_free(&j);
    return st;
}

/* ------------------------------------------------------------------ weights */

/* transformer_blocks.<i>.attn<n>: q from qdim, k and v from kvdim channels, inner channels. */
static sana_status load_attn(sana_dit *m, dit_attention *a, int i, int n, int64_t qdim, int64_t kvdim,
                             int64_t inner, int bias)
{
    sana_weights *s = &m->w;
    sana_status st = SANA_OK;
    sana_model_weight(&st, s, &a->to_q.weight, SANA_OP_linear, SHP(inner, qdim),
                      "transformer_blocks.%d.attn%d.to_q.weight", i, n);
    sana_model_weight(&st, s, &a->to_k.weight, SANA_OP_linear, SHP(inner, kvdim),
                      "transformer_blocks.%d.attn%d.to_k.weight", i, n);
    sana_model_weight(&st, s, &a->to_v.weight, SANA_OP_linear, SHP(inner, kvdim),
                      "transformer_blocks.%d.attn%d.to_v.weight", i, n);
    if (bias) {
        sana_model_weight(&st, s, &a->to_q.bias, SANA_OP_linear, SHP(inner),
                          "transformer_blocks.%d.attn%d.to_q.bias", i, n);
        sana_model_weight(&st, s, &a->to_k.bias, SANA_OP_linear, SHP(inner),
                          "transformer_blocks.%d.attn%d.to_k.bias", i, n);
        sana_model_weight(&st, s, &a->to_v.bias, SANA_OP_linear, SHP(inner),
                          "transformer_blocks.%d.attn%d.to_v.bias", i, n);
    }
    sana_model_weight(&st, s, &a->to_out_0.weight, SANA_OP_linear, SHP(qdim, inner), "transformer_blocks.%d.attn%d.to_out.0.weight", i,
                   n);
    /* out_bias=True */
    sana_model_weight(&st, s, &a->to_out_0.bias, SANA_OP_linear, SHP(qdim),
                      "transformer_blocks.%d.attn%d.to_out.0.bias", i, n);
    if (m->cfg.qk_norm == SANA_QK_NORM_RMS_ACROSS_HEADS) {
        sana_model_weight(&st, s, &a->norm_q.weight, SANA_OP_rms_norm, SHP(inner),
                          "transformer_blocks.%d.attn%d.norm_q.weight", i, n);
        sana_model_weight(&st, s, &a->norm_k.weight, SANA_OP_rms_norm, SHP(inner),
                          "transformer_blocks.%d.attn%d.norm_k.weight", i, n);
    }
    return st;
}

/* transformer_blocks.<i> (SanaTransformerBlock). */
static sana_status load_block(sana_dit *m, dit_block *b, int i)
{
    const sana_dit_config *c = &m->cfg;
    sana_weights *s = &m->w;
    const int64_t D = m->D, Hd = m->Hd;
    sana_status st = SANA_OK;
    sana_model_weight(&st, s, &b->scale_shift_table, SANA_OP_dit_modulation, SHP(6, D),
                      "transformer_blocks.%d.scale_shift_table", i);
    if (st == SANA_OK) st = load_attn(m, &b->attn1, i, 1, D, D, D, c->attention_bias);
    if (st == SANA_OK) st = load_attn(m, &b->attn2, i, 2, D, c->cross_attention_dim, m->Dc, 1);
    if (c->norm_elementwise_affine) {
        sana_model_weight(&st, s, &b->norm2.weight, SANA_OP_modulated_layer_norm, SHP(D),
                          "transformer_blocks.%d.norm2.weight", i);
        sana_model_weight(&st, s, &b->norm2.bias, SANA_OP_modulated_layer_norm, SHP(D),
                          "transformer_blocks.%d.norm2.bias", i);
    }
    /* read by glumbconv_tokens */
    dit_glumbconv *ff = &b->ff;
    sana_model_weight(&st, s, &ff->conv_inverted.weight, SANA_OP_glumbconv_tokens, SHP(2 * Hd, D, 1, 1),
                   "transformer_blocks.%d.ff.conv_inverted.weight", i);
    sana_model_weight(&st, s, &ff->conv_inverted.bias, SANA_OP_glumbconv_tokens, SHP(2 * Hd),
                      "transformer_blocks.%d.ff.conv_inverted.bias", i);
    sana_model_weight(&st, s, &ff->conv_depth.weight, SANA_OP_glumbconv_tokens, SHP(2 * Hd, 1, 3, 3), "transformer_blocks.%d.ff.conv_depth.weight",
                   i);
    sana_model_weight(&st, s, &ff->conv_depth.bias, SANA_OP_glumbconv_tokens, SHP(2 * Hd),
                      "transformer_blocks.%d.ff.conv_depth.bias", i);
    sana_model_weight(&st, s, &ff->conv_point.weight, SANA_OP_glumbconv_tokens, SHP(D, Hd, 1, 1),
                      "transformer_blocks.%d.ff.conv_point.weight", i);
    return st;
}

/* A TimestepEmbedding(256, D) under `key` (linear_1, SiLU, linear_2). */
static void load_timestep_mlp(sana_dit *m, sana_status *st, dit_mlp *t, const char *key)
{
    const int64_t D = m->D;
    sana_model_weight(st, &m->w, &t->linear_1.weight, SANA_OP_mlp2, SHP(D, DIT_TPROJ_DIM), "%s.linear_1.weight", key);
    sana_model_weight(st, &m->w, &t->linear_1.bias, SANA_OP_mlp2, SHP(D), "%s.linear_1.bias", key);
    sana_model_weight(st, &m->w, &t->linear_2.weight, SANA_OP_mlp2, SHP(D, D), "%s.linear_2.weight", key);
    sana_model_weight(st, &m->w, &t->linear_2.bias, SANA_OP_mlp2, SHP(D), "%s.linear_2.bias", key);
}

/* Every weight of the model; head: also the output (scale_shift_table, proj_out), which the ControlNet lacks. */
static sana_status load_weights(sana_dit *m, int head)
{
    const sana_dit_config *c = &m->cfg;
    sana_weights *s = &m->w;
    const int64_t D = m->D, p = m->p, Cproj = p * p * m->Cout;
    sana_status st = SANA_OK;
    sana_model_weight(&st, s, &m->patch_embed.proj.weight, SANA_OP_patch_embed, SHP(D, c->in_channels, p, p),
                      "patch_embed.proj.weight");
    sana_model_weight(&st, s, &m->patch_embed.proj.bias, SANA_OP_patch_embed, SHP(D), "patch_embed.proj.bias");
    if (c->guidance_embeds) {
        load_timestep_mlp(m, &st, &m->time_embed.timestep_embedder, "time_embed.timestep_embedder");
        load_timestep_mlp(m, &st, &m->time_embed.guidance_embedder, "time_embed.guidance_embedder");
    } else {
        load_timestep_mlp(m, &st, &m->time_embed.timestep_embedder, "time_embed.emb.timestep_embedder");
    }
    sana_model_weight(&st, s, &m->time_embed.linear.weight, SANA_OP_linear, SHP(6 * D, D), "time_embed.linear.weight");
    sana_model_weight(&st, s, &m->time_embed.linear.bias, SANA_OP_linear, SHP(6 * D), "time_embed.linear.bias");
    dit_mlp *cp = &m->caption_projection;
    sana_model_weight(&st, s, &cp->linear_1.weight, SANA_OP_mlp2, SHP(D, c->caption_channels),
                      "caption_projection.linear_1.weight");
    sana_model_weight(&st, s, &cp->linear_1.bias, SANA_OP_mlp2, SHP(D), "caption_projection.linear_1.bias");
    sana_model_weight(&st, s, &cp->linear_2.weight, SANA_OP_mlp2, SHP(D, D), "caption_projection.linear_2.weight");
    sana_model_weight(&st, s, &cp->linear_2.bias, SANA_OP_mlp2, SHP(D), "caption_projection.linear_2.bias");
    sana_model_weight(&st, s, &m->caption_norm.weight, SANA_OP_rms_norm, SHP(D), "caption_norm.weight");
    if (head) {
        sana_model_weight(&st, s, &m->scale_shift_table, SANA_OP_dit_modulation, SHP(2, D), "scale_shift_table");
        sana_model_weight(&st, s, &m->proj_out.weight, SANA_OP_linear, SHP(Cproj, D), "proj_out.weight");
        sana_model_weight(&st, s, &m->proj_out.bias, SANA_OP_linear, SHP(Cproj), "proj_out.bias");
    }
    for (int i = 0; i < (int)c->num_layers && st == SANA_OK; i++)
        st = load_block(m, &m->transformer_blocks[i], i);
    return st;
}

sana_status sana_dit_load(sana_dit **out, const char *transformer_dir, const char *variant,
                          const sana_backend *be)
{
    return sana_dit_load_q(out, transformer_dir, variant, be, SANA_F32);
}

/* transformer_dir/config.json, then the model with its head. */
static sana_status dit_load(sana_dit **out, const char *transformer_dir, const char *variant, const sana_backend *be,
                            sana_quant quant, int rec, sana_lora *lora, unsigned prep)
{
    *out = NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", transformer_dir);
    sana_dit_config cfg;
    sana_status st = sana_dit_config_load(&cfg, path);
    if (st != SANA_OK) return st;
    return sana_dit_load_impl(out, transformer_dir, &cfg, variant, be, quant, rec, lora, 1, prep);
}

sana_status sana_dit_load_q(sana_dit **out, const char *transformer_dir, const char *variant, const sana_backend *be,
                            sana_quant quant)
{
    return dit_load(out, transformer_dir, variant, be, quant, 0, NULL, 0);
}

sana_status sana_dit_load_recorded(sana_dit **out, const char *transformer_dir, const char *variant,
                                   const sana_backend *be, sana_quant quant)
{
    return dit_load(out, transformer_dir, variant, be, quant, 1, NULL, 0);
}

sana_status sana_dit_load_lora(sana_dit **out, const char *transformer_dir, const char *variant,
                               const sana_backend *be, sana_quant quant, sana_lora *lora, unsigned prep)
{
    return dit_load(out, transformer_dir, variant, be, quant, 0, lora, prep);
}

const sana_weights *sana_dit_weights(const sana_dit *m) { return &m->w; }
const sana_st_set *sana_dit_tensors(const sana_dit *m) { return m->st; }

sana_status sana_dit_load_impl(sana_dit **out, const char *dir, const sana_dit_config *cfg, const char *variant,
                               const sana_backend *be, sana_quant quant, int rec, sana_lora *lora, int head,
                               unsigned prep)
{
    *out = NULL;
    sana_dit *m = calloc(1, sizeof *m);
    if (!m) return sana_err(SANA_ERR_NOMEM, "%s: out of memory", dir);
    m->be = be ? be : sana_backend_ref();
    m->dir = strdup(dir);
    m->cfg = *cfg;
    sana_status st = SANA_OK;
    const sana_dit_config *c = &m->cfg;
    m->D = c->num_attention_heads * c->attention_head_dim;
    m->Dc = c->num_cross_attention_heads * c->cross_attention_head_dim;
    m->Hd = (int64_t)(c->mlp_ratio * (double)m->D); /* GLUMBConv: int(expand_ratio * in_channels) */
    m->Cout = c->out_channels;
    m->p = c->patch_size;
    size_t nblocks = (size_t)(c->num_layers > 0 ? c->num_layers : 1);
    m->transformer_blocks = calloc(nblocks, sizeof *m->transformer_blocks);
    if (!m->transformer_blocks || !m->dir) st = sana_err(SANA_ERR_NOMEM, "%s: out of memory", dir);
    if (st == SANA_OK) st = sana_st_set_open(&m->st, dir, "diffusion_pytorch_model", variant);
    if (st == SANA_OK) {
        sana_weights_init(&m->w, m->be, m->st, prep); /* read at every step: the backend prepares for speed */
        sana_weights_quantize(&m->w, quant);
        m->w.record = rec;
        m->w.lora = lora;
        st = load_weights(m, head);
        m->w.lora = NULL;
        if (st == SANA_OK) st = sana_lora_check_used(lora, dir);
    }
    if (st != SANA_OK) {
        sana_dit_free(m);
        return st;
    }
    *out = m;
    return SANA_OK;
}

const sana_dit_config *sana_dit_get_config(const sana_dit *m) { return &m->cfg; }
size_t sana_dit_weight_bytes(const sana_dit *m) { return m->w.bytes; }

static void arena_free(sana_dit *m)
{
    if (m->a.base) m->be->free(m->be->ctx, m->a.base);
    memset(&m->a, 0, sizeof m->a);
    free(m->kv_caption);
    m->kv_caption = NULL;
    m->kv_valid = 0;
}

void sana_dit_release_activations(sana_dit *m)
{
    if (m) arena_free(m);
}

void sana_dit_free(sana_dit *m)
{
    if (!m) return;
    arena_free(m);
    sana_weights_free(&m->w);
    sana_st_set_close(m->st);
    free(m->transformer_blocks);
    free(m->dir);
    free(m);
}

/* ------------------------------------------------------------------ arena */

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* Size (in floats) and layout of the arena for a shape; with base NULL only counts. */
static int64_t arena_layout(sana_dit *m, dit_arena *a, float *base)
{
    const sana_dit_config *c = &m->cfg;
    const int64_t B = a->B, L = a->L, D = m->D, p = m->p;
    const int64_t h = a->H / p, w = a->W / p, N = h * w, BN = B * N;
    const int64_t Dq = max64(D, m->Dc);
    int64_t off = 0;
#define TAKE(ptr, n) do { a->ptr = base ? base + off : NULL; off += ((int64_t)(n) + 15) / 16 * 16; } while (0)
    TAKE(xin, B * c->in_channels * a->H * a->W);
    TAKE(out, B * m->Cout * a->H * a->W);
    TAKE(hs, BN * D);
    TAKE(nrm, BN * D);
    TAKE(q, BN * Dq);
    TAKE(k, BN * D);
    TAKE(v, BN * D);
    TAKE(att, BN * Dq);
    TAKE(tmp, BN * D);
    TAKE(proj, BN * p * p * m->Cout);
    TAKE(glu_work, sana_backend_work(m->be, SANA_OP_glumbconv_tokens, m->Hd, N, D));
    TAKE(enc_in, B * L * c->caption_channels);
    TAKE(enc, B * L * D);
    TAKE(enc_work, sana_backend_work(m->be, SANA_OP_mlp2, B * L, D, 0));
    TAKE(mask, B * L);
    TAKE(bias, B * L);
    TAKE(ekv, max64(c->num_layers, 1) * 2 * B * L * m->Dc);
    TAKE(t, B);
    TAKE(g, B);
    TAKE(tproj, B * DIT_TPROJ_DIM);
    TAKE(temb, B * D);
    TAKE(temb_work, max64(sana_backend_work(m->be, SANA_OP_mlp2, B, D, 0), B * D));
    TAKE(gemb, B * D);
    TAKE(temb6, B * 6 * D);
    TAKE(mod, B * 6 * D);
    TAKE(mod2, B * 2 * D);
    TAKE(pos, c->has_interpolation_scale ? N * D : 0);
    TAKE(lin_work, sana_backend_work(m->be, SANA_OP_linear_attn, c->attention_head_dim, 0, 0));
    TAKE(soft_work, sana_backend_work(m->be, SANA_OP_softmax_attn, N, L, 0));
#undef TAKE
    return off;
}

/* Make the arena fit (B, H, W, L): reuse it when the shape repeats, else reallocate. */
static sana_status arena_prepare(sana_dit *m, int64_t B, int64_t H, int64_t W, int64_t L)
{
    if (m->a.base && m->a.B == B && m->a.H == H && m->a.W == W && m->a.L == L) return SANA_OK;
    arena_free(m);
    dit_arena a = {.B = B, .H = H, .W = W, .L = L};
    int64_t n = arena_layout(m, &a, NULL);
    float *base = m->be->alloc(m->be->ctx, (size_t)n * sizeof(float));
    float *kv_caption = malloc((size_t)(B * L * m->cfg.caption_channels) * sizeof(float));
    if (!base || !kv_caption) {
        if (base) m->be->free(m->be->ctx, base);
        free(kv_caption);
        return sana_err(SANA_ERR_NOMEM, "%s: cannot allocate %.1f MiB of activations for B=%lld H=%lld W=%lld L=%lld",
                        m->dir, (double)n * 4.0 / 1048576.0, (long long)B, (long long)H, (long long)W, (long long)L);
    }
    arena_layout(m, &a, base);
    a.base = base;
    m->a = a;
    m->kv_caption = kv_caption;
    const sana_dit_config *c = &m->cfg;
    if (c->has_interpolation_scale) {
        /* PatchEmbed: base_size = sample_size // patch_size; the table depends on the shape only. */
        SANA_OP_CALL(m->be, pos_embed_2d, m->a.pos, H / m->p, W / m->p, m->D, (double)(c->sample_size / m->p),
                     c->interpolation_scale);
    }
    return SANA_OK;
}

/* ------------------------------------------------------------------ forward */

void sana_dit_upload(const sana_dit *m, float *dst, const float *src, int64_t n)
{
    m->be->upload(m->be->ctx, dst, src, (size_t)n * sizeof(float));
}

/* Wait for the backend; a failure of one of its ops since the last call is the forward's status (the
 * caption cache is dropped: it may hold a failed computation). */
sana_status sana_dit_sync(sana_dit *m)
{
    sana_status st = sana_backend_sync(m->be);
    if (st == SANA_OK) return SANA_OK;
    m->kv_valid = 0;
    return sana_err(st, "%s: backend %s failed in the forward pass (%s)", m->dir, m->be->name, sana_status_name(st));
}

/* 1 when layer i is one of the PAG layers. */
static int pag_layer(const sana_dit_pag *pag, int i)
{
    if (!pag) return 0;
    for (int j = 0; j < pag->nlayers; j++)
        if (pag->layers[j] == i) return 1;
    return 0;
}

/* nn.Linear of a dit_param: x [M, K] -> y [M, N] (the linear op). */
void sana_dit_linear(const sana_backend *be, float *y, const float *x, const dit_param *w, int64_t M, int64_t K,
                     int64_t N)
{
    SANA_OP_CALL(be, linear, y, x, w->weight, w->bias, M, K, N);
}

/*
 * SanaTransformerBlock.forward on m->a.hs [B, N, D], with enc [B, L, D], bias [B, L] or NULL,
 * temb6 [B, 6D]. pag_from >= 0: identity self-attention for items b >= pag_from.
 * new_caption: compute attn2's k and v of enc into the block's slot of a->ekv; 0: the slot
 * already holds them (same caption as the call that filled it).
 */
static void block_forward(sana_dit *m, int i, const float *bias, int64_t pag_from, int new_caption)
{
    const sana_backend *be = m->be;
    const sana_dit_config *c = &m->cfg;
    dit_arena *a = &m->a;
    const dit_block *bw = &m->transformer_blocks[i];
    const int64_t B = a->B, L = a->L, D = m->D, Dc = m->Dc;
    const int64_t h = a->H / m->p, w = a->W / m->p, N = h * w, BN = B * N;
    const float eps = (float)c->norm_eps;

    /* 1. Modulation: shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp */
    SANA_OP_CALL(be, dit_modulation, a->mod, bw->scale_shift_table, a->temb6, B, 6, D, 1);

    /* 2. Self-attention (linear): norm1 + modulation, q k v, [q/k RMSNorm], ReLU attention, to_out */
    const dit_attention *s = &bw->attn1;
    SANA_OP_CALL(be, modulated_layer_norm, a->nrm, a->hs, NULL, NULL, a->mod, B, N, D, 6, 0, 1, eps);
    sana_dit_linear(be, a->q, a->nrm, &s->to_q, BN, D, D);
    sana_dit_linear(be, a->k, a->nrm, &s->to_k, BN, D, D);
    sana_dit_linear(be, a->v, a->nrm, &s->to_v, BN, D, D);
    const int64_t Borg = pag_from >= 0 && pag_from < B ? pag_from : B; /* items with real attention */
    if (s->norm_q.weight && pag_from < 0) {
        /* PAG processors of diffusers skip norm_q / norm_k: so do we in PAG layers */
        SANA_OP_CALL(be, rms_norm, a->q, a->q, s->norm_q.weight, BN, D, DIT_QK_NORM_EPS);
        SANA_OP_CALL(be, rms_norm, a->k, a->k, s->norm_k.weight, BN, D, DIT_QK_NORM_EPS);
    }
    if (Borg > 0)
        SANA_OP_CALL(be, linear_attn, a->att, a->lin_work, a->q, a->k, a->v, Borg, N, c->num_attention_heads,
                     c->attention_head_dim);
    if (Borg > 0) sana_dit_linear(be, a->tmp, a->att, &s->to_out_0, Borg * N, D, D);
    if (Borg < B) /* identity attention: to_out(to_v(x)) */
        sana_dit_linear(be, a->tmp + Borg * N * D, a->v + Borg * N * D, &s->to_out_0, (B - Borg) * N, D, D);
    SANA_OP_CALL(be, gated_residual, a->hs, a->tmp, a->mod, B, N, D, 6, 2);

    /* 3. Cross-attention (softmax) over the caption, on the un-normalised hidden states; plain residual */
    const dit_attention *x = &bw->attn2;
    float *ek = a->ekv + (int64_t)i * 2 * B * L * Dc, *ev = ek + B * L * Dc;
    sana_dit_linear(be, a->q, a->hs, &x->to_q, BN, D, Dc);
    if (x->norm_q.weight) SANA_OP_CALL(be, rms_norm, a->q, a->q, x->norm_q.weight, BN, Dc, DIT_QK_NORM_EPS);
    if (new_caption) {
        sana_dit_linear(be, ek, a->enc, &x->to_k, B * L, D, Dc);
        sana_dit_linear(be, ev, a->enc, &x->to_v, B * L, D, Dc);
        if (x->norm_k.weight) SANA_OP_CALL(be, rms_norm, ek, ek, x->norm_k.weight, B * L, Dc, DIT_QK_NORM_EPS);
    }
    SANA_OP_CALL(be, softmax_attn, a->att, a->soft_work, a->q, ek, ev, bias, B, N, L,
                 c->num_cross_attention_heads, c->cross_attention_head_dim);
    sana_dit_linear(be, a->tmp, a->att, &x->to_out_0, BN, Dc, D);
    SANA_OP_CALL(be, gated_residual, a->hs, a->tmp, NULL, B, N, D, 6, 0);

    /* 4. Feed-forward: norm2 + modulation, GLUMBConv on the tokens seen as [B, D, h, w] (the op
     * does diffusers' unflatten/permute and back), gated residual */
    const dit_glumbconv *ff = &bw->ff;
    SANA_OP_CALL(be, modulated_layer_norm, a->nrm, a->hs, bw->norm2.weight, bw->norm2.bias, a->mod, B, N, D, 6, 3, 4,
                 eps);
    SANA_OP_CALL(be, glumbconv_tokens, a->tmp, a->glu_work, a->nrm, ff->conv_inverted.weight, ff->conv_inverted.bias,
                 ff->conv_depth.weight, ff->conv_depth.bias, ff->conv_point.weight, NULL, B, D, h, w, m->Hd, D);
    SANA_OP_CALL(be, gated_residual, a->hs, a->tmp, a->mod, B, N, D, 6, 5);
}

/* A dit_mlp (linear_1, act, linear_2) through the mlp2 op: x [M, K] -> y [M, N], hidden Hd. */
static void mlp2(const sana_backend *be, float *y, float *work, const float *x, const dit_mlp *w, int64_t M,
                 int64_t K, int64_t Hd, int64_t N, int act)
{
    SANA_OP_CALL(be, mlp2, y, work, x, w->linear_1.weight, w->linear_1.bias, w->linear_2.weight, w->linear_2.bias,
                 M, K, Hd, N, act);
}

/*
 * time_embed: timestep [B] (and guidance [B] for Sprint) -> a->temb [B, D] (the embedded
 * timestep) and a->temb6 [B, 6D] (the blocks' modulation input).
 * diffusers: AdaLayerNormSingle.forward, SanaCombinedTimestepGuidanceEmbeddings.forward
 * (timesteps_emb + guidance_emb), then linear(silu(.)).
 */
static void time_embed_forward(sana_dit *m, const float *timestep, const float *guidance)
{
    const sana_backend *be = m->be;
    dit_arena *a = &m->a;
    const int64_t B = a->B, D = m->D;
    sana_dit_upload(m, a->t, timestep, B);
    SANA_OP_CALL(be, timestep_embedding, a->tproj, a->t, B, DIT_TPROJ_DIM);
    mlp2(be, a->temb, a->temb_work, a->tproj, &m->time_embed.timestep_embedder, B, DIT_TPROJ_DIM, D, D, SANA_ACT_SILU);
    if (m->cfg.guidance_embeds) {
        sana_dit_upload(m, a->g, guidance, B);
        SANA_OP_CALL(be, timestep_embedding, a->tproj, a->g, B, DIT_TPROJ_DIM);
        mlp2(be, a->gemb, a->temb_work, a->tproj, &m->time_embed.guidance_embedder, B, DIT_TPROJ_DIM, D, D,
             SANA_ACT_SILU);
        SANA_OP_CALL(be, add, a->temb, a->temb, a->gemb, B * D);
    }
    SANA_OP_CALL(be, silu, a->temb_work, a->temb, B * D);
    sana_dit_linear(be, a->temb6, a->temb_work, &m->time_embed.linear, B, D, 6 * D);
}

static sana_status check_shape(const sana_dit *m, int64_t B, int64_t H, int64_t W, int64_t L)
{
    if (B <= 0 || H <= 0 || W <= 0 || L <= 0)
        return sana_err(SANA_ERR_ARG, "%s: bad shape B=%lld H=%lld W=%lld L=%lld", m->dir, (long long)B,
                        (long long)H, (long long)W, (long long)L);
    if (H % m->p || W % m->p)
        return sana_err(SANA_ERR_ARG, "%s: latent size %lldx%lld is not a multiple of patch_size %lld", m->dir,
                        (long long)H, (long long)W, (long long)m->p);
    return SANA_OK;
}

sana_status sana_dit_begin(sana_dit *m, const float *x, int64_t B, int64_t H, int64_t W, const float *timestep,
                           const float *enc, const float *enc_mask, int64_t L, const float *guidance,
                           int *new_caption)
{
    const sana_dit_config *c = &m->cfg;
    sana_status st = check_shape(m, B, H, W, L);
    if (st != SANA_OK) return st;
    if (!guidance != !c->guidance_embeds)
        return sana_err(SANA_ERR_ARG, "%s: %s", m->dir,
                        c->guidance_embeds ? "guidance_embeds is true: a guidance value per batch item is required"
                                           : "guidance given to a model without guidance_embeds");
    if ((st = arena_prepare(m, B, H, W, L)) != SANA_OK) return st;

    const sana_backend *be = m->be;
    dit_arena *a = &m->a;
    const int64_t D = m->D, p = m->p;

    /* attention_mask -> bias: (1 - mask) * -10000 */
    a->has_mask = enc_mask != NULL;
    if (enc_mask) {
        sana_dit_upload(m, a->mask, enc_mask, B * L);
        SANA_OP_CALL(be, attn_mask_bias, a->bias, a->mask, B * L);
    }
    /* 1. Input: patch embedding (+ sin-cos position table when interpolation_scale is set) */
    sana_dit_upload(m, a->xin, x, B * c->in_channels * H * W);
    SANA_OP_CALL(be, patch_embed, a->hs, a->xin, m->patch_embed.proj.weight, m->patch_embed.proj.bias,
                 c->has_interpolation_scale ? a->pos : NULL, B, c->in_channels, H, W, D, p);
    /* time_embed: AdaLayerNormSingle, or SanaCombinedTimestepGuidanceEmbeddings (Sprint) */
    time_embed_forward(m, timestep, guidance);
    /* caption_projection (linear, GELU tanh, linear) then caption_norm (RMSNorm, eps 1e-5), and
     * from it attn2's k and v in every block: they depend on the caption only, so while the
     * caption repeats (every step of a denoising loop) a->enc and a->ekv are kept, not recomputed
     * (same values; diffusers recomputes them at every call). */
    const int64_t ncap = B * L * c->caption_channels;
    *new_caption = !m->kv_valid || memcmp(m->kv_caption, enc, (size_t)ncap * sizeof(float)) != 0;
    if (*new_caption) {
        m->kv_valid = 0;
        sana_dit_upload(m, a->enc_in, enc, ncap);
        mlp2(be, a->enc, a->enc_work, a->enc_in, &m->caption_projection, B * L, c->caption_channels, D, D,
             SANA_ACT_GELU_TANH);
        SANA_OP_CALL(be, rms_norm, a->enc, a->enc, m->caption_norm.weight, B * L, D, DIT_CAPTION_NORM_EPS);
    }
    return SANA_OK;
}

void sana_dit_block(sana_dit *m, int i, int64_t pag_from, int new_caption)
{
    block_forward(m, i, m->a.has_mask ? m->a.bias : NULL, pag_from, new_caption);
}

void sana_dit_caption_done(sana_dit *m, const float *enc, int new_caption)
{
    if (!new_caption) return;
    memcpy(m->kv_caption, enc, (size_t)(m->a.B * m->a.L * m->cfg.caption_channels) * sizeof(float));
    m->kv_valid = 1;
}

sana_status sana_dit_forward(sana_dit *m, float *out, const float *x, int64_t B, int64_t H, int64_t W,
                             const float *timestep, const float *enc, const float *enc_mask, int64_t L,
                             const float *guidance, const sana_dit_pag *pag)
{
    return sana_dit_forward_controlnet(m, out, x, B, H, W, timestep, enc, enc_mask, L, guidance, pag, NULL, 0);
}

sana_status sana_dit_forward_controlnet(sana_dit *m, float *out, const float *x, int64_t B, int64_t H, int64_t W,
                                        const float *timestep, const float *enc, const float *enc_mask, int64_t L,
                                        const float *guidance, const sana_dit_pag *pag, const float *block_samples,
                                        int nsamples)
{
    if (pag && (pag->perturbed_from < 0 || pag->perturbed_from > B || pag->nlayers < 0 || (pag->nlayers && !pag->layers)))
        return sana_err(SANA_ERR_ARG, "%s: bad PAG settings", m->dir);
    if (!m->scale_shift_table || !m->proj_out.weight)
        return sana_err(SANA_ERR_ARG, "%s: a model without the output head (scale_shift_table, proj_out)", m->dir);
    if (nsamples < 0 || (nsamples > 0 && !block_samples))
        return sana_err(SANA_ERR_ARG, "%s: bad controlnet block samples (%d)", m->dir, nsamples);
    int new_caption = 0;
    sana_status st = sana_dit_begin(m, x, B, H, W, timestep, enc, enc_mask, L, guidance, &new_caption);
    if (st != SANA_OK) return st;

    const sana_backend *be = m->be;
    dit_arena *a = &m->a;
    const int64_t D = m->D, p = m->p, h = H / p, w = W / p, N = h * w;

    /* 2. Transformer blocks; with a ControlNet, sample k is added after block k + 1 (diffusers:
     * `if 0 < index_block <= len(controlnet_block_samples): hidden_states += samples[index_block - 1]`),
     * so block 0 gets none and samples past num_layers - 1 are not used. */
    for (int i = 0; i < (int)m->cfg.num_layers; i++) {
        sana_dit_block(m, i, pag_layer(pag, i) ? pag->perturbed_from : -1, new_caption);
        if (block_samples && i > 0 && i <= nsamples) {
            sana_dit_upload(m, a->tmp, block_samples + (int64_t)(i - 1) * B * N * D, B * N * D);
            SANA_OP_CALL(be, add, a->hs, a->hs, a->tmp, B * N * D);
        }
    }
    sana_dit_caption_done(m, enc, new_caption);

    /* 3. norm_out (SanaModulatedNorm with scale_shift_table [2, D] + embedded timestep), proj_out */
    SANA_OP_CALL(be, dit_modulation, a->mod2, m->scale_shift_table, a->temb, B, 2, D, 0);
    SANA_OP_CALL(be, modulated_layer_norm, a->nrm, a->hs, NULL, NULL, a->mod2, B, N, D, 2, 0, 1, DIT_NORM_OUT_EPS);
    sana_dit_linear(be, a->proj, a->nrm, &m->proj_out, B * N, D, p * p * m->Cout);
    /* 4. Unpatchify */
    SANA_OP_CALL(be, unpatchify, a->out, a->proj, B, h, w, p, m->Cout);
    if ((st = sana_dit_sync(m)) != SANA_OK) return st;
    be->download(be->ctx, out, a->out, (size_t)(B * m->Cout * H * W) * sizeof(float));
    return SANA_OK;
}

sana_status sana_dit_read(const sana_dit *m, const char *name, float *dst, int64_t n)
{
    const dit_arena *a = &m->a;
    if (!a->base) return sana_err(SANA_ERR_ARG, "%s: sana_dit_read before any forward pass", m->dir);
    const float *src = NULL;
    int64_t want = 0;
    if (!strcmp(name, "temb")) { src = a->temb; want = a->B * m->D; }
    else if (!strcmp(name, "temb6")) { src = a->temb6; want = a->B * 6 * m->D; }
    else if (!strcmp(name, "enc")) { src = a->enc; want = a->B * a->L * m->D; }
    else return sana_err(SANA_ERR_ARG, "sana_dit_read: unknown intermediate \"%s\"", name);
    if (n != want)
        return sana_err(SANA_ERR_ARG, "sana_dit_read: \"%s\" has %lld floats, not %lld", name, (long long)want,
                        (long long)n);
    m->be->download(m->be->ctx, dst, src, (size_t)n * sizeof(float));
    return SANA_OK;
}

sana_status sana_dit_block_forward(sana_dit *m, int layer, float *x_out, const float *enc,
                                   const float *enc_mask, const float *temb6, int64_t B, int64_t H,
                                   int64_t W, int64_t L, int64_t pag_from)
{
    sana_status st = check_shape(m, B, H, W, L);
    if (st != SANA_OK) return st;
    if (layer < 0 || layer >= m->cfg.num_layers)
        return sana_err(SANA_ERR_ARG, "%s: no block %d", m->dir, layer);
    if ((st = arena_prepare(m, B, H, W, L)) != SANA_OK) return st;
    dit_arena *a = &m->a;
    const int64_t N = (H / m->p) * (W / m->p), D = m->D;
    sana_dit_upload(m, a->hs, x_out, B * N * D);
    sana_dit_upload(m, a->enc, enc, B * L * D);
    sana_dit_upload(m, a->temb6, temb6, B * 6 * D);
    if (enc_mask) {
        sana_dit_upload(m, a->mask, enc_mask, B * L);
        SANA_OP_CALL(m->be, attn_mask_bias, a->bias, a->mask, B * L);
    }
    m->kv_valid = 0; /* a->enc and this block's k, v slot now belong to another caption */
    block_forward(m, layer, enc_mask ? a->bias : NULL, pag_from, 1);
    if ((st = sana_dit_sync(m)) != SANA_OK) return st;
    m->be->download(m->be->ctx, x_out, a->hs, (size_t)(B * N * D) * sizeof(float));
    return SANA_OK;
}
