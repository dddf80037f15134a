/* tests/test-pipeline.c -- end to end against diffusers: SanaPipeline, SanaPAGPipeline and
 * SanaSprintPipeline run from the prompt string on the tiny checkpoints (golden/ckpt/sana-tiny*) and
 * on the trained toy golden/ckpt/sana-shapes (case "shapes", golden/dump_shapes.py),
 * one golden per case (golden/pipeline/e2e_*.safetensors from golden/dump_pipeline.py, whose
 * __metadata__ "config" holds the call). Checks the final latents (output_type="latent") and the
 * uint8 image (within 1 level per channel), plus encode_prompt and the library's argument checks.
 * Case "bin_any": binning at a size that is not a multiple of 32 (generated at the bin, resized back).
 * Case "added": sana-tiny with a tokenizer that has more entries than the text encoder's embedding
 * table (golden/ckpt/tokenizer-added, golden/dump_added_tokens.py; the folder is assembled from
 * symlinks here), and the error of a prompt that produces such an id.
 * Case "pe2k": sana-tiny's weights under a transformer config with sample_size 64 (the 2048 bins) and
 * interpolation_scale 2.0 (the sin-cos position embedding, interpolated), golden/dump_pe2k.py.
 * Cases "cn_*": SanaControlNetPipeline on golden/ckpt/sana-tiny-controlnet (sana-tiny plus
 * golden/ckpt/controlnet-tiny, golden/dump_controlnet.py) with a control image from golden/controlnet/:
 * square with CFG, non-square without CFG and a resized control image at scale 0.7, binning with two
 * images at scale 1.5; and the same ControlNet given as the load option on plain sana-tiny.
 * Every case runs on every compiled backend (sana_backend_list: ref, cpu), at the same tolerances;
 * SANA_TEST_BACKENDS="ref,cpu" (a comma-separated list) picks some.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "golden.h"
#include "test_backends.h"
#include "core/json.h"
#include "pipeline/pipeline.h"
#include "pipeline/pipeline_impl.h" /* the negative prompt cache, counted */
#include "sana.h"

static const char *const CASES[] = {"cfg", "nocfg", "bin", "bin_small", "two", "euler", "nochi", "pag", "pag_adaptive",
                                    "sprint2", "sprint1", "sprint_bin", "fp16", "given", "shapes", "bin_any",
                                    "added", "pe2k", "cn_cfg", "cn_rect", "cn_bin", NULL};

static sana_pipeline *t2i, *pag, *sprint, *t2i_fp16, *cnp;
/* the SanaPipeline folder other than sana-tiny last asked for (golden/ckpt/sana-shapes), and its name */
static sana_pipeline *other;
static char other_ckpt[64];
static const char *backend; /* the backend of this round */

/* The components of golden/ckpt/sana-tiny; the "added-tokens" folder takes its tokenizer from
 * golden/ckpt/tokenizer-added instead, "sana-tiny-pe2k" its transformer from golden/ckpt/transformer-pe2k. */
static const char *const TINY_PARTS[] = {"model_index.json", "scheduler", "text_encoder", "tokenizer", "transformer",
                                         "vae", NULL};
static char added_dir[64];
static const char *added_part; /* the component the assembled folder takes from elsewhere */

static void added_tokens_cleanup(void);

/* sana-tiny with component `part` taken from golden/ckpt/<from>, as symlinks in a temporary folder
 * (golden/dump_added_tokens.py and dump_pe2k.py assemble the same); NULL on failure. */
