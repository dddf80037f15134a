/* src/cli/generate.c -- `sana generate`: text to image (and, with --image, image to image), in its phases:
 * check the arguments, read every input file before the model is loaded (bad input fails fast: the init
 * and control images too), load (and derive a PAG or Sprint img2img pipeline; --controlnet makes a
 * SanaControlNetPipeline), fill the generation parameters, then for each prompt generate and write the
 * outputs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sana.h"
#include "cli/cli.h"

/* What the input files hold. */
typedef struct {
    char **prompts, **chi;  /* --prompt-file lines, --chi lines */
    int nprompts, nchi;
    sana_chi_mode chi_mode;
    float *lat;             /* --latents [B, C, h, w] */
    int64_t lat_shape[4];
    float *emb, *embm;      /* --prompt-embeds: [L, D] and mask [L] */
    int emb_len, emb_dim;
    uint8_t *image;         /* --image [image_h, image_w, 3] RGB, as diffusers' load_image */
    int image_w, image_h;
    uint8_t *control;       /* --control-image [h, w, 3] RGB */
    int control_w, control_h;
} gen_inputs;

/* One run over the prompts. */
typedef struct {
    const cli_opts *o;
    gen_inputs in;
    sana_pipeline *base, *pipe; /* pipe: base, or a PAG pipeline derived from it */
    sana_pipeline_kind kind;
    sana_generate_params g;
    int nrun, many, k;          /* prompts, several outputs, images written */
} gen_run;

/* ------------------------------------------------------------------ progress */

static void on_progress(void *user, const sana_progress *p)
{
    static double sum;
    static int count;
    (void)user;
    switch (p->phase) {
    case SANA_PHASE_ENCODE: cli_say("encode: %.2f s", p->seconds); break;
    case SANA_PHASE_STEP: {
        if (p->step == 1) sum = 0, count = 0;
        sum += p->seconds;
        count++;
        double per = sum / count;
        cli_say("step %d/%d: %.2f s/it, ETA %.1f s", p->step, p->nsteps, per, per * (p->nsteps - p->step));
        break;
    }
    case SANA_PHASE_DECODE: cli_say("decode: %.2f s", p->seconds); break;
    }
}

/* ------------------------------------------------------------------ inputs */

static int check_args(cli_opts *o)
{
    if (!o->prompt && !o->prompt_file && !o->embeds_file)
        return cli_usage_fail("no prompt: give -p PROMPT, --prompt-file FILE or --prompt-embeds FILE");
    if ((o->prompt != NULL) + (o->prompt_file != NULL) + (o->embeds_file != NULL) > 1)
        return cli_fail("give only one of --prompt, --prompt-file, --prompt-embeds");
    if (o->strength_set && !o->image_file) return cli_fail("--strength applies to image to image only: give --image FILE");
    if (!o->output) o->output = !strcmp(o->otype, "latent") ? "latents.safetensors" : "sana.png";
    return cli_prepare(o);
}

/* prompt_embeds [1, L, D] or [L, D] and prompt_attention_mask of L values. */
static int read_embeds(const char *path, gen_inputs *in)
{
    int64_t se[SANA_TENSOR_MAX_DIMS], sm[SANA_TENSOR_MAX_DIMS];
    int nde = 0, ndm = 0;
    if (sana_tensor_read_f32(path, "prompt_embeds", &in->emb, &nde, se) != 0 ||
        sana_tensor_read_f32(path, "prompt_attention_mask", &in->embm, &ndm, sm) != 0)
        return cli_fail("%s", sana_last_error());
    if (!((nde == 3 && se[0] == 1) || nde == 2)) return cli_fail("%s: prompt_embeds must be [1, L, D] or [L, D]", path);
    int64_t nmask = 1;
    for (int i = 0; i < ndm; i++) nmask *= sm[i];
    if (nmask != se[nde - 2])
        return cli_fail("%s: prompt_attention_mask has %lld values, prompt_embeds %lld tokens", path,
                        (long long)nmask, (long long)se[nde - 2]);
    in->emb_len = (int)se[nde - 2];
    in->emb_dim = (int)se[nde - 1];
    return 0;
}

