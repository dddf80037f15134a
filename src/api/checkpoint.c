/* src/api/checkpoint.c -- sana_checkpoint_describe: what `sana info DIR` prints about a pipeline
 * folder (which published SANA checkpoint its configs are, then each component: class, size on disk,
 * config keys, parameter counts and dtypes), written into a malloc'd string (open_memstream) so that
 * the library prints nothing itself. A single component folder (a VAE, transformer or ControlNet
 * repository, config.json without model_index.json) is described alone. The published configs and their
 * sources: doc/checkpoints.md; tests/test-configs.c checks every one. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sana.h"
#include "core/json.h"
#include "core/status.h"
#include "io/safetensors.h"
#include "models/controlnet.h"
#include "models/dcae.h"
#include "models/dit.h"
#include "models/gemma2.h"

/* Total size of the regular files directly in a folder. */
static long long folder_bytes(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    long long total = 0;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= sizeof path) continue;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) total += st.st_size;
    }
    closedir(d);
    return total;
}

/* The keys of a config file (those starting with "_" left out, except _class_name). */
static void put_config(FILE *out, const char *path)
{
    sana_json j;
    if (sana_json_load(&j, path) != SANA_OK) {
        fprintf(out, "  config: %s\n", sana_errmsg());
        return;
    }
    json_object_object_foreach(j.root, key, val) {
        if (key[0] == '_' && strcmp(key, "_class_name") != 0) continue;
        fprintf(out, "    %s: %s\n", key, val ? json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN) : "null");
    }
    sana_json_free(&j);
}

/* Parameters and dtypes of the weights of a component folder (each variant present). */
static void put_weights(FILE *out, const char *dir, const char *base)
{
    static const char *const variants[] = {NULL, "fp16", "bf16"};
    for (int v = 0; v < 3; v++) {
        sana_st_set *s = NULL;
        if (sana_st_set_open(&s, dir, base, variants[v]) != SANA_OK) continue;
        long long params = 0, per[SANA_FILE_DTYPE_COUNT] = {0};
        for (int f = 0; f < s->nfiles; f++)
            for (int i = 0; i < s->files[f]->ntensors; i++) {
                const sana_st_tensor *t = &s->files[f]->tensors[i];
                long long n = sana_wt_numel(&t->wt);
                params += n;
                per[t->wt.dtype] += n;
            }
        fprintf(out, "  weights%s%s: %lld parameters (%.1f M) in %d file%s, dtype", variants[v] ? " variant " : "",
                variants[v] ? variants[v] : "", params, params / 1e6, s->nfiles, s->nfiles == 1 ? "" : "s");
        for (int d = 0; d < SANA_FILE_DTYPE_COUNT; d++)
            if (per[d]) fprintf(out, " %s", sana_dtype_name((sana_dtype)d));
        fprintf(out, "\n");
        sana_st_set_close(s);
    }
}

/* The first config file of a component folder that exists. */
static void put_component_config(FILE *out, const char *cdir)
{
    static const char *const cfgs[] = {"config.json", "scheduler_config.json", "tokenizer_config.json"};
    char path[4096];
    struct stat st;
    for (int c = 0; c < 3; c++) {
        if ((size_t)snprintf(path, sizeof path, "%s/%s", cdir, cfgs[c]) >= sizeof path) continue;
        if (stat(path, &st) != 0) continue;
        fprintf(out, "  %s:\n", cfgs[c]);
        if (c == 2) fprintf(out, "    (tokenizer settings; vocabulary in tokenizer.json)\n");
        else put_config(out, path);
        return;
    }
}

