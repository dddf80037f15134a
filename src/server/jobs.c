/* src/server/jobs.c -- the queue and the worker of `sana serve`. One worker loads the pipeline
 * (health says "loading" meanwhile) and then runs one generation at a time, with every core: more load
 * means more processes behind a load balancer (doc/serving.md). Connections queue jobs (at most
 * max_queue wait), wait for them, and take back a job whose client left while it was still queued.
 * The worker is the main thread (srv_jobs_work): OpenMP's thread pool and the backend's per-thread
 * scratch belong to it and live as long as the process.
 * The PNGs are those of `sana generate` for the same arguments: the same parameters, the same
 * "parameters" text, written by sana_image_write_png (to a temporary file, read back). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "sana.h"
#include "server/server.h"

static struct {
    pthread_mutex_t mu;
    pthread_cond_t work, done; /* work: a job or a stop for the worker; done: a job changed state */
    const srv_config *cfg;
    sana_pipeline *base, *pag;  /* pag: SanaPAGPipeline over base's components, made when first asked */
    int loaded, load_failed, draining, stop;
    char load_err[512];
    srv_job *head, *tail;       /* waiting, oldest first */
    int queued;
    srv_job *running;
    double started_at, step_sum; /* of the running job */
    int step, nsteps, steps_timed, jobs_done;
    double seconds_done;        /* wall time of the jobs done */
    char model[256];
} S = {.mu = PTHREAD_MUTEX_INITIALIZER, .work = PTHREAD_COND_INITIALIZER, .done = PTHREAD_COND_INITIALIZER};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ------------------------------------------------------------------ one generation */

static void on_progress(void *user, const sana_progress *p)
{
    (void)user;
    pthread_mutex_lock(&S.mu);
    if (p->phase == SANA_PHASE_STEP) {
        S.step = p->step, S.nsteps = p->nsteps;
        S.step_sum += p->seconds, S.steps_timed++;
    }
    pthread_mutex_unlock(&S.mu);
}

/* The pipeline of a job: the checkpoint's, or the PAG pipeline over it for pag_scale > 0 on a
 * SanaPipeline, as `sana generate --pag-scale` does. */
static sana_pipeline *job_pipeline(srv_job *job)
{
    if (sana_pipeline_get_kind(S.base) != SANA_PIPELINE_T2I || !job->g.pag_set || job->g.pag <= 0) return S.base;
    if (!S.pag && sana_pipeline_derive(&S.pag, S.base, SANA_PIPELINE_PAG) != 0) return NULL;
    return S.pag;
}

/* The "parameters" text of `sana generate` (src/cli/generate.c: image_parameters). */
static char *job_parameters(srv_job *job, sana_pipeline *p, const sana_generate_params *g, const sana_result *res)
{
    sana_pipeline_kind kind = sana_pipeline_get_kind(p);
    char extra[256] = "";
    if (kind == SANA_PIPELINE_PAG)
        snprintf(extra, sizeof extra, "PAG scale: %g, PAG layers: %s", g->pag_scale,
                 g->pag_applied_layers ? g->pag_applied_layers : "transformer_blocks.0");
    const char *negative = kind == SANA_PIPELINE_SPRINT || kind == SANA_PIPELINE_SPRINT_IMG2IMG || g->guidance_scale <= 1
                               ? NULL : g->negative_prompt;
    job->sampler = sana_sampler_display_name(sana_pipeline_sampler(p));
    return sana_parameters_format(g->prompt, negative, g->num_inference_steps, job->sampler, g->guidance_scale,
                                  g->seed, res->width, res->height, S.model, extra);
}

/* A PNG in memory: sana_image_write_png to a temporary file of TMPDIR, read back, removed. */
static int encode_png(const uint8_t *rgb, int w, int h, const char *params, uint8_t **png, size_t *len)
{
    static unsigned counter;
    const char *dir = getenv("TMPDIR");
    char path[4096];
    pthread_mutex_lock(&S.mu);
    unsigned k = ++counter;
    pthread_mutex_unlock(&S.mu);
    snprintf(path, sizeof path, "%s/sana-serve-%ld-%u.png", dir && *dir ? dir : "/tmp", (long)getpid(), k);
    if (sana_image_write_png(path, rgb, w, h, params) != 0) return -1;
    FILE *f = fopen(path, "rb");
    int rc = -1;
    if (f && fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        *png = n > 0 ? malloc((size_t)n) : NULL;
        if (*png && fseek(f, 0, SEEK_SET) == 0 && fread(*png, 1, (size_t)n, f) == (size_t)n) {
            *len = (size_t)n;
            rc = 0;
        }
    }
    if (f) fclose(f);
    unlink(path);
    if (rc) {
        free(*png);
        *png = NULL;
    }
    return rc;
}

static void job_fail(srv_job *job, int status, const char *msg)
{
    job->state = SRV_JOB_FAILED;
    job->http_status = status;
    snprintf(job->err, sizeof job->err, "%s", msg);
}

