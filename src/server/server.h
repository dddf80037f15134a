/* src/server/server.h -- the HTTP server of `sana serve` (doc/serving.md): one pipeline loaded once,
 * one generation at a time on a worker thread, a bounded queue in front of it, and the OpenAI and
 * AUTOMATIC1111 image APIs on libmicrohttpd.
 *
 *   request.c  the request bodies: strict JSON (json-c) to a srv_gen, every field checked
 *   base64.c   base64 of the PNGs
 *   jobs.c     the queue, the worker (load, generate, PNG in memory), job state and progress
 *   routes.c   the endpoints: JSON answers of each API
 *   http.c     the daemon: routing, limits, api key, timeouts, the log line, SIGTERM
 *
 * Like the command it is a program on the public API: it includes "sana.h", libmicrohttpd, json-c and
 * system headers, never the library's internals. Errors are values (an HTTP status and a message). */
#ifndef SANA_SERVER_H
#define SANA_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "sana.h"
#include "cli/serve.h" /* srv_config, srv_run: what the command calls */

/* ------------------------------------------------------------------ limits (doc/serving.md) */

#define SRV_MAX_BODY (64 * 1024)   /* bytes of a request body: a prompt and a few numbers */
#define SRV_MAX_PROMPT (16 * 1024) /* bytes of a prompt or negative prompt: Gemma keeps 300 tokens */
#define SRV_MAX_SIDE 4096          /* px of width and height: the largest published SANA model */
#define SRV_MAX_STEPS 200          /* num_inference_steps: SANA's samplers converge in 20 */
#define SRV_MAX_IMAGES 4           /* n, batch_size: one request must not hold the queue for long */
#define SRV_MAX_SCALE 100.0        /* guidance_scale, pag_scale */
#define SRV_MAX_SEED INT64_MAX     /* JSON numbers beyond it are not whole numbers to json-c */

/* ------------------------------------------------------------------ requests (request.c) */

typedef enum { SRV_API_OPENAI = 0, SRV_API_A1111 } srv_api;

/* One generation request, as parsed; 0 / unset fields take the pipeline's defaults. */
typedef struct {
    srv_api api;
    char *prompt;        /* malloc'd, valid UTF-8, at most SRV_MAX_PROMPT bytes */
    char *negative;      /* malloc'd, or NULL when not given */
    int n;               /* images, 1 .. SRV_MAX_IMAGES */
    int width, height;   /* 0: the pipeline's default size */
    int steps;           /* 0: the pipeline's default */
    int cfg_set, pag_set;
    double cfg, pag;
    int seed_random;     /* no seed, or -1: a random one, said in the answer */
    uint64_t seed;
} srv_gen;

/* Parse and check the JSON body of a POST of api. 0, or -1 with err = "FIELD: problem" (what a 400
 * says). g is filled on success only and released with srv_gen_free. */
int srv_request_parse(srv_api api, const char *body, size_t len, srv_gen *g, char *err, size_t nerr);
void srv_gen_free(srv_gen *g);

/* ------------------------------------------------------------------ base64 (base64.c) */

/* RFC 4648 base64 of data, NUL-terminated and malloc'd (NULL when out of memory); *len its length. */
char *srv_base64(const uint8_t *data, size_t n, size_t *len);

/* ------------------------------------------------------------------ jobs (jobs.c) */

typedef enum { SRV_JOB_QUEUED = 0, SRV_JOB_RUNNING, SRV_JOB_DONE, SRV_JOB_FAILED, SRV_JOB_CANCELED } srv_job_state;

typedef struct srv_job srv_job;
struct srv_job {
    srv_gen g;              /* the request; the worker resolves its defaults */
    srv_job_state state;
    int http_status;        /* of a failure: 400 (bad argument), 500, 503 (shutting down) */
    char err[512];
    /* What was generated (SRV_JOB_DONE) */
    int nimages;
    uint8_t *png[SRV_MAX_IMAGES];
    size_t png_len[SRV_MAX_IMAGES];
    char *parameters;       /* the "parameters" text the PNGs carry (malloc'd) */
    int width, height, steps;
    double cfg;
    uint64_t seed;
    const char *sampler;    /* A1111 name */
    double seconds;
    srv_job *next;          /* the queue */
};

/* Before anything else: the configuration the jobs run with. */
void srv_jobs_init(const srv_config *cfg);
/* The worker, on the calling thread (the main thread): load the pipeline (health says "loading"
 * meanwhile), then run the queued jobs one at a time until srv_jobs_stop; returns at once when the load
 * fails (srv_jobs_load_failed). */
void srv_jobs_work(void);
/* Queue a job the caller allocated (zeroed, g filled). 0, or an HTTP status with job->err set and the
 * seconds to retry after in *retry: 503 (queue full, loading, shutting down), 400 (the pipeline cannot
 * do it: PAG on a Sprint checkpoint). */
int srv_jobs_submit(srv_job *job, int *retry);
/* Wait for the job to finish. gone(user) is asked a few times a second: when it says the client left
 * while the job still waits in the queue, the job is taken out (SRV_JOB_CANCELED) and 1 is returned;
 * else 0 once the job is done or failed. */
int srv_jobs_wait(srv_job *job, int (*gone)(void *user), void *user);
void srv_job_free(srv_job *job);
/* Refuse new jobs, fail the queued ones (503); the worker returns once the running one is done. Any thread. */
void srv_jobs_stop(void);
/* After srv_jobs_work has returned: release the pipeline. */
void srv_jobs_close(void);
/* 1 once the worker has failed to load the pipeline (the message in err), else 0. */
int srv_jobs_load_failed(char *err, size_t n);

typedef struct {
    int loaded, draining;
    int running, queued, max_queue;
    int step, nsteps;        /* of the running job: the last step done, the total */
    double elapsed, eta;     /* seconds since the running job started; estimated seconds left */
    int jobs_done;
    const char *model;       /* the folder's last component */
    const char *class_name, *backend, *sampler;
    int default_size;
} srv_status;

void srv_jobs_status(srv_status *st);

/* ------------------------------------------------------------------ answers (routes.c) */

/* An answer: status, a malloc'd JSON body, and Retry-After seconds (0: none). */
typedef struct {
    int status;
    char *body;
    size_t len;
    int retry_after;
    const char *allow;       /* 405: the methods of the path */
    char note[200];          /* for the log line: the error message, or what was made */
} srv_reply;

/* The routes: method and path to an answer; body is the complete request body (POST). */
void srv_route(const char *method, const char *path, const char *body, size_t len, int (*gone)(void *user),
               void *user, srv_reply *r);
/* 1 when method + path is a route, 0 when the path is one but not the method (405, r->allow set),
 * -1 when the path is unknown (404). Answers r for the last two. */
int srv_route_check(const char *method, const char *path, srv_reply *r);
/* An error answer {"error": {"message": MSG, "type": TYPE, "code": STATUS}} (both APIs read it). */
void srv_reply_error(srv_reply *r, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
