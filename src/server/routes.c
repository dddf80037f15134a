/* src/server/routes.c -- the endpoints of `sana serve` and their JSON answers (doc/serving.md):
 *
 *   POST /v1/images/generations   OpenAI: {"created", "data": [{"b64_json", "seed"}]}
 *   POST /sdapi/v1/txt2img        AUTOMATIC1111: {"images", "parameters", "info"}
 *   GET  /v1/models               OpenAI: the one model
 *   GET  /health                  {"status": "ready" | "busy" | "loading" | "stopping"} (503 unless ready/busy)
 *   GET  /progress                the running job: step i of n, elapsed, ETA; the queue
 *   GET  /sdapi/v1/progress       the same in A1111's shape
 */
#define _GNU_SOURCE
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sana.h"
#include "server/server.h"

typedef struct {
    const char *body;
    size_t len;
    int (*gone)(void *user);
    void *user;
} route_in;

typedef void (*route_fn)(const route_in *in, srv_reply *r);

/* ------------------------------------------------------------------ answers */

/* r takes the JSON text of obj (and drops obj). */
static void reply_json(srv_reply *r, int status, json_object *obj)
{
    size_t n = 0;
    const char *s = obj ? json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n)
                        : NULL;
    r->body = s ? malloc(n + 1) : NULL;
    if (r->body) {
        memcpy(r->body, s, n + 1);
        r->len = n;
        r->status = status;
    } else {
        r->body = NULL, r->len = 0, r->status = 500; /* out of memory: an empty 500 */
    }
    json_object_put(obj);
}

static const char *error_type(int status)
{
    switch (status) {
    case 400: case 404: case 405: case 413: return "invalid_request_error";
    case 401: return "authentication_error";
    case 503: return "server_busy";
    default: return "server_error";
    }
}

void srv_reply_error(srv_reply *r, int status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t k = strlen(msg) < sizeof r->note ? strlen(msg) : sizeof r->note - 1;
    memcpy(r->note, msg, k);
    r->note[k] = 0;
    json_object *e = json_object_new_object(), *o = json_object_new_object();
    json_object_object_add(e, "message", json_object_new_string(msg));
    json_object_object_add(e, "type", json_object_new_string(error_type(status)));
    json_object_object_add(e, "code", json_object_new_int(status));
    json_object_object_add(o, "error", e);
    reply_json(r, status, o);
}

/* ------------------------------------------------------------------ generation */

/* Parse, queue, wait: the job when it is done (the caller frees it), or NULL with r answered. */
static srv_job *generate(srv_api api, const route_in *in, srv_reply *r)
{
    char err[512];
    srv_job *job = calloc(1, sizeof *job);
    if (!job) {
        srv_reply_error(r, 500, "out of memory");
        return NULL;
    }
    if (srv_request_parse(api, in->body, in->len, &job->g, err, sizeof err) != 0) {
        srv_reply_error(r, 400, "%s", err);
        free(job);
        return NULL;
    }
    int retry, st = srv_jobs_submit(job, &retry);
    if (st) {
        srv_reply_error(r, st, "%s", job->err);
        r->retry_after = retry;
    } else if (srv_jobs_wait(job, in->gone, in->user)) {
        srv_reply_error(r, 499, "the client closed the connection while the job was queued");
    } else if (job->state != SRV_JOB_DONE) {
        srv_reply_error(r, job->http_status, "%s", job->err);
        if (job->http_status == 503) r->retry_after = 5;
    } else {
        return job;
    }
    srv_job_free(job);
    return NULL;
}

static void note_job(srv_reply *r, const srv_job *job)
{
    snprintf(r->note, sizeof r->note, "%d image%s %dx%d, %d steps, seed %llu, %.2f s", job->nimages,
             job->nimages == 1 ? "" : "s", job->width, job->height, job->steps, (unsigned long long)job->seed,
             job->seconds);
}

/* json-c string of the base64 of PNG i; NULL when out of memory. */
static json_object *png_base64(const srv_job *job, int i)
{
    size_t n;
    char *b = srv_base64(job->png[i], job->png_len[i], &n);
    json_object *s = b ? json_object_new_string_len(b, (int)n) : NULL;
    free(b);
    return s;
}

static void openai_generations(const route_in *in, srv_reply *r)
{
    srv_job *job = generate(SRV_API_OPENAI, in, r);
    if (!job) return;
    json_object *o = json_object_new_object(), *data = json_object_new_array();
    json_object_object_add(o, "created", json_object_new_int64((int64_t)time(NULL)));
    for (int i = 0; i < job->nimages; i++) {
        json_object *d = json_object_new_object();
        json_object_object_add(d, "b64_json", png_base64(job, i));
        json_object_object_add(d, "seed", json_object_new_uint64(job->seed));
        json_object_array_add(data, d);
    }
    json_object_object_add(o, "data", data);
    reply_json(r, 200, o);
    note_job(r, job);
    srv_job_free(job);
}

static void a1111_txt2img(const route_in *in, srv_reply *r)
{
    srv_job *job = generate(SRV_API_A1111, in, r);
    if (!job) return;
    json_object *o = json_object_new_object(), *images = json_object_new_array(), *p = json_object_new_object();
    for (int i = 0; i < job->nimages; i++) json_object_array_add(images, png_base64(job, i));
    json_object_object_add(p, "prompt", json_object_new_string(job->g.prompt));
    json_object_object_add(p, "negative_prompt", json_object_new_string(job->g.negative ? job->g.negative : ""));
    json_object_object_add(p, "steps", json_object_new_int(job->steps));
    json_object_object_add(p, "cfg_scale", json_object_new_double(job->cfg));
    json_object_object_add(p, "width", json_object_new_int(job->width));
    json_object_object_add(p, "height", json_object_new_int(job->height));
    json_object_object_add(p, "seed", json_object_new_uint64(job->seed));
    json_object_object_add(p, "batch_size", json_object_new_int(job->nimages));
    json_object_object_add(p, "sampler_name", json_object_new_string(job->sampler ? job->sampler : ""));
    json_object_object_add(o, "images", images);
    json_object_object_add(o, "parameters", p);
    json_object_object_add(o, "info", json_object_new_string(job->parameters));
    reply_json(r, 200, o);
    note_job(r, job);
    srv_job_free(job);
}

