/* src/sampler/sampler_internal.h -- the sampler object shared by sampler.c and the three
 * sampler_*.c files (not installed; the API is sampler.h). */
#ifndef SANA_SAMPLER_INTERNAL_H
#define SANA_SAMPLER_INTERNAL_H

#include "sampler/sampler.h"
#include "core/json.h"

typedef enum { SAMPLER_DPM, SAMPLER_EULER, SAMPLER_SCM } sampler_kind;

enum { PRED_EPSILON, PRED_SAMPLE, PRED_V, PRED_FLOW };
enum { ALGO_DPMPP, ALGO_SDE_DPMPP };
enum { SOLVER_MIDPOINT, SOLVER_HEUN };
enum { FINAL_ZERO, FINAL_SIGMA_MIN };
enum { SPACING_LINSPACE, SPACING_LEADING, SPACING_TRAILING };
enum { SHIFT_EXPONENTIAL, SHIFT_LINEAR };

/* DPMSolverMultistepScheduler config (diffusers __init__ defaults). */
typedef struct {
    int64_t num_train_timesteps;     /* 1000 */
    float *alphas_cumprod;           /* [N] float32, torch.cumprod (double accumulator) of 1 - betas */
    float *train_sigmas;             /* [N] ((1 - ac) / ac) ** 0.5, float32 */
    float *train_lambdas;            /* [N] log(sqrt(ac)) - log(sqrt(1 - ac)), float32 */
    double lambda_min_clipped;       /* -inf */
    int solver_order;                /* 2 */
    int prediction_type;             /* "epsilon" */
    int algorithm_type;              /* "dpmsolver++" */
    int solver_type;                 /* "midpoint" */
    int lower_order_final;           /* true */
    int euler_at_final;              /* false */
    int use_flow_sigmas;             /* false: VP sigmas from the beta schedule */
    double flow_shift;               /* 1.0 (set_timesteps(mu=...) replaces it with exp(mu), as diffusers) */
    int final_sigmas_type;           /* "zero" */
    int timestep_spacing;            /* "linspace" (VP sigmas only: flow sigmas discard it, as diffusers) */
    int64_t steps_offset;            /* 0 ("leading" spacing only) */
    int use_dynamic_shifting;        /* false */
    int time_shift_type;             /* "exponential" */
} dpm_config;

/* FlowMatchEulerDiscreteScheduler config. */
typedef struct {
    int64_t num_train_timesteps;     /* 1000 */
    double shift;                    /* 1.0 (set_shift / --flow-shift replace it) */
    int use_dynamic_shifting;        /* false */
    double base_shift, max_shift;    /* 0.5, 1.15 */
    int64_t base_image_seq_len, max_image_seq_len; /* 256, 4096 */
    int invert_sigmas;               /* false */
    double shift_terminal;           /* None (0: off, as diffusers' truthiness test) */
    int time_shift_type;             /* "exponential" */
    int stochastic_sampling;         /* false */
    float sigma_min, sigma_max;      /* from __init__, float32 */
} euler_config;

/* SCMScheduler config. */
typedef struct {
    int64_t num_train_timesteps;     /* 1000 */
    double sigma_data;               /* 0.5 */
} scm_config;

struct sana_sampler {
    sampler_kind kind;
    char *name;                      /* config file name, for messages */
    dpm_config dpm;
    euler_config euler;
    scm_config scm;

    int n;                           /* model evaluations */
    double *timesteps;               /* n values (scm: n + 1) */
    float *sigmas;                   /* n + 1 values (scm: unused) */
    int step_index;                  /* -1 before the first step */
    int lower_order_nums;            /* dpm */

    int64_t nbuf;                    /* size of the buffers below */
    float *hist[3];                  /* dpm: model_outputs (x0 predictions), oldest first */
    float *noise;                    /* stochastic variants */
    float *x0;                       /* scm: pred_x0 (denoised) */
    int have_x0;
};

/* Per-kind parts (sampler_dpm.c, sampler_euler.c, sampler_scm.c). */
sana_status dpm_configure(sana_sampler *s, const sana_json *j);
sana_status dpm_set_timesteps(sana_sampler *s, int steps, const sana_sampler_opts *o);
sana_status dpm_step(sana_sampler *s, const float *model_output, float *sample, int64_t n, sana_rng *rng);

sana_status euler_configure(sana_sampler *s, const sana_json *j);
/* sigma_min / sigma_max of __init__ for the current shift. */
void euler_init_range(euler_config *c);
sana_status euler_set_timesteps(sana_sampler *s, int steps, const sana_sampler_opts *o);
sana_status euler_step(sana_sampler *s, const float *model_output, float *sample, int64_t n, sana_rng *rng);

sana_status scm_configure(sana_sampler *s, const sana_json *j);
sana_status scm_set_timesteps(sana_sampler *s, int steps, const sana_sampler_opts *o);
sana_status scm_step(sana_sampler *s, const float *model_output, float *sample, int64_t n, sana_rng *rng);

/* Shared helpers (sampler.c). */
/* Read a string key and map it through a NULL-terminated list of accepted values; *out = index. */
sana_status sampler_enum(const sana_json *j, const char *key, const char *const *values, int def, int *out);
/* A boolean key that must be false or absent: true is an error naming the key and saying why. */
sana_status sampler_reject_true(const sana_json *j, const char *key, const char *why);
/* The values of time_shift_type, in the order of SHIFT_EXPONENTIAL, SHIFT_LINEAR (NULL-terminated). */
extern const char *const sampler_time_shift_types[];
/* Reject any key not in the NULL-terminated list (keys starting with '_' are metadata and pass). */
sana_status sampler_check_keys(const sana_json *j, const char *const *known, const char *cls);
/* (Re)allocate the step buffers for n floats. */
sana_status sampler_buffers(sana_sampler *s, int64_t n, int nhist, int noise, int x0);
/* torch.linspace(start, end, steps, dtype=float32) on CPU: fma(step, i, start) for the first half,
 * fma(-step, steps-1-i, end) for the second, step = (end - start) / (steps - 1) in float32. */
void sampler_torch_linspace_f32(float *out, float start, float end, int64_t steps);
/* numpy.linspace(start, stop, num) in float64, as numpy computes it. */
void sampler_linspace(double *out, double start, double stop, int num);
/* diffusers' index_for_timestep for the first timestep: first match, or the second when it repeats. */
int sampler_first_index(const double *timesteps, int n);

#endif