static void put_component(FILE *out, const char *dir, const sana_model_index *mi, int i)
{
    char cdir[2048];
    if ((size_t)snprintf(cdir, sizeof cdir, "%s/%s", dir, mi->name[i]) >= sizeof cdir) return;
    fprintf(out, "\n%s: %s.%s, %.2f MB on disk\n", mi->name[i], mi->library[i] ? mi->library[i] : "-",
            mi->cls[i] ? mi->cls[i] : "-", folder_bytes(cdir) / 1e6);
    struct stat st;
    if (stat(cdir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(out, "  (missing folder)\n");
        return;
    }
    put_component_config(out, cdir);
    if (!strcmp(mi->name[i], "transformer") || !strcmp(mi->name[i], "vae") || !strcmp(mi->name[i], "controlnet"))
        put_weights(out, cdir, "diffusion_pytorch_model");
    else if (!strcmp(mi->name[i], "text_encoder"))
        put_weights(out, cdir, "model");
}

/* ------------------------------------------------------------------ family: which published checkpoint */

/*
 * The SanaTransformer2DModel configs of the published checkpoints (Efficient-Large-Model on Hugging
 * Face; values from their transformer/config.json and diffusers' scripts/convert_sana_to_diffusers.py,
 * doc/checkpoints.md). The fields below tell them apart; every other field holds the value they all
 * share (dit_is_common). Checkpoints that differ only in dtype or training data (_MultiLing, _BF16)
 * have the same config and the same row.
 */
typedef struct {
    const char *family, *published;
    int64_t num_layers, num_attention_heads, num_cross_attention_heads, cross_attention_head_dim, sample_size;
    double interpolation_scale; /* 0: null (no position embedding) */
    int qk_norm, guidance_embeds;
} dit_family;

static const dit_family dit_families[] = {
    {"SANA 1.0 0.6B 512px", "Sana_600M_512px_diffusers", 28, 36, 16, 72, 16, 0, 0, 0},
    {"SANA 1.0 0.6B 1024px", "Sana_600M_1024px_diffusers", 28, 36, 16, 72, 32, 0, 0, 0},
    {"SANA 1.0 1.6B 512px", "Sana_1600M_512px_diffusers, Sana_1600M_512px_MultiLing_diffusers", 20, 70, 20, 112, 16,
     0, 0, 0},
    {"SANA 1.0 1.6B 1024px",
     "Sana_1600M_1024px_diffusers, Sana_1600M_1024px_MultiLing_diffusers, Sana_1600M_1024px_BF16_diffusers", 20, 70,
     20, 112, 32, 0, 0, 0},
    {"SANA 1.0 1.6B 2K (2048px)", "Sana_1600M_2Kpx_BF16_diffusers", 20, 70, 20, 112, 64, 1.0, 0, 0},
    {"SANA 1.0 1.6B 4K (4096px)", "Sana_1600M_4Kpx_BF16_diffusers", 20, 70, 20, 112, 128, 2.0, 0, 0},
    {"SANA 1.5 1.6B 1024px", "SANA1.5_1.6B_1024px_diffusers", 20, 70, 20, 112, 32, 0, 1, 0},
    {"SANA 1.5 4.8B 1024px", "SANA1.5_4.8B_1024px_diffusers", 60, 70, 20, 112, 32, 0, 1, 0},
    {"SANA-Sprint 0.6B 1024px", "Sana_Sprint_0.6B_1024px_diffusers", 28, 36, 16, 72, 32, 0, 1, 1},
    {"SANA-Sprint 1.6B 1024px", "Sana_Sprint_1.6B_1024px_diffusers", 20, 70, 20, 112, 32, 0, 1, 1},
};

/* The fields every published transformer shares (the diffusers defaults of SanaTransformer2DModel,
 * with 32 latent channels, patch 1 and the Gemma-2 2B caption width). */
static int dit_is_common(const sana_dit_config *c)
{
    return c->in_channels == 32 && c->out_channels == 32 && c->attention_head_dim == 32 &&
           c->cross_attention_dim == c->num_attention_heads * 32 && c->caption_channels == 2304 &&
           c->mlp_ratio == 2.5 && !c->attention_bias && c->patch_size == 1 && !c->norm_elementwise_affine &&
           c->norm_eps == 1e-6 && c->timestep_scale == 1.0 && c->guidance_embeds_scale == 0.1;
}

static const dit_family *dit_family_of(const sana_dit_config *c)
{
    if (!dit_is_common(c)) return NULL;
    for (size_t i = 0; i < sizeof dit_families / sizeof dit_families[0]; i++) {
        const dit_family *f = &dit_families[i];
        double interp = c->has_interpolation_scale ? c->interpolation_scale : 0;
        if (c->num_layers == f->num_layers && c->num_attention_heads == f->num_attention_heads &&
            c->num_cross_attention_heads == f->num_cross_attention_heads &&
            c->cross_attention_head_dim == f->cross_attention_head_dim && c->sample_size == f->sample_size &&
            interp == f->interpolation_scale && (c->qk_norm != SANA_QK_NORM_NONE) == f->qk_norm &&
            c->guidance_embeds == f->guidance_embeds)
            return f;
    }
    return NULL;
}

/* The AutoencoderDC of every SANA pipeline (diffusers scripts/convert_dcae_to_diffusers.py,
 * "dc-ae-f32c32-sana-1.0"). DC-AE 1.1 (mit-han-lab/dc-ae-f32c32-sana-1.1-diffusers, an improved
 * decoder) has the same config: only the "_name_or_path" a pipeline folder's copy records tells them apart. */
static int dcae_is_sana(const sana_dcae_config *c)
{
    static const int64_t widths[6] = {128, 256, 512, 512, 1024, 1024};
    static const int64_t enc_layers[6] = {2, 2, 2, 3, 3, 3};
    if (c->in_channels != 3 || c->latent_channels != 32 || c->attention_head_dim != 32 || c->n_encoder_stages != 6 ||
        c->n_decoder_stages != 6 || c->upsample_interpolate != 1 || c->downsample_pixel_unshuffle != 0 ||
        !c->encoder_out_shortcut || !c->decoder_in_shortcut || c->decoder_conv_act_fn != SANA_DCAE_ACT_RELU ||
        c->scaling_factor != 0.41407)
        return 0;
    for (int i = 0; i < 6; i++) {
        sana_dcae_block_type bt = i < 3 ? SANA_DCAE_RESBLOCK : SANA_DCAE_EFFICIENTVIT;
        int ns = i < 3 ? 0 : 1;
        if (c->encoder_block_out_channels[i] != widths[i] || c->decoder_block_out_channels[i] != widths[i] ||
            c->encoder_layers_per_block[i] != enc_layers[i] || c->decoder_layers_per_block[i] != 3 ||
            c->encoder_block_types[i] != bt || c->decoder_block_types[i] != bt || c->encoder_n_scales[i] != ns ||
            c->decoder_n_scales[i] != ns || (ns && (c->encoder_qkv_multiscales[i][0] != 5 ||
                                                    c->decoder_qkv_multiscales[i][0] != 5)) ||
            c->decoder_norm_types[i] != SANA_DCAE_NORM_RMS || c->decoder_act_fns[i] != SANA_DCAE_ACT_SILU)
            return 0;
    }
    return 1;
}

static void put_vae_family(FILE *out, const char *label, const char *cfg_path)
{
    sana_dcae_config c;
    if (sana_dcae_config_load(&c, cfg_path) != SANA_OK || !dcae_is_sana(&c)) {
        fprintf(out, "%sunknown (not a published config)\n", label);
        return;
    }
    char *from = NULL;
    sana_json j;
    if (sana_json_load(&j, cfg_path) == SANA_OK) {
        if (sana_json_string(&j, "_name_or_path", NULL, &from) != SANA_OK) from = NULL;
        sana_json_free(&j);
    }
    if (from && strstr(from, "sana-1.1"))
        fprintf(out, "%sDC-AE f32c32 SANA 1.1 (mit-han-lab/dc-ae-f32c32-sana-1.1-diffusers)\n", label);
    else if (from && strstr(from, "sana-1.0"))
        fprintf(out, "%sDC-AE f32c32 SANA 1.0 (mit-han-lab/dc-ae-f32c32-sana-1.0-diffusers)\n", label);
    else
        fprintf(out, "%sDC-AE f32c32 SANA 1.0 or 1.1 (the two publish the same config)\n", label);
    free(from);
}

static void put_dit_family(FILE *out, const char *label, const char *cfg_path)
{
    sana_dit_config c;
    const dit_family *f = sana_dit_config_load(&c, cfg_path) == SANA_OK ? dit_family_of(&c) : NULL;
    if (f) fprintf(out, "%s%s (published as %s)\n", label, f->family, f->published);
    else fprintf(out, "%sunknown (not a published config)\n", label);
}

/*
 * A SanaControlNetModel: its blocks over which transformer family. NVIDIA's HED ControlNets for Sana 600M and
 * 1600M 1024px are 7 blocks (num_layers 7, SanaControlNetModel's default) over those transformers' configs: that
 * is what diffusers' scripts/convert_sana_controlnet_to_diffusers.py writes (its model_kwargs *_ControlNet_D7,
 * image_size 1024 by default; read from its source, not from a downloaded folder; doc/checkpoints.md).
 */
static void put_controlnet_family(FILE *out, const char *label, const char *cfg_path)
{
    sana_dit_config c;
    if (sana_controlnet_config_load(&c, cfg_path) != SANA_OK) {
        fprintf(out, "%sunknown (not a published config)\n", label);
        return;
    }
    const dit_family *f = NULL;
    for (size_t i = 0; i < sizeof dit_families / sizeof dit_families[0] && !f; i++) {
        sana_dit_config t = c;
        t.num_layers = dit_families[i].num_layers; /* the trunk only: its depth is the ControlNet's own */
        if (dit_family_of(&t) == &dit_families[i]) f = &dit_families[i];
    }
    if (!f) {
        fprintf(out, "%sunknown (not a published config)\n", label);
        return;
    }
    int hed = c.num_layers == 7 && c.sample_size == 32 && !c.has_interpolation_scale &&
              (c.num_attention_heads == 36 || c.num_attention_heads == 70);
    fprintf(out, "%sControlNet of %lld blocks over %s%s\n", label, (long long)c.num_layers, f->family,
            hed ? (c.num_attention_heads == 36 ? " (as NVIDIA's Sana_600M_1024px_ControlNet_HED)"
                                               : " (as NVIDIA's Sana_1600M_1024px_ControlNet_HED)")
                : "");
}

/* Gemma-2 2B (google/gemma-2-2b-it, Efficient-Large-Model/gemma-2-2b-it): the text encoder of every SANA. */
static void put_text_family(FILE *out, const char *label, const char *cfg_path)
{
    sana_gemma2_config c;
    if (sana_gemma2_config_load(&c, cfg_path) != SANA_OK) {
        fprintf(out, "%sunknown (not a published config)\n", label);
        return;
    }
    int ok = c.hidden_size == 2304 && c.num_hidden_layers == 26 && c.num_attention_heads == 8 &&
             c.num_key_value_heads == 4 && c.head_dim == 256 && c.intermediate_size == 9216 && c.vocab_size == 256000;
    sana_gemma2_config_free(&c);
    fprintf(out, "%s%s\n", label, ok ? "Gemma-2 2B (gemma-2-2b-it)" : "unknown (not a published config)");
}

/* "family:" (the transformer) and the family of the VAE and text encoder, from the configs alone. */
static void put_family(FILE *out, const char *dir, const sana_model_index *mi)
{
    char path[4096];
    const char *cls = sana_model_index_class(mi, "transformer");
    if ((size_t)snprintf(path, sizeof path, "%s/transformer/config.json", dir) < sizeof path && cls &&
        !strcmp(cls, "SanaTransformer2DModel"))
        put_dit_family(out, "family: ", path);
    else
        fprintf(out, "family: unknown (not a published config)\n");
    cls = sana_model_index_class(mi, "vae");
    if ((size_t)snprintf(path, sizeof path, "%s/vae/config.json", dir) < sizeof path && cls &&
        !strcmp(cls, "AutoencoderDC"))
        put_vae_family(out, "  vae: ", path);
    cls = sana_model_index_class(mi, "text_encoder");
    if ((size_t)snprintf(path, sizeof path, "%s/text_encoder/config.json", dir) < sizeof path && cls &&
        !strncmp(cls, "Gemma2", 6))
        put_text_family(out, "  text encoder: ", path);
    cls = sana_model_index_class(mi, "controlnet");
    if ((size_t)snprintf(path, sizeof path, "%s/controlnet/config.json", dir) < sizeof path && cls &&
        !strcmp(cls, "SanaControlNetModel"))
        put_controlnet_family(out, "  controlnet: ", path);
}

/* A component folder on its own (DIR/config.json of an AutoencoderDC, SanaTransformer2DModel or
 * SanaControlNetModel). */
static int describe_component(const char *dir, FILE *out)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/config.json", dir) >= sizeof path) return 0;
    sana_json j;
    if (sana_json_load(&j, path) != SANA_OK) return 0;
    char *cls = NULL, *ver = NULL;
    int known = sana_json_string(&j, "_class_name", NULL, &cls) == SANA_OK && cls &&
                (!strcmp(cls, "AutoencoderDC") || !strcmp(cls, "SanaTransformer2DModel") ||
                 !strcmp(cls, "SanaControlNetModel"));
    if (known && sana_json_string(&j, "_diffusers_version", NULL, &ver) != SANA_OK) ver = NULL;
    sana_json_free(&j);
    if (known) {
        fprintf(out, "%s: diffusers.%s component folder (diffusers %s)\n", dir, cls, ver ? ver : "?");
        if (!strcmp(cls, "AutoencoderDC")) put_vae_family(out, "family: ", path);
        else if (!strcmp(cls, "SanaControlNetModel")) put_controlnet_family(out, "family: ", path);
        else put_dit_family(out, "family: ", path);
        fprintf(out, "\n%s: %.2f MB on disk\n  config.json:\n", cls, folder_bytes(dir) / 1e6);
        put_config(out, path);
        put_weights(out, dir, "diffusion_pytorch_model");
    }
    free(cls);
    free(ver);
    return known;
}

