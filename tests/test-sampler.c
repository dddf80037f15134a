/* tests/test-sampler.c -- the three samplers against diffusers 0.35.2 (golden/sampler/samplers.safetensors).
 *
 * For each case of the golden's "cases" metadata (golden/dump_samplers.py): build the sampler
 * from the config, set_timesteps, compare timesteps and sigmas; then run `run` steps fed with
 * model_output_k = a_k * sample_k + b_k * base, comparing every intermediate sample. Initial
 * samples are drawn here with sana_randn (and compared), so the generator passed to step() is in
 * the same state as the one diffusers passes. SCM cases run the SanaSprintPipeline loop.
 * Then: configs that must be refused, with a message naming the key.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>
#include "golden.h"
#include "sampler/sampler.h"

static void coeffs(int k, float *a, float *b)
{
    *a = (float)(-0.75 + 0.0625 * (k % 5));
    *b = (float)(0.5 + 0.125 * (k % 3));
}

static double *dlist(json_object *arr, int *n)
{
    *n = (int)json_object_array_length(arr);
    double *v = malloc(sizeof(double) * (size_t)(*n > 0 ? *n : 1));
    for (int i = 0; i < *n; i++) v[i] = json_object_get_double(json_object_array_get_idx(arr, i));
    return v;
}

/* The set_timesteps options of a case ("opts"); custom lists are malloc'd into *ts and *sg (freed
 * by the caller after set_timesteps); returns whether the case gives a custom list. */
static int case_opts(json_object *opts, sana_sampler_opts *o, double **ts, double **sg)
{
    json_object *v;
    int have_list = 0;
    memset(o, 0, sizeof *o);
    *ts = *sg = NULL;
    if (!opts) return 0;
    if (json_object_object_get_ex(opts, "mu", &v)) { o->has_mu = 1; o->mu = json_object_get_double(v); }
    if (json_object_object_get_ex(opts, "sigmas", &v)) { *sg = dlist(v, &o->n_sigmas); o->sigmas = *sg; have_list = 1; }
    if (json_object_object_get_ex(opts, "timesteps", &v)) {
        *ts = dlist(v, &o->n_timesteps);
        o->timesteps = *ts;
        have_list = 1;
    }
    if (json_object_object_get_ex(opts, "max_timesteps", &v)) {
        if (v) { o->scm_max_set = 1; o->scm_max_timesteps = json_object_get_double(v); }
        else o->scm_max_set = -1;
    }
    if (json_object_object_get_ex(opts, "intermediate_timesteps", &v)) {
        if (v) { o->scm_intermediate_set = 1; o->scm_intermediate_timesteps = json_object_get_double(v); }
        else o->scm_intermediate_set = -1;
    }
    return have_list;
}

/* The sampler of a case, with its timesteps set (NULL after a failure, reported). */
static sana_sampler *case_sampler(json_object *cs, const char *name, const char *kind, int is_scm)
{
    const char *cfg = json_object_to_json_string_ext(json_object_object_get(cs, "config"), JSON_C_TO_STRING_PLAIN);
    int steps = json_object_get_int(json_object_object_get(cs, "steps"));
    json_object *v;
    sana_sampler *s = NULL;
    sana_status st = sana_sampler_new(&s, kind, cfg);
    if (st != SANA_OK) { golden_fail("%s: %s", name, sana_errmsg()); return NULL; }

    if (json_object_object_get_ex(cs, "override_shift", &v) &&
        sana_sampler_set_flow_shift(s, json_object_get_double(v)) != SANA_OK) {
        golden_fail("%s: set_flow_shift: %s", name, sana_errmsg());
        sana_sampler_free(s);
        return NULL;
    }
    sana_sampler_opts o;
    double *ts, *sg;
    int have_list = case_opts(json_object_object_get(cs, "opts"), &o, &ts, &sg);
    if (is_scm && o.scm_intermediate_set == 0 && steps != 2) o.scm_intermediate_set = -1;
    st = sana_sampler_set_timesteps(s, (have_list && !is_scm) ? 0 : steps, &o);
    free(ts); free(sg);
    if (st != SANA_OK) { golden_fail("%s: set_timesteps: %s", name, sana_errmsg()); sana_sampler_free(s); return NULL; }
    return s;
}

