/* tests/backend_ops_util.c -- inputs, prepared weights, guarded outputs, the timed op loop and
 * bookkeeping for test-backend-ops. */
#include "config.h"
#include "backend_ops.h"
#include "core/quant.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GUARD_FLOATS 16
static const uint32_t GUARD_BITS = 0x7fc0dead; /* a NaN payload no op produces */

bo_run_state bo_state;

/* Everything a case allocates, freed by bo_release_all() after each run, last first. */
typedef enum { REC_DEVICE, REC_HOST, REC_WEIGHT } rec_kind;
typedef struct { const sana_backend *be; void *p; rec_kind kind; } alloc_rec;
static alloc_rec *recs;
static int nrecs, caprecs;

static void *remember(const sana_backend *be, void *p, rec_kind kind)
{
    if (nrecs == caprecs) {
        caprecs = caprecs ? 2 * caprecs : 64;
        alloc_rec *grown = realloc(recs, (size_t)caprecs * sizeof *recs);
        if (!grown) abort();
        recs = grown;
    }
    recs[nrecs++] = (alloc_rec){be, p, kind};
    return p;
}

void bo_release_all(void)
{
    for (int i = nrecs - 1; i >= 0; i--) {
        const alloc_rec *a = &recs[i];
        if (a->kind == REC_HOST) free(a->p);
        else if (a->kind == REC_DEVICE) a->be->free(a->be->ctx, a->p);
        else {
            if (a->be->release_weight) a->be->release_weight(a->be->ctx, a->p);
            free(a->p);
        }
    }
    nrecs = 0;
    free(recs);
    recs = NULL;
    caprecs = 0;
}

