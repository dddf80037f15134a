/* src/sampler/sampler_scm.c -- SCMScheduler (SANA-Sprint, TrigFlow parameterisation) and the Sprint
 * pipeline's conversions around the model.
 *
 * diffusers: schedulers.scheduling_scm.SCMScheduler and pipelines.sana.pipeline_sana_sprint
 * (v0.35.2). Implemented: prediction_type "trigflow" (the only one diffusers has), sigma_data,
 * max_timesteps, intermediate_timesteps (2 steps only), custom timesteps (steps + 1 values).
 * The Sprint pipeline calls set_begin_index(0), so the step counter starts at 0.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "sampler/sampler_internal.h"

static const char *const scm_keys[] = { "num_train_timesteps", "prediction_type", "sigma_data", NULL };

/* diffusers: SCMScheduler.set_timesteps defaults max_timesteps=1.57080, intermediate_timesteps=1.3 */
#define SCM_MAX_TIMESTEPS 1.57080
#define SCM_INTERMEDIATE_TIMESTEPS 1.3

sana_status scm_configure(sana_sampler *s, const sana_json *j)
{
    scm_config *c = &s->scm;
    sana_status st;
    int pred;
    static const char *const preds[] = { "trigflow", NULL };
    if ((st = sampler_check_keys(j, scm_keys, "SCMScheduler")) != SANA_OK) return st;
    if ((st = sana_json_int(j, "num_train_timesteps", 1000, &c->num_train_timesteps)) != SANA_OK) return st;
    if ((st = sampler_enum(j, "prediction_type", preds, 0, &pred)) != SANA_OK) return st;
    if ((st = sana_json_double(j, "sigma_data", 0.5, &c->sigma_data)) != SANA_OK) return st;
    if (!(c->sigma_data > 0) || !isfinite(c->sigma_data))
        return sana_json_bad(j, "sigma_data", "must be a positive number");
    return SANA_OK;
}

sana_status scm_set_timesteps(sana_sampler *s, int steps, const sana_sampler_opts *o)
{
    scm_config *c = &s->scm;
    int has_max = o->scm_max_set >= 0, has_mid = o->scm_intermediate_set >= 0;
    double mx = o->scm_max_set > 0 ? o->scm_max_timesteps : SCM_MAX_TIMESTEPS;
    double mid = o->scm_intermediate_set > 0 ? o->scm_intermediate_timesteps : SCM_INTERMEDIATE_TIMESTEPS;
    if (steps <= 0 && o->timesteps) steps = o->n_timesteps - 1;
    if (steps < 1) return sana_err(SANA_ERR_ARG, "%s: num_inference_steps %d out of range", s->name, steps);
    if (steps > c->num_train_timesteps)
        return sana_err(SANA_ERR_ARG, "%s: num_inference_steps %d > num_train_timesteps %lld", s->name, steps,
                        (long long)c->num_train_timesteps);
    if (o->sigmas) return sana_err(SANA_ERR_ARG, "%s: SCMScheduler takes no custom sigmas", s->name);
    if (o->timesteps && o->n_timesteps != steps + 1)
        return sana_err(SANA_ERR_ARG, "%s: custom timesteps must hold num_inference_steps + 1 values", s->name);
    if (o->timesteps && has_max)
        return sana_err(SANA_ERR_ARG, "%s: with custom timesteps, max_timesteps must be None", s->name);
    if (!o->timesteps && !has_max)
        return sana_err(SANA_ERR_ARG, "%s: give either timesteps or max_timesteps", s->name);
    if (has_mid && steps != 2)
        return sana_err(SANA_ERR_ARG, "%s: intermediate_timesteps needs exactly 2 steps (set it to None)", s->name);

    double *ts = malloc(sizeof(double) * (size_t)(steps + 1));
    if (!ts) return sana_err(SANA_ERR_NOMEM, "%s: out of memory", s->name);
    if (o->timesteps) {
        for (int i = 0; i <= steps; i++) ts[i] = (float)o->timesteps[i];
    } else if (has_mid) {
        ts[0] = (float)mx; ts[1] = (float)mid; ts[2] = 0.0f;
    } else {
        float lin[5];                    /* torch.linspace(max, 0, steps+1), float32 */
        float *l = steps + 1 <= 5 ? lin : malloc(sizeof(float) * (size_t)(steps + 1));
        if (!l) { free(ts); return sana_err(SANA_ERR_NOMEM, "%s: out of memory", s->name); }
        sampler_torch_linspace_f32(l, (float)mx, 0.0f, steps + 1);
        for (int i = 0; i <= steps; i++) ts[i] = l[i];
        if (l != lin) free(l);
    }
    free(s->timesteps);
    s->timesteps = ts;
    s->n = steps;
    s->step_index = 0;                   /* the Sprint pipeline: set_begin_index(0) */
    return SANA_OK;
}

