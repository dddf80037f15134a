/* src/pipeline/pipeline.c -- SanaPipeline, SanaPAGPipeline and SanaSprintPipeline (diffusers v0.35.2).
 *
 * One generation, as the __call__ methods run it (see doc/pipeline.md):
 *   1. binning: the asked height x width -> the nearest bin of the table chosen by the
 *      transformer's sample_size (binning.h);
 *   2. encode_prompt: prompt (with the complex human instruction) and, with CFG, the negative
 *      prompt (without it), each repeated num_images_per_prompt times; CFG batch = [neg, pos];
 *      PAG batch = [neg, pos, pos] (with CFG) or [pos, pos];
 *   3. latents = randn([n, C, H/32, W/32]) from torch.Generator("cpu").manual_seed(seed)
 *      (Sprint: times sigma_data);
 *   4. for each timestep: model output of the batch, guidance, sampler step
 *      (Sprint: the TrigFlow wrapping of sampler.h around the model);
 *   5. latents / scaling_factor -> DC-AE decode -> resize_and_crop back to the asked size
 *      (when binned) -> (x/2 + 0.5).clamp(0, 1) -> round(x * 255) as uint8.
 * Scalars that diffusers applies to float32 tensors are applied in float32 here, in its order.
 */
#define _POSIX_C_SOURCE 200809L
#include "pipeline/pipeline.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "backend/backend.h"
#include "pipeline/binning.h"
#include "models/dcae.h"
#include "models/dit.h"
#include "pipeline/encode_prompt.h"
#include "sampler/rng.h"
#include "sampler/sampler.h"
#include "text/tokenizer.h"

/* ------------------------------------------------------------------ components */

/* What model_index.json names, loaded once and shared by the pipelines derived from each other. */
typedef struct {
    int refs;
    char *dir, *variant;
    int low_memory;
    const sana_backend *be;
    sana_model_index mi;
    char *sched_path;        /* DIR/scheduler/scheduler_config.json */
    char sched_kind[8];      /* "dpm", "euler", "scm" */
    double sched_shift;      /* flow_shift (dpm) or shift (euler) of the checkpoint; 0 for scm */
    sana_dit *dit;
    const sana_dit_config *dc;
    sana_dcae *vae;
    sana_text_encoder *te;   /* NULL while released (low_memory) */
    sana_tokenizer *tok;     /* for `sana tokenize`, loaded on demand */
    int64_t vae_scale;       /* 2 ** (len(encoder_block_out_channels) - 1) */
} comps;

struct sana_pipeline {
    comps *c;
    sana_pipeline_kind kind;
};

static const char *const kind_class[] = {"SanaPipeline", "SanaPAGPipeline", "SanaSprintPipeline"};

const char *sana_last_error(void) { return sana_errmsg(); }

