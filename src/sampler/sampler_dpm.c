/* src/sampler/sampler_dpm.c -- DPMSolverMultistepScheduler, with SANA's flow sigmas (Flow-DPM-Solver)
 * and with the VP sigmas of a beta schedule.
 *
 * diffusers: schedulers.scheduling_dpmsolver_multistep.DPMSolverMultistepScheduler (v0.35.2).
 * Implemented: use_flow_sigmas (flow_shift, dynamic shifting through mu) or the beta schedule
 * (linear, scaled_linear, squaredcos_cap_v2, trained_betas; timestep_spacing linspace / leading /
 * trailing, steps_offset, lambda_min_clipped, custom integer timesteps); every prediction_type;
 * algorithm_type dpmsolver++ and sde-dpmsolver++ ("deis" is renamed dpmsolver++ as diffusers does);
 * solver_order 1..3; solver_type midpoint / heun ("logrho", "bh1", "bh2" become midpoint as in
 * diffusers); lower_order_final, euler_at_final, final_sigmas_type zero / sigma_min.
 * Rejected with an error naming the key: use_karras/exponential/beta_sigmas, use_lu_lambdas,
 * thresholding, learned variance, rescale_betas_zero_snr, the deprecated dpmsolver / sde-dpmsolver.
 * As in diffusers, flow sigmas ignore timestep_spacing (its result is overwritten) and cannot take
 * custom timesteps; no variant takes custom sigmas.
 *
 * Update rules: doc/samplers.md. All scalar coefficients are float32, computed in diffusers' order
 * (torch 0-dim float32 tensors), and every tensor expression is evaluated one torch op at a time.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "sampler/sampler_internal.h"

static const char *const dpm_keys[] = {
    "num_train_timesteps", "beta_start", "beta_end", "beta_schedule", "trained_betas", "solver_order",
    "prediction_type", "thresholding", "dynamic_thresholding_ratio", "sample_max_value", "algorithm_type",
    "solver_type", "lower_order_final", "euler_at_final", "use_karras_sigmas", "use_exponential_sigmas",
    "use_beta_sigmas", "use_lu_lambdas", "use_flow_sigmas", "flow_shift", "final_sigmas_type",
    "lambda_min_clipped", "variance_type", "timestep_spacing", "steps_offset", "rescale_betas_zero_snr",
    "use_dynamic_shifting", "time_shift_type", NULL };

/* The training schedule: betas (float32, as torch builds them), alphas_cumprod, sigmas, lambdas. */
static sana_status dpm_schedule(const sana_json *j, dpm_config *c)
{
    double beta_start, beta_end;
    int sched;
    int64_t N = c->num_train_timesteps;
    static const char *const scheds[] = { "linear", "scaled_linear", "squaredcos_cap_v2", NULL };
    sana_status st;
    if ((st = sana_json_double(j, "beta_start", 0.0001, &beta_start)) != SANA_OK) return st;
    if ((st = sana_json_double(j, "beta_end", 0.02, &beta_end)) != SANA_OK) return st;
    if ((st = sampler_enum(j, "beta_schedule", scheds, 0, &sched)) != SANA_OK) return st;
    float *betas = malloc(sizeof(float) * (size_t)N);
    double *tb = malloc(sizeof(double) * (size_t)N);
    c->alphas_cumprod = malloc(sizeof(float) * (size_t)N);
    c->train_sigmas = malloc(sizeof(float) * (size_t)N);
    c->train_lambdas = malloc(sizeof(float) * (size_t)N);
    if (!betas || !tb || !c->alphas_cumprod || !c->train_sigmas || !c->train_lambdas) {
        free(betas); free(tb);
        return sana_err(SANA_ERR_NOMEM, "out of memory");
    }
    if (sana_json_has(j, "trained_betas")) {
        int n = -1;
        st = sana_json_double_array(j, "trained_betas", tb, (int)N, &n);
        if (st == SANA_OK && n != N)
            st = sana_json_bad(j, "trained_betas", "holds %d values, num_train_timesteps is %lld", n, (long long)N);
        for (int64_t i = 0; st == SANA_OK && i < N; i++) betas[i] = (float)tb[i];
    } else if (sched == 0) {
        sampler_torch_linspace_f32(betas, (float)beta_start, (float)beta_end, N);
    } else if (sched == 1) {
        sampler_torch_linspace_f32(betas, (float)sqrt(beta_start), (float)sqrt(beta_end), N);
        for (int64_t i = 0; i < N; i++) betas[i] = betas[i] * betas[i];
    } else {
        /* betas_for_alpha_bar (cosine), in Python floats: min(1 - abar(t2)/abar(t1), 0.999) */
        for (int64_t i = 0; i < N; i++) {
            double t1 = (double)i / (double)N, t2 = (double)(i + 1) / (double)N;
            double a1 = cos((t1 + 0.008) / 1.008 * 3.14159265358979323846 / 2);
            double a2 = cos((t2 + 0.008) / 1.008 * 3.14159265358979323846 / 2);
            double b = 1 - (a2 * a2) / (a1 * a1);
            betas[i] = (float)(b < 0.999 ? b : 0.999);
        }
    }
    if (st == SANA_OK) {
        double prod = 1.0;                       /* torch.cumprod on CPU accumulates in double */
        for (int64_t i = 0; i < N; i++) {
            prod *= (double)(1.0f - betas[i]);
            float ac = (float)prod;
            c->alphas_cumprod[i] = ac;
            c->train_sigmas[i] = sqrtf((1.0f - ac) / ac);
            c->train_lambdas[i] = (float)log((double)sqrtf(ac)) - (float)log((double)sqrtf(1.0f - ac));
        }
    }
    free(betas); free(tb);
    return st;
}