/* ------------------------------------------------------------------ state */

static void models(const route_in *in, srv_reply *r)
{
    (void)in;
    srv_status st;
    srv_jobs_status(&st);
    json_object *o = json_object_new_object(), *data = json_object_new_array(), *m = json_object_new_object();
    json_object_object_add(m, "id", json_object_new_string(st.model ? st.model : ""));
    json_object_object_add(m, "object", json_object_new_string("model"));
    json_object_object_add(m, "created", json_object_new_int(0));
    json_object_object_add(m, "owned_by", json_object_new_string("libsana"));
    if (st.class_name) {
        json_object_object_add(m, "pipeline", json_object_new_string(st.class_name));
        json_object_object_add(m, "backend", json_object_new_string(st.backend));
        json_object_object_add(m, "sampler", json_object_new_string(st.sampler));
        json_object_object_add(m, "default_size", json_object_new_int(st.default_size));
    }
    json_object_array_add(data, m);
    json_object_object_add(o, "object", json_object_new_string("list"));
    json_object_object_add(o, "data", data);
    reply_json(r, 200, o);
}

static void health(const route_in *in, srv_reply *r)
{
    (void)in;
    srv_status st;
    srv_jobs_status(&st);
    const char *s = st.draining ? "stopping" : !st.loaded ? "loading" : st.running || st.queued ? "busy" : "ready";
    json_object *o = json_object_new_object();
    json_object_object_add(o, "status", json_object_new_string(s));
    json_object_object_add(o, "queued", json_object_new_int(st.queued));
    json_object_object_add(o, "max_queue", json_object_new_int(st.max_queue));
    /* a balancer's health check: take traffic when ready or busy (the queue answers 503 when full) */
    reply_json(r, st.loaded && !st.draining ? 200 : 503, o);
    if (!st.loaded || st.draining) r->retry_after = 5;
}

static void progress(const route_in *in, srv_reply *r)
{
    (void)in;
    srv_status st;
    srv_jobs_status(&st);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "state", json_object_new_string(!st.loaded ? "loading" : st.running ? "running" : "idle"));
    json_object_object_add(o, "step", json_object_new_int(st.step));
    json_object_object_add(o, "steps", json_object_new_int(st.nsteps));
    json_object_object_add(o, "elapsed_seconds", json_object_new_double(st.elapsed));
    json_object_object_add(o, "eta_seconds", st.running && st.eta >= 0 ? json_object_new_double(st.eta) : NULL);
    json_object_object_add(o, "queued", json_object_new_int(st.queued));
    json_object_object_add(o, "jobs_done", json_object_new_int(st.jobs_done));
    reply_json(r, 200, o);
}

static void a1111_progress(const route_in *in, srv_reply *r)
{
    (void)in;
    srv_status st;
    srv_jobs_status(&st);
    json_object *o = json_object_new_object(), *s = json_object_new_object();
    json_object_object_add(o, "progress", json_object_new_double(st.nsteps ? (double)st.step / st.nsteps : 0));
    json_object_object_add(o, "eta_relative", json_object_new_double(st.running && st.eta >= 0 ? st.eta : 0));
    json_object_object_add(s, "job_count", json_object_new_int(st.running + st.queued));
    json_object_object_add(s, "sampling_step", json_object_new_int(st.step));
    json_object_object_add(s, "sampling_steps", json_object_new_int(st.nsteps));
    json_object_object_add(o, "state", s);
    json_object_object_add(o, "current_image", NULL);
    reply_json(r, 200, o);
}

/* ------------------------------------------------------------------ the table */

static const struct {
    const char *method, *path;
    route_fn fn;
} routes[] = {
    {"POST", "/v1/images/generations", openai_generations},
    {"POST", "/sdapi/v1/txt2img", a1111_txt2img},
    {"GET", "/v1/models", models},
    {"GET", "/health", health},
    {"GET", "/progress", progress},
    {"GET", "/sdapi/v1/progress", a1111_progress},
};
#define NROUTES ((int)(sizeof routes / sizeof routes[0]))

int srv_route_check(const char *method, const char *path, srv_reply *r)
{
    int known = 0;
    for (int i = 0; i < NROUTES; i++) {
        if (strcmp(routes[i].path, path)) continue;
        if (!strcmp(routes[i].method, method)) return 1;
        known = 1;
        r->allow = routes[i].method;
    }
    if (known) srv_reply_error(r, 405, "%s %.200s: the method is not allowed (use %s)", method, path, r->allow);
    else srv_reply_error(r, 404, "%.200s: no such endpoint", path);
    return known ? 0 : -1;
}

void srv_route(const char *method, const char *path, const char *body, size_t len, int (*gone)(void *user),
               void *user, srv_reply *r)
{
    route_in in = {body, len, gone, user};
    for (int i = 0; i < NROUTES; i++)
        if (!strcmp(routes[i].path, path) && !strcmp(routes[i].method, method)) return routes[i].fn(&in, r);
    srv_route_check(method, path, r);
}