static const char *assembled_dir(const char *part, const char *from)
{
    if (*added_dir && added_part && !strcmp(added_part, part)) return added_dir;
    added_tokens_cleanup();
    added_part = part;
    snprintf(added_dir, sizeof added_dir, "/tmp/sana-test-added-XXXXXX");
    if (!mkdtemp(added_dir)) {
        golden_fail("mkdtemp %s failed", added_dir);
        added_dir[0] = 0;
        return NULL;
    }
    for (int i = 0; TINY_PARTS[i]; i++) {
        char src[1024], dst[1024];
        if (!strcmp(TINY_PARTS[i], part)) snprintf(src, sizeof src, "%s/ckpt/%s", golden_dir(), from);
        else snprintf(src, sizeof src, "%s/ckpt/sana-tiny/%s", golden_dir(), TINY_PARTS[i]);
        snprintf(dst, sizeof dst, "%s/%s", added_dir, TINY_PARTS[i]);
        char *abs = realpath(src, NULL);
        if (!abs || symlink(abs, dst) != 0) golden_fail("cannot link %s to %s", dst, src);
        free(abs);
    }
    return added_dir;
}

static void added_tokens_cleanup(void)
{
    if (!*added_dir) return;
    for (int i = 0; TINY_PARTS[i]; i++) {
        char dst[1024];
        snprintf(dst, sizeof dst, "%s/%s", added_dir, TINY_PARTS[i]);
        unlink(dst);
    }
    rmdir(added_dir);
    added_dir[0] = 0;
}

static sana_pipeline *pipeline_for(const char *cls, const char *ckpt, const char *variant)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/ckpt/%s", golden_dir(), ckpt);
    if (!strcmp(ckpt, "added-tokens") || !strcmp(ckpt, "sana-tiny-pe2k")) {
        const char *d = ckpt[0] == 'a' ? assembled_dir("tokenizer", "tokenizer-added")
                                       : assembled_dir("transformer", "transformer-pe2k");
        if (!d) return NULL;
        snprintf(dir, sizeof dir, "%s", d);
    }
    if (variant && *variant) { /* the *.fp16.safetensors files of the same folder */
        sana_load_options lo = {.variant = variant, .backend = backend};
        if (!t2i_fp16 && sana_pipeline_load(&t2i_fp16, dir, &lo) != 0)
            golden_fail("load %s (%s): %s", dir, variant, sana_last_error());
        return t2i_fp16;
    }
    sana_pipeline **slot = !strcmp(cls, "SanaSprintPipeline") ? &sprint : !strcmp(cls, "SanaPAGPipeline") ? &pag
                           : !strcmp(cls, "SanaControlNetPipeline") ? &cnp : &t2i;
    if (slot == &t2i && strcmp(ckpt, "sana-tiny") != 0) {
        if (strcmp(other_ckpt, ckpt) != 0) { /* another folder: load it in place of the last one */
            sana_pipeline_free(other);
            other = NULL;
            snprintf(other_ckpt, sizeof other_ckpt, "%s", ckpt);
        }
        slot = &other;
    }
    if (*slot) return *slot;
    if (slot == &pag) {
        /* diffusers' from_pretrained of the same folder; here: the loaded components, shared */
        if (!pipeline_for("SanaPipeline", ckpt, NULL)) return NULL;
        if (sana_pipeline_derive(&pag, t2i, SANA_PIPELINE_PAG) != 0) golden_fail("derive PAG: %s", sana_last_error());
        return pag;
    }
    sana_load_options lo = {.backend = backend};
    if (sana_pipeline_load(slot, dir, &lo) != 0) {
        golden_fail("load %s: %s", dir, sana_last_error());
        return NULL;
    }
    if (strcmp(sana_pipeline_backend_name(*slot), backend) != 0)
        golden_fail("%s: runs on %s, want %s", dir, sana_pipeline_backend_name(*slot), backend);
    if (strcmp(sana_pipeline_class_name(*slot), cls) != 0)
        golden_fail("%s: loaded as %s, want %s", dir, sana_pipeline_class_name(*slot), cls);
    return *slot;
}