/* The arguments of `sana generate` with the request's values (generate.c: fill_params). */
static void job_params(srv_job *job, sana_pipeline *p, sana_generate_params *g)
{
    sana_generate_params_default(g, p);
    g->prompt = job->g.prompt;
    if (job->g.negative) g->negative_prompt = job->g.negative;
    if (job->g.steps) g->num_inference_steps = job->g.steps;
    if (job->g.cfg_set) g->guidance_scale = job->g.cfg;
    if (job->g.pag_set) g->pag_scale = job->g.pag;
    g->num_images_per_prompt = job->g.n;
    g->width = job->g.width;
    g->height = job->g.height;
    g->seed = job->g.seed;
    g->progress = on_progress;
}

/* Runs without the lock; the job is S.running, which no one else touches until it is done. */
static void run_job(srv_job *job)
{
    double t0 = now();
    sana_pipeline *p = job_pipeline(job);
    if (!p) return job_fail(job, 500, sana_last_error());
    sana_generate_params g;
    job_params(job, p, &g);
    sana_result res;
    int st = sana_generate(p, &g, &res);
    /* SANA_ERR_ARG: what the request asked for (diffusers' check_inputs); anything else is ours */
    if (st != 0) return job_fail(job, st == SANA_ERR_ARG ? 400 : 500, sana_last_error());
    job->parameters = job_parameters(job, p, &g, &res);
    int ok = job->parameters != NULL;
    size_t img = (size_t)res.height * (size_t)res.width * 3;
    for (int i = 0; ok && i < res.batch && i < SRV_MAX_IMAGES; i++, job->nimages++)
        ok = encode_png(res.images + i * img, res.width, res.height, job->parameters, &job->png[i],
                        &job->png_len[i]) == 0;
    job->width = res.width, job->height = res.height;
    job->steps = g.num_inference_steps, job->cfg = g.guidance_scale, job->seed = g.seed;
    sana_result_free(&res);
    if (!ok) return job_fail(job, 500, job->parameters ? sana_last_error() : "out of memory");
    job->seconds = now() - t0;
    job->state = SRV_JOB_DONE;
}

/* ------------------------------------------------------------------ the worker */

static void load_pipeline(void)
{
    const srv_config *c = S.cfg;
    sana_load_options lo = {.variant = c->variant, .low_memory = c->low_memory, .backend = c->backend,
                            .threads = c->threads, .quantize = c->quantize, .lora = c->lora, .nlora = c->nlora};
    sana_pipeline *p = NULL;
    int rc = sana_pipeline_load(&p, c->model, &lo);
    char why[512] = "";
    if (!rc && sana_pipeline_get_kind(p) == SANA_PIPELINE_CONTROLNET) { /* no API field carries a control image */
        snprintf(why, sizeof why, "%s: sana serve does not run a SanaControlNetPipeline (its APIs take no control "
                 "image; use sana generate --control-image)", c->model);
        sana_pipeline_free(p);
        p = NULL;
        rc = 1;
    }
    pthread_mutex_lock(&S.mu);
    if (rc) {
        S.load_failed = 1;
        snprintf(S.load_err, sizeof S.load_err, "%s", *why ? why : sana_last_error());
    } else {
        S.base = p;
        S.loaded = 1;
    }
    pthread_cond_broadcast(&S.done);
    pthread_mutex_unlock(&S.mu);
}

void srv_jobs_work(void)
{
    load_pipeline();
    pthread_mutex_lock(&S.mu);
    while (S.loaded) {
        while (!S.head && !S.stop) pthread_cond_wait(&S.work, &S.mu);
        if (!S.head) break;
        srv_job *job = S.head;
        S.head = job->next;
        if (!S.head) S.tail = NULL;
        S.queued--;
        job->state = SRV_JOB_RUNNING;
        S.running = job;
        S.started_at = now(), S.step = 0, S.nsteps = job->g.steps, S.step_sum = 0, S.steps_timed = 0;
        pthread_mutex_unlock(&S.mu);
        run_job(job);
        pthread_mutex_lock(&S.mu);
        S.running = NULL;
        S.jobs_done++;
        S.seconds_done += now() - S.started_at;
        pthread_cond_broadcast(&S.done);
    }
    pthread_mutex_unlock(&S.mu);
}

void srv_jobs_init(const srv_config *cfg)
{
    S.cfg = cfg;
    const char *m = strrchr(cfg->model, '/');
    /* the model name of the parameters text: the folder's last component, as `sana generate` says */
    snprintf(S.model, sizeof S.model, "%s", m && m[1] ? m + 1 : cfg->model);
}

int srv_jobs_load_failed(char *err, size_t n)
{
    pthread_mutex_lock(&S.mu);
    int f = S.load_failed;
    if (f) snprintf(err, n, "%s", S.load_err);
    pthread_mutex_unlock(&S.mu);
    return f;
}

