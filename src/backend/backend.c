/* src/backend/backend.c -- op names, the list of compiled backends, and ref fallback. */
#include "backend/backend.h"

#include <stdio.h>
#include <string.h>

static const char *const op_names[SANA_OP_COUNT] = {
#define SANA_OP(op, params, args) #op,
#include "backend/ops/all.def"
#undef SANA_OP
};

const char *sana_op_name(sana_op op) { return (unsigned)op < SANA_OP_COUNT ? op_names[op] : "?"; }

/*
 * Slots a backend leaves NULL, or says it does not support, take the ref
 * operator. This is only correct for backends whose memory is host memory;
 * a device backend must support every op the model code calls, or stage the
 * data itself (seam for later: a copying fallback).
 */
void sana_backend_resolve(sana_backend *be, int quiet)
{
    const sana_backend *ref = sana_backend_ref();
#define SANA_OP(op, params, args)                                                        \
    if (!be->op || !be->supports_op || !be->supports_op(be->ctx, SANA_OP_##op, SANA_F32)) { \
        if (be->op != ref->op && !quiet)                                                 \
            fprintf(stderr, "sana: backend %s: op %s runs on ref\n", be->name, #op);     \
        be->op = ref->op;                                                                \
    }
#include "backend/ops/all.def"
#undef SANA_OP
    if (!be->work_size) be->work_size = ref->work_size;
}

/* The compiled backends, ref first (the oracle), then the default. */
static const sana_backend *(*const backends[])(void) = {
    sana_backend_ref,
    sana_backend_cpu,
};

int sana_backend_count(void) { return (int)(sizeof backends / sizeof backends[0]); }

const sana_backend *sana_backend_get(int i) { return i >= 0 && i < sana_backend_count() ? backends[i]() : NULL; }

const sana_backend *sana_backend_find(const char *name)
{
    for (int i = 0; i < sana_backend_count(); i++)
        if (!strcmp(sana_backend_get(i)->name, name)) return sana_backend_get(i);
    return NULL;
}

const sana_backend *sana_backend_default(void) { return sana_backend_cpu(); }