/* uint8 images within 1 level per channel (the bound); prints the worst and the count. */
static void check_image(golden *g, const char *what, const uint8_t *got, int64_t n)
{
    float *want = golden_f32(g, "image", NULL);
    int64_t off1 = 0, worst = -1;
    int maxd = 0;
    for (int64_t i = 0; i < n; i++) {
        int d = abs((int)got[i] - (int)lrintf(want[i]));
        if (d > maxd) maxd = d, worst = i;
        if (d) off1++;
    }
    printf("%s: %s image n=%lld max level difference %d, %lld values differ (tol 1)\n", maxd <= 1 ? "ok  " : "FAIL",
           what, (long long)n, maxd, (long long)off1);
    if (maxd > 1) golden_fail("%s: image differs by %d levels at %lld (got %d want %d)", what, maxd, (long long)worst,
                              got[worst], (int)want[worst]);
    free(want);
}

/* The call of a case, as golden/dump_pipeline.py records it in the golden's "config" metadata. */
typedef struct {
    char *cls, *ckpt, *prompt, *neg, *sched, *chi, *variant, *control;
    double cn_scale;
    int64_t steps, h, w, seed, nimg, maxseq;
    double cfg, pag_scale, pag_ada;
    int bin, latent_only, given;
    char *layers[8];
    int nlayers;
    int inter_none; /* intermediate_timesteps=None */
} e2e_case;

static void case_read(sana_json *j, e2e_case *c)
{
    memset(c, 0, sizeof *c);
    sana_json_string(j, "pipeline", "SanaPipeline", &c->cls);
    sana_json_string(j, "checkpoint", "sana-tiny", &c->ckpt);
    sana_json_string(j, "prompt", NULL, &c->prompt);
    sana_json_string(j, "negative_prompt", "", &c->neg);
    sana_json_string(j, "scheduler", "", &c->sched);
    sana_json_string(j, "chi", "", &c->chi);
    sana_json_string(j, "variant", "", &c->variant);
    sana_json_string(j, "control_image", NULL, &c->control);
    sana_json_double(j, "controlnet_conditioning_scale", 1.0, &c->cn_scale);
    sana_json_int(j, "num_inference_steps", 20, &c->steps);
    sana_json_int(j, "height", 0, &c->h);
    sana_json_int(j, "width", 0, &c->w);
    sana_json_int(j, "seed", 0, &c->seed);
    sana_json_int(j, "num_images_per_prompt", 1, &c->nimg);
    sana_json_int(j, "max_sequence_length", 300, &c->maxseq);
    sana_json_double(j, "guidance_scale", 4.5, &c->cfg);
    sana_json_double(j, "pag_scale", 3.0, &c->pag_scale);
    sana_json_double(j, "pag_adaptive_scale", 0.0, &c->pag_ada);
    sana_json_bool(j, "use_resolution_binning", 1, &c->bin);
    sana_json_bool(j, "latent_only", 0, &c->latent_only);
    sana_json_bool(j, "given", 0, &c->given);
    sana_json_string_array(j, "pag_applied_layers", c->layers, 8, &c->nlayers);
    /* intermediate_timesteps=None is recorded as a null entry */
    c->inter_none = json_object_object_get_ex(j->root, "intermediate_timesteps", NULL) &&
                    !sana_json_has(j, "intermediate_timesteps");
}

static void case_free(e2e_case *c)
{
    for (int i = 0; i < c->nlayers; i++) free(c->layers[i]);
    free(c->cls);
    free(c->ckpt);
    free(c->prompt);
    free(c->neg);
    free(c->sched);
    free(c->chi);
    free(c->variant);
    free(c->control);
}

/* The arguments of sana_generate for a case; layer_list [256] receives the joined PAG layers. */
static void case_params(const e2e_case *c, sana_pipeline *p, sana_generate_params *gp, char *layer_list)
{
    sana_generate_params_default(gp, p);
    gp->prompt = c->prompt;
    gp->negative_prompt = c->neg;
    gp->num_inference_steps = (int)c->steps;
    gp->guidance_scale = c->cfg;
    gp->height = (int)c->h;
    gp->width = (int)c->w;
    gp->seed = (uint64_t)c->seed;
    gp->num_images_per_prompt = (int)c->nimg;
    gp->max_sequence_length = (int)c->maxseq;
    gp->use_resolution_binning = c->bin;
    gp->scheduler = *c->sched ? c->sched : NULL;
    if (!strcmp(c->chi, "none")) gp->chi_mode = SANA_CHI_NONE;
    gp->pag_scale = c->pag_scale;
    gp->pag_adaptive_scale = c->pag_ada;
    layer_list[0] = 0;
    for (int i = 0; i < c->nlayers; i++) {
        if (i) strcat(layer_list, ",");
        strncat(layer_list, c->layers[i], 256 - strlen(layer_list) - 2);
    }
    if (c->nlayers > 0) gp->pag_applied_layers = layer_list;
    gp->intermediate_unset = c->inter_none;
    gp->controlnet_conditioning_scale = c->cn_scale;
}