sana_status dpm_configure(sana_sampler *s, const sana_json *j)
{
    dpm_config *c = &s->dpm;
    sana_status st;
    int64_t order;
    double lmc;
    int flag;
    static const char *const preds[] = { "epsilon", "sample", "v_prediction", "flow_prediction", NULL };
    static const char *const algos[] = { "dpmsolver++", "sde-dpmsolver++", "deis", NULL };
    static const char *const solvers[] = { "midpoint", "heun", "logrho", "bh1", "bh2", NULL };
    static const char *const finals[] = { "zero", "sigma_min", NULL };
    static const char *const spacings[] = { "linspace", "leading", "trailing", NULL };

    if ((st = sampler_check_keys(j, dpm_keys, "DPMSolverMultistepScheduler")) != SANA_OK) return st;
    if ((st = sana_json_int(j, "num_train_timesteps", 1000, &c->num_train_timesteps)) != SANA_OK) return st;
    if (c->num_train_timesteps < 2 || c->num_train_timesteps > 1000000)
        return sana_json_bad(j, "num_train_timesteps", "must be in [2, 1000000]");
    if ((st = dpm_schedule(j, c)) != SANA_OK) return st;
    if ((st = sana_json_int(j, "solver_order", 2, &order)) != SANA_OK) return st;
    if (order < 1 || order > 3) return sana_json_bad(j, "solver_order", "%lld is not 1, 2 or 3", (long long)order);
    c->solver_order = (int)order;
    if ((st = sampler_enum(j, "prediction_type", preds, PRED_EPSILON, &c->prediction_type)) != SANA_OK) return st;
    if ((st = sampler_reject_true(j, "thresholding", "dynamic thresholding is not implemented")) != SANA_OK) return st;
    double dummy;
    if ((st = sana_json_double(j, "dynamic_thresholding_ratio", 0.995, &dummy)) != SANA_OK) return st;
    if ((st = sana_json_double(j, "sample_max_value", 1.0, &dummy)) != SANA_OK) return st;
    if (sana_json_has(j, "algorithm_type")) {
        char *a = NULL;
        if ((st = sana_json_string(j, "algorithm_type", NULL, &a)) != SANA_OK) return st;
        int deprecated = a && (strcmp(a, "dpmsolver") == 0 || strcmp(a, "sde-dpmsolver") == 0);
        free(a);
        if (deprecated)
            return sana_json_bad(j, "algorithm_type", "the deprecated noise-prediction solvers dpmsolver and "
                                 "sde-dpmsolver are not implemented (use dpmsolver++ or sde-dpmsolver++)");
    }
    if ((st = sampler_enum(j, "algorithm_type", algos, ALGO_DPMPP, &c->algorithm_type)) != SANA_OK) return st;
    if (c->algorithm_type == 2) c->algorithm_type = ALGO_DPMPP;       /* diffusers: deis -> dpmsolver++ */
    if ((st = sampler_enum(j, "solver_type", solvers, SOLVER_MIDPOINT, &c->solver_type)) != SANA_OK) return st;
    if (c->solver_type >= 2) c->solver_type = SOLVER_MIDPOINT;        /* diffusers: logrho/bh1/bh2 -> midpoint */
    if ((st = sana_json_bool(j, "lower_order_final", 1, &c->lower_order_final)) != SANA_OK) return st;
    if ((st = sana_json_bool(j, "euler_at_final", 0, &c->euler_at_final)) != SANA_OK) return st;
    if ((st = sampler_reject_true(j, "use_karras_sigmas", "Karras sigmas are not implemented")) != SANA_OK) return st;
    if ((st = sampler_reject_true(j, "use_exponential_sigmas", "exponential sigmas are not implemented")) != SANA_OK)
        return st;
    if ((st = sampler_reject_true(j, "use_beta_sigmas", "beta sigmas are not implemented")) != SANA_OK) return st;
    if ((st = sampler_reject_true(j, "use_lu_lambdas", "Lu lambdas are not implemented")) != SANA_OK) return st;
    if ((st = sana_json_bool(j, "use_flow_sigmas", 0, &c->use_flow_sigmas)) != SANA_OK) return st;
    if ((st = sana_json_double(j, "flow_shift", 1.0, &c->flow_shift)) != SANA_OK) return st;
    if (!(c->flow_shift > 0) || !isfinite(c->flow_shift))
        return sana_json_bad(j, "flow_shift", "must be a positive number");
    if ((st = sampler_enum(j, "final_sigmas_type", finals, FINAL_ZERO, &c->final_sigmas_type)) != SANA_OK) return st;
    if ((st = sana_json_double(j, "lambda_min_clipped", -INFINITY, &lmc)) != SANA_OK) return st;
    c->lambda_min_clipped = lmc;
    if (sana_json_has(j, "variance_type")) {
        char *v = NULL;
        if ((st = sana_json_string(j, "variance_type", NULL, &v)) != SANA_OK) return st;
        int learned = v && (strcmp(v, "learned") == 0 || strcmp(v, "learned_range") == 0);
        free(v);
        if (learned && c->prediction_type == PRED_EPSILON)
            return sana_json_bad(j, "variance_type", "learned variance (model_output[:, :3]) is not implemented");
    }
    if ((st = sampler_enum(j, "timestep_spacing", spacings, SPACING_LINSPACE, &c->timestep_spacing)) != SANA_OK)
        return st;
    if ((st = sana_json_int(j, "steps_offset", 0, &c->steps_offset)) != SANA_OK) return st;
    if ((st = sampler_reject_true(j, "rescale_betas_zero_snr", "zero-terminal-SNR rescaling is not implemented")) !=
        SANA_OK)
        return st;
    if ((st = sana_json_bool(j, "use_dynamic_shifting", 0, &flag)) != SANA_OK) return st;
    c->use_dynamic_shifting = flag;
    if ((st = sampler_enum(j, "time_shift_type", sampler_time_shift_types, SHIFT_EXPONENTIAL,
                           &c->time_shift_type)) != SANA_OK)
        return st;
    return SANA_OK;
}