static int read_inputs(const cli_opts *o, gen_inputs *in)
{
    if (o->prompt_file) {
        if (cli_read_lines(o->prompt_file, &in->prompts, &in->nprompts, 1)) return 1;
        if (in->nprompts == 0) return cli_fail("%s: no prompts in the file", o->prompt_file);
    }
    if (cli_read_chi(o->chi_file, &in->chi_mode, &in->chi, &in->nchi)) return 1;
    if (o->latents_file && cli_read_latents(o->latents_file, &in->lat, in->lat_shape)) return 1;
    if (o->embeds_file && read_embeds(o->embeds_file, in)) return 1;
    if (o->image_file && sana_image_read_png(o->image_file, &in->image, &in->image_w, &in->image_h) != 0)
        return cli_fail("--image: %s", sana_last_error());
    if (o->control_image && sana_image_read_png(o->control_image, &in->control, &in->control_w, &in->control_h) != 0)
        return cli_fail("--control-image %s", sana_last_error());
    return 0;
}

static void inputs_free(gen_inputs *in)
{
    cli_free_lines(in->prompts, in->nprompts);
    cli_free_lines(in->chi, in->nchi);
    free(in->lat);
    free(in->emb);
    free(in->embm);
    free(in->image);
    free(in->control);
}

/* ------------------------------------------------------------------ load, parameters */

/* --image: SanaSprintImg2ImgPipeline, over the components of a SanaSprintPipeline folder (diffusers'
 * SanaSprintImg2ImgPipeline(**pipe.components)); a SanaSprintImg2ImgPipeline folder needs --image. */
static int load_img2img(gen_run *run)
{
    const cli_opts *o = run->o;
    if (!o->image_file) {
        if (run->kind == SANA_PIPELINE_SPRINT_IMG2IMG)
            return cli_fail("%s is a SanaSprintImg2ImgPipeline: give the init image with --image FILE", o->model);
        return 0;
    }
    if (run->kind == SANA_PIPELINE_SPRINT) {
        if (sana_pipeline_derive(&run->pipe, run->base, SANA_PIPELINE_SPRINT_IMG2IMG) != 0) {
            run->pipe = run->base;
            return cli_fail("%s", sana_last_error());
        }
        run->kind = SANA_PIPELINE_SPRINT_IMG2IMG;
    } else if (run->kind != SANA_PIPELINE_SPRINT_IMG2IMG) {
        return cli_fail("--image %s: image to image needs a SANA-Sprint checkpoint (SanaSprintPipeline or "
                        "SanaSprintImg2ImgPipeline); %s is a %s", o->image_file, o->model,
                        sana_pipeline_class_name(run->base));
    }
    return 0;
}

/* The checkpoint's pipeline, or SanaPAGPipeline over its components for --pag-scale > 0 on a
 * SanaPipeline, or SanaSprintImg2ImgPipeline for --image; the options that need another kind are
 * refused here. */
static int load(gen_run *run)
{
    const cli_opts *o = run->o;
    int r = cli_load_pipeline(o, &run->base);
    if (r) return r;
    run->pipe = run->base;
    run->kind = sana_pipeline_get_kind(run->base);
    if (run->kind == SANA_PIPELINE_T2I && o->pag_set && o->pag > 0) {
        if (sana_pipeline_derive(&run->pipe, run->base, SANA_PIPELINE_PAG) != 0) {
            run->pipe = run->base;
            return cli_fail("%s", sana_last_error());
        }
        run->kind = SANA_PIPELINE_PAG;
    } else if (run->kind == SANA_PIPELINE_CONTROLNET && (o->pag_set || o->pag_layers) && !(o->pag_set && o->pag == 0)) {
        return cli_fail("--pag-scale / --pag-applied-layers: diffusers 0.35.2 has no PAG variant of "
                        "SanaControlNetPipeline");
    } else if (run->kind != SANA_PIPELINE_PAG && (o->pag_set || o->pag_layers) && !(o->pag_set && o->pag == 0)) {
        return cli_fail("--pag-scale / --pag-applied-layers need a SanaPipeline or SanaPAGPipeline checkpoint");
    }
    if ((r = load_img2img(run)) != 0) return r;
    if (run->kind == SANA_PIPELINE_CONTROLNET && !o->control_image)
        return cli_usage_fail("%s is a SanaControlNetPipeline: give --control-image FILE (see sana --help)", o->model);
    if (run->kind != SANA_PIPELINE_CONTROLNET && (o->control_image || o->cn_scale_set))
        return cli_fail("--control-image / --controlnet-conditioning-scale need a ControlNet: %s is a %s (give "
                        "--controlnet DIR, or a SanaControlNetPipeline folder)", o->model, sana_pipeline_class_name(run->base));
    int sprint = run->kind == SANA_PIPELINE_SPRINT || run->kind == SANA_PIPELINE_SPRINT_IMG2IMG;
    if (!sprint && (o->maxt_set || o->inter_set))
        return cli_fail("--max-timesteps / --intermediate-timesteps apply to SanaSprintPipeline checkpoints only");
    return 0;
}