/* The control image of a ControlNet case (golden/<control_image>), as load_image reads it; NULL on failure. */
static uint8_t *case_control(const e2e_case *c, sana_generate_params *gp)
{
    if (!c->control) return NULL;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", golden_dir(), c->control);
    uint8_t *rgb = NULL;
    if (sana_image_read_png(path, &rgb, &gp->control_image_width, &gp->control_image_height) != 0)
        golden_fail("%s: %s", path, sana_last_error());
    gp->control_image = rgb;
    return rgb;
}

/* The given latents and prompt embeddings of the golden ("given" case); given[3] receives the buffers. */
static void case_given(golden *g, sana_generate_params *gp, float *given[3])
{
    int64_t n = 0, L = 0;
    given[0] = golden_f32(g, "given_latents", &n);
    gp->latents = given[0];
    gp->latents_numel = n;
    given[1] = golden_f32(g, "given_prompt_embeds", NULL);
    given[2] = golden_f32(g, "given_prompt_attention_mask", &L);
    gp->prompt_embeds = given[1];
    gp->prompt_attention_mask = given[2];
    gp->prompt_embeds_len = (int)L;
    gp->prompt_embeds_dim = (int)golden_get(g, "given_prompt_embeds")->wt.shape[2];
}

/* pass 0: output_type="latent" against the golden latents; pass 1: the uint8 image. */
static void case_generate(golden *g, const char *name, sana_pipeline *p, sana_generate_params *gp, int pass)
{
    gp->output_latent = pass == 0;
    sana_result r;
    char what[128];
    snprintf(what, sizeof what, "[%s] %s %s", backend, name, pass == 0 ? "latents" : "image");
    if (sana_generate(p, gp, &r) != 0) {
        golden_fail("%s: sana_generate: %s", what, sana_last_error());
        return;
    }
    if (pass == 0) {
        int64_t n = (int64_t)r.batch * r.lat_channels * r.lat_height * r.lat_width;
        golden_check(g, what, r.latents, n, "latents", "pipeline_latents");
    } else {
        const sana_st_tensor *t = golden_get(g, "image");
        if (t->wt.shape[0] != r.batch || t->wt.shape[1] != r.height || t->wt.shape[2] != r.width)
            golden_fail("%s: image %dx%dx%d, want %lldx%lldx%lld", what, r.batch, r.height, r.width,
                        (long long)t->wt.shape[0], (long long)t->wt.shape[1], (long long)t->wt.shape[2]);
        else
            check_image(g, what, r.images, (int64_t)r.batch * r.height * r.width * 3);
    }
    sana_result_free(&r);
}

/* encode_prompt as diffusers returns it (padded rows included). */
static void check_encode(golden *g, sana_pipeline *p, const char *prompt)
{
    float *e = NULL, *m = NULL;
    int L = 0, D = 0;
    if (sana_encode(p, prompt, SANA_CHI_DEFAULT, NULL, 0, 300, &e, &m, &L, &D) != 0) {
        golden_fail("sana_encode: %s", sana_last_error());
    } else {
        golden_check(g, "encode prompt_embeds", e, (int64_t)L * D, "prompt_embeds", "pipeline_embeds");
        int64_t *mi = malloc(sizeof(int64_t) * (size_t)L);
        for (int i = 0; i < L; i++) mi[i] = (int64_t)m[i];
        golden_check_i64(g, "encode prompt_attention_mask", mi, L, "prompt_attention_mask");
        free(mi);
    }
    free(e);
    free(m);
}