/* Integer timesteps of the VP schedule for timestep_spacing (numpy float64, round half to even). */
static int dpm_spacing(const dpm_config *c, int steps, double *ts)
{
    int64_t N = c->num_train_timesteps;
    /* clipped_idx = searchsorted(flip(lambda_t), lambda_min_clipped): values below the clip */
    float clip = (float)c->lambda_min_clipped;
    int64_t clipped = 0;
    while (clipped < N && c->train_lambdas[N - 1 - clipped] < clip) clipped++;
    int64_t last = N - clipped;
    if (c->timestep_spacing == SPACING_LINSPACE) {
        double *y = malloc(sizeof(double) * (size_t)(steps + 1));
        if (!y) return -1;
        sampler_linspace(y, 0.0, (double)(last - 1), steps + 1);
        for (int k = 0; k < steps; k++) ts[k] = nearbyint(y[steps - k]);
        free(y);
        return steps;
    }
    if (c->timestep_spacing == SPACING_LEADING) {
        int64_t ratio = last / (steps + 1);
        for (int k = 0; k < steps; k++) ts[k] = (double)((int64_t)(steps - k) * ratio + c->steps_offset);
        return steps;
    }
    /* trailing: np.arange(last, 0, -N/steps): start + i*delta with delta = (start - ratio) - start */
    double ratio = (double)N / (double)steps;
    double delta = ((double)last - ratio) - (double)last;
    int64_t len = (int64_t)ceil((0.0 - (double)last) / -ratio);
    if (len > steps) len = steps;                /* the buffer holds steps values */
    for (int64_t k = 0; k < len; k++) ts[k] = nearbyint((double)last + (double)k * delta) - 1.0;
    return (int)len;
}