/* The options given and the input files, over diffusers' defaults for the pipeline's kind. */
static void fill_params(gen_run *run)
{
    const cli_opts *o = run->o;
    const gen_inputs *in = &run->in;
    sana_generate_params *g = &run->g;
    sana_generate_params_default(g, run->pipe);
    if (o->negative) g->negative_prompt = o->negative;
    if (o->steps_set) g->num_inference_steps = o->steps;
    if (o->cfg_set) g->guidance_scale = o->cfg;
    g->num_images_per_prompt = o->nimg;
    g->height = o->height;
    g->width = o->width;
    g->use_resolution_binning = !o->nobin;
    g->max_sequence_length = o->maxseq;
    g->chi_mode = in->chi_mode;
    g->chi = (const char *const *)in->chi;
    g->nchi = in->nchi;
    g->seed = o->seed;
    if (o->pag_set) g->pag_scale = o->pag;
    g->pag_adaptive_scale = o->pag_ada;
    g->pag_applied_layers = o->pag_layers;
    if (o->maxt_set) g->max_timesteps = o->maxt;
    if (o->inter_set) g->intermediate_unset = o->inter_none;
    if (o->inter_set && !o->inter_none) g->intermediate_timesteps = o->inter;
    g->scheduler = o->scheduler;
    g->flow_shift = o->shift;
    g->output_latent = !strcmp(o->otype, "latent");
    g->tiled_decode = o->tiled;
    g->progress = on_progress;
    if (in->lat) {
        g->latents = in->lat;
        g->latents_numel = in->lat_shape[0] * in->lat_shape[1] * in->lat_shape[2] * in->lat_shape[3];
    }
    if (in->image) {
        g->image = in->image;
        g->image_width = in->image_w;
        g->image_height = in->image_h;
    }
    if (o->strength_set) g->strength = o->strength;
    if (in->control) {
        g->control_image = in->control;
        g->control_image_width = in->control_w;
        g->control_image_height = in->control_h;
    }
    if (o->cn_scale_set) g->controlnet_conditioning_scale = o->cn_scale;
    if (in->emb) {
        g->prompt_embeds = in->emb;
        g->prompt_attention_mask = in->embm;
        g->prompt_embeds_len = in->emb_len;
        g->prompt_embeds_dim = in->emb_dim;
    }
}

/* --latents must have the shape of this generation's latents (after binning). */
static int check_latents_fit(const gen_run *run)
{
    int64_t want[4];
    const int64_t *s = run->in.lat_shape;
    if (sana_latent_shape(run->pipe, &run->g, want) != 0) return cli_fail("%s", sana_last_error());
    if (memcmp(want, s, sizeof want) == 0) return 0;
    return cli_fail("%s: latents of shape [%lld, %lld, %lld, %lld] do not fit: this generation needs "
                    "[%lld, %lld, %lld, %lld]", run->o->latents_file, (long long)s[0], (long long)s[1],
                    (long long)s[2], (long long)s[3], (long long)want[0], (long long)want[1], (long long)want[2],
                    (long long)want[3]);
}

/* ------------------------------------------------------------------ outputs */

/* --output-type latent: one safetensors file per prompt with the tensor "latents". */
static int write_latents(gen_run *run, const sana_result *res, int i)
{
    char *path = cli_numbered(run->o->output, i + 1, run->nrun > 1);
    if (!path) return cli_fail("out of memory");
    sana_tensor t = {"latents", SANA_TENSOR_F32, 4, {res->batch, res->lat_channels, res->lat_height, res->lat_width},
                     res->latents};
    char producer[64];
    snprintf(producer, sizeof producer, "sana %s", sana_version());
    const char *meta[] = {"prompt", run->g.prompt ? run->g.prompt : "", "producer", producer};
    double t0 = cli_now();
    int rc = 0;
    if (sana_tensor_write(path, &t, 1, meta, 2) != 0) rc = cli_fail("%s", sana_last_error());
    else cli_say("write: %s [%d, %d, %d, %d] (%.2f s)", path, res->batch, res->lat_channels, res->lat_height,
                 res->lat_width, cli_now() - t0);
    free(path);
    run->k += res->batch;
    return rc;
}

