/* src/sampler/sampler.h -- flow-matching samplers of diffusers v0.35.2, step for step.
 *
 * A sampler is a small object with set_timesteps and step; the denoising loop
 * does not know which one it runs. Three kinds, read from the "scheduler"
 * folder's scheduler_config.json ("_class_name"):
 *
 *   "dpm"   DPMSolverMultistepScheduler as SANA configures it (Flow-DPM-Solver:
 *           use_flow_sigmas, flow_shift, prediction_type "flow_prediction",
 *           dpmsolver++ / sde-dpmsolver++, order 1..3, midpoint / heun), and with the
 *           VP sigmas of a beta schedule (timestep_spacing, steps_offset, custom timesteps).
 *   "euler" FlowMatchEulerDiscreteScheduler (shift, dynamic shifting, shift_terminal,
 *           invert_sigmas, stochastic_sampling).
 *   "scm"   SCMScheduler (SANA-Sprint, TrigFlow, 1..4 steps).
 *
 * Every key of the config is either implemented or, when it holds a value we
 * do not implement, rejected with SANA_ERR_UNSUPPORTED and a message naming
 * the file and the key. Keys that diffusers' __init__ does not know are
 * rejected too (diffusers would drop them with a warning). The update rules,
 * written as math, are in doc/samplers.md.
 *
 * Precision: sigmas and timesteps are computed as diffusers does (numpy
 * float64, then float32 where diffusers casts; float32 where the input is a
 * float32 array); step() works on float32 exactly in diffusers' order of
 * operations, with float32 scalar coefficients.
 *
 * ---- How a pipeline drives a sampler -------------------------------------
 *
 * SanaPipeline / SanaPAGPipeline (dpm or euler):
 *     sana_sampler_set_timesteps(s, steps, opts);
 *     latents = randn([B*num_images, C, H/32, W/32]) from the one generator
 *               (one sana_randn call for the whole tensor), times
 *               sana_sampler_init_noise_sigma(s) (1.0; SanaPipeline does not scale);
 *     for i in 0 .. sana_sampler_num_steps(s)-1:
 *         t = sana_sampler_timestep(s, i);            (DPM: an integer; Euler: float32)
 *         model timestep = t * transformer.config.timestep_scale (float32), for each row;
 *         noise_pred = model(latents (x2 for CFG), t) -> .float() -> CFG/PAG -> [B, C, H, W];
 *         sana_sampler_step(s, noise_pred, latents, n, rng);
 *     The rng given to step: for "dpm" with sde-dpmsolver++, the pipeline's
 *     generator (the same sana_rng that drew the latents; diffusers passes
 *     `generator` to step). For "euler" with stochastic_sampling, diffusers
 *     draws with torch.randn_like, i.e. from torch's GLOBAL generator and not
 *     the pipeline's: pass a second sana_rng that stands for
 *     torch.default_generator (seeded with SANA_TORCH_DEFAULT_SEED when the
 *     user did not call torch.manual_seed). Deterministic variants accept NULL.
 *     diffusers starts the step counter at the index of the first timestep
 *     in the schedule (the second index when that timestep occurs twice);
 *     step() does the same on its first call.
 *
 * SanaSprintPipeline (scm): the pipeline calls set_begin_index(0) and wraps
 * each model call in TrigFlow <-> flow conversions (float32 throughout):
 *     sana_sampler_set_timesteps(s, steps, opts);   (opts: max_timesteps, intermediate_timesteps;
 *                                                    intermediate is only legal with 2 steps)
 *     latents = randn(shape, generator) * sigma_data;
 *     guidance = guidance_scale (in the prompt_embeds dtype) * transformer.config.guidance_embeds_scale;
 *     for i in 0 .. steps-1:    (the schedule has steps+1 values; the last, 0, is never a model time)
 *         sana_scm_model_input(s, i, latents, x_in, n, &scm_t);
 *             scm_t = sin(t)/(cos(t)+sin(t)),  x_in = latents / sigma_data * sqrt(scm_t^2 + (1-scm_t)^2)
 *         out = model(x_in, timestep = scm_t, guidance);
 *         sana_scm_model_output(s, i, x_in, out, n);
 *             out = ((1-2 scm_t) x_in + (1 - 2 scm_t + 2 scm_t^2) out) / sqrt(scm_t^2 + (1-scm_t)^2) * sigma_data
 *         sana_sampler_step(s, out, latents, n, generator);   (draws noise at every step, the last included)
 *     latents_final = sana_sampler_denoised(s) / sigma_data  -> VAE.
 *
 * Batches: step() treats the n floats as the whole [B, C, H, W] tensor and
 * draws one randn of n values per step, as diffusers does with one generator.
 * (diffusers with a LIST of generators draws each image's latents and step noise from its own
 * generator; for the latents call sana_randn once per image, [1, C, H, W] each; step() takes one
 * generator, so stochastic samplers with per-image generators are not supported.)
 */