sana_status dpm_set_timesteps(sana_sampler *s, int steps, const sana_sampler_opts *o)
{
    dpm_config *c = &s->dpm;
    if (o->has_mu) {
        if (!c->use_dynamic_shifting || c->time_shift_type != SHIFT_EXPONENTIAL)
            return sana_err(SANA_ERR_ARG, "%s: mu needs use_dynamic_shifting with time_shift_type \"exponential\"",
                            s->name);
        c->flow_shift = exp(o->mu);          /* diffusers writes np.exp(mu) into the config */
    }
    if (o->sigmas)
        return sana_err(SANA_ERR_ARG, "%s: DPMSolverMultistepScheduler.set_timesteps takes no custom sigmas "
                        "(diffusers' retrieve_timesteps refuses them too)", s->name);
    if (o->timesteps && steps > 0)
        return sana_err(SANA_ERR_ARG, "%s: give a step count or custom timesteps, not both", s->name);
    if (o->timesteps && c->use_flow_sigmas)
        return sana_err(SANA_ERR_ARG, "%s: custom timesteps cannot be combined with use_flow_sigmas "
                        "(diffusers fails on them as well); give a step count", s->name);
    if (o->timesteps) steps = o->n_timesteps;
    if (steps < 1 || steps > 100000)
        return sana_err(SANA_ERR_ARG, "%s: num_inference_steps %d out of range", s->name, steps);

    double *ts = malloc(sizeof(double) * (size_t)steps);
    float *sig = malloc(sizeof(float) * (size_t)(steps + 1));
    double *alphas = malloc(sizeof(double) * (size_t)(steps + 1));
    if (!ts || !sig || !alphas) {
        free(ts); free(sig); free(alphas);
        return sana_err(SANA_ERR_NOMEM, "%s: out of memory", s->name);
    }
    double N = (double)c->num_train_timesteps;
    if (c->use_flow_sigmas) {
        /* alphas = linspace(1, 1/N, steps+1); sigmas = 1 - alphas; shifted; flipped; last (0) dropped. */
        double shift = c->flow_shift;
        sampler_linspace(alphas, 1.0, 1.0 / N, steps + 1);
        for (int i = 0; i < steps; i++) {
            double sg = 1.0 - alphas[steps - i];
            double sh = shift * sg / (1.0 + (shift - 1.0) * sg);
            sig[i] = (float)sh;
            ts[i] = (double)(int64_t)(sh * N);   /* astype(int64): truncation */
        }
    } else {
        if (o->timesteps) {
            for (int i = 0; i < steps; i++) ts[i] = (double)(int64_t)o->timesteps[i];   /* astype(int64) */
        } else {
            int got = dpm_spacing(c, steps, ts);
            if (got < 0) {
                free(ts); free(sig); free(alphas);
                return sana_err(SANA_ERR_NOMEM, "%s: out of memory", s->name);
            }
            steps = got;
        }
        /* np.interp(timesteps, arange(N), train_sigmas): integer points, clamped at the ends */
        for (int i = 0; i < steps; i++) {
            int64_t t = (int64_t)ts[i];
            if (t < 0) t = 0;
            if (t > c->num_train_timesteps - 1) t = c->num_train_timesteps - 1;
            sig[i] = c->train_sigmas[t];
        }
    }
    free(alphas);
    if (c->final_sigmas_type == FINAL_SIGMA_MIN) {
        float ac0 = c->alphas_cumprod[0];
        sig[steps] = sqrtf((1.0f - ac0) / ac0);
    } else {
        sig[steps] = 0.0f;
    }
    free(s->timesteps); free(s->sigmas);
    s->timesteps = ts;
    s->sigmas = sig;
    s->n = steps;
    return SANA_OK;
}

