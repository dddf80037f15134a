/*
 * src/backend_ref.c -- the reference backend: host memory and the ref/ operators.
 *
 * Each table slot is a thin adaptor generated from src/ops/<family>.def that
 * drops the context and calls ref_<name>(...).
 */
#include "backend.h"

#include <stdlib.h>
#include <string.h>

#define SANA_OP(op, params, args) \
    static void be_ref_##op(void *ctx, SANA_UNPAREN params) { (void)ctx; ref_##op args; }
#include "ops/all.def"
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
static int ref_supports(void *ctx, sana_op op) { (void)ctx; return (unsigned)op < SANA_OP_COUNT; }

static const sana_backend ref_backend = {
    .name = "ref",
    .ctx = NULL,
    .alloc = ref_alloc,
    .free = ref_free,
    .upload = ref_copy,
    .download = ref_copy,
    .synchronize = NULL,
    .supports_op = ref_supports,
#define SANA_OP(op, params, args) .op = be_ref_##op,
#include "ops/all.def"
#undef SANA_OP
};

const sana_backend *sana_backend_ref(void) { return &ref_backend; }
