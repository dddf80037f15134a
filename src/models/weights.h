/* src/models/weights.h -- the weights of one model: looked up by checkpoint key, prepared once by the
 * backend that runs the model, released with it.
 *
 * Every model (dit.c, dcae.c + dcae_blocks.c, gemma2.c) loads its tensors through sana_model_weight():
 * the lookup of sana_st_weight (name, shape, float dtype; or a quantized tensor of a folder that
 * `sana convert` wrote: I8 / U8 data with a "_scale" tensor), then be->prepare_weight (converted,
 * packed or uploaded for the op that reads it), so the pointers the forward passes hold are the
 * prepared weights. A backend without prepare_weight (ref) keeps the mapped file tensors. The
 * prepared copies are released (be->release_weight) by sana_weights_free, with the model.
 */
#ifndef SANA_MODEL_WEIGHTS_H
#define SANA_MODEL_WEIGHTS_H

#include <stddef.h>

#include "backend/backend.h"
#include "core/quant.h"
#include "io/safetensors.h"

typedef struct {
    const sana_backend *be;
    const sana_st_set *set; /* where the tensors are looked up (kept mapped by the model) */
    unsigned flags;         /* SANA_PREP_* for every weight of this model */
    sana_quant quant;       /* SANA_Q8 / SANA_Q4: matrices quantized at load (sana_weights_quantize); SANA_F32: none */
    sana_wt **prep;         /* the prepared weights, released with the store */
    void **qbuf;            /* per prepared weight: the quantized copy it reads, or NULL (freed with the store) */
    int n, cap;
    int record;             /* 1: note every weight looked up (sana_weights_each; `sana convert`) */
    struct sana_lora *lora; /* adapters merged into the weights they target (models/lora.h), or NULL */
    float **lbuf;           /* per prepared weight: its LoRA-merged float32 copy, or NULL */
    char **rec_keys;
    const sana_wt **rec_wts;
    int nrec, caprec;
    size_t bytes;           /* memory the prepared weights cost (0 when they alias the mapped file) */
    size_t file_bytes;      /* bytes of the tensors in the file */
} sana_weights;

/* An empty store over set for backend be (NULL: ref); flags: SANA_PREP_COMPACT for a model read once
 * per prompt (the text encoder), 0 for one read at every step. */
void sana_weights_init(sana_weights *w, const sana_backend *be, const sana_st_set *set, unsigned flags);
/*
 * From now on, quantize to q (SANA_Q8, SANA_Q4; SANA_F32: stop) the matrices that the quantized ops
 * read: the weights of `linear` (2-D) and the two 1x1 convolutions of `glumbconv`. Everything else
 * (embeddings, norms, biases, mlp2's small projections, depthwise and other convolutions) stays in
 * its file dtype; so does a Q4 matrix whose rows are not whole groups of SANA_Q4_GROUP.
 */
void sana_weights_quantize(sana_weights *w, sana_quant q);
/* Weight i (0, 1, ... in the order the model looked them up, when w->record was set before loading):
 * its key and the tensor the model reads (prepared; quantized ones as SANA_Q8 / SANA_Q4 unless the
 * backend packed them). 0 past the last. */
int sana_weights_each(const sana_weights *w, int i, const char **key, const sana_wt **t);
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
