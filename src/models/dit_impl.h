/* src/models/dit_impl.h -- the insides of SanaTransformer2DModel (dit.c) that SanaControlNetModel
 * (controlnet.c) is built from: diffusers' SanaControlNetModel has the transformer's patch_embed,
 * time_embed, caption_projection, caption_norm and SanaTransformerBlocks, so libsana's ControlNet is a
 * sana_dit without the output head (scale_shift_table, norm_out, proj_out) plus its zero-initialised
 * linears, and runs the same block code. Not installed; only src/models/ includes it.
 */
#ifndef SANA_DIT_IMPL_H
#define SANA_DIT_IMPL_H

#include "core/json.h"
#include "models/dit.h"

/*
 * Weights, named after their checkpoint keys: the field path is the key, with "." inside a
 * module name becoming "_" (to_out.0 -> to_out_0) and transformer_blocks.<i> an array.
 * m->transformer_blocks[i].attn1.to_q.weight is "transformer_blocks.<i>.attn1.to_q.weight".
 */
typedef struct {
    const sana_wt *weight, *bias;    /* NULL when the module has none */
} dit_param;

typedef struct {
    dit_param to_q, to_k, to_v, to_out_0;
    dit_param norm_q, norm_k;        /* qk_norm "rms_norm_across_heads" only */
} dit_attention;

typedef struct {
    dit_param conv_inverted, conv_depth, conv_point;
} dit_glumbconv;

typedef struct {
    const sana_wt *scale_shift_table; /* [6, D] */
    dit_attention attn1, attn2;
    dit_param norm2;                 /* norm_elementwise_affine only */
    dit_glumbconv ff;
} dit_block;

typedef struct {
    dit_param linear_1, linear_2;
} dit_mlp;

/* Activation arena of one (B, H, W, L) shape: one backend allocation cut into buffers. */
typedef struct {
    int64_t B, H, W, L;
    float *base;
    float *xin, *out, *hs, *nrm, *q, *k, *v, *att, *tmp, *proj, *glu_work;
    float *enc_in, *enc, *enc_work, *mask, *bias;
    float *ekv; /* [num_layers][k, v][B, L, Dc]: attn2 k and v of the caption in every block */
    float *t, *g, *tproj, *temb, *temb_work, *gemb, *temb6, *mod, *mod2, *pos;
    float *lin_work, *soft_work;
    int has_mask;
} dit_arena;

struct sana_dit {
    sana_dit_config cfg;
    const sana_backend *be;
    sana_st_set *st;
    sana_weights w;         /* every weight, as the backend prepared it */
    char *dir;
    int64_t D, Dc, Hd, Cout, p;
    struct { dit_param proj; } patch_embed;
    struct {
        /* time_embed.emb.timestep_embedder (AdaLayerNormSingle), or time_embed.timestep_embedder
         * and time_embed.guidance_embedder (SanaCombinedTimestepGuidanceEmbeddings, Sprint) */
        dit_mlp timestep_embedder, guidance_embedder;
        dit_param linear;
    } time_embed;
    dit_mlp caption_projection;
    dit_param caption_norm;
    const sana_wt *scale_shift_table; /* [2, D] */
    dit_param proj_out;
    dit_block *transformer_blocks;
    dit_arena a;
    /* The caption a->ekv was computed from (host copy, [B, L, caption_channels]); kv_valid: every
     * block's slot holds it. A denoising loop passes the same caption at every step. */
    float *kv_caption;
    int kv_valid;
};


/* config.json of a SanaTransformer2DModel (controlnet 0) or of a SanaControlNetModel (controlnet 1: only
 * the arguments of SanaControlNetModel.__init__ are read; the transformer's guidance_embeds,
 * guidance_embeds_scale, qk_norm and timestep_scale keep their defaults, as diffusers ignores them there). */
sana_status sana_dit_config_parse(sana_dit_config *c, const sana_json *j, int controlnet);

/* Load a model of config cfg from dir (its safetensors files "diffusion_pytorch_model[.variant]"):
 * every weight of the trunk (patch_embed, time_embed, caption_projection, caption_norm,
 * transformer_blocks), and with head the output (scale_shift_table, proj_out). More weights can be
 * looked up in m->w afterwards. prep: the backend's prepare_weight flags (SANA_PREP_*). */
sana_status sana_dit_load_impl(sana_dit **out, const char *dir, const sana_dit_config *cfg, const char *variant,
                               const sana_backend *be, sana_quant quant, int rec, sana_lora *lora, int head,
                               unsigned prep);

/* The input phase of forward(): checks, the arena for (B, H, W, L), the mask bias, patch_embed(x) into
 * m->a.hs, time_embed into m->a.temb / temb6, the caption (kept while it repeats). *new_caption: 1 when
 * the blocks must compute attn2's k and v of this caption. */
sana_status sana_dit_begin(sana_dit *m, const float *x, int64_t B, int64_t H, int64_t W, const float *timestep,
                           const float *enc, const float *enc_mask, int64_t L, const float *guidance,
                           int *new_caption);
/* SanaTransformerBlock i on m->a.hs (pag_from >= 0: PAG identity attention for items b >= pag_from). */
void sana_dit_block(sana_dit *m, int i, int64_t pag_from, int new_caption);
/* After the blocks: remember the caption their k, v slots hold. */
void sana_dit_caption_done(sana_dit *m, const float *enc, int new_caption);
/* nn.Linear through the linear op: y [M, N] = x [M, K] W^T + b. */
void sana_dit_linear(const sana_backend *be, float *y, const float *x, const dit_param *w, int64_t M, int64_t K,
                     int64_t N);
/* Wait for the backend; a failed op is the forward's status (naming the model's folder). */
sana_status sana_dit_sync(sana_dit *m);
/* Host -> backend copy of n floats. */
void sana_dit_upload(const sana_dit *m, float *dst, const float *src, int64_t n);

#endif
