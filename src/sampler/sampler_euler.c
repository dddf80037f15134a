/* src/sampler/sampler_euler.c -- FlowMatchEulerDiscreteScheduler.
 *
 * diffusers: schedulers.scheduling_flow_match_euler_discrete.FlowMatchEulerDiscreteScheduler (v0.35.2).
 * Implemented: shift (and set_shift), use_dynamic_shifting with time_shift_type exponential / linear
 * and mu, invert_sigmas, shift_terminal, stochastic_sampling, custom sigmas and/or timesteps.
 * base/max_shift and base/max_image_seq_len feed sana_sampler_calculate_shift().
 * Rejected: use_karras_sigmas, use_exponential_sigmas, use_beta_sigmas.
 *
 * Precision, as diffusers: the default schedule is numpy float64 until it becomes a float32
 * tensor; custom sigmas/timesteps are float32 numpy arrays, so the shift runs in float32 (numpy 2
 * keeps Python scalars weak). __init__ computes sigma_min/sigma_max in float32 torch.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "sampler/sampler_internal.h"

static const char *const euler_keys[] = {
    "num_train_timesteps", "shift", "use_dynamic_shifting", "base_shift", "max_shift", "base_image_seq_len",
    "max_image_seq_len", "invert_sigmas", "shift_terminal", "use_karras_sigmas", "use_exponential_sigmas",
    "use_beta_sigmas", "time_shift_type", "stochastic_sampling", NULL };

sana_status euler_configure(sana_sampler *s, const sana_json *j)
{
    euler_config *c = &s->euler;
    sana_status st;
    if ((st = sampler_check_keys(j, euler_keys, "FlowMatchEulerDiscreteScheduler")) != SANA_OK) return st;
    if ((st = sana_json_int(j, "num_train_timesteps", 1000, &c->num_train_timesteps)) != SANA_OK) return st;
    if (c->num_train_timesteps < 1 || c->num_train_timesteps > 1000000)
        return sana_json_bad(j, "num_train_timesteps", "must be in [1, 1000000]");
    if ((st = sana_json_double(j, "shift", 1.0, &c->shift)) != SANA_OK) return st;
    if (!(c->shift > 0) || !isfinite(c->shift)) return sana_json_bad(j, "shift", "must be a positive number");
    if ((st = sana_json_bool(j, "use_dynamic_shifting", 0, &c->use_dynamic_shifting)) != SANA_OK) return st;
    if ((st = sana_json_double(j, "base_shift", 0.5, &c->base_shift)) != SANA_OK) return st;
    if ((st = sana_json_double(j, "max_shift", 1.15, &c->max_shift)) != SANA_OK) return st;
    if ((st = sana_json_int(j, "base_image_seq_len", 256, &c->base_image_seq_len)) != SANA_OK) return st;
    if ((st = sana_json_int(j, "max_image_seq_len", 4096, &c->max_image_seq_len)) != SANA_OK) return st;
    if (c->max_image_seq_len == c->base_image_seq_len)
        return sana_json_bad(j, "max_image_seq_len", "equals base_image_seq_len (calculate_shift divides by their difference)");
    if ((st = sana_json_bool(j, "invert_sigmas", 0, &c->invert_sigmas)) != SANA_OK) return st;
    if ((st = sana_json_double(j, "shift_terminal", 0.0, &c->shift_terminal)) != SANA_OK) return st;
    if (c->shift_terminal == 1.0) return sana_json_bad(j, "shift_terminal", "1.0 divides by zero");
    if ((st = sampler_reject_true(j, "use_karras_sigmas", "Karras sigmas are not implemented")) != SANA_OK) return st;
    if ((st = sampler_reject_true(j, "use_exponential_sigmas", "exponential sigmas are not implemented")) != SANA_OK)
        return st;
    if ((st = sampler_reject_true(j, "use_beta_sigmas", "beta sigmas are not implemented")) != SANA_OK) return st;
    if ((st = sampler_enum(j, "time_shift_type", sampler_time_shift_types, SHIFT_EXPONENTIAL,
                           &c->time_shift_type)) != SANA_OK)
        return st;
    if ((st = sana_json_bool(j, "stochastic_sampling", 0, &c->stochastic_sampling)) != SANA_OK) return st;

    euler_init_range(c);
    return SANA_OK;
}

void euler_init_range(euler_config *c)
{
    /* __init__: timesteps N..1 (float32), sigmas = t / N, shifted in float32 unless dynamic. */
    float N = (float)c->num_train_timesteps;
    float first = N / N, last = 1.0f / N;
    if (!c->use_dynamic_shifting) {
        float sh = (float)c->shift, shm1 = (float)(c->shift - 1.0);
        first = (sh * first) / (1.0f + shm1 * first);
        last = (sh * last) / (1.0f + shm1 * last);
    }
    c->sigma_max = first;
    c->sigma_min = last;
}

/* Shift (static or dynamic) and terminal stretch of n sigmas, float64 (the default schedule). */
static void shift_f64(const euler_config *c, double *sg, int n, double mu)
{
    for (int i = 0; i < n; i++) {
        double t = sg[i];
        if (c->use_dynamic_shifting) {
            double p = 1.0 / t - 1.0;            /* (1/t - 1) ** 1.0 */
            sg[i] = c->time_shift_type == SHIFT_EXPONENTIAL ? exp(mu) / (exp(mu) + p) : mu / (mu + p);
        } else {
            sg[i] = c->shift * t / (1.0 + (c->shift - 1.0) * t);
        }
    }
    if (c->shift_terminal != 0.0) {
        double scale = (1.0 - sg[n - 1]) / (1.0 - c->shift_terminal);
        for (int i = 0; i < n; i++) sg[i] = 1.0 - (1.0 - sg[i]) / scale;
    }
}