/* A prompt that produces an id past the text encoder's embedding table (diffusers: IndexError in the
 * embedding) is an argument error naming the id and vocab_size, from sana_encode and sana_generate. */
static void check_added_token_error(sana_json *j, sana_pipeline *p)
{
    char *bad = NULL, *err = NULL;
    int64_t ids[8], vocab = 0;
    int nids = 0;
    sana_json_int(j, "vocab_size", 0, &vocab);
    sana_json_string(j, "bad_prompt", NULL, &bad);
    sana_json_string(j, "bad_error", "", &err);
    sana_json_int_array(j, "bad_ids", ids, 8, &nids);
    if (!bad || nids < 1) {
        golden_fail("e2e_added: no bad_prompt / bad_ids in the config");
        free(bad);
        free(err);
        return;
    }
    char want_id[32], want_vocab[48];
    snprintf(want_id, sizeof want_id, "token id %lld", (long long)ids[0]);
    snprintf(want_vocab, sizeof want_vocab, "vocab_size %lld", (long long)vocab);
    float *e = NULL, *m = NULL;
    int L = 0, D = 0;
    int rc = sana_encode(p, bad, SANA_CHI_DEFAULT, NULL, 0, 300, &e, &m, &L, &D);
    const char *msg = sana_last_error();
    int ok = rc == SANA_ERR_ARG && !e && !m && strstr(msg, want_id) && strstr(msg, want_vocab);
    printf("%s: [%s] encode of \"%s\" (diffusers: %s): %s\n", ok ? "ok  " : "FAIL", backend, bad, err, msg);
    if (!ok) golden_fail("added token id: not the expected error (rc %d)", rc);
    free(e);
    free(m);
    sana_generate_params gp;
    sana_generate_params_default(&gp, p);
    gp.prompt = "a fox in the snow";
    gp.negative_prompt = bad; /* the negative prompt goes through the same check */
    gp.num_inference_steps = 1;
    gp.height = gp.width = 64;
    sana_result r;
    rc = sana_generate(p, &gp, &r);
    ok = rc == SANA_ERR_ARG && !r.images && !r.latents && strstr(sana_last_error(), want_id);
    printf("%s: [%s] generate with it as the negative prompt: %s\n", ok ? "ok  " : "FAIL", backend, sana_last_error());
    if (!ok) golden_fail("added token id in the negative prompt: not the expected error (rc %d)", rc);
    free(bad);
    free(err);
}

/* The ControlNet as a load option on plain sana-tiny (SanaControlNetPipeline.from_pretrained(sana-tiny,
 * controlnet=...)) gives the same latents; a SanaControlNetPipeline derives a SanaPipeline over its components. */