/* timesteps (scm: n + 1 of them) and sigmas (not scm) against the golden. */
static void check_schedule(golden *g, const sana_sampler *s, const char *name, int is_scm)
{
    char key[256];
    int nt = sana_sampler_num_steps(s) + (is_scm ? 1 : 0);
    float *tv = malloc(sizeof(float) * (size_t)(nt + 1));
    for (int i = 0; i < nt; i++) tv[i] = (float)sana_sampler_timestep(s, i);
    snprintf(key, sizeof key, "%s/timesteps", name);
    golden_check(g, key, tv, nt, key, "sampler_schedule");
    if (!is_scm) {
        for (int i = 0; i <= sana_sampler_num_steps(s); i++) tv[i] = (float)sana_sampler_sigma(s, i);
        snprintf(key, sizeof key, "%s/sigmas", name);
        golden_check(g, key, tv, sana_sampler_num_steps(s) + 1, key, "sampler_schedule");
    }
    free(tv);
}

/* The SanaSprintPipeline loop: latents scaled by sigma_data, model input and output converted
 * around the (synthetic) model, each intermediate compared. x: the initial noise; xin, mo: scratch. */
static void run_scm_steps(golden *g, sana_sampler *s, const char *name, const float *base, float *x, float *xin,
                          float *mo, int64_t n, sana_rng *step_rng)
{
    char key[256];
    float sd = (float)sana_sampler_sigma_data(s);
    for (int64_t e = 0; e < n; e++) x[e] = x[e] * sd;
    for (int i = 0; i < sana_sampler_num_steps(s); i++) {
        float a, b;
        double scm_t;
        coeffs(i, &a, &b);
        sana_scm_model_input(s, i, x, xin, n, &scm_t);
        float ft = (float)scm_t;
        snprintf(key, sizeof key, "%s/scm_t%d", name, i);
        int64_t bsz;
        float *want_t = golden_f32(g, key, &bsz);
        float *got_t = malloc(sizeof(float) * (size_t)bsz);
        for (int64_t k = 0; k < bsz; k++) got_t[k] = ft;
        golden_compare(g, key, got_t, want_t, bsz, "sampler_step");
        free(want_t); free(got_t);
        snprintf(key, sizeof key, "%s/model_in%d", name, i);
        golden_check(g, key, xin, n, key, "sampler_step");
        for (int64_t e = 0; e < n; e++) mo[e] = xin[e] * a + base[e] * b;
        sana_scm_model_output(s, i, xin, mo, n);
        snprintf(key, sizeof key, "%s/pred%d", name, i);
        golden_check(g, key, mo, n, key, "sampler_step");
        if (sana_sampler_step(s, mo, x, n, step_rng) != SANA_OK) {
            golden_fail("%s: step %d: %s", name, i, sana_errmsg());
            break;
        }
        snprintf(key, sizeof key, "%s/x%d", name, i);
        golden_check(g, key, x, n, key, "sampler_step");
        snprintf(key, sizeof key, "%s/denoised%d", name, i);
        golden_check(g, key, sana_sampler_denoised(s), n, key, "sampler_step");
    }
    const float *den = sana_sampler_denoised(s);
    if (den) {
        for (int64_t e = 0; e < n; e++) xin[e] = den[e] / sd;
        snprintf(key, sizeof key, "%s/final", name);
        golden_check(g, key, xin, n, key, "sampler_step");
    }
}

/* `run` steps of a DPM or Euler sampler fed with model_output_k = a_k * x_k + b_k * base. */
static void run_flow_steps(golden *g, sana_sampler *s, const char *name, int run, const float *base, float *x,
                           float *mo, int64_t n, sana_rng *step_rng)
{
    char key[256];
    for (int i = 0; i < run; i++) {
        float a, b;
        coeffs(i, &a, &b);
        for (int64_t e = 0; e < n; e++) mo[e] = x[e] * a + base[e] * b;
        if (sana_sampler_step(s, mo, x, n, step_rng) != SANA_OK) {
            golden_fail("%s: step %d: %s", name, i, sana_errmsg());
            break;
        }
        snprintf(key, sizeof key, "%s/x%d", name, i);
        golden_check(g, key, x, n, key, "sampler_step");
    }
}

