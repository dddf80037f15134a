/* src/pipeline/pipeline_load.c -- a pipeline folder (diffusers v0.35.2 DiffusionPipeline.from_pretrained):
 * model_index.json, the checks of its components, and their loading (transformer, vae, scheduler,
 * tokenizer and text_encoder). Pipelines derived from each other share the loaded components.
 */
#define _POSIX_C_SOURCE 200809L
#include "pipeline/pipeline_impl.h"
#include "models/lora.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *const sana_kind_class[SANA_NKINDS] = {"SanaPipeline", "SanaPAGPipeline", "SanaSprintPipeline",
                                                  "SanaSprintImg2ImgPipeline", "SanaControlNetPipeline"};


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
static const char *const controlnet_classes[] = {"SanaControlNetModel", NULL};
static const char *const sched_classes[] = {"DPMSolverMultistepScheduler", "FlowMatchEulerDiscreteScheduler",
                                            "SCMScheduler", NULL};

sana_status sana_comps_load_text_encoder(comps *c)
{
    if (c->te) return SANA_OK;
    char *td = component_dir(c, "tokenizer", tok_classes, "tokenizer.json");
    if (!td) return sana_err_prefix(SANA_ERR_MISSING, "%s", c->dir);
    char *ed = component_dir(c, "text_encoder", te_classes, "config.json");
    if (!ed) {
        free(td);
        return SANA_ERR_MISSING;
    }
    sana_status st = sana_text_encoder_load_q(&c->te, td, ed, c->variant, c->be, c->te_quant);
    free(td);
    free(ed);
    if (st == SANA_OK) c->te_bytes = sana_text_encoder_weight_bytes(c->te);
    return st;
}

void sana_comps_release_text_encoder(comps *c)
{
    if (c->low_memory && c->te) {
        sana_text_encoder_free(c->te);
        c->te = NULL;
    }
}

