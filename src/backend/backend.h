/* src/backend/backend.h -- the backend table: how model code reaches operators and memory.
 *
 * Model code never calls ref_* directly. It holds a `const sana_backend *`
 * and calls be->linear(be->ctx, ...), or SANA_OP_CALL(be, linear, ...).
 * A backend owns the memory its ops read and write: activations are
 * allocated with be->alloc and moved with upload/download. Weights are
 * passed as sana_wt in their file dtype (host memory, mmapped); a device
 * backend converts or uploads them itself (seam: a later `prepare_weight`).
 *
 * Model code sees this table and the weight types (core/weight.h) only; the
 * ref_* prototypes stay behind the ref backend (backend_ref.c includes ref.h).
 * Ops that take a `work` scratch buffer size it with sana_backend_work().
 *
 * The ops are listed once, in src/backend/ops/<family>.def, as X-macros:
 *   SANA_OP(name, (parameters after ctx), (argument names))
 * which gives the sana_op enum, the table slots, the ref bindings and the
 * names used in messages and by tests/test-backend-ops.
 *
 * A backend may leave a slot NULL; supports_op must then say 0 and
 * sana_backend_resolve() fills the slot from ref (logged once).
 */
#ifndef SANA_BACKEND_H
#define SANA_BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include "core/weight.h"
#include "backend/ops/types.h"

#define SANA_UNPAREN(...) __VA_ARGS__

typedef enum {
#define SANA_OP(name, params, args) SANA_OP_##name,
#include "backend/ops/all.def"
#undef SANA_OP
    SANA_OP_COUNT
} sana_op;

typedef struct sana_backend sana_backend;
struct sana_backend {
    const char *name;
    void *ctx;
    /* Memory: device buffers of nbytes; upload host->device, download device->host. */
    void *(*alloc)(void *ctx, size_t nbytes);
    void (*free)(void *ctx, void *p);
    void (*upload)(void *ctx, void *dst, const void *src, size_t nbytes);
    void (*download)(void *ctx, void *dst, const void *src, size_t nbytes);
    /* Wait until all queued work is done (NULL: synchronous backend). */
    void (*synchronize)(void *ctx);
    /* 1 when this backend runs op itself, 0 when it falls back to ref. */
    int (*supports_op)(void *ctx, sana_op op);
    /* Floats of the `work` scratch buffer op needs for sizes dims (the op's own meaning, see
     * sana_backend_work); 0 for ops without one. */
    int64_t (*work_size)(void *ctx, sana_op op, const int64_t dims[3]);
    /* One slot per operator. */
#define SANA_OP(name, params, args) void (*name)(void *ctx, SANA_UNPAREN params);
#include "backend/ops/all.def"
#undef SANA_OP
};

#define SANA_OP_CALL(be, op, ...) ((be)->op((be)->ctx, __VA_ARGS__))

/* Scratch floats of an op that takes `work`, by op:
 *   mlp2:         (M, Hd)       the hidden activation
 *   linear_attn:  (d)           per-head state
 *   softmax_attn: (N, L)        one head's score matrix
 *   glumbconv:    (Hd, H, W)    the expanded activation */
static inline int64_t sana_backend_work(const sana_backend *be, sana_op op, int64_t a, int64_t b, int64_t c)
{
    const int64_t dims[3] = {a, b, c};
    return be->work_size(be->ctx, op, dims);
}

/* The reference backend: host memory, ref/ operators. Always present. */
const sana_backend *sana_backend_ref(void);
/* Name of an op ("linear", ...). */
const char *sana_op_name(sana_op op);
/* Fill NULL slots of a backend from ref (the caller's copy), logging each fallback once to stderr. */
void sana_backend_resolve(sana_backend *be);
/* Compiled backends: n and the list (ref first). */
int sana_backend_count(void);
const sana_backend *sana_backend_get(int i);

#endif