/* The initial sample (drawn with the case's seed and compared), then the steps. */
static void run_steps(golden *g, sana_sampler *s, json_object *cs, const char *name, int run, int is_scm)
{
    char key[256];
    json_object *v;
    int64_t n = 1;
    json_object *shape = json_object_object_get(cs, "shape");
    for (size_t k = 0; k < json_object_array_length(shape); k++)
        n *= json_object_get_int64(json_object_array_get_idx(shape, k));
    uint64_t seed = (uint64_t)json_object_get_int64(json_object_object_get(cs, "seed"));
    sana_rng *gen = sana_rng_new(seed), *glob = NULL;
    if (json_object_object_get_ex(cs, "global_seed", &v))
        glob = sana_rng_new((uint64_t)json_object_get_int64(v));
    float *x = malloc(sizeof(float) * (size_t)n), *mo = malloc(sizeof(float) * (size_t)n);
    float *xin = malloc(sizeof(float) * (size_t)n);
    snprintf(key, sizeof key, "%s/base", name);
    float *base = golden_f32(g, key, NULL);
    sana_randn(gen, x, n);
    snprintf(key, sizeof key, "%s/x_init", name);
    golden_check(g, key, x, n, key, "rng_randn");
    sana_rng *step_rng = glob ? glob : gen;

    if (is_scm) run_scm_steps(g, s, name, base, x, xin, mo, n, step_rng);
    else run_flow_steps(g, s, name, run, base, x, mo, n, step_rng);
    free(x); free(mo); free(xin); free(base);
    sana_rng_free(gen);
    sana_rng_free(glob);
}

static void run_case(golden *g, json_object *cs)
{
    const char *name = json_object_get_string(json_object_object_get(cs, "name"));
    const char *kind = json_object_get_string(json_object_object_get(cs, "kind"));
    int run = json_object_get_int(json_object_object_get(cs, "run"));
    int is_scm = strcmp(kind, "scm") == 0;
    sana_sampler *s = case_sampler(cs, name, kind, is_scm);
    if (!s) return;
    check_schedule(g, s, name, is_scm);
    if (run) run_steps(g, s, cs, name, run, is_scm);
    sana_sampler_free(s);
}

/* A config that must be refused with a message that names `key`. */
static void expect_refused(const char *kind, const char *cfg, const char *key)
{
    sana_sampler *s = NULL;
    sana_status st = sana_sampler_new(&s, kind, cfg);
    if (st == SANA_OK) {
        golden_fail("%s %s: accepted, want an error naming \"%s\"", kind, cfg, key);
        sana_sampler_free(s);
    } else if (!strstr(sana_errmsg(), key)) {
        golden_fail("%s %s: message \"%s\" does not name \"%s\"", kind, cfg, sana_errmsg(), key);
    } else {
        printf("ok    refused %-6s %-48s -> %s\n", kind, cfg, sana_errmsg());
    }
}