/* What libsana runs a model_index.json _class_name as (the pipeline kinds of sana.h). */
static const char *const pipeline_runs[][2] = {
    {"SanaPipeline", "text to image (sana generate); with a ControlNet: --controlnet DIR --control-image FILE"},
    {"SanaPAGPipeline", "text to image with perturbed-attention guidance (sana generate)"},
    {"SanaSprintPipeline", "SANA-Sprint text to image; image to image with sana generate -i IMAGE"},
    {"SanaSprintImg2ImgPipeline", "SANA-Sprint image to image (sana generate -i IMAGE [--strength S])"},
    {"SanaControlNetPipeline", "text to image steered by a control image (sana generate --control-image FILE)"},
};

static void put_pipeline(FILE *out, const char *cls)
{
    for (size_t i = 0; i < sizeof pipeline_runs / sizeof pipeline_runs[0]; i++)
        if (!strcmp(cls, pipeline_runs[i][0])) {
            fprintf(out, "libsana runs it as: %s\n", pipeline_runs[i][1]);
            return;
        }
    fprintf(out, "libsana runs it as: - (%s is not a pipeline libsana implements)\n", cls);
}

int sana_checkpoint_describe(const char *dir, char **text)
{
    *text = NULL;
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/model_index.json", dir) >= sizeof path)
        return sana_err(SANA_ERR_ARG, "%s: path too long", dir);
    sana_model_index mi;
    struct stat sb;
    int single = stat(path, &sb) != 0;  /* no model_index.json: perhaps one component's folder */
    sana_status st = single ? SANA_OK : sana_model_index_load(&mi, path);
    if (st != SANA_OK) return st;
    size_t len = 0;
    FILE *out = open_memstream(text, &len);
    if (!out) {
        if (!single) sana_model_index_free(&mi);
        return sana_err(SANA_ERR_NOMEM, "out of memory");
    }
    if (single) {
        int known = describe_component(dir, out);
        fclose(out);
        if (known) return SANA_OK;
        free(*text);
        *text = NULL;
        st = sana_model_index_load(&mi, path); /* the error naming the missing model_index.json */
        if (st == SANA_OK) {
            sana_model_index_free(&mi);
            st = sana_err(SANA_ERR_IO, "%s: appeared while %s was read", path, dir);
        }
        return st;
    }
    fprintf(out, "%s: %s (diffusers %s)\n", dir, mi.class_name, mi.diffusers_version ? mi.diffusers_version : "?");
    put_pipeline(out, mi.class_name);
    put_family(out, dir, &mi);
    for (int i = 0; i < mi.ncomponents; i++) put_component(out, dir, &mi, i);
    sana_model_index_free(&mi);
    if (fclose(out) != 0 || !*text) {
        free(*text);
        *text = NULL;
        return sana_err(SANA_ERR_NOMEM, "out of memory");
    }
    return SANA_OK;
}
