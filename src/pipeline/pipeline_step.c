/* src/pipeline/pipeline_step.c -- the sampler of a generation and one step of its denoising loop
 * (diffusers v0.35.2 SanaPipeline / SanaPAGPipeline / SanaSprintPipeline / SanaControlNetPipeline.__call__):
 *   flow samplers (dpm, euler): the model output of the batch at t (T2I: t * timestep_scale; ControlNet:
 *     the ControlNet's block samples first, both models at t unscaled), the learned-sigma half dropped,
 *     guidance (CFG, PAG, both) in float32 in diffusers' order, then scheduler.step;
 *   Sprint (scm): the TrigFlow wrapping of sampler.h around the model, with the guidance embedding
 *     guidance_scale * guidance_embeds_scale; the loop ends with latents = denoised / sigma_data.
 */
#include "pipeline/pipeline_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* retrieve_timesteps: the sampler (scm for Sprint only) and its timesteps. */
sana_status sana_gen_prepare_timesteps(sana_gen *s)
{
    sana_status st = make_sampler(s->c, s->g, &s->smp);
    if (st != SANA_OK) return st;
    if (s->sprint != !strcmp(sana_sampler_kind(s->smp), "scm"))
        return sana_err(SANA_ERR_ARG, "%s and %s run with the scm sampler only, and scm only with them",
                        sana_kind_class[SANA_PIPELINE_SPRINT], sana_kind_class[SANA_PIPELINE_SPRINT_IMG2IMG]);
    if ((st = sana_sampler_set_timesteps(s->smp, s->g->num_inference_steps, &s->sopt)) != SANA_OK) return st;
    return s->img2img ? sana_gen_img2img_timesteps(s) : SANA_OK;
}

/* Sprint: guidance = full(guidance_scale) (float32) * guidance_embeds_scale. */
void sana_gen_guidance_embeds(sana_gen *s)
{
    if (!s->sprint) return;
    float gv = (float)s->g->guidance_scale * (float)s->dc->guidance_embeds_scale;
    for (int64_t i = 0; i < s->Bm; i++) s->guid[i] = gv;
}

/* Sprint step i: x_in = the TrigFlow input, the model with the guidance embedding, its output
 * wrapped back, then scheduler.step. */
static sana_status step_scm(sana_gen *s, int i)
{
    double scm_t = 0;
    sana_status st = sana_scm_model_input(s->smp, i, s->lat, s->xin, s->nlat, &scm_t);
    if (st != SANA_OK) return st;
    for (int64_t k = 0; k < s->Bm; k++) s->tstep[k] = (float)scm_t;
    if ((st = sana_dit_forward(s->c->dit, s->pred, s->xin, s->Bm, s->h, s->w, s->tstep, s->enc, s->mask, s->L,
                               s->guid, NULL)) != SANA_OK)
        return st;
    if ((st = sana_scm_model_output(s->smp, i, s->xin, s->pred, s->nlat)) != SANA_OK) return st;
    return sana_sampler_step(s->smp, s->pred, s->lat, s->nlat, s->rng);
}