static void check_controlnet_option(golden *g, sana_generate_params *gp)
{
    char dir[1024], cn[1024];
    snprintf(dir, sizeof dir, "%s/ckpt/sana-tiny", golden_dir());
    snprintf(cn, sizeof cn, "%s/ckpt/controlnet-tiny", golden_dir());
    sana_load_options lo = {.backend = backend, .controlnet = cn};
    sana_pipeline *p = NULL;
    if (sana_pipeline_load(&p, dir, &lo) != 0) {
        golden_fail("load %s with controlnet %s: %s", dir, cn, sana_last_error());
        return;
    }
    int ok = !strcmp(sana_pipeline_class_name(p), "SanaControlNetPipeline") && sana_pipeline_weight_bytes(p, "controlnet") >= 0;
    printf("%s: [%s] sana-tiny + load option controlnet loads as %s\n", ok ? "ok  " : "FAIL", backend,
           sana_pipeline_class_name(p));
    if (!ok) golden_fail("controlnet load option: class %s", sana_pipeline_class_name(p));
    case_generate(g, "cn_rect (controlnet load option)", p, gp, 0);
    /* a SanaPipeline over the same components refuses the control image; without it, it runs */
    sana_pipeline *t = NULL;
    if (sana_pipeline_derive(&t, p, SANA_PIPELINE_T2I) != 0) {
        golden_fail("derive T2I from ControlNet: %s", sana_last_error());
    } else {
        sana_result r;
        int rc = sana_generate(t, gp, &r);
        ok = rc == SANA_ERR_ARG && strstr(sana_last_error(), "control image") && !r.latents;
        printf("%s: [%s] SanaPipeline refuses a control image: %s\n", ok ? "ok  " : "FAIL", backend, sana_last_error());
        if (!ok) golden_fail("control image on a SanaPipeline accepted (rc %d)", rc);
        sana_pipeline_free(t);
    }
    /* and the ControlNet pipeline refuses to run without one */
    sana_generate_params np = *gp;
    np.control_image = NULL;
    sana_result r;
    int rc = sana_generate(p, &np, &r);
    ok = rc == SANA_ERR_ARG && strstr(sana_last_error(), "needs a control image") && !r.latents;
    printf("%s: [%s] SanaControlNetPipeline without a control image: %s\n", ok ? "ok  " : "FAIL", backend,
           sana_last_error());
    if (!ok) golden_fail("ControlNet without a control image accepted (rc %d)", rc);
    sana_pipeline_free(p);
}

static void run_case(const char *name)
{
    char file[256];
    snprintf(file, sizeof file, "pipeline/e2e_%s.safetensors", name);
    golden *g = golden_open(file);
    const char *cfgtxt = golden_meta(g, "config");
    sana_json j;
    if (!cfgtxt || sana_json_parse(&j, cfgtxt, strlen(cfgtxt), file) != SANA_OK) {
        golden_fail("%s: no config metadata", file);
        golden_close(g);
        return;
    }
    e2e_case c;
    case_read(&j, &c);
    sana_pipeline *p = pipeline_for(c.cls, c.ckpt, c.variant);
    float *given[3] = {NULL, NULL, NULL};
    char layer_list[256];
    if (p) {
        sana_generate_params gp;
        case_params(&c, p, &gp, layer_list);
        if (c.given) case_given(g, &gp, given);
        uint8_t *control = case_control(&c, &gp);
        for (int pass = 0; pass < (c.latent_only ? 1 : 2); pass++) case_generate(g, name, p, &gp, pass);
        if (control && !strcmp(name, "cn_rect")) check_controlnet_option(g, &gp);
        free(control);
        if (!strcmp(name, "cfg") || !strcmp(name, "added")) check_encode(g, p, c.prompt);
        if (!strcmp(name, "added")) check_added_token_error(&j, p);
    }
    for (int i = 0; i < 3; i++) free(given[i]);
    case_free(&c);
    sana_json_free(&j);
    golden_close(g);
}