#ifndef SANA_SAMPLER_H
#define SANA_SAMPLER_H

#include <stdint.h>
#include "core/status.h"
#include "sampler/rng.h"

typedef struct sana_sampler sana_sampler;

/* Options of set_timesteps; a zeroed struct (or NULL) means diffusers' defaults. */
typedef struct {
    /* Custom schedule (dpm: integer timesteps, only without use_flow_sigmas (diffusers fails on
     * them with flow sigmas), and no sigmas; euler: timesteps and/or sigmas, float32;
     * scm: timesteps, steps+1 values, requires max_timesteps = None). With a list, pass
     * num_inference_steps <= 0 (diffusers: num_inference_steps=None). */
    const double *timesteps; int n_timesteps;
    const double *sigmas; int n_sigmas;
    /* Dynamic shifting (euler with use_dynamic_shifting; dpm: flow_shift = exp(mu)). */
    int has_mu; double mu;
    /* SCM: 0 = default (1.57080 and 1.3), 1 = the value below, -1 = None. */
    int scm_max_set; double scm_max_timesteps;
    int scm_intermediate_set; double scm_intermediate_timesteps;
} sana_sampler_opts;

/* Read a scheduler_config.json and build the sampler named by its "_class_name". */
sana_status sana_sampler_load(sana_sampler **out, const char *scheduler_config_json);
/* Build a sampler of a kind ("dpm", "euler", "scm") from JSON text (NULL: all defaults). */
sana_status sana_sampler_new(sana_sampler **out, const char *kind, const char *config_json_or_NULL);
void sana_sampler_free(sana_sampler *s);

/* "dpm", "euler" or "scm". */
const char *sana_sampler_kind(const sana_sampler *s);

/* Pipeline override of the shift (--flow-shift), as if the config had held it
 * (diffusers: Scheduler.from_config(config, flow_shift=X) / shift=X): dpm flow_shift; euler shift,
 * including the sigma_min/sigma_max that __init__ derives from it; scm: error. Call before set_timesteps. */
sana_status sana_sampler_set_flow_shift(sana_sampler *s, double shift);

/* scheduler.set_timesteps(num_inference_steps, ...); num_inference_steps <= 0 takes the count from
 * the custom list. Resets the step counter and the solver history. */
sana_status sana_sampler_set_timesteps(sana_sampler *s, int num_inference_steps,
                                       const sana_sampler_opts *opts);

/* scheduler.set_begin_index(i): the first step() runs step i of the schedule (0 <= i < num_steps).
 * SanaSprintImg2ImgPipeline sets the index of the first timestep that strength keeps (get_timesteps).
 * Call after set_timesteps. */
sana_status sana_sampler_set_begin_index(sana_sampler *s, int i);

/* Number of model evaluations (len(timesteps); scm: steps, the final 0 excluded). */
int sana_sampler_num_steps(const sana_sampler *s);
/* The timestep of step i as diffusers holds it (what the model is given, before timestep_scale). */
double sana_sampler_timestep(const sana_sampler *s, int i);
/* sigmas[i] (float32 value); i in [0, num_steps]; scm: the TrigFlow time t_i. */
double sana_sampler_sigma(const sana_sampler *s, int i);

/* One step: sample (in/out, n floats) <- step(model_output, t_i, sample).
 * rng: the generator for the stochastic variants (see above); NULL when not needed. */
sana_status sana_sampler_step(sana_sampler *s, const float *model_output, float *sample, int64_t n,
                              sana_rng *rng);

/* euler: mu for dynamic shifting from the image token count, as diffusers pipelines compute it
 * (calculate_shift: a line through (base_image_seq_len, base_shift) and (max_image_seq_len, max_shift)).
 * SanaPipeline passes no mu, so a use_dynamic_shifting config fails there as in diffusers. */
double sana_sampler_calculate_shift(const sana_sampler *s, int64_t image_seq_len);

/* init_noise_sigma (1.0 for all three; prepare_latents in the SANA pipelines does not use it). */
double sana_sampler_init_noise_sigma(const sana_sampler *s);

/* scm only: the x0 prediction of the last step (n floats; NULL before the first step). */
const float *sana_sampler_denoised(const sana_sampler *s);
/* scm only: sigma_data of the config (0.5 by default). */
double sana_sampler_sigma_data(const sana_sampler *s);
/* scm only: model input of step i (see above) and the scm timestep (float32 value) given to the model. */
sana_status sana_scm_model_input(const sana_sampler *s, int i, const float *latents, float *model_in,
                                 int64_t n, double *scm_timestep);
/* scm only: turn the model output into the TrigFlow prediction in place (see above). */
sana_status sana_scm_model_output(const sana_sampler *s, int i, const float *model_in, float *out,
                                  int64_t n);

#endif
