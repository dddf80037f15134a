/* src/sampler/sampler.c -- sampler construction from scheduler_config.json and dispatch (see sampler.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "sampler/sampler_internal.h"

/* ---------------------------------------------------------------- helpers */

sana_status sampler_enum(const sana_json *j, const char *key, const char *const *values, int def, int *out)
{
    char *v = NULL;
    sana_status st = sana_json_string(j, key, NULL, &v);
    if (st != SANA_OK) return st;
    if (!v) { *out = def; return SANA_OK; }
    for (int i = 0; values[i]; i++)
        if (strcmp(v, values[i]) == 0) { *out = i; free(v); return SANA_OK; }
    char list[256] = "";
    for (int i = 0; values[i]; i++) {
        strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, values[i], sizeof list - strlen(list) - 1);
    }
    st = sana_json_bad(j, key, "\"%s\" is not supported (libsana implements: %s)", v, list);
    free(v);
    return st;
}

sana_status sampler_reject_true(const sana_json *j, const char *key, const char *why)
{
    int v = 0;
    sana_status st = sana_json_bool(j, key, 0, &v);
    if (st != SANA_OK) return st;
    if (v) return sana_json_bad(j, key, "true is not supported: %s", why);
    return SANA_OK;
}

const char *const sampler_time_shift_types[] = { "exponential", "linear", NULL };

sana_status sampler_check_keys(const sana_json *j, const char *const *known, const char *cls)
{
    json_object_object_foreach(j->root, key, val) {
        (void)val;
        if (key[0] == '_') continue;
        int ok = 0;
        for (int i = 0; known[i]; i++)
            if (strcmp(key, known[i]) == 0) { ok = 1; break; }
        if (!ok) return sana_json_bad(j, key, "not a parameter of %s in diffusers 0.35.2", cls);
    }
    return SANA_OK;
}

sana_status sampler_buffers(sana_sampler *s, int64_t n, int nhist, int noise, int x0)
{
    if (n == s->nbuf) return SANA_OK;
    for (int i = 0; i < 3; i++) { free(s->hist[i]); s->hist[i] = NULL; }
    free(s->noise); free(s->x0);
    s->noise = s->x0 = NULL;
    s->nbuf = 0;
    size_t bytes = (size_t)n * sizeof(float);
    for (int i = 0; i < nhist; i++)
        if (!(s->hist[i] = malloc(bytes))) goto oom;
    if (noise && !(s->noise = malloc(bytes))) goto oom;
    if (x0 && !(s->x0 = malloc(bytes))) goto oom;
    s->nbuf = n;
    return SANA_OK;
oom:
    return sana_err(SANA_ERR_NOMEM, "sampler: out of memory for %lld floats", (long long)n);
}

void sampler_torch_linspace_f32(float *out, float start, float end, int64_t steps)
{
    if (steps <= 0) return;
    if (steps == 1) { out[0] = start; return; }
    float step = (end - start) / (float)(steps - 1);
    int64_t half = steps / 2;
    for (int64_t i = 0; i < steps; i++)
        out[i] = i < half ? fmaf(step, (float)i, start) : fmaf(-step, (float)(steps - i - 1), end);
}

void sampler_linspace(double *out, double start, double stop, int num)
{
    if (num <= 0) return;
    if (num == 1) { out[0] = start; return; }
    double step = (stop - start) / (double)(num - 1);
    for (int i = 0; i < num; i++) out[i] = (double)i * step + start;
    out[num - 1] = stop;
}

int sampler_first_index(const double *timesteps, int n)
{
    int first = -1;
    for (int i = 0; i < n; i++)
        if (timesteps[i] == timesteps[0]) {
            if (first < 0) first = i;
            else return i;
        }
    return first;
}

/* ---------------------------------------------------------------- construction */

static const char *const kind_names[] = { "dpm", "euler", "scm" };
static const char *const class_names[] = {
    "DPMSolverMultistepScheduler", "FlowMatchEulerDiscreteScheduler", "SCMScheduler" };

static sana_status build(sana_sampler **out, int kind, const sana_json *j, const char *name)
{
    sana_sampler *s = calloc(1, sizeof *s);
    if (!s) return sana_err(SANA_ERR_NOMEM, "%s: out of memory", name);
    s->kind = (sampler_kind)kind;
    s->name = strdup(name);
    s->step_index = -1;
    if (!s->name) { free(s); return sana_err(SANA_ERR_NOMEM, "%s: out of memory", name); }
    sana_status st = kind == SAMPLER_DPM ? dpm_configure(s, j)
                   : kind == SAMPLER_EULER ? euler_configure(s, j) : scm_configure(s, j);
    if (st != SANA_OK) { sana_sampler_free(s); return st; }
    *out = s;
    return SANA_OK;
}

static sana_status load_json(sana_sampler **out, const sana_json *j, int kind_hint)
{
    char *cls = NULL;
    sana_status st = sana_json_string(j, "_class_name", NULL, &cls);
    if (st != SANA_OK) return st;
    int kind = kind_hint;
    if (cls) {
        int k = -1;
        for (int i = 0; i < 3; i++)
            if (strcmp(cls, class_names[i]) == 0) k = i;
        if (k < 0) {
            st = sana_json_bad(j, "_class_name", "scheduler \"%s\" is not supported (libsana implements "
                               "DPMSolverMultistepScheduler, FlowMatchEulerDiscreteScheduler, SCMScheduler)", cls);
            free(cls);
            return st;
        }
        if (kind >= 0 && k != kind) {
            st = sana_json_bad(j, "_class_name", "\"%s\" does not match the requested sampler \"%s\"",
                               cls, kind_names[kind]);
            free(cls);
            return st;
        }
        kind = k;
        free(cls);
    }
    if (kind < 0) return sana_json_bad(j, "_class_name", "missing: cannot tell which scheduler this is");
    return build(out, kind, j, j->path ? j->path : "scheduler_config.json");
}

