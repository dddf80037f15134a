/*
 * src/models/controlnet.c -- SanaControlNetModel: config, weights, forward pass.
 *
 * Reads like diffusers' SanaControlNetModel.forward (models/controlnets/controlnet_sana.py, v0.35.2).
 * The trunk is a sana_dit without its output head (dit_impl.h); its blocks run dit.c's block code.
 */
#include "models/controlnet.h"
#include "models/dit_impl.h"
#include "core/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sana_controlnet {
    sana_dit *m;                 /* patch_embed, time_embed, caption_projection, caption_norm, transformer_blocks */
    dit_param input_block;       /* zero_module(nn.Linear(D, D)) */
    dit_param *controlnet_blocks; /* [num_layers] zero_module(nn.Linear(D, D)) */
};

/* ------------------------------------------------------------------ config */

void sana_controlnet_config_default(sana_dit_config *c)
{
    sana_dit_config_default(c);
    c->num_layers = 7; /* SanaControlNetModel.__init__(num_layers=7) */
}

sana_status sana_controlnet_config_load(sana_dit_config *c, const char *config_json_path)
{
    sana_controlnet_config_default(c);
    sana_json j;
    sana_status st = sana_json_load(&j, config_json_path);
    if (st != SANA_OK) return st;
    char *cls = NULL;
    st = sana_json_string(&j, "_class_name", NULL, &cls);
    if (st == SANA_OK && cls && strcmp(cls, "SanaControlNetModel") != 0)
        st = sana_json_bad(&j, "_class_name", "\"%s\" is not SanaControlNetModel", cls);
    free(cls);
    if (st == SANA_OK) st = sana_dit_config_parse(c, &j, 1);
    sana_json_free(&j);
    return st;
}

/* ------------------------------------------------------------------ weights */

sana_status sana_controlnet_load(sana_controlnet **out, const char *dir, const char *variant,
                                 const sana_backend *be)
{
    return sana_controlnet_load_prep(out, dir, variant, be, 0);
}

sana_status sana_controlnet_load_prep(sana_controlnet **out, const char *dir, const char *variant,
                                      const sana_backend *be, unsigned prep)
{
    *out = NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    sana_dit_config cfg;
    sana_status st = sana_controlnet_config_load(&cfg, path);
    if (st != SANA_OK) return st;
    sana_controlnet *cn = calloc(1, sizeof *cn);
    if (!cn) return sana_err(SANA_ERR_NOMEM, "%s: out of memory", dir);
    cn->controlnet_blocks = calloc((size_t)(cfg.num_layers > 0 ? cfg.num_layers : 1), sizeof *cn->controlnet_blocks);
    if (!cn->controlnet_blocks) st = sana_err(SANA_ERR_NOMEM, "%s: out of memory", dir);
    if (st == SANA_OK) st = sana_dit_load_impl(&cn->m, dir, &cfg, variant, be, SANA_F32, 0, NULL, 0, prep);
    if (st == SANA_OK) {
        sana_weights *s = &cn->m->w;
        const int64_t D = cn->m->D;
        sana_model_weight(&st, s, &cn->input_block.weight, SANA_OP_linear, SHP(D, D), "input_block.weight");
        sana_model_weight(&st, s, &cn->input_block.bias, SANA_OP_linear, SHP(D), "input_block.bias");
        for (int i = 0; i < (int)cfg.num_layers; i++) {
            dit_param *b = &cn->controlnet_blocks[i];
            sana_model_weight(&st, s, &b->weight, SANA_OP_linear, SHP(D, D), "controlnet_blocks.%d.weight", i);
            sana_model_weight(&st, s, &b->bias, SANA_OP_linear, SHP(D), "controlnet_blocks.%d.bias", i);
        }
    }
    if (st != SANA_OK) {
        sana_controlnet_free(cn);
        return st;
    }
    *out = cn;
    return SANA_OK;
}

const sana_dit_config *sana_controlnet_get_config(const sana_controlnet *cn) { return &cn->m->cfg; }
size_t sana_controlnet_weight_bytes(const sana_controlnet *cn) { return cn->m->w.bytes; }
const sana_st_set *sana_controlnet_tensors(const sana_controlnet *cn) { return cn ? sana_dit_tensors(cn->m) : NULL; }

void sana_controlnet_release_activations(sana_controlnet *cn)
{
    if (cn) sana_dit_release_activations(cn->m);
}

void sana_controlnet_free(sana_controlnet *cn)
{
    if (!cn) return;
    sana_dit_free(cn->m);
    free(cn->controlnet_blocks);
    free(cn);
}

/* ------------------------------------------------------------------ forward */

sana_status sana_controlnet_forward(sana_controlnet *cn, float *samples, const float *x, const float *cond,
                                    int64_t B, int64_t H, int64_t W, const float *timestep, const float *enc,
                                    const float *enc_mask, int64_t L, double conditioning_scale)
{
    sana_dit *m = cn->m;
    const sana_dit_config *c = &m->cfg;
    int new_caption = 0;
    /* 1. Input: hidden_states = patch_embed(x); time_embed (AdaLayerNormSingle); caption */
    sana_status st = sana_dit_begin(m, x, B, H, W, timestep, enc, enc_mask, L, NULL, &new_caption);
    if (st != SANA_OK) return st;
    const sana_backend *be = m->be;
    dit_arena *a = &m->a;
    const int64_t D = m->D, BN = B * (H / m->p) * (W / m->p);
    /* hidden_states + input_block(patch_embed(controlnet_cond)): x is no longer needed in xin */
    sana_dit_upload(m, a->xin, cond, B * c->in_channels * H * W);
    SANA_OP_CALL(be, patch_embed, a->nrm, a->xin, m->patch_embed.proj.weight, m->patch_embed.proj.bias,
                 c->has_interpolation_scale ? a->pos : NULL, B, c->in_channels, H, W, D, m->p);
    sana_dit_linear(be, a->tmp, a->nrm, &cn->input_block, BN, D, D);
    SANA_OP_CALL(be, add, a->hs, a->hs, a->tmp, BN * D);
    /* 2. Blocks, and 3. controlnet_blocks[i] of each block's output, times conditioning_scale (float32) */
    const float scale = (float)conditioning_scale;
    for (int i = 0; i < (int)c->num_layers; i++) {
        sana_dit_block(m, i, -1, new_caption);
        sana_dit_linear(be, a->tmp, a->hs, &cn->controlnet_blocks[i], BN, D, D);
        if ((st = sana_dit_sync(m)) != SANA_OK) return st;
        float *dst = samples + (int64_t)i * BN * D;
        be->download(be->ctx, dst, a->tmp, (size_t)(BN * D) * sizeof(float));
        for (int64_t k = 0; k < BN * D; k++) dst[k] = dst[k] * scale;
    }
    sana_dit_caption_done(m, enc, new_caption);
    return SANA_OK;
}