sana_status scm_step(sana_sampler *s, const float *mo, float *x, int64_t n, sana_rng *rng)
{
    sana_status st = sampler_buffers(s, n, 0, 1, 1);
    if (st != SANA_OK) return st;
    int i = s->step_index < 0 ? 0 : s->step_index;
    if (i >= s->n) return sana_err(SANA_ERR_ARG, "%s: step() called more often than the %d steps", s->name, s->n);
    if (!rng) return sana_err(SANA_ERR_ARG, "%s: SCMScheduler draws noise at every step: step() needs the generator",
                              s->name);
    float tt = (float)s->timesteps[i + 1], ss = (float)s->timesteps[i];
    float cs = cosf(ss), sn = sinf(ss), ct = cosf(tt), st_ = sinf(tt);
    float sd = (float)s->scm.sigma_data;
    sana_randn(rng, s->noise, n);      /* len(timesteps) > 1 always holds: noise at every step */
    for (int64_t e = 0; e < n; e++) {
        float x0 = cs * x[e] - sn * mo[e];
        float z = s->noise[e] * sd;
        s->x0[e] = x0;
        x[e] = ct * x0 + st_ * z;
    }
    s->have_x0 = 1;
    s->step_index = i + 1;
    return SANA_OK;
}

/* scm_t = sin(t) / (cos(t) + sin(t)) and sqrt(scm_t^2 + (1 - scm_t)^2), float32. */
static float scm_coeffs(const sana_sampler *s, int i, float *norm)
{
    float t = (float)s->timesteps[i];
    float sn = sinf(t), cs = cosf(t);
    float u = sn / (cs + sn);
    float v = 1.0f - u;
    *norm = sqrtf(u * u + v * v);
    return u;
}

sana_status sana_scm_model_input(const sana_sampler *s, int i, const float *latents, float *model_in, int64_t n,
                                 double *scm_timestep)
{
    if (s->kind != SAMPLER_SCM) return sana_err(SANA_ERR_ARG, "%s: not an SCMScheduler", s->name);
    if (!s->timesteps || i < 0 || i >= s->n) return sana_err(SANA_ERR_ARG, "%s: no step %d", s->name, i);
    float norm, u = scm_coeffs(s, i, &norm);
    float sd = (float)s->scm.sigma_data;
    for (int64_t e = 0; e < n; e++) model_in[e] = (latents[e] / sd) * norm;
    if (scm_timestep) *scm_timestep = u;
    return SANA_OK;
}

sana_status sana_scm_model_output(const sana_sampler *s, int i, const float *model_in, float *out, int64_t n)
{
    if (s->kind != SAMPLER_SCM) return sana_err(SANA_ERR_ARG, "%s: not an SCMScheduler", s->name);
    if (!s->timesteps || i < 0 || i >= s->n) return sana_err(SANA_ERR_ARG, "%s: no step %d", s->name, i);
    float norm, u = scm_coeffs(s, i, &norm);
    float a = 1.0f - 2.0f * u;                  /* 1 - 2 scm_t */
    float b = a + 2.0f * (u * u);               /* 1 - 2 scm_t + 2 scm_t^2 */
    float sd = (float)s->scm.sigma_data;
    for (int64_t e = 0; e < n; e++) {
        float v = a * model_in[e] + b * out[e];
        out[e] = (v / norm) * sd;
    }
    return SANA_OK;
}
