/* src/pipeline/pipeline_generate.c -- sana_generate: SanaPipeline, SanaPAGPipeline, SanaSprintPipeline and
 * SanaSprintImg2ImgPipeline and SanaControlNetPipeline .__call__ (diffusers v0.35.2), as a sequence of its
 * phases (see doc/pipeline.md and pipeline_impl.h; img2img's own steps are in pipeline_img2img.c):
 *   1. check_inputs, in the order diffusers checks them; binning of the size (pipeline_latents.c);
 *   2. encode_prompt: prompt (with the complex human instruction) and, with CFG, the negative
 *      prompt (without it), each repeated num_images_per_prompt times; CFG batch = [neg, pos];
 *      PAG batch = [neg, pos, pos] (with CFG) or [pos, pos] (pipeline_encode.c);
 *   2b. ControlNet: the control image resized to the generated size and VAE-encoded (pipeline_control.c);
 *   3. retrieve_timesteps, then latents = randn([n, C, H/32, W/32]) from
 *      torch.Generator("cpu").manual_seed(seed) (Sprint: times sigma_data) (pipeline_latents.c);
 *      img2img: get_timesteps drops the steps strength does not keep, and the latents are the encoded
 *      image noised to the first kept timestep (pipeline_img2img.c);
 *   4. for each timestep: model output of the batch, guidance, sampler step
 *      (Sprint: the TrigFlow wrapping of sampler.h around the model) (pipeline_step.c);
 *   5. latents / scaling_factor -> DC-AE decode -> resize_and_crop back to the asked size
 *      (when binned) -> (x/2 + 0.5).clamp(0, 1) -> round(x * 255) as uint8 (pipeline_decode.c).
 * Scalars that diffusers applies to float32 tensors are applied in float32 here, in its order.
 */
#define _POSIX_C_SOURCE 200809L
#include "pipeline/pipeline_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void sana_generate_params_default(sana_generate_params *g, const sana_pipeline *p)
{
    memset(g, 0, sizeof *g);
    g->negative_prompt = "";
    g->num_inference_steps = p && sana_kind_sprint(p->kind) ? 2 : 20;
    g->guidance_scale = 4.5;
    g->num_images_per_prompt = 1;
    g->use_resolution_binning = 1;
    g->max_sequence_length = 300;
    g->chi_mode = SANA_CHI_DEFAULT;
    g->pag_scale = 3.0;
    g->pag_adaptive_scale = 0.0;
    g->max_timesteps = 1.57080;
    g->intermediate_timesteps = 1.3;
    g->strength = 0.6; /* SanaSprintImg2ImgPipeline.__call__(strength=0.6) */
    g->controlnet_conditioning_scale = 1.0;
}

void sana_result_free(sana_result *r)
{
    if (!r) return;
    free(r->images);
    free(r->latents);
    memset(r, 0, sizeof *r);
}

double sana_gen_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void sana_gen_report(const sana_gen *s, sana_phase ph, int step, int nsteps, double t_phase)
{
    const sana_generate_params *g = s->g;
    if (!g || !g->progress) return;
    sana_progress pr = {ph, step, nsteps, sana_gen_now() - t_phase, sana_gen_now() - s->t_start};
    g->progress(g->progress_user, &pr);
}

/* ------------------------------------------------------------------ check_inputs */

/* The scalar arguments common to the pipelines. */
static sana_status check_args(const sana_generate_params *g)
{
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
    return SANA_OK;
}

/* SanaPAGPipeline: the scales and the PAG layers (PAGMixin._set_pag_attn_processor). */
static sana_status check_pag(sana_gen *s)
{
    const sana_generate_params *g = s->g;
    if (s->p->kind != SANA_PIPELINE_PAG) return SANA_OK;
    if (!isfinite(g->pag_scale) || !isfinite(g->pag_adaptive_scale))
        return sana_err(SANA_ERR_ARG, "pag_scale and pag_adaptive_scale must be finite numbers");
    s->pag_layers = malloc(sizeof(int) * (size_t)(s->dc->num_layers + 1));
    if (!s->pag_layers) return sana_err(SANA_ERR_NOMEM, "out of memory");
    sana_status st = sana_pag_layers(g->pag_applied_layers, (int)s->dc->num_layers, s->pag_layers, &s->npag);
    if (st != SANA_OK) return st;
    s->do_pag = g->pag_scale > 0 && s->npag > 0; /* PAGMixin.do_perturbed_attention_guidance */
    return SANA_OK;
}