/* The same in float32 (custom sigmas or timesteps: float32 numpy arrays, Python scalars weak). */
static void shift_f32(const euler_config *c, float *sg, int n, double mu)
{
    for (int i = 0; i < n; i++) {
        float t = sg[i];
        if (c->use_dynamic_shifting) {
            float p = 1.0f / t - 1.0f;
            if (c->time_shift_type == SHIFT_EXPONENTIAL) {
                float em = (float)exp(mu);
                sg[i] = em / (em + p);
            } else {
                float m = (float)mu;
                sg[i] = m / (m + p);
            }
        } else {
            float sh = (float)c->shift, shm1 = (float)(c->shift - 1.0);
            sg[i] = (sh * t) / (1.0f + shm1 * t);
        }
    }
    if (c->shift_terminal != 0.0) {
        float scale = (1.0f - sg[n - 1]) / (float)(1.0 - c->shift_terminal);
        for (int i = 0; i < n; i++) sg[i] = 1.0f - (1.0f - sg[i]) / scale;
    }
}

sana_status euler_set_timesteps(sana_sampler *s, int steps, const sana_sampler_opts *o)
{
    euler_config *c = &s->euler;
    if (c->use_dynamic_shifting && !o->has_mu)
        return sana_err(SANA_ERR_ARG, "%s: use_dynamic_shifting needs mu (diffusers raises the same)", s->name);
    if (o->sigmas && o->timesteps && o->n_sigmas != o->n_timesteps)
        return sana_err(SANA_ERR_ARG, "%s: custom sigmas and timesteps differ in length (%d, %d)", s->name,
                        o->n_sigmas, o->n_timesteps);
    int len = o->sigmas ? o->n_sigmas : o->timesteps ? o->n_timesteps : -1;
    if (steps > 0 && len >= 0 && len != steps)
        return sana_err(SANA_ERR_ARG, "%s: %d custom values for %d steps", s->name, len, steps);
    if (steps <= 0) steps = len;
    if (steps < 1 || steps > 100000)
        return sana_err(SANA_ERR_ARG, "%s: num_inference_steps %d out of range", s->name, steps);

    double *ts = malloc(sizeof(double) * (size_t)steps);
    float *sig = malloc(sizeof(float) * (size_t)(steps + 1));
    double *tmp = malloc(sizeof(double) * (size_t)steps);
    float *tmpf = malloc(sizeof(float) * (size_t)steps);
    if (!ts || !sig || !tmp || !tmpf) {
        free(ts); free(sig); free(tmp); free(tmpf);
        return sana_err(SANA_ERR_NOMEM, "%s: out of memory", s->name);
    }
    double Nd = (double)c->num_train_timesteps;
    float Nf = (float)c->num_train_timesteps;
    int custom_t = o->timesteps != NULL;
    if (!o->sigmas && !o->timesteps) {
        /* timesteps = linspace(sigma_max*N, sigma_min*N, steps); sigmas = timesteps / N (float64) */
        sampler_linspace(tmp, (double)c->sigma_max * Nd, (double)c->sigma_min * Nd, steps);
        for (int i = 0; i < steps; i++) tmp[i] = tmp[i] / Nd;
        shift_f64(c, tmp, steps, o->mu);
        for (int i = 0; i < steps; i++) sig[i] = (float)tmp[i];
    } else {
        if (o->sigmas) for (int i = 0; i < steps; i++) tmpf[i] = (float)o->sigmas[i];
        else for (int i = 0; i < steps; i++) tmpf[i] = (float)o->timesteps[i] / Nf;
        shift_f32(c, tmpf, steps, o->mu);
        for (int i = 0; i < steps; i++) sig[i] = tmpf[i];
    }
    for (int i = 0; i < steps; i++)
        ts[i] = custom_t ? (double)(float)o->timesteps[i] : (double)(sig[i] * Nf);
    if (c->invert_sigmas) {
        for (int i = 0; i < steps; i++) {
            sig[i] = 1.0f - sig[i];
            ts[i] = (double)(sig[i] * Nf);
        }
        sig[steps] = 1.0f;
    } else {
        sig[steps] = 0.0f;
    }
    free(tmp); free(tmpf);
    free(s->timesteps); free(s->sigmas);
    s->timesteps = ts;
    s->sigmas = sig;
    s->n = steps;
    return SANA_OK;
}

sana_status euler_step(sana_sampler *s, const float *mo, float *x, int64_t n, sana_rng *rng)
{
    euler_config *c = &s->euler;
    sana_status st = sampler_buffers(s, n, 0, c->stochastic_sampling, 0);
    if (st != SANA_OK) return st;
    if (s->step_index < 0) s->step_index = sampler_first_index(s->timesteps, s->n);
    int i = s->step_index;
    if (i >= s->n) return sana_err(SANA_ERR_ARG, "%s: step() called more often than the %d steps", s->name, s->n);
    float sigma = s->sigmas[i], next = s->sigmas[i + 1];
    if (c->stochastic_sampling) {
        if (!rng)
            return sana_err(SANA_ERR_ARG, "%s: stochastic_sampling draws noise (torch's global generator in "
                            "diffusers): step() needs a generator", s->name);
        sana_randn(rng, s->noise, n);
        float keep = 1.0f - next;
        for (int64_t e = 0; e < n; e++) {
            float x0 = x[e] - sigma * mo[e];
            x[e] = keep * x0 + next * s->noise[e];
        }
    } else {
        float dt = next - sigma;
        for (int64_t e = 0; e < n; e++) x[e] = x[e] + dt * mo[e];
    }
    s->step_index++;
    return SANA_OK;
}
