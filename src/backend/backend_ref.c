/*
 * src/backend/backend_ref.c -- the reference backend: host memory and the ref/ operators.
 *
 * Each table slot is a thin adaptor generated from src/backend/ops/<family>.def that
 * drops the context and calls ref_<name>(...).
 */
#include "backend/backend.h"
#include "ref.h"

#include "config.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>
#ifdef HAVE_OPENBLAS_SET_NUM_THREADS
#include <cblas.h>
#endif

#define SANA_OP(op, params, args) \
    static void be_ref_##op(void *ctx, SANA_UNPAREN params) { (void)ctx; ref_##op args; }
#include "backend/ops/all.def"
#undef SANA_OP

/* Activations are 64-byte aligned host buffers. */
static void *ref_alloc(void *ctx, size_t n)
{
    (void)ctx;
    size_t sz = (n + 63) / 64 * 64;
    return aligned_alloc(64, sz ? sz : 64);
}
static void ref_free(void *ctx, void *p) { (void)ctx; free(p); }
static void ref_copy(void *ctx, void *dst, const void *src, size_t n) { (void)ctx; if (n) memmove(dst, src, n); }
static int ref_supports(void *ctx, sana_op op, sana_dtype wdtype)
{
    (void)ctx;
    (void)wdtype;
    return (unsigned)op < SANA_OP_COUNT;
}

/* ref's threads: OpenMP's loops and OpenBLAS's sgemm (n <= 0: all cores). */
static void ref_set_threads(void *ctx, int n)
{
    (void)ctx;
    int t = n > 0 ? n : omp_get_num_procs();
    omp_set_num_threads(t);
#ifdef HAVE_OPENBLAS_SET_NUM_THREADS
    openblas_set_num_threads(t);
#endif
}

static int64_t ref_work_size(void *ctx, sana_op op, const int64_t d[3])
{
    (void)ctx;
    switch (op) {
    case SANA_OP_mlp2: return ref_mlp2_work(d[0], d[1]);
    case SANA_OP_linear_attn: return ref_linear_attn_work(d[0]);
    case SANA_OP_softmax_attn: return ref_softmax_attn_work(d[0], d[1]);
    case SANA_OP_glumbconv: return ref_glumbconv_work(d[0], d[1], d[2]);
    case SANA_OP_glumbconv_tokens: return ref_glumbconv_tokens_work(d[0], d[1], d[2]);
    default: return 0;
    }
}

static const sana_backend ref_backend = {
    .name = "ref",
    .description = "the reference operators of ref/: plain C, BLAS for matrix products (the oracle)",
    .ctx = NULL,
    .alloc = ref_alloc,
    .free = ref_free,
    .upload = ref_copy,
    .download = ref_copy,
    .copy = ref_copy,
    .synchronize = NULL,
    .supports_op = ref_supports,
    .work_size = ref_work_size,
    .set_threads = ref_set_threads,
#define SANA_OP(op, params, args) .op = be_ref_##op,
#include "backend/ops/all.def"
#undef SANA_OP
};

const sana_backend *sana_backend_ref(void) { return &ref_backend; }