double bo_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* splitmix64: small, portable, good enough for test inputs. */
static uint64_t next(bo_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

float bo_uniform(bo_rng *r, float lo, float hi)
{
    return lo + (hi - lo) * (float)((next(r) >> 40) * (1.0 / 16777216.0));
}

void *bo_in_host(const sana_backend *be, const void *v, size_t nbytes)
{
    void *d = be->alloc(be->ctx, nbytes ? nbytes : 1);
    if (!d) abort();
    if (nbytes) be->upload(be->ctx, d, v, nbytes);
    return remember(be, d, REC_DEVICE);
}

float *bo_in(const sana_backend *be, bo_rng *r, int64_t n, float lo, float hi)
{
    float *h = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    if (!h) abort();
    for (int64_t i = 0; i < n; i++) h[i] = bo_uniform(r, lo, hi);
    float *d = bo_in_host(be, h, (size_t)n * sizeof(float));
    free(h);
    return d;
}

static sana_wt *host_weight(bo_rng *r, sana_dtype dt, sana_shape shape, float lo, float hi);

/* A quantized host weight (Q8, Q4): float32 values drawn as for F32, then sana_quantize. */
static sana_wt *host_weight_quant(bo_rng *r, sana_dtype dt, sana_shape shape, float lo, float hi)
{
    const sana_wt *f = host_weight(r, SANA_F32, shape, lo, hi);
    sana_wt *w = remember(NULL, calloc(1, sizeof *w), REC_HOST);
    void *own = NULL;
    if (sana_quantize(f, dt, w, &own) != SANA_OK) abort();
    remember(NULL, own, REC_HOST);
    return w;
}

/* The host weight in the file's form (quantized ones as sana_quantize makes them). */
static sana_wt *host_weight(bo_rng *r, sana_dtype dt, sana_shape shape, float lo, float hi)
{
    if (dt == SANA_Q8 || dt == SANA_Q4) return host_weight_quant(r, dt, shape, lo, hi);
    sana_wt *w = remember(NULL, calloc(1, sizeof *w), REC_HOST);
    w->dtype = dt;
    w->ndim = shape.ndim;
    for (int i = 0; i < shape.ndim; i++) w->shape[i] = shape.dim[i];
    int64_t n = sana_wt_numel(w);
    unsigned char *data = remember(NULL, malloc((size_t)(n > 0 ? n : 1) * sana_dtype_size(dt)), REC_HOST);
    for (int64_t i = 0; i < n; i++) {
        float v = bo_uniform(r, lo, hi);
        if (dt == SANA_F32) memcpy(data + 4 * i, &v, 4);
        else {
            uint16_t h = dt == SANA_F16 ? sana_f32_to_f16(v) : sana_f32_to_bf16(v);
            memcpy(data + 2 * i, &h, 2);
        }
    }
    w->data = data;
    return w;
}

const sana_wt *bo_wt(const sana_backend *be, bo_rng *r, sana_dtype dt, sana_shape shape, float lo, float hi)
{
    const sana_wt *w = host_weight(r, dt, shape, lo, hi);
    if (!bo_state.have_wdtype) bo_state.file_wdtype = dt;
    if (be->prepare_weight) {
        sana_wt *out = calloc(1, sizeof *out);
        size_t bytes = 0;
        if (!out) abort();
        if (be->prepare_weight(be->ctx, w, bo_state.op, bo_state.prep_flags, out, &bytes) != SANA_OK) {
            fprintf(stderr, "%s: prepare_weight failed for %s\n", be->name, sana_op_name(bo_state.op));
            free(out);
            bo_state.guard_damaged = 1; /* fails the case */
        } else
            w = remember(be, out, REC_WEIGHT);
    }
    if (!bo_state.have_wdtype) {
        bo_state.have_wdtype = 1;
        bo_state.wdtype = w->dtype;
    }
    return w;
}

float *bo_out(const sana_backend *be, int64_t n)
{
    size_t total = (size_t)(n + GUARD_FLOATS);
    float *h = malloc(total * sizeof(float));
    if (!h) abort();
    for (size_t i = 0; i < total; i++) memcpy(&h[i], &GUARD_BITS, 4);
    float *d = bo_in_host(be, h, total * sizeof(float));
    free(h);
    return d;
}

float *bo_out_filled(const sana_backend *be, bo_rng *r, int64_t n)
{
    float *y = bo_out(be, n), *h = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    if (!h) abort();
    for (int64_t i = 0; i < n; i++) h[i] = bo_uniform(r, -1, 1);
    be->upload(be->ctx, y, h, (size_t)n * sizeof(float));
    free(h);
    return y;
}

float *bo_result(const sana_backend *be, const float *dev, int64_t n)
{
    size_t total = (size_t)(n + GUARD_FLOATS);
    float *h = malloc(total * sizeof(float));
    if (!h) abort();
    if (sana_backend_sync(be) != SANA_OK) bo_state.guard_damaged = 1; /* an op reported a failure */
    be->download(be->ctx, h, dev, total * sizeof(float));
    for (size_t i = (size_t)n; i < total; i++)
        if (memcmp(&h[i], &GUARD_BITS, 4) != 0) {
            bo_state.guard_damaged = 1;
            break;
        }
    return h; /* the driver frees it */
}

void bo_cost(double flops, double bytes)
{
    bo_state.flops = flops;
    bo_state.bytes = bytes;
}

/* The timed loop: the first call warms up (caches, thread pools, lazily packed weights), the
 * next ones are timed until perf_seconds have passed (at least 3 calls). */
static double t_start;
static int64_t loop_calls;

int bo_op_begin(const sana_backend *be, sana_op op)
{
    sana_dtype dt = bo_state.have_wdtype ? bo_state.wdtype : SANA_F32;
    if (!be->supports_op(be->ctx, op, dt)) {
        bo_state.unsupported = 1;
        return 0;
    }
    loop_calls = 0;
    bo_state.calls = 0;
    bo_state.seconds = 0;
    bo_state.best = 0;
    t_start = bo_now();
    return 1;
}

int bo_op_next(const sana_backend *be)
{
    if (!bo_state.perf) return 0;
    sana_backend_sync(be);
    double t = bo_now(), dt = t - t_start;
    t_start = t;
    /* call 0 is the warm-up, unless it alone took the whole time (a slow op on ref): then it counts */
    if (loop_calls++ > 0 || dt > bo_state.perf_seconds) {
        bo_state.calls++;
        bo_state.seconds += dt;
        if (bo_state.calls == 1 || dt < bo_state.best) bo_state.best = dt;
    }
    if (bo_state.seconds > bo_state.perf_seconds && bo_state.calls >= 1 && dt > bo_state.perf_seconds) return 0;
    return bo_state.calls < 3 || bo_state.seconds < bo_state.perf_seconds;
}