/* SanaSprintPipeline.check_inputs, and the SCM timesteps it asks for. */
static sana_status check_sprint(sana_gen *s)
{
    const sana_generate_params *g = s->g;
    if (!s->sprint) return SANA_OK;
    if (!isfinite(g->max_timesteps)) return sana_err(SANA_ERR_ARG, "max_timesteps must be a finite number");
    if (!g->intermediate_unset && g->num_inference_steps != 2)
        return sana_err(SANA_ERR_ARG, "Intermediate timesteps for SCM is not supported when "
                        "num_inference_steps != 2 (%d steps: unset intermediate_timesteps)",
                        g->num_inference_steps);
    s->sopt.scm_max_set = 1;
    s->sopt.scm_max_timesteps = g->max_timesteps;
    s->sopt.scm_intermediate_set = g->intermediate_unset ? -1 : 1;
    s->sopt.scm_intermediate_timesteps = g->intermediate_timesteps;
    return SANA_OK;
}

/* The given latents and prompt_embeds against the shapes of this generation; sets L. */
static sana_status check_given(sana_gen *s)
{
    const sana_generate_params *g = s->g;
    if (g->latents && g->latents_numel != s->nlat)
        return sana_err(SANA_ERR_ARG, "the given latents have %lld values; this generation needs [%lld, %lld, %lld, %lld]"
                        " = %lld (the size after binning is %dx%d)", (long long)g->latents_numel, (long long)s->nimg,
                        (long long)s->C, (long long)s->h, (long long)s->w, (long long)s->nlat, s->gw, s->gh);
    s->L = g->max_sequence_length;
    if (!g->prompt_embeds) return SANA_OK;
    if (g->prompt_embeds_len < 1 || !g->prompt_attention_mask)
        return sana_err(SANA_ERR_ARG, "prompt_embeds need their prompt_attention_mask");
    s->L = g->prompt_embeds_len;
    if (g->prompt_embeds_dim != s->dc->caption_channels)
        return sana_err(SANA_ERR_ARG, "prompt_embeds are %d wide; this transformer takes caption_channels = %lld",
                        g->prompt_embeds_dim, (long long)s->dc->caption_channels);
    if (s->do_cfg && s->L != g->max_sequence_length)
        return sana_err(SANA_ERR_ARG, "prompt_embeds have %lld tokens but the negative prompt is encoded to "
                        "max_sequence_length %d: they must agree for classifier-free guidance",
                        (long long)s->L, g->max_sequence_length);
    return SANA_OK;
}

/* check_inputs in the order diffusers checks them, and the shapes of the generation. */
static sana_status check_inputs(sana_gen *s)
{
    const sana_generate_params *g = s->g;
    sana_status st = check_args(g);
    if (st != SANA_OK) return st;
    if ((st = sana_gen_size(s->p, g, &s->height, &s->width, &s->gh, &s->gw)) != SANA_OK) return st;
    s->do_cfg = !s->sprint && g->guidance_scale > 1.0;
    if ((st = check_pag(s)) != SANA_OK || (st = check_sprint(s)) != SANA_OK) return st;
    if ((st = sana_gen_check_img2img(s)) != SANA_OK) return st;
    if ((st = sana_gen_check_control(s)) != SANA_OK) return st;
    s->nimg = g->num_images_per_prompt;
    s->C = s->dc->in_channels;
    s->h = s->gh / s->c->vae_scale;
    s->w = s->gw / s->c->vae_scale;
    s->nlat = s->nimg * s->C * s->h * s->w;
    if ((st = check_given(s)) != SANA_OK) return st;
    s->D = s->dc->caption_channels;
    /* copies of the batch: 1, CFG 2 [neg, pos], PAG 2 [pos, pos], CFG+PAG 3 [neg, pos, pos] */
    s->ncopy = 1 + (s->do_cfg ? 1 : 0) + (s->do_pag ? 1 : 0);
    s->Bm = s->ncopy * s->nimg;
    s->cout = s->dc->out_channels;
    return SANA_OK;
}

/* ------------------------------------------------------------------ the driver */