/* Argument checks of sana_generate: each a clear message and no result. */
static void check_rejects(void)
{
    if (!t2i || !sprint) return;
    sana_generate_params g;
    sana_result r;
    struct {
        const char *what, *needle;
        int steps, h, w, nimg, sprint_pag, bin;
    } tab[] = {
        {"steps 0", "num_inference_steps", 0, 64, 64, 1, 0, 0},
        {"height 100 without binning", "multiples of 32 without resolution binning", 1, 100, 64, 1, 0, 0},
        {"width 0 is default, height 16", "multiples of 32", 1, 16, 64, 1, 0, 0},
        {"too large", "between", 1, 32768, 64, 1, 0, 0},
        {"binned height -5 (any size from 1: generated at the bin, resized to it)", "between 1 and 16384 with", 1, -5,
         64, 1, 0, 1},
        {"binned too large", "between", 1, 64, 16385, 1, 0, 1},
        {"no images", "num_images_per_prompt", 1, 64, 64, 0, 0, 0},
        {"sprint 3 steps with intermediate", "num_inference_steps != 2", 3, 64, 64, 1, 1, 0},
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        sana_pipeline *p = tab[i].sprint_pag ? sprint : t2i;
        sana_generate_params_default(&g, p);
        g.prompt = "x";
        g.num_inference_steps = tab[i].steps;
        g.height = tab[i].h;
        g.width = tab[i].w;
        g.num_images_per_prompt = tab[i].nimg;
        g.use_resolution_binning = tab[i].bin;
        int rc = sana_generate(p, &g, &r);
        int ok = rc != 0 && strstr(sana_last_error(), tab[i].needle) && !r.images && !r.latents;
        printf("%s: rejects %s: %s\n", ok ? "ok  " : "FAIL", tab[i].what, sana_last_error());
        if (!ok) golden_fail("%s not rejected as expected", tab[i].what);
    }
    /* invalid UTF-8 prompt */
    sana_generate_params_default(&g, t2i);
    g.prompt = "bad \xff\xfe utf-8";
    g.num_inference_steps = 1;
    g.height = g.width = 64;
    int rc = sana_generate(t2i, &g, &r);
    printf("%s: rejects invalid UTF-8: %s\n", rc ? "ok  " : "FAIL", sana_last_error());
    if (!rc) golden_fail("invalid UTF-8 accepted");
    /* latents of the wrong size */
    float lat[7] = {0};
    sana_generate_params_default(&g, t2i);
    g.prompt = "x";
    g.num_inference_steps = 1;
    g.height = g.width = 64;
    g.use_resolution_binning = 0;
    g.latents = lat;
    g.latents_numel = 7;
    rc = sana_generate(t2i, &g, &r);
    int ok = rc && strstr(sana_last_error(), "latents");
    printf("%s: rejects latents of the wrong shape: %s\n", ok ? "ok  " : "FAIL", sana_last_error());
    if (!ok) golden_fail("wrong latents accepted");
    /* PAG layer that does not exist */
    if (pag) {
        sana_generate_params_default(&g, pag);
        g.prompt = "x";
        g.num_inference_steps = 1;
        g.height = g.width = 64;
        g.pag_applied_layers = "transformer_blocks.7";
        rc = sana_generate(pag, &g, &r);
        ok = rc && strstr(sana_last_error(), "Cannot find PAG layer");
        printf("%s: rejects a missing PAG layer: %s\n", ok ? "ok  " : "FAIL", sana_last_error());
        if (!ok) golden_fail("missing PAG layer accepted");
    }
    /* PAG layer matching as diffusers: "blocks.1" also matches transformer_blocks.1x */
    int layers[32], n = 0;
    ok = sana_pag_layers("transformer_blocks.1", 12, layers, &n) == SANA_OK && n == 3 && layers[0] == 1 &&
         layers[1] == 10 && layers[2] == 11;
    ok = ok && sana_pag_layers("transformer_blocks.(2|4), transformer_blocks.0", 12, layers, &n) == SANA_OK && n == 3 &&
         layers[0] == 0 && layers[1] == 2 && layers[2] == 4;
    printf("%s: PAG layer patterns resolve as in diffusers\n", ok ? "ok  " : "FAIL");
    if (!ok) golden_fail("PAG layer patterns");
}

/* low_memory: the text encoder is loaded for each encoding and released after it; two generations
 * in a row give the golden result both times. */
static void check_low_memory(void)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/ckpt/sana-tiny", golden_dir());
    sana_load_options lo = {.low_memory = 1, .backend = backend};
    sana_pipeline *p = NULL;
    if (sana_pipeline_load(&p, dir, &lo) != 0) {
        golden_fail("low-memory load: %s", sana_last_error());
        return;
    }
    golden *g = golden_open("pipeline/e2e_nocfg.safetensors");
    for (int run = 0; run < 2; run++) {
        sana_generate_params gp;
        sana_generate_params_default(&gp, p);
        gp.prompt = "a cup of coffee on a wooden table";
        gp.num_inference_steps = 2;
        gp.guidance_scale = 1.0;
        gp.height = 128;
        gp.width = 96;
        gp.use_resolution_binning = 0;
        gp.seed = 7;
        gp.output_latent = 1;
        sana_result r;
        if (sana_generate(p, &gp, &r) != 0) {
            golden_fail("low-memory generate: %s", sana_last_error());
            break;
        }
        golden_check(g, run ? "low-memory latents (second run)" : "low-memory latents", r.latents,
                     (int64_t)r.batch * r.lat_channels * r.lat_height * r.lat_width, "latents", "pipeline_latents");
        sana_result_free(&r);
    }
    golden_close(g);
    sana_pipeline_free(p);
}