static char *path_join(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *s = malloc(na + nb + 2);
    if (!s) return NULL;
    memcpy(s, a, na);
    s[na] = '/';
    memcpy(s + na + 1, b, nb + 1);
    return s;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* A component that model_index.json must name with one of the accepted classes, and whose folder
 * must exist with the given file. Returns the folder path (malloc'd) or NULL with a message. */
static char *component_dir(comps *c, const char *name, const char *const *classes, const char *file)
{
    const char *cls = sana_model_index_class(&c->mi, name);
    if (!cls) {
        sana_err(SANA_ERR_MISSING, "%s/model_index.json: no \"%s\" component", c->dir, name);
        return NULL;
    }
    int ok = 0;
    for (int i = 0; classes[i]; i++) ok |= strcmp(cls, classes[i]) == 0;
    if (!ok) {
        sana_err(SANA_ERR_UNSUPPORTED, "%s/model_index.json: %s class \"%s\" is not supported (expected %s)",
                 c->dir, name, cls, classes[0]);
        return NULL;
    }
    char *d = path_join(c->dir, name);
    if (!d) {
        sana_err(SANA_ERR_NOMEM, "out of memory");
        return NULL;
    }
    char *f = path_join(d, file);
    int present = f && is_file(f);
    free(f);
    if (!present) {
        sana_err(SANA_ERR_MISSING, "%s: component \"%s\" is missing (no %s in that folder)", d, name, file);
        free(d);
        return NULL;
    }
    return d;
}

static const char *const transformer_classes[] = {"SanaTransformer2DModel", NULL};
static const char *const vae_classes[] = {"AutoencoderDC", NULL};
static const char *const te_classes[] = {"Gemma2Model", "Gemma2ForCausalLM", NULL};
static const char *const tok_classes[] = {"GemmaTokenizerFast", "GemmaTokenizer", NULL};
static const char *const sched_classes[] = {"DPMSolverMultistepScheduler", "FlowMatchEulerDiscreteScheduler",
                                            "SCMScheduler", NULL};

static sana_status load_text_encoder(comps *c)
{
    if (c->te) return SANA_OK;
    char *td = component_dir(c, "tokenizer", tok_classes, "tokenizer.json");
    if (!td) return sana_err_prefix(SANA_ERR_MISSING, "%s", c->dir);
    char *ed = component_dir(c, "text_encoder", te_classes, "config.json");
    if (!ed) {
        free(td);
        return SANA_ERR_MISSING;
    }
    sana_status st = sana_text_encoder_load(&c->te, td, ed, c->variant, c->be);
    free(td);
    free(ed);
    return st;
}

static void comps_free(comps *c)
{
    if (!c) return;
    if (c->dit) sana_dit_free(c->dit);
    if (c->vae) sana_dcae_free(c->vae);
    if (c->te) sana_text_encoder_free(c->te);
    if (c->tok) sana_tokenizer_free(c->tok);
    sana_model_index_free(&c->mi);
    free(c->sched_path);
    free(c->dir);
    free(c->variant);
    free(c);
}

/* Read the scheduler config: which sampler, and its shift (for --scheduler overrides). */
static sana_status read_scheduler(comps *c)
{
    char *d = component_dir(c, "scheduler", sched_classes, "scheduler_config.json");
    if (!d) return SANA_ERR_MISSING;
    c->sched_path = path_join(d, "scheduler_config.json");
    free(d);
    if (!c->sched_path) return sana_err(SANA_ERR_NOMEM, "out of memory");
    sana_sampler *s = NULL;
    sana_status st = sana_sampler_load(&s, c->sched_path);
    if (st != SANA_OK) return st;
    snprintf(c->sched_kind, sizeof c->sched_kind, "%s", sana_sampler_kind(s));
    sana_sampler_free(s);
    sana_json j;
    if ((st = sana_json_load(&j, c->sched_path)) != SANA_OK) return st;
    c->sched_shift = 0;
    if (!strcmp(c->sched_kind, "dpm"))
        st = sana_json_double(&j, "flow_shift", 1.0, &c->sched_shift);
    else if (!strcmp(c->sched_kind, "euler"))
        st = sana_json_double(&j, "shift", 1.0, &c->sched_shift);
    sana_json_free(&j);
    return st;
}

int sana_pipeline_load(sana_pipeline **out, const char *dir, const sana_load_options *opt)
{
    *out = NULL;
    sana_err_clear();
    if (!dir || !*dir) return sana_err(SANA_ERR_ARG, "no model folder given");
    if (!is_dir(dir)) return sana_err(SANA_ERR_IO, "%s: no such folder", dir);
    comps *c = calloc(1, sizeof *c);
    if (!c) return sana_err(SANA_ERR_NOMEM, "out of memory");
    c->refs = 1;
    c->dir = strdup(dir);
    c->variant = opt && opt->variant ? strdup(opt->variant) : NULL;
    c->low_memory = opt ? opt->low_memory : 0;
    c->be = sana_backend_ref();
    sana_status st = SANA_OK;
    char *mip = path_join(dir, "model_index.json");
    if (!c->dir || !mip) {
        free(mip);
        comps_free(c);
        return sana_err(SANA_ERR_NOMEM, "out of memory");
    }
    if (opt && opt->variant && strcmp(opt->variant, "fp16") && strcmp(opt->variant, "bf16")) {
        free(mip);
        comps_free(c);
        return sana_err(SANA_ERR_ARG, "variant \"%s\" is not one of fp16, bf16", opt->variant);
    }
    if (!is_file(mip)) {
        st = sana_err(SANA_ERR_MISSING, "%s: no model_index.json (not a diffusers pipeline folder)", dir);
        free(mip);
        comps_free(c);
        return st;
    }
    st = sana_model_index_load(&c->mi, mip);
    free(mip);
    if (st != SANA_OK) {
        comps_free(c);
        return st;
    }
    sana_pipeline_kind kind = SANA_PIPELINE_T2I;
    int known = 0;
    for (int k = 0; k < 3; k++)
        if (!strcmp(c->mi.class_name, kind_class[k])) {
            kind = (sana_pipeline_kind)k;
            known = 1;
        }
    if (!known) {
        st = sana_err(SANA_ERR_UNSUPPORTED,
                      "%s/model_index.json: _class_name \"%s\" is not supported "
                      "(SanaPipeline, SanaPAGPipeline, SanaSprintPipeline)", dir, c->mi.class_name);
        comps_free(c);
        return st;
    }
    char *td = NULL, *vd = NULL;
    if ((st = read_scheduler(c)) != SANA_OK) goto fail;
    if (kind == SANA_PIPELINE_SPRINT && strcmp(c->sched_kind, "scm") != 0) {
        st = sana_err(SANA_ERR_UNSUPPORTED, "%s: SanaSprintPipeline needs an SCMScheduler", c->sched_path);
        goto fail;
    }
    if (!(td = component_dir(c, "transformer", transformer_classes, "config.json"))) {
        st = SANA_ERR_MISSING;
        goto fail;
    }
    if (!(vd = component_dir(c, "vae", vae_classes, "config.json"))) {
        st = SANA_ERR_MISSING;
        goto fail;
    }
    /* check the text components exist now, even when they are loaded later (low memory) */
    {
        char *a = component_dir(c, "tokenizer", tok_classes, "tokenizer.json");
        char *b = a ? component_dir(c, "text_encoder", te_classes, "config.json") : NULL;
        int ok = a && b;
        free(a);
        free(b);
        if (!ok) {
            st = SANA_ERR_MISSING;
            goto fail;
        }
    }
    if ((st = sana_dit_load(&c->dit, td, c->variant, c->be)) != SANA_OK) goto fail;
    c->dc = sana_dit_get_config(c->dit);
    if (kind == SANA_PIPELINE_SPRINT && !c->dc->guidance_embeds) {
        st = sana_err(SANA_ERR_UNSUPPORTED, "%s: SanaSprintPipeline needs a transformer with guidance_embeds", td);
        goto fail;
    }
    if ((st = sana_dcae_load(&c->vae, vd, c->variant, c->be)) != SANA_OK) goto fail;
    {
        const sana_dcae_config *vc = sana_dcae_get_config(c->vae);
        c->vae_scale = (int64_t)1 << (vc->n_encoder_stages - 1);
        if (vc->latent_channels != c->dc->in_channels) {
            st = sana_err(SANA_ERR_FORMAT, "%s: the transformer takes %lld latent channels, the vae gives %lld", dir,
                          (long long)c->dc->in_channels, (long long)vc->latent_channels);
            goto fail;
        }
    }
    if (!c->low_memory && (st = load_text_encoder(c)) != SANA_OK) goto fail;
    free(td);
    free(vd);
    sana_pipeline *p = calloc(1, sizeof *p);
    if (!p) {
        comps_free(c);
        return sana_err(SANA_ERR_NOMEM, "out of memory");
    }
    p->c = c;
    p->kind = kind;
    *out = p;
    return SANA_OK;
fail:
    free(td);
    free(vd);
    comps_free(c);
    return st;
}

int sana_pipeline_derive(sana_pipeline **out, sana_pipeline *from, sana_pipeline_kind kind)
{
    *out = NULL;
    if (kind == SANA_PIPELINE_SPRINT || from->kind == SANA_PIPELINE_SPRINT) {
        if (kind != from->kind)
            return sana_err(SANA_ERR_UNSUPPORTED, "%s: a %s cannot be made from a %s's components", from->c->dir,
                            kind_class[kind], kind_class[from->kind]);
    }
    sana_pipeline *p = calloc(1, sizeof *p);
    if (!p) return sana_err(SANA_ERR_NOMEM, "out of memory");
    p->c = from->c;
    p->c->refs++;
    p->kind = kind;
    *out = p;
    return SANA_OK;
}

void sana_pipeline_free(sana_pipeline *p)
{
    if (!p) return;
    if (--p->c->refs == 0) comps_free(p->c);
    free(p);
}

sana_pipeline_kind sana_pipeline_get_kind(const sana_pipeline *p) { return p->kind; }
const char *sana_pipeline_class_name(const sana_pipeline *p) { return kind_class[p->kind]; }
const char *sana_pipeline_dir(const sana_pipeline *p) { return p->c->dir; }
const char *sana_pipeline_sampler(const sana_pipeline *p) { return p->c->sched_kind; }
int sana_pipeline_default_size(const sana_pipeline *p)
{
    return (int)(p->c->dc->sample_size * p->c->vae_scale);
}

sana_status sana_pipeline_tokenizer(sana_pipeline *p, const sana_tokenizer **out)
{
    comps *c = p->c;
    if (!c->tok) {
        char *td = component_dir(c, "tokenizer", tok_classes, "tokenizer.json");
        if (!td) return SANA_ERR_MISSING;
        char *f = path_join(td, "tokenizer.json");
        free(td);
        if (!f) return sana_err(SANA_ERR_NOMEM, "out of memory");
        sana_status st = sana_tokenizer_load(&c->tok, f);
        free(f);
        if (st != SANA_OK) return st;
    }
    *out = c->tok;
    return SANA_OK;
}

/* ------------------------------------------------------------------ generation */

void sana_generate_params_default(sana_generate_params *g, const sana_pipeline *p)
{
    memset(g, 0, sizeof *g);
    g->negative_prompt = "";
    g->num_inference_steps = p && p->kind == SANA_PIPELINE_SPRINT ? 2 : 20;
    g->guidance_scale = 4.5;
    g->num_images_per_prompt = 1;
    g->use_resolution_binning = 1;
    g->max_sequence_length = 300;
    g->chi_mode = SANA_CHI_DEFAULT;
    g->pag_scale = 3.0;
    g->pag_adaptive_scale = 0.0;
    g->max_timesteps = 1.57080;
    g->intermediate_timesteps = 1.3;
}

void sana_result_free(sana_result *r)
{
    if (!r) return;
    free(r->images);
    free(r->latents);
    memset(r, 0, sizeof *r);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void report(const sana_generate_params *g, sana_phase ph, int step, int nsteps, double t_phase,
                   double t_start)
{
    if (!g || !g->progress) return;
    sana_progress pr = {ph, step, nsteps, now() - t_phase, now() - t_start};
    g->progress(g->progress_user, &pr);
}

/* The NULL-terminated CHI list of the arguments (chi_buf holds a copy of a custom list). */
static const char *const *chi_list(const sana_generate_params *g, sana_chi_mode mode, const char *const *chi,
                                   int nchi, const char **chi_buf)
{
    (void)g;
    if (mode == SANA_CHI_NONE) return NULL;
    if (mode == SANA_CHI_CUSTOM) {
        for (int i = 0; i < nchi; i++) chi_buf[i] = chi[i];
        chi_buf[nchi] = NULL;
        return nchi > 0 ? chi_buf : NULL;
    }
    return sana_default_chi;
}

/* encode_prompt of one prompt into embeds [L, D], mask [L] as float 1/0. full: also encode the
 * padded positions (for `sana encode`, which writes what diffusers returns). */
static sana_status encode_one(comps *c, const char *prompt, const char *const *chi, int max_len, float *embeds,
                              float *maskf, int full)
{
    sana_status st = load_text_encoder(c);
    if (st != SANA_OK) return st;
    int32_t *m = malloc(sizeof(int32_t) * (size_t)max_len);
    if (!m) return sana_err(SANA_ERR_NOMEM, "out of memory");
    sana_text_encoder_set_full(c->te, full);
    st = sana_encode_prompt(c->te, prompt, chi, max_len, embeds, m);
    sana_text_encoder_set_full(c->te, 0);
    for (int i = 0; st == SANA_OK && i < max_len; i++) maskf[i] = (float)m[i];
    free(m);
    return st;
}

static void release_text_encoder(comps *c)
{
    if (c->low_memory && c->te) {
        sana_text_encoder_free(c->te);
        c->te = NULL;
    }
}

int sana_encode(sana_pipeline *p, const char *prompt, sana_chi_mode chi_mode, const char *const *chi, int nchi,
                int max_sequence_length, float **embeds, float **mask, int *L, int *D)
{
    *embeds = NULL;
    *mask = NULL;
    if (max_sequence_length < 1 || max_sequence_length > 100000)
        return sana_err(SANA_ERR_ARG, "max_sequence_length must be at least 1, not %d", max_sequence_length);
    if (chi_mode == SANA_CHI_CUSTOM && (nchi < 0 || nchi > 1000)) return sana_err(SANA_ERR_ARG, "bad CHI list");
    comps *c = p->c;
    sana_status st = load_text_encoder(c);
    if (st != SANA_OK) return st;
    int64_t d = sana_text_encoder_hidden_size(c->te);
    const char **buf = malloc(sizeof(char *) * (size_t)(nchi + 1 > 1 ? nchi + 1 : 1));
    float *e = malloc(sizeof(float) * (size_t)(max_sequence_length * d));
    float *m = malloc(sizeof(float) * (size_t)max_sequence_length);
    if (!buf || !e || !m) {
        free(buf);
        free(e);
        free(m);
        return sana_err(SANA_ERR_NOMEM, "out of memory");
    }
    st = encode_one(c, prompt, chi_list(NULL, chi_mode, chi, nchi, buf), max_sequence_length, e, m, 1);
    free(buf);
    release_text_encoder(c);
    if (st != SANA_OK) {
        free(e);
        free(m);
        return st;
    }
    *embeds = e;
    *mask = m;
    *L = max_sequence_length;
    *D = (int)d;
    return SANA_OK;
}

/* Decode latents [B, C, h, w] into float images [B, 3, H, W] in [-1, 1] (not postprocessed). */
static sana_status decode_float(comps *c, const float *lat, int64_t B, int64_t h, int64_t w, int tiled, float **img,
                                int64_t *H, int64_t *W)
{
    const sana_dcae_config *vc = sana_dcae_get_config(c->vae);
    int64_t C = vc->latent_channels, n = B * C * h * w;
    sana_dcae_decoded_size(c->vae, h, w, H, W);
    float *z = malloc(sizeof(float) * (size_t)n);
    float *x = malloc(sizeof(float) * (size_t)(B * vc->in_channels * *H * *W));
    if (!z || !x) {
        free(z);
        free(x);
        return sana_err(SANA_ERR_NOMEM, "out of memory for a %lldx%lld image", (long long)*W, (long long)*H);
    }
    /* diffusers: latents / self.vae.config.scaling_factor (float32 tensor / Python float) */
    float sf = (float)vc->scaling_factor;
    for (int64_t i = 0; i < n; i++) z[i] = lat[i] / sf;
    sana_status st = sana_dcae_decode(c->vae, x, z, B, h, w, tiled);
    free(z);
    if (st != SANA_OK) {
        free(x);
        return st;
    }
    *img = x;
    return SANA_OK;
}

int sana_decode(sana_pipeline *p, const float *latents, int B, int C, int h, int w, int tiled, uint8_t **images,
                int *H, int *W)
{
    *images = NULL;
    comps *c = p->c;
    const sana_dcae_config *vc = sana_dcae_get_config(c->vae);
    if (C != vc->latent_channels || B < 1 || h < 1 || w < 1 || B > SANA_MAX_IMAGES ||
        (int64_t)h * c->vae_scale > SANA_MAX_SIZE || (int64_t)w * c->vae_scale > SANA_MAX_SIZE)
        return sana_err(SANA_ERR_ARG, "latents of shape [%d, %d, %d, %d] do not fit this VAE ([B, %lld, h, w])", B, C,
                        h, w, (long long)vc->latent_channels);
    float *x = NULL;
    int64_t IH, IW;
    sana_status st = decode_float(c, latents, B, h, w, tiled, &x, &IH, &IW);
    if (st != SANA_OK) return st;
    uint8_t *u = malloc((size_t)(B * IH * IW * 3));
    if (!u) {
        free(x);
        return sana_err(SANA_ERR_NOMEM, "out of memory");
    }
    sana_postprocess_u8(u, x, B, vc->in_channels, IH, IW);
    free(x);
    *images = u;
    *H = (int)IH;
    *W = (int)IW;
    return SANA_OK;
}

/* The sampler of this generation: the checkpoint's, or the one asked for. */
static sana_status make_sampler(comps *c, const sana_generate_params *g, sana_sampler **s)
{
    const char *kind = g->scheduler && *g->scheduler ? g->scheduler : c->sched_kind;
    sana_status st;
    if (!strcmp(kind, c->sched_kind)) {
        st = sana_sampler_load(s, c->sched_path);
    } else if (!strcmp(kind, "euler")) {
        /* FlowMatchEulerDiscreteScheduler(shift=<the checkpoint's flow shift>) */
        char cfg[96];
        snprintf(cfg, sizeof cfg, "{\"shift\": %.17g}", c->sched_shift);
        st = sana_sampler_new(s, "euler", cfg);
    } else if (!strcmp(kind, "dpm")) {
        /* the Flow-DPM-Solver of the SANA checkpoints, with the checkpoint's shift */
        char cfg[256];
        snprintf(cfg, sizeof cfg,
                 "{\"use_flow_sigmas\": true, \"prediction_type\": \"flow_prediction\", \"flow_shift\": %.17g}",
                 c->sched_shift);
        st = sana_sampler_new(s, "dpm", cfg);
    } else if (!strcmp(kind, "scm")) {
        return sana_err(SANA_ERR_ARG, "the scm sampler needs a SANA-Sprint checkpoint (SCMScheduler); %s has %s",
                        c->dir, c->sched_kind);
    } else {
        return sana_err(SANA_ERR_ARG, "unknown scheduler \"%s\" (dpm, euler, scm)", kind);
    }
    if (st != SANA_OK) return st;
    if (g->flow_shift > 0 && (st = sana_sampler_set_flow_shift(*s, g->flow_shift)) != SANA_OK) {
        sana_sampler_free(*s);
        *s = NULL;
    }
    return st;
}

/* The asked size (defaults filled) and the generated size (binned) of a generation. */
static sana_status gen_size(const sana_pipeline *p, const sana_generate_params *g, int *height, int *width, int *gh,
                            int *gw)
{
    const sana_dit_config *dc = p->c->dc;
    sana_status st;
    *height = g->height ? g->height : sana_pipeline_default_size(p);
    *width = g->width ? g->width : sana_pipeline_default_size(p);
    if ((st = sana_check_size(*height, *width)) != SANA_OK) return st;
    *gh = *height;
    *gw = *width;
    if (g->use_resolution_binning) {
        int nb = 0;
        const sana_bin *tab = NULL;
        if (p->kind == SANA_PIPELINE_SPRINT) {
            /* SanaSprintPipeline only bins with sample_size 32 (ASPECT_RATIO_1024_BIN) */
            if (dc->sample_size == 32) tab = sana_bin_table(32, &nb);
            else sana_err(SANA_ERR_UNSUPPORTED, "resolution binning of SanaSprintPipeline needs sample_size 32, "
                          "not %lld (turn binning off)", (long long)dc->sample_size);
        } else {
            tab = sana_bin_table((int)dc->sample_size, &nb);
        }
        if (!tab) return SANA_ERR_UNSUPPORTED;
        sana_bin_classify(tab, nb, *height, *width, gh, gw);
        if ((st = sana_check_size(*gh, *gw)) != SANA_OK) return st;
    }
    return SANA_OK;
}

int sana_latent_shape(const sana_pipeline *p, const sana_generate_params *g, int64_t shape[4])
{
    int h, w, gh, gw;
    sana_status st = gen_size(p, g, &h, &w, &gh, &gw);
    if (st != SANA_OK) return st;
    shape[0] = g->num_images_per_prompt;
    shape[1] = p->c->dc->in_channels;
    shape[2] = gh / p->c->vae_scale;
    shape[3] = gw / p->c->vae_scale;
    return SANA_OK;
}

typedef struct {
    float *lat, *xin, *noise, *enc, *mask, *tstep, *guid, *pred;
} gen_bufs;

static void bufs_free(gen_bufs *b)
{
    free(b->lat);
    free(b->xin);
    free(b->noise);
    free(b->enc);
    free(b->mask);
    free(b->tstep);
    free(b->guid);
    free(b->pred);
}

int sana_generate(sana_pipeline *p, const sana_generate_params *g, sana_result *out)
{
    memset(out, 0, sizeof *out);
    sana_err_clear();
    comps *c = p->c;
    const sana_dit_config *dc = c->dc;
    const int sprint = p->kind == SANA_PIPELINE_SPRINT;
    double t_start = now();
    sana_status st = SANA_OK;

    /* ---- arguments, in the order diffusers checks them */
    if (!g->prompt && !g->prompt_embeds) return sana_err(SANA_ERR_ARG, "no prompt given");
    if (g->prompt && g->prompt_embeds)
        return sana_err(SANA_ERR_ARG, "give either a prompt or prompt_embeds, not both");
    if (g->num_inference_steps < 1 || g->num_inference_steps > 1000)
        return sana_err(SANA_ERR_ARG, "num_inference_steps must be between 1 and 1000, not %d",
                        g->num_inference_steps);
    if (g->num_images_per_prompt < 1 || g->num_images_per_prompt > SANA_MAX_IMAGES)
        return sana_err(SANA_ERR_ARG, "num_images_per_prompt must be between 1 and %d, not %d", SANA_MAX_IMAGES,
                        g->num_images_per_prompt);
    if (!isfinite(g->guidance_scale)) return sana_err(SANA_ERR_ARG, "guidance_scale must be a finite number");
    if (g->max_sequence_length < 1 || g->max_sequence_length > 100000)
        return sana_err(SANA_ERR_ARG, "max_sequence_length must be at least 1, not %d", g->max_sequence_length);
    int height, width, gh, gw;
    if ((st = gen_size(p, g, &height, &width, &gh, &gw)) != SANA_OK) return st;
    int npag = 0;
    int *pag_layers = NULL;
    const int do_cfg = !sprint && g->guidance_scale > 1.0;
    int do_pag = 0;
    if (p->kind == SANA_PIPELINE_PAG) {
        if (!isfinite(g->pag_scale) || !isfinite(g->pag_adaptive_scale))
            return sana_err(SANA_ERR_ARG, "pag_scale and pag_adaptive_scale must be finite numbers");
        pag_layers = malloc(sizeof(int) * (size_t)(dc->num_layers + 1));
        if (!pag_layers) return sana_err(SANA_ERR_NOMEM, "out of memory");
        if ((st = sana_pag_layers(g->pag_applied_layers, (int)dc->num_layers, pag_layers, &npag)) != SANA_OK) {
            free(pag_layers);
            return st;
        }
        do_pag = g->pag_scale > 0 && npag > 0; /* PAGMixin.do_perturbed_attention_guidance */
    }
    sana_sampler_opts sopt;
    memset(&sopt, 0, sizeof sopt);
    if (sprint) {
        if (!isfinite(g->max_timesteps)) return sana_err(SANA_ERR_ARG, "max_timesteps must be a finite number");
        /* SanaSprintPipeline.check_inputs */
        if (!g->intermediate_unset && g->num_inference_steps != 2) {
            free(pag_layers);
            return sana_err(SANA_ERR_ARG, "Intermediate timesteps for SCM is not supported when "
                            "num_inference_steps != 2 (%d steps: unset intermediate_timesteps)",
                            g->num_inference_steps);
        }
        sopt.scm_max_set = 1;
        sopt.scm_max_timesteps = g->max_timesteps;
        sopt.scm_intermediate_set = g->intermediate_unset ? -1 : 1;
        sopt.scm_intermediate_timesteps = g->intermediate_timesteps;
    }

    const int64_t nimg = g->num_images_per_prompt;
    const int64_t C = dc->in_channels, h = gh / c->vae_scale, w = gw / c->vae_scale;
    const int64_t nlat = nimg * C * h * w;
    if (g->latents && g->latents_numel != nlat) {
        free(pag_layers);
        return sana_err(SANA_ERR_ARG, "the given latents have %lld values; this generation needs [%lld, %lld, %lld, %lld]"
                        " = %lld (the size after binning is %dx%d)", (long long)g->latents_numel, (long long)nimg,
                        (long long)C, (long long)h, (long long)w, (long long)nlat, gw, gh);
    }
    int64_t L = g->max_sequence_length;
    if (g->prompt_embeds) {
        if (g->prompt_embeds_len < 1 || !g->prompt_attention_mask) {
            free(pag_layers);
            return sana_err(SANA_ERR_ARG, "prompt_embeds need their prompt_attention_mask");
        }
        L = g->prompt_embeds_len;
        if (g->prompt_embeds_dim != dc->caption_channels) {
            free(pag_layers);
            return sana_err(SANA_ERR_ARG, "prompt_embeds are %d wide; this transformer takes caption_channels = %lld",
                            g->prompt_embeds_dim, (long long)dc->caption_channels);
        }
        if (do_cfg && L != g->max_sequence_length) {
            free(pag_layers);
            return sana_err(SANA_ERR_ARG, "prompt_embeds have %lld tokens but the negative prompt is encoded to "
                            "max_sequence_length %d: they must agree for classifier-free guidance",
                            (long long)L, g->max_sequence_length);
        }
    }
    const int64_t D = dc->caption_channels;
    /* copies of the batch: 1, CFG 2 [neg, pos], PAG 2 [pos, pos], CFG+PAG 3 [neg, pos, pos] */
    const int ncopy = 1 + (do_cfg ? 1 : 0) + (do_pag ? 1 : 0);
    const int64_t Bm = ncopy * nimg;

    gen_bufs b;
    memset(&b, 0, sizeof b);
    sana_sampler *smp = NULL;
    sana_rng *rng = NULL;
    float *img = NULL;
    int64_t cout = dc->out_channels;
    b.lat = malloc(sizeof(float) * (size_t)nlat);
    b.xin = malloc(sizeof(float) * (size_t)(Bm * C * h * w));
    b.pred = malloc(sizeof(float) * (size_t)(Bm * cout * h * w));
    b.noise = malloc(sizeof(float) * (size_t)nlat);
    b.enc = malloc(sizeof(float) * (size_t)(Bm * L * D));
    b.mask = malloc(sizeof(float) * (size_t)(Bm * L));
    b.tstep = malloc(sizeof(float) * (size_t)Bm);
    b.guid = malloc(sizeof(float) * (size_t)Bm);
    if (!b.lat || !b.xin || !b.pred || !b.noise || !b.enc || !b.mask || !b.tstep || !b.guid) {
        st = sana_err(SANA_ERR_NOMEM, "out of memory for a %dx%d generation", gw, gh);
        goto done;
    }

    /* ---- encode_prompt: rows [copy][image] of enc/mask; the positive prompt fills its copies */
    if (!g->prompt_embeds || do_cfg) { /* the text encoder must give caption_channels values per token */
        if ((st = load_text_encoder(c)) != SANA_OK) goto done;
        if (sana_text_encoder_hidden_size(c->te) != D) {
            st = sana_err(SANA_ERR_FORMAT, "%s: the text encoder's hidden size %lld is not the transformer's "
                          "caption_channels %lld", c->dir, (long long)sana_text_encoder_hidden_size(c->te),
                          (long long)D);
            goto done;
        }
    }
    {
        double t0 = now();
        float *pos = b.enc + (do_cfg ? nimg : 0) * L * D, *posm = b.mask + (do_cfg ? nimg : 0) * L;
        if (g->prompt_embeds) {
            memcpy(pos, g->prompt_embeds, sizeof(float) * (size_t)(L * D));
            memcpy(posm, g->prompt_attention_mask, sizeof(float) * (size_t)L);
        } else {
            const char *buf[1024];
            if (g->chi_mode == SANA_CHI_CUSTOM && (g->nchi < 0 || g->nchi > 1000)) {
                st = sana_err(SANA_ERR_ARG, "bad CHI list (%d lines)", g->nchi);
                goto done;
            }
            const char *const *chi = chi_list(g, g->chi_mode, g->chi, g->nchi, buf);
            if ((st = encode_one(c, g->prompt, chi, (int)L, pos, posm, 0)) != SANA_OK) goto done;
        }
        for (int64_t i = 1; i < nimg; i++) {
            memcpy(pos + i * L * D, pos, sizeof(float) * (size_t)(L * D));
            memcpy(posm + i * L, posm, sizeof(float) * (size_t)L);
        }
        if (do_pag) { /* the perturbed copy after the positive one */
            memcpy(pos + nimg * L * D, pos, sizeof(float) * (size_t)(nimg * L * D));
            memcpy(posm + nimg * L, posm, sizeof(float) * (size_t)(nimg * L));
        }
        if (do_cfg) {
            /* the negative prompt: no CHI, max_sequence_length tokens (no select needed: it is the identity) */
            if ((st = encode_one(c, g->negative_prompt ? g->negative_prompt : "", NULL, (int)L, b.enc, b.mask, 0)) !=
                SANA_OK)
                goto done;
            for (int64_t i = 1; i < nimg; i++) {
                memcpy(b.enc + i * L * D, b.enc, sizeof(float) * (size_t)(L * D));
                memcpy(b.mask + i * L, b.mask, sizeof(float) * (size_t)L);
            }
        }
        release_text_encoder(c);
        report(g, SANA_PHASE_ENCODE, 0, 0, t0, t_start);
    }

    /* ---- sampler and latents */
    if ((st = make_sampler(c, g, &smp)) != SANA_OK) goto done;
    if (sprint != !strcmp(sana_sampler_kind(smp), "scm")) {
        st = sana_err(SANA_ERR_ARG, "%s runs with the scm sampler only, and scm only with SanaSprintPipeline",
                      kind_class[SANA_PIPELINE_SPRINT]);
        goto done;
    }
    if ((st = sana_sampler_set_timesteps(smp, g->num_inference_steps, &sopt)) != SANA_OK) goto done;
    rng = sana_rng_new(g->seed);
    if (!rng) {
        st = sana_err(SANA_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (g->latents) memcpy(b.lat, g->latents, sizeof(float) * (size_t)nlat);
    else sana_randn(rng, b.lat, nlat); /* randn_tensor: one torch.randn of the whole shape */
    if (sprint) {
        float sd = (float)sana_sampler_sigma_data(smp); /* latents * scheduler.config.sigma_data */
        for (int64_t i = 0; i < nlat; i++) b.lat[i] = b.lat[i] * sd;
    }

    /* ---- the denoising loop */
    {
        const int nsteps = sana_sampler_num_steps(smp);
        sana_dit_pag pag = {npag, pag_layers, (do_cfg ? 2 : 1) * nimg};
        if (sprint) { /* guidance = full(guidance_scale) (float32) * guidance_embeds_scale */
            float gv = (float)g->guidance_scale * (float)dc->guidance_embeds_scale;
            for (int64_t i = 0; i < Bm; i++) b.guid[i] = gv;
        }
        const int64_t nper = C * h * w; /* one image's latents */
        for (int i = 0; i < nsteps; i++) {
            double t0 = now();
            if (sprint) {
                double scm_t = 0;
                if ((st = sana_scm_model_input(smp, i, b.lat, b.xin, nlat, &scm_t)) != SANA_OK) goto done;
                for (int64_t k = 0; k < Bm; k++) b.tstep[k] = (float)scm_t;
                if ((st = sana_dit_forward(c->dit, b.pred, b.xin, Bm, h, w, b.tstep, b.enc, b.mask, L, b.guid, NULL)) !=
                    SANA_OK)
                    goto done;
                if ((st = sana_scm_model_output(smp, i, b.xin, b.pred, nlat)) != SANA_OK) goto done;
                if ((st = sana_sampler_step(smp, b.pred, b.lat, nlat, rng)) != SANA_OK) goto done;
            } else {
                double t = sana_sampler_timestep(smp, i);
                /* SanaPipeline: t * transformer.config.timestep_scale; SanaPAGPipeline passes t as it is */
                float tm = p->kind == SANA_PIPELINE_T2I ? (float)t * (float)dc->timestep_scale : (float)t;
                for (int64_t k = 0; k < Bm; k++) b.tstep[k] = tm;
                for (int k = 0; k < ncopy; k++) memcpy(b.xin + k * nlat, b.lat, sizeof(float) * (size_t)nlat);
                if ((st = sana_dit_forward(c->dit, b.pred, b.xin, Bm, h, w, b.tstep, b.enc, b.mask, L, NULL,
                                           do_pag ? &pag : NULL)) != SANA_OK)
                    goto done;
                /* learned sigma (SanaPipeline): keep the first in_channels of 2 * in_channels outputs */
                if (p->kind == SANA_PIPELINE_T2I && cout / 2 == C) {
                    for (int64_t k = 0; k < Bm; k++)
                        memmove(b.pred + k * nper, b.pred + k * 2 * nper, sizeof(float) * (size_t)nper);
                } else if (cout != C) {
                    st = sana_err(SANA_ERR_UNSUPPORTED, "%s: out_channels %lld with in_channels %lld", c->dir,
                                  (long long)cout, (long long)C);
                    goto done;
                }
                float *guided = b.pred;
                if (do_pag) {
                    /* PAGMixin._get_pag_scale and _apply_perturbed_attention_guidance */
                    float ps = (float)g->pag_scale;
                    if (g->pag_adaptive_scale > 0) {
                        ps = (float)g->pag_scale - (float)g->pag_adaptive_scale * (float)(1000.0 - t);
                        if (ps < 0) ps = 0;
                    }
                    float gs = (float)g->guidance_scale;
                    if (do_cfg) {
                        const float *un = b.pred, *tx = b.pred + nlat, *pt = b.pred + 2 * nlat;
                        for (int64_t k = 0; k < nlat; k++) {
                            float a = un[k] + gs * (tx[k] - un[k]);
                            b.noise[k] = a + ps * (tx[k] - pt[k]);
                        }
                    } else {
                        const float *tx = b.pred, *pt = b.pred + nlat;
                        for (int64_t k = 0; k < nlat; k++) b.noise[k] = tx[k] + ps * (tx[k] - pt[k]);
                    }
                    guided = b.noise;
                } else if (do_cfg) {
                    /* noise_pred_uncond + guidance_scale * (noise_pred_text - noise_pred_uncond) */
                    float gs = (float)g->guidance_scale;
                    const float *un = b.pred, *tx = b.pred + nlat;
                    for (int64_t k = 0; k < nlat; k++) b.noise[k] = un[k] + gs * (tx[k] - un[k]);
                    guided = b.noise;
                }
                if ((st = sana_sampler_step(smp, guided, b.lat, nlat, rng)) != SANA_OK) goto done;
            }
            report(g, SANA_PHASE_STEP, i + 1, nsteps, t0, t_start);
        }
        if (sprint) { /* latents = denoised / sigma_data */
            const float *den = sana_sampler_denoised(smp);
            float sd = (float)sana_sampler_sigma_data(smp);
            for (int64_t k = 0; k < nlat; k++) b.lat[k] = den[k] / sd;
        }
    }

    out->batch = (int)nimg;
    out->lat_channels = (int)C;
    out->lat_height = (int)h;
    out->lat_width = (int)w;
    out->gen_height = gh;
    out->gen_width = gw;
    out->height = height;
    out->width = width;
    out->latents = b.lat;
    b.lat = NULL;
    if (g->output_latent) goto done;

    /* ---- decode, resize back, postprocess */
    {
        double t0 = now();
        int64_t IH, IW;
        if ((st = decode_float(c, out->latents, nimg, h, w, g->tiled_decode, &img, &IH, &IW)) != SANA_OK) goto done;
        const int64_t ic = sana_dcae_get_config(c->vae)->in_channels;
        if (g->use_resolution_binning && (IH != height || IW != width)) {
            float *r = malloc(sizeof(float) * (size_t)(nimg * ic * height * width));
            if (!r) {
                st = sana_err(SANA_ERR_NOMEM, "out of memory");
                goto done;
            }
            st = sana_resize_and_crop(r, img, nimg, ic, IH, IW, height, width);
            free(img);
            img = r;
            if (st != SANA_OK) goto done;
            IH = height;
            IW = width;
        }
        out->images = malloc((size_t)(nimg * IH * IW * 3));
        if (!out->images) {
            st = sana_err(SANA_ERR_NOMEM, "out of memory");
            goto done;
        }
        sana_postprocess_u8(out->images, img, nimg, ic, IH, IW);
        out->height = (int)IH;
        out->width = (int)IW;
        report(g, SANA_PHASE_DECODE, 0, 0, t0, t_start);
    }
done:
    free(img);
    free(pag_layers);
    bufs_free(&b);
    sana_sampler_free(smp);
    sana_rng_free(rng);
    if (st != SANA_OK) sana_result_free(out);
    return st;
}