/* _sigma_to_alpha_sigma_t (float32) and lambda = log(alpha) - log(sigma).
 * Flow: alpha = 1 - sigma. VP: alpha = 1 / sqrt(sigma^2 + 1), sigma_t = sigma * alpha. */
static float dpm_lambda(const dpm_config *c, float sigma, float *alpha, float *sigma_t)
{
    if (c->use_flow_sigmas) {
        *alpha = 1.0f - sigma;
        *sigma_t = sigma;
    } else {
        *alpha = 1.0f / sqrtf(sigma * sigma + 1.0f);
        *sigma_t = sigma * *alpha;
    }
    return logf(*alpha) - logf(*sigma_t);
}

/* The coefficients of one update from sigma_s0 = sigmas[i] to sigma_t = sigmas[i + 1], float32 in
 * diffusers' order (dpm_solver_first_order_update and the multistep updates share them).
 * dpmsolver++: x_t = c1 x - a0 D0 (+ the D1, D2 terms); sde-dpmsolver++: x_t = c1 x + a0 D0 (+ ...) + cn z. */
typedef struct {
    int sde;
    float alpha_t, sigma_t, lambda_t, lambda_s0;
    float h;           /* lambda_t - lambda_s0 */
    float em, e2;      /* exp(-h), exp(-2h) */
    float c1;          /* coefficient of x: sigma_t / sigma_s0 (sde: times exp(-h)) */
    float a0;          /* coefficient of D0: alpha_t (e^-h - 1); sde: alpha_t (1 - e^-2h) */
    float cn;          /* coefficient of the noise (sde): sigma_t sqrt(1 - e^-2h); else 0 */
} dpm_coefs;

static dpm_coefs dpm_step_coefs(const dpm_config *c, const float *sigmas, int i, int sde)
{
    dpm_coefs k;
    float alpha_s0, sigma_s0;
    k.sde = sde;
    k.lambda_t = dpm_lambda(c, sigmas[i + 1], &k.alpha_t, &k.sigma_t);
    k.lambda_s0 = dpm_lambda(c, sigmas[i], &alpha_s0, &sigma_s0);
    k.h = k.lambda_t - k.lambda_s0;
    k.em = expf(-k.h);
    k.e2 = expf(-2.0f * k.h);
    k.c1 = sde ? (k.sigma_t / sigma_s0) * k.em : k.sigma_t / sigma_s0;
    k.a0 = sde ? k.alpha_t * (1.0f - k.e2) : k.alpha_t * (k.em - 1.0f);
    k.cn = sde ? k.sigma_t * sqrtf(1.0f - k.e2) : 0.0f;
    return k;
}

/* convert_model_output: the x0 prediction of model output mo at sigmas[i], written into the
 * newest history slot (the history shifts by one, the oldest dropped). */