sana_status sana_sampler_load(sana_sampler **out, const char *path)
{
    *out = NULL;
    sana_json j;
    sana_status st = sana_json_load(&j, path);
    if (st != SANA_OK) return st;
    st = load_json(out, &j, -1);
    sana_json_free(&j);
    return st;
}

sana_status sana_sampler_new(sana_sampler **out, const char *kind, const char *config_json)
{
    *out = NULL;
    int k = -1;
    for (int i = 0; i < 3; i++)
        if (kind && strcmp(kind, kind_names[i]) == 0) k = i;
    if (k < 0) return sana_err(SANA_ERR_ARG, "unknown sampler \"%s\" (dpm, euler, scm)", kind ? kind : "(null)");
    sana_json j;
    const char *text = config_json ? config_json : "{}";
    sana_status st = sana_json_parse(&j, text, strlen(text), "scheduler config");
    if (st != SANA_OK) return st;
    st = load_json(out, &j, k);
    sana_json_free(&j);
    return st;
}

void sana_sampler_free(sana_sampler *s)
{
    if (!s) return;
    for (int i = 0; i < 3; i++) free(s->hist[i]);
    free(s->noise);
    free(s->x0);
    free(s->timesteps);
    free(s->sigmas);
    free(s->dpm.alphas_cumprod);
    free(s->dpm.train_sigmas);
    free(s->dpm.train_lambdas);
    free(s->name);
    free(s);
}

const char *sana_sampler_kind(const sana_sampler *s) { return kind_names[s->kind]; }

/* ---------------------------------------------------------------- dispatch */

sana_status sana_sampler_set_flow_shift(sana_sampler *s, double shift)
{
    if (!(shift > 0) || !isfinite(shift))
        return sana_err(SANA_ERR_ARG, "flow shift must be a positive number, got %g", shift);
    switch (s->kind) {
    case SAMPLER_DPM: s->dpm.flow_shift = shift; return SANA_OK;
    case SAMPLER_EULER: s->euler.shift = shift; euler_init_range(&s->euler); return SANA_OK;
    default: return sana_err(SANA_ERR_ARG, "%s: SCMScheduler has no flow shift", s->name);
    }
}

sana_status sana_sampler_set_timesteps(sana_sampler *s, int steps, const sana_sampler_opts *opts)
{
    sana_sampler_opts none;
    memset(&none, 0, sizeof none);
    if (!opts) opts = &none;
    s->step_index = -1;
    s->lower_order_nums = 0;
    s->have_x0 = 0;
    switch (s->kind) {
    case SAMPLER_DPM: return dpm_set_timesteps(s, steps, opts);
    case SAMPLER_EULER: return euler_set_timesteps(s, steps, opts);
    default: return scm_set_timesteps(s, steps, opts);
    }
}

sana_status sana_sampler_set_begin_index(sana_sampler *s, int i)
{
    if (!s->timesteps || i < 0 || i >= s->n)
        return sana_err(SANA_ERR_ARG, "%s: begin index %d outside the %d steps", s->name, i, s->n);
    s->step_index = i;
    return SANA_OK;
}

int sana_sampler_num_steps(const sana_sampler *s) { return s->n; }

double sana_sampler_timestep(const sana_sampler *s, int i)
{
    return (s->timesteps && i >= 0 && i <= (s->kind == SAMPLER_SCM ? s->n : s->n - 1)) ? s->timesteps[i] : NAN;
}

double sana_sampler_sigma(const sana_sampler *s, int i)
{
    if (s->kind == SAMPLER_SCM) return sana_sampler_timestep(s, i);
    return (s->sigmas && i >= 0 && i <= s->n) ? s->sigmas[i] : NAN;
}

sana_status sana_sampler_step(sana_sampler *s, const float *model_output, float *sample, int64_t n,
                              sana_rng *rng)
{
    if (!s->timesteps)
        return sana_err(SANA_ERR_ARG, "%s: step() before set_timesteps()", s->name);
    if (n <= 0) return sana_err(SANA_ERR_ARG, "%s: step() on %lld values", s->name, (long long)n);
    switch (s->kind) {
    case SAMPLER_DPM: return dpm_step(s, model_output, sample, n, rng);
    case SAMPLER_EULER: return euler_step(s, model_output, sample, n, rng);
    default: return scm_step(s, model_output, sample, n, rng);
    }
}

double sana_sampler_init_noise_sigma(const sana_sampler *s) { (void)s; return 1.0; }

const float *sana_sampler_denoised(const sana_sampler *s)
{
    return (s->kind == SAMPLER_SCM && s->have_x0) ? s->x0 : NULL;
}

double sana_sampler_sigma_data(const sana_sampler *s) { return s->scm.sigma_data; }

double sana_sampler_calculate_shift(const sana_sampler *s, int64_t image_seq_len)
{
    const euler_config *c = &s->euler;
    double m = (c->max_shift - c->base_shift) / (double)(c->max_image_seq_len - c->base_image_seq_len);
    double b = c->base_shift - m * (double)c->base_image_seq_len;
    return (double)image_seq_len * m + b;
}