/* The model output of the batch at t: [Bm, C, h, w] in pred (learned sigma dropped). */
static sana_status model_output(sana_gen *s, double t)
{
    const int64_t C = s->C, cout = s->cout, nper = C * s->h * s->w; /* nper: one image's latents */
    sana_dit_pag pag = {s->npag, s->pag_layers, (s->do_cfg ? 2 : 1) * s->nimg};
    /* SanaPipeline: t * transformer.config.timestep_scale; SanaPAGPipeline and SanaControlNetPipeline pass
     * t as it is */
    float tm = s->p->kind == SANA_PIPELINE_T2I ? (float)t * (float)s->dc->timestep_scale : (float)t;
    for (int64_t k = 0; k < s->Bm; k++) s->tstep[k] = tm;
    for (int k = 0; k < s->ncopy; k++) memcpy(s->xin + k * s->nlat, s->lat, sizeof(float) * (size_t)s->nlat);
    sana_status st = SANA_OK;
    int nsamples = 0;
    if (s->control) { /* controlnet(latent_model_input, prompt_embeds, t, controlnet_cond, conditioning_scale) */
        nsamples = (int)sana_controlnet_get_config(s->c->cn)->num_layers;
        st = sana_controlnet_forward(s->c->cn, s->cn_samples, s->xin, s->cond, s->Bm, s->h, s->w, s->tstep, s->enc,
                                     s->mask, s->L, s->g->controlnet_conditioning_scale);
    }
    if (st == SANA_OK)
        st = sana_dit_forward_controlnet(s->c->dit, s->pred, s->xin, s->Bm, s->h, s->w, s->tstep, s->enc, s->mask,
                                         s->L, NULL, s->do_pag ? &pag : NULL, s->control ? s->cn_samples : NULL,
                                         nsamples);
    if (st != SANA_OK) return st;
    /* learned sigma (SanaPipeline, SanaControlNetPipeline): keep the first in_channels of 2 * in_channels outputs */
    if ((s->p->kind == SANA_PIPELINE_T2I || s->control) && cout / 2 == C) {
        for (int64_t k = 0; k < s->Bm; k++)
            memmove(s->pred + k * nper, s->pred + k * 2 * nper, sizeof(float) * (size_t)nper);
    } else if (cout != C) {
        return sana_err(SANA_ERR_UNSUPPORTED, "%s: out_channels %lld with in_channels %lld", s->c->dir,
                        (long long)cout, (long long)C);
    }
    return SANA_OK;
}

/* PAGMixin._get_pag_scale and _apply_perturbed_attention_guidance: pred -> noise. */
static void guide_pag(sana_gen *s, double t)
{
    const sana_generate_params *g = s->g;
    const int64_t nlat = s->nlat;
    float ps = (float)g->pag_scale;
    if (g->pag_adaptive_scale > 0) {
        ps = (float)g->pag_scale - (float)g->pag_adaptive_scale * (float)(1000.0 - t);
        if (ps < 0) ps = 0;
    }
    float gs = (float)g->guidance_scale;
    if (s->do_cfg) {
        const float *un = s->pred, *tx = s->pred + nlat, *pt = s->pred + 2 * nlat;
        for (int64_t k = 0; k < nlat; k++) {
            float a = un[k] + gs * (tx[k] - un[k]);
            s->noise[k] = a + ps * (tx[k] - pt[k]);
        }
    } else {
        const float *tx = s->pred, *pt = s->pred + nlat;
        for (int64_t k = 0; k < nlat; k++) s->noise[k] = tx[k] + ps * (tx[k] - pt[k]);
    }
}

/* noise_pred_uncond + guidance_scale * (noise_pred_text - noise_pred_uncond): pred -> noise. */
static void guide_cfg(sana_gen *s)
{
    float gs = (float)s->g->guidance_scale;
    const float *un = s->pred, *tx = s->pred + s->nlat;
    for (int64_t k = 0; k < s->nlat; k++) s->noise[k] = un[k] + gs * (tx[k] - un[k]);
}

/* Flow step i: the model output, its guidance, scheduler.step. */
static sana_status step_flow(sana_gen *s, int i)
{
    double t = sana_sampler_timestep(s->smp, i);
    sana_status st = model_output(s, t);
    if (st != SANA_OK) return st;
    float *guided = s->pred;
    if (s->do_pag) {
        guide_pag(s, t);
        guided = s->noise;
    } else if (s->do_cfg) {
        guide_cfg(s);
        guided = s->noise;
    }
    return sana_sampler_step(s->smp, guided, s->lat, s->nlat, s->rng);
}

sana_status sana_gen_step(sana_gen *s, int i)
{
    return s->sprint ? step_scm(s, i) : step_flow(s, i);
}

/* Sprint: latents = denoised / sigma_data. */
void sana_gen_final_latents(sana_gen *s)
{
    if (!s->sprint) return;
    const float *den = sana_sampler_denoised(s->smp);
    float sd = (float)sana_sampler_sigma_data(s->smp);
    for (int64_t k = 0; k < s->nlat; k++) s->lat[k] = den[k] / sd;
}