/* Under the lock: what the pipeline cannot do, refused before the job waits (400). */
static int check_pipeline(srv_job *job)
{
    sana_pipeline_kind kind = sana_pipeline_get_kind(S.base);
    if (kind == SANA_PIPELINE_SPRINT_IMG2IMG) { /* the text-to-image APIs carry no init image */
        snprintf(job->err, sizeof job->err, "%s checkpoints need an init image, which these text-to-image "
                 "endpoints do not take", sana_pipeline_class_name(S.base));
        return 400;
    }
    if (job->g.pag_set && job->g.pag > 0 && kind == SANA_PIPELINE_SPRINT) {
        snprintf(job->err, sizeof job->err, "pag_scale: %s checkpoints have no perturbed-attention guidance",
                 sana_pipeline_class_name(S.base));
        return 400;
    }
    return 0;
}

static uint64_t random_seed(void)
{
    uint32_t v = 0;
    if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v) v = (uint32_t)(now() * 1e6);
    return v; /* A1111's seeds are below 2^32: every client can hold them in a double */
}

int srv_jobs_submit(srv_job *job, int *retry)
{
    *retry = 0;
    pthread_mutex_lock(&S.mu);
    int st = 0;
    if (S.draining) st = 503, *retry = 5, snprintf(job->err, sizeof job->err, "the server is shutting down");
    else if (!S.loaded) st = 503, *retry = 5, snprintf(job->err, sizeof job->err, "the model is still loading");
    else if (S.queued >= S.cfg->max_queue) {
        st = 503;
        /* the running job and those waiting, at the mean time of the jobs done so far */
        double mean = S.jobs_done ? S.seconds_done / S.jobs_done : 1.0;
        *retry = 1 + (int)(mean * (S.queued + 1));
        snprintf(job->err, sizeof job->err, "the queue is full (%d waiting): retry later, or another server",
                 S.queued);
    } else if ((st = check_pipeline(job)) == 0) {
        if (job->g.seed_random) job->g.seed = random_seed();
        job->state = SRV_JOB_QUEUED;
        job->next = NULL;
        if (S.tail) S.tail->next = job;
        else S.head = job;
        S.tail = job;
        S.queued++;
        pthread_cond_signal(&S.work);
    }
    pthread_mutex_unlock(&S.mu);
    return st;
}

/* Under the lock: take a queued job out. */
static void unqueue(srv_job *job)
{
    srv_job **pp = &S.head, *prev = NULL;
    for (; *pp && *pp != job; pp = &(*pp)->next) prev = *pp;
    if (!*pp) return;
    *pp = job->next;
    if (S.tail == job) S.tail = prev;
    S.queued--;
}

int srv_jobs_wait(srv_job *job, int (*gone)(void *user), void *user)
{
    pthread_mutex_lock(&S.mu);
    int canceled = 0;
    while (job->state == SRV_JOB_QUEUED || job->state == SRV_JOB_RUNNING) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 200 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&S.done, &S.mu, &ts);
        if (job->state == SRV_JOB_QUEUED && gone && gone(user)) {
            unqueue(job);
            job->state = SRV_JOB_CANCELED;
            canceled = 1;
        }
    }
    pthread_mutex_unlock(&S.mu);
    return canceled;
}

void srv_job_free(srv_job *job)
{
    if (!job) return;
    srv_gen_free(&job->g);
    for (int i = 0; i < job->nimages; i++) free(job->png[i]);
    free(job->parameters);
    free(job);
}

void srv_jobs_stop(void)
{
    pthread_mutex_lock(&S.mu);
    S.draining = 1;
    S.stop = 1;
    for (srv_job *j = S.head, *next; j; j = next) {
        next = j->next;
        job_fail(j, 503, "the server is shutting down");
    }
    S.head = S.tail = NULL;
    S.queued = 0;
    pthread_cond_broadcast(&S.work);
    pthread_cond_broadcast(&S.done);
    pthread_mutex_unlock(&S.mu);
}

void srv_jobs_close(void)
{
    pthread_mutex_lock(&S.mu);
    S.loaded = 0;
    if (S.pag) sana_pipeline_free(S.pag);
    sana_pipeline_free(S.base);
    S.pag = S.base = NULL;
    pthread_mutex_unlock(&S.mu);
}

void srv_jobs_status(srv_status *st)
{
    memset(st, 0, sizeof *st);
    pthread_mutex_lock(&S.mu);
    st->loaded = S.loaded, st->draining = S.draining;
    st->running = S.running != NULL, st->queued = S.queued, st->max_queue = S.cfg ? S.cfg->max_queue : 0;
    st->jobs_done = S.jobs_done;
    st->model = S.model;
    if (S.running) {
        st->step = S.step, st->nsteps = S.nsteps;
        st->elapsed = now() - S.started_at;
        st->eta = S.steps_timed ? S.step_sum / S.steps_timed * (S.nsteps - S.step) : -1;
    }
    if (S.loaded) {
        st->class_name = sana_pipeline_class_name(S.base);
        st->backend = sana_pipeline_backend_name(S.base);
        st->sampler = sana_pipeline_sampler(S.base);
        st->default_size = sana_pipeline_default_size(S.base);
    }
    pthread_mutex_unlock(&S.mu);
}
