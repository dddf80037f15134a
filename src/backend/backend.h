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
#include "core/status.h"

#define SANA_UNPAREN(...) __VA_ARGS__

typedef enum {
#define SANA_OP(name, params, args) SANA_OP_##name,
#include "backend/ops/all.def"
#undef SANA_OP
    SANA_OP_COUNT
} sana_op;

/* prepare_weight flags. COMPACT: the weight is read once per prompt, not at every step (the text
 * encoder): keep it small (its file dtype) rather than convert it for speed. */
#define SANA_PREP_COMPACT 1u
/* MAPPED: a weight the backend can read where it is mapped (float32 on a host backend) stays
 * there: no packed copy (`--low-memory`: a copy made at load stays resident while the text encoder
 * runs, mapped pages only once the model reads them). */
#define SANA_PREP_MAPPED 2u

typedef struct sana_backend sana_backend;
struct sana_backend {
    const char *name;
    const char *description; /* one line for `sana --list-backends` */
    void *ctx;
    /* Memory: device buffers of nbytes; upload host->device, download device->host, copy
     * device->device (the buffers may overlap only when dst == src). */
    void *(*alloc)(void *ctx, size_t nbytes);
    void (*free)(void *ctx, void *p);
    void (*upload)(void *ctx, void *dst, const void *src, size_t nbytes);
    void (*download)(void *ctx, void *dst, const void *src, size_t nbytes);
    void (*copy)(void *ctx, void *dst, const void *src, size_t nbytes);
    /* Wait until all queued work is done and return the first failure of an op since the last
     * call (sticky until read; SANA_OK when none). Ops return nothing: a backend that cannot run
     * one (out of memory, device error) records it here. NULL: synchronous and infallible. */
    sana_status (*synchronize)(void *ctx);
    /* 1 exactly when this backend runs op itself for a main weight of dtype wdtype (the weight
     * as prepare_weight left it; SANA_F32 for ops without a weight), 0 when ref must run it. */
    int (*supports_op)(void *ctx, sana_op op, sana_dtype wdtype);
    /* 1 when op, for a main weight of dtype wdtype, gives each output row the bits it gives that
     * row in a call with any other number of rows (no blocking across rows in its sums). Model
     * code may then run independent rows together (the text encoder's prompts in one pass)
     * without changing a bit. NULL: never promised. */
    int (*row_exact)(void *ctx, sana_op op, sana_dtype wdtype);
    /* Floats of the `work` scratch buffer op needs for sizes dims (the op's own meaning, see
     * sana_backend_work); 0 for ops without one. */
    int64_t (*work_size)(void *ctx, sana_op op, const int64_t dims[3]);
    /* Weights, once at load: *out receives the weight in the form this backend's ops read
     * (converted, packed, uploaded) and *bytes the memory that costs (0 when out only aliases
     * in, which stays mapped). use: the op that will read it; flags: SANA_PREP_*. NULL: weights
     * stay as in the file. */
    sana_status (*prepare_weight)(void *ctx, const sana_wt *in, sana_op use, unsigned flags, sana_wt *out,
                                  size_t *bytes);
    /* Release what prepare_weight allocated for w (NULL: nothing to release). */
    void (*release_weight)(void *ctx, sana_wt *w);
    /* Threads this backend computes with (n <= 0: all cores); NULL: it has no threads. */
    void (*set_threads)(void *ctx, int n);
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
 *   glumbconv:    (Hd, H, W)    the expanded activation
 *   glumbconv_tokens: (Hd, H*W, max(Cin, Cout))  the same, and an image in each layout */
static inline int64_t sana_backend_work(const sana_backend *be, sana_op op, int64_t a, int64_t b, int64_t c)
{
    const int64_t dims[3] = {a, b, c};
    return be->work_size(be->ctx, op, dims);
}

/* The backend's row_exact promise for op on weights of dtype wdtype (0 without the slot). */
static inline int sana_backend_row_exact(const sana_backend *be, sana_op op, sana_dtype wdtype)
{
    return be->row_exact ? be->row_exact(be->ctx, op, wdtype) : 0;
}

/* Wait for a backend's queued work and collect its sticky error (SANA_OK when none). */
static inline sana_status sana_backend_sync(const sana_backend *be)
{
    return be->synchronize ? be->synchronize(be->ctx) : SANA_OK;
}

/* The reference backend: host memory, ref/ operators. Always present. */
const sana_backend *sana_backend_ref(void);
/* The cpu backend (accel/cpu): tuned kernels, ref for the rest. Always built. */
const sana_backend *sana_backend_cpu(void);
/* Name of an op ("linear", ...). */
const char *sana_op_name(sana_op op);
/* Fill NULL slots of a backend from ref (the caller's copy), logging each fallback once to
 * stderr unless quiet. Only valid for backends whose memory is host memory. */
void sana_backend_resolve(sana_backend *be, int quiet);
/* Compiled backends: n and the list (ref first). */
int sana_backend_count(void);
const sana_backend *sana_backend_get(int i);
/* The backend called name, or NULL. */
const sana_backend *sana_backend_find(const char *name);
/* The default backend: "cpu" where it is built, else "ref". */
const sana_backend *sana_backend_default(void);

#endif