static void comps_free(comps *c)
{
    if (!c) return;
    if (c->dit) sana_dit_free(c->dit);
    if (c->vae) sana_dcae_free(c->vae);
    sana_controlnet_free(c->cn);
    free(c->cn_dir);
    if (c->te) sana_text_encoder_free(c->te);
    if (c->tok) sana_tokenizer_free(c->tok);
    free(c->neg_text);
    free(c->neg_embeds);
    free(c->neg_mask);
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

/* The backend of the load options (NULL: the default), with its thread count: threads > 0, or every
 * core unless OMP_NUM_THREADS says otherwise. An unknown name is an error listing the compiled ones. */
static sana_status select_backend(comps *c, const sana_load_options *opt)
{
    const char *name = opt ? opt->backend : NULL;
    c->be = name ? sana_backend_find(name) : sana_backend_default();
    if (!c->be) {
        char list[256] = "";
        for (int i = 0; i < sana_backend_count(); i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", sana_backend_get(i)->name);
        return sana_err(SANA_ERR_ARG, "backend \"%s\" is not compiled into this libsana (backends: %s)", name, list);
    }
    int threads = opt ? opt->threads : 0;
    if (c->be->set_threads && (threads > 0 || !getenv("OMP_NUM_THREADS"))) c->be->set_threads(c->be->ctx, threads);
    return SANA_OK;
}

/* The load option quantize: "int8", "q4", "none", or "component=type,..." with the components
 * text_encoder and transformer. */
sana_status sana_pipeline_parse_quantize(sana_quant *te_quant, sana_quant *dit_quant, const char *spec)
{
    *te_quant = *dit_quant = SANA_F32;
    if (!spec || !*spec) return SANA_OK;
    sana_quant q;
    if (!strchr(spec, '=')) {
        if (sana_quant_parse(spec, &q) != 0)
            return sana_err(SANA_ERR_ARG, "quantize \"%s\": not one of int8, q4, none (or component=type,...)", spec);
        *te_quant = *dit_quant = q;
        return SANA_OK;
    }
    for (const char *p = spec; *p;) {
        const char *end = strchr(p, ','), *eq = strchr(p, '=');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char item[64];
        if (!eq || eq >= p + len || len >= sizeof item)
            return sana_err(SANA_ERR_ARG, "quantize \"%s\": \"%.*s\" is not component=type", spec, (int)len, p);
        memcpy(item, p, len);
        item[len] = 0;
        item[eq - p] = 0;
        const char *type = item + (eq - p) + 1;
        if (sana_quant_parse(type, &q) != 0)
            return sana_err(SANA_ERR_ARG, "quantize \"%s\": type \"%s\" is not one of int8, q4, none", spec, type);
        if (!strcmp(item, "text_encoder")) *te_quant = q;
        else if (!strcmp(item, "transformer")) *dit_quant = q;
        else
            return sana_err(SANA_ERR_ARG, "quantize \"%s\": component \"%s\" is not text_encoder or transformer "
                            "(the vae stays in its file dtype)", spec, item);
        p += len;
        if (*p == ',') p++;
    }
    return SANA_OK;
}

/* The components of dir with the load options, and its model_index.json read; nothing loaded yet. */
static sana_status comps_open(comps **out, const char *dir, const sana_load_options *opt)
{
    *out = NULL;
    if (!dir || !*dir) return sana_err(SANA_ERR_ARG, "no model folder given");
    if (!is_dir(dir)) return sana_err(SANA_ERR_IO, "%s: no such folder", dir);
    comps *c = calloc(1, sizeof *c);
    if (!c) return sana_err(SANA_ERR_NOMEM, "out of memory");
    c->refs = 1;
    c->dir = strdup(dir);
    c->variant = opt && opt->variant ? strdup(opt->variant) : NULL;
    c->low_memory = opt ? opt->low_memory : 0;
    sana_status st = select_backend(c, opt);
    if (st == SANA_OK && opt && opt->controlnet && !(c->cn_dir = strdup(opt->controlnet)))
        st = sana_err(SANA_ERR_NOMEM, "out of memory");
    if (st == SANA_OK) st = sana_pipeline_parse_quantize(&c->te_quant, &c->dit_quant, opt ? opt->quantize : NULL);
    if (st == SANA_OK && opt && opt->nlora > 0) {
        if (opt->nlora > SANA_MAX_LORA || !opt->lora)
            st = sana_err(SANA_ERR_ARG, "lora: %d files (at most %d)", opt->nlora, SANA_MAX_LORA);
        c->lora = opt->lora;
        c->nlora = opt->nlora;
    }
    char *mip = path_join(dir, "model_index.json");
    if (st != SANA_OK) (void)0; /* the message names the backend */
    else if (!c->dir || !mip) st = sana_err(SANA_ERR_NOMEM, "out of memory");
    else if (opt && opt->variant && strcmp(opt->variant, "fp16") && strcmp(opt->variant, "bf16"))
        st = sana_err(SANA_ERR_ARG, "variant \"%s\" is not one of fp16, bf16", opt->variant);
    else if (!is_file(mip))
        st = sana_err(SANA_ERR_MISSING, "%s: no model_index.json (not a diffusers pipeline folder)", dir);
    else
        st = sana_model_index_load(&c->mi, mip);
    free(mip);
    if (st != SANA_OK) {
        comps_free(c);
        return st;
    }
    *out = c;
    return SANA_OK;
}

/* The pipeline kind of model_index.json's _class_name; a ControlNet given in the load options makes a
 * SanaPipeline folder a SanaControlNetPipeline (diffusers: SanaControlNetPipeline.from_pretrained(DIR,
 * controlnet=...), whose components are SanaPipeline's plus the ControlNet). */
static sana_status pipeline_kind(const comps *c, sana_pipeline_kind *kind)
{
    int k = 0;
    while (k < SANA_NKINDS && strcmp(c->mi.class_name, sana_kind_class[k])) k++;
    if (k == SANA_NKINDS)
        return sana_err(SANA_ERR_UNSUPPORTED,
                        "%s/model_index.json: _class_name \"%s\" is not supported (SanaPipeline, SanaPAGPipeline, "
                        "SanaSprintPipeline, SanaSprintImg2ImgPipeline, SanaControlNetPipeline)", c->dir,
                        c->mi.class_name);
    *kind = (sana_pipeline_kind)k;
    if (c->cn_dir && *kind == SANA_PIPELINE_T2I) *kind = SANA_PIPELINE_CONTROLNET;
    if (c->cn_dir && *kind != SANA_PIPELINE_CONTROLNET)
        return sana_err(SANA_ERR_UNSUPPORTED, "%s: a ControlNet (%s) goes with a SanaPipeline or SanaControlNetPipeline "
                        "folder, not a %s (diffusers 0.35.2 has no ControlNet variant of it)", c->dir, c->cn_dir,
                        c->mi.class_name);
    return SANA_OK;
}

/* The ControlNet: the load option's folder or the pipeline's controlnet/, whose samples must fit the
 * transformer (the same latents, caption and tokens; its width is added to the transformer's hidden states). */
static sana_status load_controlnet(comps *c)
{
    if (!c->cn_dir && !(c->cn_dir = component_dir(c, "controlnet", controlnet_classes, "config.json")))
        return SANA_ERR_MISSING;
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", c->cn_dir);
    sana_dit_config cc;
    sana_status st = sana_controlnet_config_load(&cc, path);
    if (st != SANA_OK) return st;
    const sana_dit_config *tc = c->dc;
    const int64_t cd = cc.num_attention_heads * cc.attention_head_dim, td = tc->num_attention_heads * tc->attention_head_dim;
    if (cd != td)
        return sana_err(SANA_ERR_FORMAT, "%s: num_attention_heads * attention_head_dim = %lld * %lld = %lld, but the "
                        "transformer's inner dim is %lld: the ControlNet's samples are added to its hidden states",
                        path, (long long)cc.num_attention_heads, (long long)cc.attention_head_dim, (long long)cd,
                        (long long)td);
    struct { const char *key; int64_t cv, tv; } same[] = {
        {"in_channels", cc.in_channels, tc->in_channels},
        {"patch_size", cc.patch_size, tc->patch_size},
        {"caption_channels", cc.caption_channels, tc->caption_channels},
    };
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
        if (same[i].cv != same[i].tv)
            return sana_err(SANA_ERR_FORMAT, "%s: %s is %lld, the transformer's is %lld: the ControlNet runs on the "
                            "transformer's inputs", path, same[i].key, (long long)same[i].cv, (long long)same[i].tv);
    return sana_controlnet_load_prep(&c->cn, c->cn_dir, c->variant, c->be, c->low_memory ? SANA_PREP_MAPPED : 0);
}

/* Check the text components exist now, even when they are loaded later (low memory). */
static sana_status check_text_components(comps *c)
{
    char *a = component_dir(c, "tokenizer", tok_classes, "tokenizer.json");
    char *b = a ? component_dir(c, "text_encoder", te_classes, "config.json") : NULL;
    int ok = a && b;
    free(a);
    free(b);
    return ok ? SANA_OK : SANA_ERR_MISSING;
}

/* The transformer of folder td; Sprint needs its guidance embedding. */
static sana_status load_transformer(comps *c, const char *td, sana_pipeline_kind kind)
{
    sana_lora *lora = NULL;
    sana_status st = c->nlora > 0 ? sana_lora_open(&lora, c->lora, c->nlora) : SANA_OK;
    if (st == SANA_OK)
        st = sana_dit_load_lora(&c->dit, td, c->variant, c->be, c->dit_quant, lora, c->low_memory ? SANA_PREP_MAPPED : 0);
    sana_lora_free(lora); /* merged: the weights hold their own copies */
    c->lora = NULL;       /* the caller's strings: only during load */
    c->nlora = 0;
    if (st != SANA_OK) return st;
    c->dc = sana_dit_get_config(c->dit);
    if (sana_kind_sprint(kind) && !c->dc->guidance_embeds)
        return sana_err(SANA_ERR_UNSUPPORTED, "%s: %s needs a transformer with guidance_embeds", td,
                        sana_kind_class[kind]);
    return SANA_OK;
}

/* The DC-AE of folder vd, whose latents must be the transformer's. */
static sana_status load_vae(comps *c, const char *vd)
{
    sana_status st = sana_dcae_load(&c->vae, vd, c->variant, c->be);
    if (st != SANA_OK) return st;
    const sana_dcae_config *vc = sana_dcae_get_config(c->vae);
    c->vae_scale = (int64_t)1 << (vc->n_encoder_stages - 1);
    if (vc->latent_channels != c->dc->in_channels)
        return sana_err(SANA_ERR_FORMAT, "%s: the transformer takes %lld latent channels, the vae gives %lld", c->dir,
                        (long long)c->dc->in_channels, (long long)vc->latent_channels);
    return SANA_OK;
}

/* Every component of a pipeline of this kind: checked first, then loaded. */
static sana_status load_components(comps *c, sana_pipeline_kind kind)
{
    char *td = NULL, *vd = NULL;
    sana_status st = read_scheduler(c);
    if (st == SANA_OK && sana_kind_sprint(kind) && strcmp(c->sched_kind, "scm") != 0)
        st = sana_err(SANA_ERR_UNSUPPORTED, "%s: %s needs an SCMScheduler", c->sched_path, sana_kind_class[kind]);
    if (st == SANA_OK && !(td = component_dir(c, "transformer", transformer_classes, "config.json")))
        st = SANA_ERR_MISSING;
    if (st == SANA_OK && !(vd = component_dir(c, "vae", vae_classes, "config.json"))) st = SANA_ERR_MISSING;
    if (st == SANA_OK) st = check_text_components(c);
    if (st == SANA_OK) st = load_transformer(c, td, kind);
    if (st == SANA_OK) st = load_vae(c, vd);
    if (st == SANA_OK && kind == SANA_PIPELINE_CONTROLNET) st = load_controlnet(c);
    if (st == SANA_OK && !c->low_memory) st = sana_comps_load_text_encoder(c);
    free(td);
    free(vd);
    return st;
}

int sana_pipeline_load(sana_pipeline **out, const char *dir, const sana_load_options *opt)
{
    *out = NULL;
    sana_err_clear();
    comps *c = NULL;
    sana_pipeline_kind kind = SANA_PIPELINE_T2I;
    sana_status st = comps_open(&c, dir, opt);
    if (st != SANA_OK) return st;
    if ((st = pipeline_kind(c, &kind)) == SANA_OK) st = load_components(c, kind);
    if (st != SANA_OK) {
        comps_free(c);
        return st;
    }
    sana_pipeline *p = calloc(1, sizeof *p);
    if (!p) {
        comps_free(c);
        return sana_err(SANA_ERR_NOMEM, "out of memory");
    }
    p->c = c;
    p->kind = kind;
    *out = p;
    return SANA_OK;
}

int sana_pipeline_derive(sana_pipeline **out, sana_pipeline *from, sana_pipeline_kind kind)
{
    *out = NULL;
    if ((unsigned)kind >= SANA_NKINDS) return sana_err(SANA_ERR_ARG, "sana_pipeline_derive: no pipeline kind %d", (int)kind);
    /* T2I <-> PAG, Sprint <-> Sprint img2img (the same components), ControlNet -> T2I / PAG; across the
     * two families the scheduler (SCM) and the guidance embedding do not fit, and a ControlNet pipeline
     * needs a ControlNet */
    if (sana_kind_sprint(kind) != sana_kind_sprint(from->kind) || (kind == SANA_PIPELINE_CONTROLNET && !from->c->cn))
        return sana_err(SANA_ERR_UNSUPPORTED, "%s: a %s cannot be made from a %s's components", from->c->dir,
                        sana_kind_class[kind], sana_kind_class[from->kind]);
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
const char *sana_pipeline_class_name(const sana_pipeline *p) { return sana_kind_class[p->kind]; }
const char *sana_pipeline_dir(const sana_pipeline *p) { return p->c->dir; }
const char *sana_pipeline_sampler(const sana_pipeline *p) { return p->c->sched_kind; }
int sana_pipeline_default_size(const sana_pipeline *p)
{
    return (int)(p->c->dc->sample_size * p->c->vae_scale);
}
const char *sana_pipeline_backend_name(const sana_pipeline *p) { return p->c->be->name; }

int64_t sana_pipeline_weight_bytes(const sana_pipeline *p, const char *component)
{
    const comps *c = p->c;
    size_t t = c->dit ? sana_dit_weight_bytes(c->dit) : 0, v = c->vae ? sana_dcae_weight_bytes(c->vae) : 0;
    size_t n = c->cn ? sana_controlnet_weight_bytes(c->cn) : 0;
    if (!component) return (int64_t)(t + v + n + c->te_bytes);
    if (!strcmp(component, "controlnet")) return (int64_t)n;
    if (!strcmp(component, "transformer")) return (int64_t)t;
    if (!strcmp(component, "vae")) return (int64_t)v;
    if (!strcmp(component, "text_encoder")) return (int64_t)c->te_bytes;
    return 0;
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
