/* src/backend/backend.c -- op names, the list of compiled backends, and ref fallback. */
#include "backend/backend.h"

#include <stdio.h>

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
void sana_backend_resolve(sana_backend *be)
{
    const sana_backend *ref = sana_backend_ref();
#define SANA_OP(op, params, args)                                                        \
    if (!be->op || !be->supports_op || !be->supports_op(be->ctx, SANA_OP_##op)) {        \
        if (be->op != ref->op)                                                           \
            fprintf(stderr, "sana: backend %s: op %s runs on ref\n", be->name, #op);     \
        be->op = ref->op;                                                                \
    }
#include "backend/ops/all.def"
#undef SANA_OP
    if (!be->work_size) be->work_size = ref->work_size;
}

int sana_backend_count(void) { return 1; }

const sana_backend *sana_backend_get(int i) { return i == 0 ? sana_backend_ref() : NULL; }