/* The A1111 "parameters" text stored in each PNG (malloc'd). */
static char *image_parameters(const gen_run *run, const sana_result *res)
{
    const sana_generate_params *g = &run->g;
    const char *model = strrchr(run->o->model, '/');
    model = model && model[1] ? model + 1 : run->o->model;
    char extra[256] = "";
    if (run->kind == SANA_PIPELINE_PAG)
        snprintf(extra, sizeof extra, "PAG scale: %g, PAG layers: %s", g->pag_scale,
                 g->pag_applied_layers ? g->pag_applied_layers : "transformer_blocks.0");
    if (run->kind == SANA_PIPELINE_SPRINT_IMG2IMG) /* the A1111 img2img key */
        snprintf(extra, sizeof extra, "Denoising strength: %g", g->strength);
    if (run->kind == SANA_PIPELINE_CONTROLNET) {
        const char *ci = strrchr(run->o->control_image, '/');
        snprintf(extra, sizeof extra, "ControlNet scale: %g, Control image: %s", g->controlnet_conditioning_scale,
                 ci && ci[1] ? ci + 1 : run->o->control_image);
    }
    const char *sampler = sana_sampler_display_name(run->o->scheduler ? run->o->scheduler : sana_pipeline_sampler(run->pipe));
    const char *negative = run->kind == SANA_PIPELINE_SPRINT || run->kind == SANA_PIPELINE_SPRINT_IMG2IMG ||
                                   g->guidance_scale <= 1 ? NULL : g->negative_prompt;
    return sana_parameters_format(g->prompt ? g->prompt : "(prompt embeddings)", negative, g->num_inference_steps,
                                  sampler, g->guidance_scale, g->seed, res->width, res->height, model, extra);
}

/* One PNG per image of the result, numbered across the whole run when it writes several. */
static int write_images(gen_run *run, const sana_result *res)
{
    char *params = image_parameters(run, res);
    if (!params) return cli_fail("out of memory");
    int rc = 0;
    for (int j = 0; j < res->batch && rc == 0; j++) {
        char *path = cli_numbered(run->o->output, ++run->k, run->many);
        double t0 = cli_now();
        const uint8_t *rgb = res->images + (size_t)j * res->height * res->width * 3;
        if (!path) rc = cli_fail("out of memory");
        else if (sana_image_write_png(path, rgb, res->width, res->height, params) != 0)
            rc = cli_fail("%s", sana_last_error());
        else cli_say("write: %s (%dx%d, %.2f s)", path, res->width, res->height, cli_now() - t0);
        free(path);
    }
    free(params);
    return rc;
}

/* ------------------------------------------------------------------ the run */

static int run_prompt(gen_run *run, int i)
{
    run->g.prompt = run->in.prompts ? run->in.prompts[i] : run->o->prompt;
    if (run->in.lat && check_latents_fit(run)) return 1;
    if (run->in.prompts) cli_say("prompt %d/%d: %s", i + 1, run->nrun, run->g.prompt);
    sana_result res;
    if (sana_generate(run->pipe, &run->g, &res) != 0) return cli_fail("%s", sana_last_error());
    int rc = run->g.output_latent ? write_latents(run, &res, i) : write_images(run, &res);
    sana_result_free(&res);
    return rc;
}

int cmd_generate(int argc, char **argv)
{
    cli_opts o;
    int r = cli_parse(argc, argv, CLI_GENERATE, &o);
    if (r || (r = check_args(&o)) != 0) return r;
    gen_run run;
    memset(&run, 0, sizeof run);
    run.o = &o;
    if ((r = read_inputs(&o, &run.in)) == 0 && (r = load(&run)) == 0) {
        fill_params(&run);
        run.nrun = run.in.prompts ? run.in.nprompts : 1;
        run.many = run.nrun * o.nimg > 1;
        for (int i = 0; i < run.nrun && r == 0; i++) r = run_prompt(&run, i);
    }
    if (run.pipe != run.base) sana_pipeline_free(run.pipe);
    sana_pipeline_free(run.base);
    inputs_free(&run.in);
    return r;
}