static void check_refusals(void)
{
    expect_refused("dpm", "{\"use_flow_sigmas\": true, \"use_karras_sigmas\": true}", "use_karras_sigmas");
    expect_refused("dpm", "{\"use_lu_lambdas\": true}", "use_lu_lambdas");
    expect_refused("dpm", "{\"rescale_betas_zero_snr\": true}", "rescale_betas_zero_snr");
    expect_refused("dpm", "{\"beta_schedule\": \"sigmoid\"}", "beta_schedule");
    expect_refused("dpm", "{\"num_train_timesteps\": 4, \"trained_betas\": [0.1, 0.2]}", "trained_betas");
    expect_refused("dpm", "{\"use_flow_sigmas\": true, \"solver_order\": 4}", "solver_order");
    expect_refused("dpm", "{\"use_flow_sigmas\": true, \"solver_order\": \"2\"}", "solver_order");
    expect_refused("dpm", "{\"use_flow_sigmas\": true, \"algorithm_type\": \"sde-dpmsolver\"}", "algorithm_type");
    expect_refused("dpm", "{\"use_flow_sigmas\": true, \"final_sigmas_type\": \"denoise_to_zero\"}", "final_sigmas_type");
    expect_refused("dpm", "{\"use_flow_sigmas\": true, \"thresholding\": true}", "thresholding");
    expect_refused("dpm", "{\"use_flow_sigmas\": true, \"timestep_spacing\": \"cosine\"}", "timestep_spacing");
    expect_refused("dpm", "{\"use_flow_sigmas\": true, \"shift\": 3.0}", "shift");
    expect_refused("euler", "{\"use_beta_sigmas\": true}", "use_beta_sigmas");
    expect_refused("euler", "{\"time_shift_type\": \"cubic\"}", "time_shift_type");
    expect_refused("euler", "{\"flow_shift\": 3.0}", "flow_shift");
    expect_refused("scm", "{\"prediction_type\": \"v_prediction\"}", "prediction_type");
    expect_refused("dpm", "{\"_class_name\": \"SCMScheduler\"}", "_class_name");

    /* set_timesteps refusals that diffusers shares. */
    sana_sampler *s = NULL;
    sana_sampler_opts o;
    memset(&o, 0, sizeof o);
    if (sana_sampler_new(&s, "scm", NULL) == SANA_OK) {
        if (sana_sampler_set_timesteps(s, 3, NULL) == SANA_OK)   /* default intermediate 1.3 needs 2 steps */
            golden_fail("scm: 3 steps with intermediate_timesteps accepted");
        sana_sampler_free(s);
    }
    if (sana_sampler_new(&s, "euler", "{\"use_dynamic_shifting\": true}") == SANA_OK) {
        if (sana_sampler_set_timesteps(s, 10, &o) == SANA_OK) golden_fail("euler: dynamic shifting without mu accepted");
        sana_sampler_free(s);
    }
    if (sana_sampler_new(&s, "dpm", "{\"use_flow_sigmas\": true}") == SANA_OK) {
        float m[4] = {0}, x[4] = {0};
        if (sana_sampler_step(s, m, x, 4, NULL) == SANA_OK) golden_fail("dpm: step before set_timesteps accepted");
        sana_sampler_free(s);
    }

    /* calculate_shift with diffusers' defaults: a line through (256, 0.5) and (4096, 1.15). */
    if (sana_sampler_new(&s, "euler", NULL) == SANA_OK) {
        double m0 = sana_sampler_calculate_shift(s, 256), m1 = sana_sampler_calculate_shift(s, 4096);
        double m2 = sana_sampler_calculate_shift(s, 1024);
        if (fabs(m0 - 0.5) > 1e-12 || fabs(m1 - 1.15) > 1e-12 || fabs(m2 - (0.5 + 0.65 * 768.0 / 3840.0)) > 1e-12)
            golden_fail("calculate_shift: %g %g %g", m0, m1, m2);
        else
            printf("ok    calculate_shift\n");
        if (sana_sampler_set_flow_shift(s, -1.0) == SANA_OK) golden_fail("set_flow_shift(-1) accepted");
        sana_sampler_free(s);
    }
    if (sana_sampler_new(&s, "scm", NULL) == SANA_OK) {
        if (sana_sampler_set_flow_shift(s, 3.0) == SANA_OK) golden_fail("scm: set_flow_shift accepted");
        sana_sampler_free(s);
    }

    /* sana_sampler_load from a file: dispatch on _class_name, -Infinity read as a number. */
    char path[] = "/tmp/sana-sampler-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) { golden_fail("mkstemp"); return; }
    const char *txt = "{\"_class_name\": \"DPMSolverMultistepScheduler\", \"_diffusers_version\": \"0.32.0\","
                      " \"use_flow_sigmas\": true, \"flow_shift\": 3.0, \"lambda_min_clipped\": -Infinity,"
                      " \"prediction_type\": \"flow_prediction\"}";
    if (write(fd, txt, strlen(txt)) != (ssize_t)strlen(txt)) golden_fail("write");
    close(fd);
    if (sana_sampler_load(&s, path) != SANA_OK) golden_fail("load %s: %s", path, sana_errmsg());
    else {
        if (strcmp(sana_sampler_kind(s), "dpm") != 0) golden_fail("load: kind %s", sana_sampler_kind(s));
        else printf("ok    sana_sampler_load dispatches DPMSolverMultistepScheduler\n");
        sana_sampler_free(s);
    }
    unlink(path);
}

int main(void)
{
    golden *g = golden_open("sampler/samplers.safetensors");
    const char *meta = golden_meta(g, "cases");
    json_object *cases = meta ? json_tokener_parse(meta) : NULL;
    if (!cases || !json_object_is_type(cases, json_type_array)) {
        golden_fail("sampler golden: no \"cases\" metadata");
    } else {
        for (size_t c = 0; c < json_object_array_length(cases); c++) run_case(g, json_object_array_get_idx(cases, c));
        json_object_put(cases);
    }
    golden_close(g);
    check_refusals();
    return golden_exit();
}