static sana_status gen_alloc(sana_gen *s)
{
    const int64_t hw = s->h * s->w;
    s->lat = malloc(sizeof(float) * (size_t)s->nlat);
    s->xin = malloc(sizeof(float) * (size_t)(s->Bm * s->C * hw));
    s->pred = malloc(sizeof(float) * (size_t)(s->Bm * s->cout * hw));
    s->noise = malloc(sizeof(float) * (size_t)s->nlat);
    s->enc = malloc(sizeof(float) * (size_t)(s->Bm * s->L * s->D));
    s->mask = malloc(sizeof(float) * (size_t)(s->Bm * s->L));
    s->tstep = malloc(sizeof(float) * (size_t)s->Bm);
    s->guid = malloc(sizeof(float) * (size_t)s->Bm);
    if (s->control) {
        const sana_dit_config *cc = sana_controlnet_get_config(s->c->cn);
        const int64_t D = cc->num_attention_heads * cc->attention_head_dim, p = cc->patch_size;
        s->cond = malloc(sizeof(float) * (size_t)(s->Bm * s->C * hw));
        s->cn_samples = malloc(sizeof(float) * (size_t)((cc->num_layers > 0 ? cc->num_layers : 1) * s->Bm *
                                                        (s->h / p) * (s->w / p) * D));
        if (!s->cond || !s->cn_samples) return sana_err(SANA_ERR_NOMEM, "out of memory for a %dx%d generation", s->gw, s->gh);
    }
    if (!s->lat || !s->xin || !s->pred || !s->noise || !s->enc || !s->mask || !s->tstep || !s->guid)
        return sana_err(SANA_ERR_NOMEM, "out of memory for a %dx%d generation", s->gw, s->gh);
    return SANA_OK;
}

static void gen_free(sana_gen *s)
{
    free(s->pag_layers);
    free(s->lat);
    free(s->xin);
    free(s->noise);
    free(s->enc);
    free(s->mask);
    free(s->tstep);
    free(s->guid);
    free(s->pred);
    free(s->cond);
    free(s->cn_samples);
    sana_sampler_free(s->smp);
    sana_rng_free(s->rng);
}

/* The denoising loop, with a progress report after each step. */
static sana_status denoise(sana_gen *s)
{
    const int nsteps = sana_sampler_num_steps(s->smp);
    sana_gen_guidance_embeds(s);
    for (int i = s->first_step; i < nsteps; i++) { /* img2img: from the first step strength keeps */
        double t0 = sana_gen_now();
        sana_status st = sana_gen_step(s, i);
        if (st != SANA_OK) return st;
        sana_gen_report(s, SANA_PHASE_STEP, i - s->first_step + 1, nsteps - s->first_step, t0);
    }
    sana_gen_final_latents(s);
    return SANA_OK;
}

/* The final latents and the sizes into out (out owns the latents from here). */
static void take_latents(sana_gen *s, sana_result *out)
{
    out->batch = (int)s->nimg;
    out->lat_channels = (int)s->C;
    out->lat_height = (int)s->h;
    out->lat_width = (int)s->w;
    out->gen_height = s->gh;
    out->gen_width = s->gw;
    out->height = s->height;
    out->width = s->width;
    out->latents = s->lat;
    s->lat = NULL;
}

int sana_generate(sana_pipeline *p, const sana_generate_params *g, sana_result *out)
{
    memset(out, 0, sizeof *out);
    sana_err_clear();
    sana_gen s;
    memset(&s, 0, sizeof s);
    s.p = p;
    s.c = p->c;
    s.dc = p->c->dc;
    s.g = g;
    s.sprint = sana_kind_sprint(p->kind);
    s.img2img = p->kind == SANA_PIPELINE_SPRINT_IMG2IMG;
    s.control = p->kind == SANA_PIPELINE_CONTROLNET;
    s.t_start = sana_gen_now();

    sana_status st = check_inputs(&s);
    if (st == SANA_OK) st = gen_alloc(&s);
    if (st == SANA_OK) st = sana_gen_encode_prompt(&s);
    /* The weights are memory-mapped read-only: once a phase is done with a model, its file pages go
     * back to the kernel (they stay in the page cache, and the model's next phase faults them in
     * again), so the peak resident memory is that of the largest phase, not of all models at once. */
    sana_st_set_release_pages(sana_text_encoder_tensors(s.c->te));
    if (st == SANA_OK) st = sana_gen_prepare_control(&s);
    if (st == SANA_OK) st = sana_gen_prepare_timesteps(&s);
    if (st == SANA_OK) st = sana_gen_prepare_latents(&s);
    if (s.img2img || s.control) sana_st_set_release_pages(sana_dcae_tensors(s.c->vae)); /* the VAE encoder has run */
    if (st == SANA_OK) st = denoise(&s);
    /* before the decode's buffers come (sana_dit_release_activations) */
    sana_dit_release_activations(s.c->dit);
    sana_controlnet_release_activations(s.c->cn);
    sana_st_set_release_pages(sana_dit_tensors(s.c->dit));
    sana_st_set_release_pages(sana_controlnet_tensors(s.c->cn));
    if (st == SANA_OK) take_latents(&s, out);
    if (st == SANA_OK && !g->output_latent) st = sana_gen_decode(&s, out);
    sana_st_set_release_pages(sana_dcae_tensors(s.c->vae));
    gen_free(&s);
    if (st != SANA_OK) sana_result_free(out);
    return st;
}