static void dpm_convert_model_output(sana_sampler *s, int i, const float *mo, const float *x, int64_t n)
{
    const dpm_config *c = &s->dpm;
    int K = c->solver_order;
    float *m = s->hist[0];
    for (int k = 0; k < K - 1; k++) s->hist[k] = s->hist[k + 1];
    s->hist[K - 1] = m;
    float raw = s->sigmas[i], al, sg;
    dpm_lambda(c, raw, &al, &sg);
    switch (c->prediction_type) {
    case PRED_FLOW:    for (int64_t e = 0; e < n; e++) m[e] = x[e] - raw * mo[e]; break;  /* the raw sigma */
    case PRED_EPSILON: for (int64_t e = 0; e < n; e++) m[e] = (x[e] - sg * mo[e]) / al; break;
    case PRED_V:       for (int64_t e = 0; e < n; e++) m[e] = al * x[e] - sg * mo[e]; break;
    default:           memcpy(m, mo, (size_t)n * sizeof(float)); break;
    }
}

/* dpm_solver_first_order_update: m0 = D0, the newest x0 prediction; z: the noise (sde). */
static void dpm_first_order_update(const dpm_coefs *k, const float *m0, const float *z, float *x, int64_t n)
{
    for (int64_t e = 0; e < n; e++) {
        float v = k->sde ? k->c1 * x[e] + k->a0 * m0[e] : k->c1 * x[e] - k->a0 * m0[e];
        if (k->sde) v = v + k->cn * z[e];
        x[e] = v;
    }
}

/* multistep_dpm_solver_second_order_update: m0, m1 the x0 predictions at sigmas[i], sigmas[i - 1]. */
static void dpm_second_order_update(const dpm_config *c, const dpm_coefs *k, float lambda_s1, const float *m0,
                                    const float *m1, const float *z, float *x, int64_t n)
{
    int sde = k->sde;
    float alpha_t = k->alpha_t, h = k->h, em = k->em, e2 = k->e2, c1 = k->c1, a0 = k->a0, cn = k->cn;
    float h0 = k->lambda_s0 - lambda_s1, r0 = h0 / h, inv_r0 = 1.0f / r0;
    float b;   /* coefficient of D1 */
    if (!sde) b = c->solver_type == SOLVER_MIDPOINT ? 0.5f * a0 : alpha_t * ((em - 1.0f) / h + 1.0f);
    else      b = c->solver_type == SOLVER_MIDPOINT ? 0.5f * a0 : alpha_t * ((1.0f - e2) / (-2.0f * h) + 1.0f);
    for (int64_t e = 0; e < n; e++) {
        float d1 = inv_r0 * (m0[e] - m1[e]);
        float v;
        if (!sde) {
            v = c1 * x[e] - a0 * m0[e];
            v = c->solver_type == SOLVER_MIDPOINT ? v - b * d1 : v + b * d1;
        } else {
            v = c1 * x[e] + a0 * m0[e];
            v = v + b * d1;
            v = v + cn * z[e];
        }
        x[e] = v;
    }
}

