/* tests/backend_ops_util.c -- inputs, guarded outputs and bookkeeping for test-backend-ops. */
#include "backend_ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GUARD_FLOATS 16
static const uint32_t GUARD_BITS = 0x7fc0dead; /* a NaN payload no op produces */

/* Everything a case allocates, freed by bo_release_all() after each run. */
typedef struct { const sana_backend *be; void *p; int host; } alloc_rec;
static alloc_rec *recs;
static int nrecs, caprecs;
int bo_guard_damaged;

static void *remember(const sana_backend *be, void *p, int host)
{
    if (nrecs == caprecs) {
        caprecs = caprecs ? 2 * caprecs : 64;
        recs = realloc(recs, (size_t)caprecs * sizeof *recs);
    }
    recs[nrecs++] = (alloc_rec){be, p, host};
    return p;
}

void bo_release_all(void);
void bo_release_all(void)
{
    for (int i = 0; i < nrecs; i++) {
        if (recs[i].host) free(recs[i].p);
        else recs[i].be->free(recs[i].be->ctx, recs[i].p);
    }
    nrecs = 0;
    free(recs);
    recs = NULL;
    caprecs = 0;
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

float *bo_in(const sana_backend *be, bo_rng *r, int64_t n, float lo, float hi)
{
    float *h = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    for (int64_t i = 0; i < n; i++) h[i] = bo_uniform(r, lo, hi);
    float *d = be->alloc(be->ctx, (size_t)(n > 0 ? n : 1) * sizeof(float));
    be->upload(be->ctx, d, h, (size_t)n * sizeof(float));
    free(h);
    return remember(be, d, 0);
}

const sana_wt *bo_wt(bo_rng *r, sana_dtype dt, sana_shape shape, float lo, float hi)
{
    sana_wt *w = remember(NULL, calloc(1, sizeof *w), 1);
    w->dtype = dt;
    w->ndim = shape.ndim;
    for (int i = 0; i < shape.ndim; i++) w->shape[i] = shape.dim[i];
    int64_t n = sana_wt_numel(w);
    unsigned char *data = remember(NULL, malloc((size_t)(n > 0 ? n : 1) * sana_dtype_size(dt)), 1);
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

float *bo_out(const sana_backend *be, int64_t n)
{
    size_t total = (size_t)(n + GUARD_FLOATS);
    float *h = malloc(total * sizeof(float));
    for (size_t i = 0; i < total; i++) memcpy(&h[i], &GUARD_BITS, 4);
    float *d = be->alloc(be->ctx, total * sizeof(float));
    be->upload(be->ctx, d, h, total * sizeof(float));
    free(h);
    return remember(be, d, 0);
}

float *bo_out_filled(const sana_backend *be, bo_rng *r, int64_t n)
{
    float *y = bo_out(be, n), *h = malloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++) h[i] = bo_uniform(r, -1, 1);
    be->upload(be->ctx, y, h, (size_t)n * sizeof(float));
    free(h);
    return y;
}

float *bo_result(const sana_backend *be, const float *dev, int64_t n)
{
    size_t total = (size_t)(n + GUARD_FLOATS);
    float *h = malloc(total * sizeof(float));
    if (be->synchronize) be->synchronize(be->ctx);
    be->download(be->ctx, h, dev, total * sizeof(float));
    for (size_t i = (size_t)n; i < total; i++)
        if (memcmp(&h[i], &GUARD_BITS, 4) != 0) {
            bo_guard_damaged = 1;
            break;
        }
    return h; /* the driver frees it */
}