static void check_load_errors(void)
{
    sana_pipeline *p = NULL;
    struct {
        const char *dir, *needle;
    } tab[] = {{"/nonexistent/sana", "no such folder"}, {"/tmp", "model_index.json"}};
    for (int i = 0; i < 2; i++) {
        int rc = sana_pipeline_load(&p, tab[i].dir, NULL);
        int ok = rc && !p && strstr(sana_last_error(), tab[i].needle);
        printf("%s: load %s: %s\n", ok ? "ok  " : "FAIL", tab[i].dir, sana_last_error());
        if (!ok) golden_fail("load %s", tab[i].dir);
    }
}

/* An unknown backend is refused with the compiled ones listed; the default is cpu. */
static void check_backend_option(void)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/ckpt/sana-tiny", golden_dir());
    sana_load_options lo = {.backend = "tpu"};
    sana_pipeline *p = NULL;
    int rc = sana_pipeline_load(&p, dir, &lo);
    int ok = rc == SANA_ERR_ARG && !p && strstr(sana_last_error(), "\"tpu\"") && strstr(sana_last_error(), "ref");
    printf("%s: unknown backend: %s\n", ok ? "ok  " : "FAIL", sana_last_error());
    if (!ok) golden_fail("unknown backend accepted or badly reported");
    const char *name = NULL, *what = NULL;
    ok = !strcmp(sana_backend_default_name(), "cpu") && sana_backend_list(0, &name, &what) && !strcmp(name, "ref") &&
         what && *what && !sana_backend_list(99, &name, &what);
    printf("%s: backends listed, ref first, default %s\n", ok ? "ok  " : "FAIL", sana_backend_default_name());
    if (!ok) golden_fail("sana_backend_list / sana_backend_default_name");
}

/* Every case, the argument checks and the low-memory runs on one backend. */
static void run_backend(int argc, char **argv)
{
    printf("-- backend %s\n", backend);
    for (int i = 0; CASES[i]; i++) {
        if (argc > 1) {
            int want = 0;
            for (int k = 1; k < argc; k++) want |= !strcmp(argv[k], CASES[i]);
            if (!want) continue;
        }
        run_case(CASES[i]);
    }
    if (t2i && argc <= 1) {
        /* the cases run one after another on one pipeline: a repeated negative prompt is encoded once,
         * and the goldens above passed with the reused embeddings */
        int reused = t2i->c->neg_reused;
        printf("%s: [%s] negative prompt embeddings reused by %d generations\n", reused > 0 ? "ok  " : "FAIL", backend,
               reused);
        if (reused <= 0) golden_fail("the negative prompt cache was never used");
    }
    check_rejects();
    check_low_memory();
    sana_pipeline_free(pag);
    sana_pipeline_free(t2i);
    sana_pipeline_free(sprint);
    sana_pipeline_free(t2i_fp16);
    sana_pipeline_free(cnp);
    pag = t2i = sprint = t2i_fp16 = cnp = NULL;
    sana_pipeline_free(other);
    other = NULL;
    other_ckpt[0] = 0;
}

int main(int argc, char **argv)
{
    const char *name;
    for (int b = 0; sana_backend_list(b, &name, NULL); b++) {
        if (!test_backend_wanted(name)) continue;
        backend = name;
        run_backend(argc, argv);
    }
    check_backend_option();
    check_load_errors();
    added_tokens_cleanup();
    return golden_exit();
}
