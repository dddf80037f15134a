/* src/models/weights.h -- the weights of one model: looked up by checkpoint key, prepared once by the
 * backend that runs the model, released with it.
 *
 * Every model (dit.c, dcae.c + dcae_blocks.c, gemma2.c) loads its tensors through sana_model_weight():
 * the lookup of sana_st_weight (name, shape, float dtype), then be->prepare_weight (converted,
 * packed or uploaded for the op that reads it), so the pointers the forward passes hold are the
 * prepared weights. A backend without prepare_weight (ref) keeps the mapped file tensors. The
 * prepared copies are released (be->release_weight) by sana_weights_free, with the model.
 */
#ifndef SANA_MODEL_WEIGHTS_H
#define SANA_MODEL_WEIGHTS_H

#include <stddef.h>

#include "backend/backend.h"
#include "io/safetensors.h"

typedef struct {
    const sana_backend *be;
    const sana_st_set *set; /* where the tensors are looked up (kept mapped by the model) */
    unsigned flags;         /* SANA_PREP_* for every weight of this model */
    sana_wt **prep;         /* the prepared weights, released with the store */
    int n, cap;
    size_t bytes;           /* memory the prepared weights cost (0 when they alias the mapped file) */
    size_t file_bytes;      /* bytes of the tensors in the file */
} sana_weights;

/* An empty store over set for backend be (NULL: ref); flags: SANA_PREP_COMPACT for a model read once
 * per prompt (the text encoder), 0 for one read at every step. */
void sana_weights_init(sana_weights *w, const sana_backend *be, const sana_st_set *set, unsigned flags);
/* Release every prepared weight; the store can be initialised again. */
void sana_weights_free(sana_weights *w);

/*
 * *out = the tensor under the key printf(fmt, ...) with exactly `shape`, as the backend prepared it
 * for the op `use`. Sticky status as sana_st_weight: nothing happens when *st is not SANA_OK on
 * entry, and the first error's message is kept (a preparation failure names the tensor). Returns *st.
 *   sana_model_weight(&st, &m->w, &L->q_proj, SANA_OP_linear, SHP(QD, C), "layers.%d.q_proj.weight", l);
 */
sana_status sana_model_weight(sana_status *st, sana_weights *w, const sana_wt **out, sana_op use, sana_shape shape,
                              const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#endif
