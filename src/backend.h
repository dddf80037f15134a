/* src/backend.h -- the backend table: how model code reaches operators and memory.
 *
 * Model code never calls ref_* directly. It holds a `const sana_backend *`
 * and calls be->linear(be->ctx, ...), or SANA_OP_CALL(be, linear, ...).
 * A backend owns the memory its ops read and write: activations are
 * allocated with be->alloc and moved with upload/download. Weights are
 * passed as sana_wt in their file dtype (host memory, mmapped); a device
 * backend converts or uploads them itself (seam: a later `prepare_weight`).
 *
 * The ops are listed once, in src/ops/<family>.def, as X-macros:
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
#include "../ref/ref.h"

#define SANA_UNPAREN(...) __VA_ARGS__

typedef enum {
#define SANA_OP(name, params, args) SANA_OP_##name,
#include "ops/all.def"
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
    /* One slot per operator. */
#define SANA_OP(name, params, args) void (*name)(void *ctx, SANA_UNPAREN params);
#include "ops/all.def"
#undef SANA_OP
};

#define SANA_OP_CALL(be, op, ...) ((be)->op((be)->ctx, __VA_ARGS__))

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