/* multistep_dpm_solver_third_order_update: m0, m1, m2 the x0 predictions at sigmas[i], [i - 1], [i - 2]. */
static void dpm_third_order_update(const dpm_coefs *k, float lambda_s1, float lambda_s2, const float *m0,
                                   const float *m1, const float *m2, const float *z, float *x, int64_t n)
{
    int sde = k->sde;
    float alpha_t = k->alpha_t, h = k->h, em = k->em, e2 = k->e2, c1 = k->c1, a0 = k->a0, cn = k->cn;
    float h0 = k->lambda_s0 - lambda_s1, h1 = lambda_s1 - lambda_s2;
    float r0 = h0 / h, r1 = h1 / h;
    float inv_r0 = 1.0f / r0, inv_r1 = 1.0f / r1, w = r0 / (r0 + r1), inv_r01 = 1.0f / (r0 + r1);
    float b, cc;
    if (!sde) {
        b = alpha_t * ((em - 1.0f) / h + 1.0f);
        cc = alpha_t * (((em - 1.0f) + h) / (h * h) - 0.5f);
    } else {
        float h2 = 2.0f * h;
        b = alpha_t * ((1.0f - e2) / (-2.0f * h) + 1.0f);
        cc = alpha_t * (((1.0f - e2) - 2.0f * h) / (h2 * h2) - 0.5f);
    }
    for (int64_t e = 0; e < n; e++) {
        float d10 = inv_r0 * (m0[e] - m1[e]);
        float d11 = inv_r1 * (m1[e] - m2[e]);
        float dd = d10 - d11;
        float d1 = d10 + w * dd;
        float d2 = inv_r01 * dd;
        float v;
        if (!sde) {
            v = c1 * x[e] - a0 * m0[e];
            v = v + b * d1;
            v = v - cc * d2;
        } else {
            v = c1 * x[e] + a0 * m0[e];
            v = v + b * d1;
            v = v + cc * d2;
            v = v + cn * z[e];
        }
        x[e] = v;
    }
}

/* The order of this step: lower at the start (too little history) and, with lower_order_final,
 * at the end (the last step also for euler_at_final or final_sigmas_type "zero"). */
static int dpm_step_order(const sana_sampler *s, int i)
{
    const dpm_config *c = &s->dpm;
    int K = c->solver_order, N = s->n;
    int lower_final = (i == N - 1) && (c->euler_at_final || (c->lower_order_final && N < 15) ||
                                       c->final_sigmas_type == FINAL_ZERO);
    int lower_second = (i == N - 2) && c->lower_order_final && N < 15;
    return (K == 1 || s->lower_order_nums < 1 || lower_final) ? 1
         : (K == 2 || s->lower_order_nums < 2 || lower_second) ? 2 : 3;
}

sana_status dpm_step(sana_sampler *s, const float *mo, float *x, int64_t n, sana_rng *rng)
{
    dpm_config *c = &s->dpm;
    int sde = c->algorithm_type == ALGO_SDE_DPMPP;
    sana_status st = sampler_buffers(s, n, c->solver_order, sde, 0);
    if (st != SANA_OK) return st;
    if (s->step_index < 0) s->step_index = sampler_first_index(s->timesteps, s->n);
    int i = s->step_index, N = s->n;
    if (i >= N) return sana_err(SANA_ERR_ARG, "%s: step() called more often than the %d steps", s->name, N);
    if (sde && !rng)
        return sana_err(SANA_ERR_ARG, "%s: sde-dpmsolver++ draws noise: step() needs the generator", s->name);

    int order = dpm_step_order(s, i);          /* before convert: it reads lower_order_nums only */
    dpm_convert_model_output(s, i, mo, x, n);
    if (sde) sana_randn(rng, s->noise, n);
    const float *z = s->noise;

    int K = c->solver_order;
    dpm_coefs k = dpm_step_coefs(c, s->sigmas, i, sde);
    const float *m0 = s->hist[K - 1];
    float alpha_s, sigma_s;                    /* unused: only the lambdas of earlier sigmas enter */
    if (order == 1) {
        dpm_first_order_update(&k, m0, z, x, n);
    } else if (order == 2) {
        float lambda_s1 = dpm_lambda(c, s->sigmas[i - 1], &alpha_s, &sigma_s);
        dpm_second_order_update(c, &k, lambda_s1, m0, s->hist[K - 2], z, x, n);
    } else {
        float lambda_s1 = dpm_lambda(c, s->sigmas[i - 1], &alpha_s, &sigma_s);
        float lambda_s2 = dpm_lambda(c, s->sigmas[i - 2], &alpha_s, &sigma_s);
        dpm_third_order_update(&k, lambda_s1, lambda_s2, m0, s->hist[K - 2], s->hist[K - 3], z, x, n);
    }
    if (s->lower_order_nums < K) s->lower_order_nums++;
    s->step_index++;
    return SANA_OK;
}
