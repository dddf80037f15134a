/* src/models/weights.c -- look up, prepare once, release: the weights of a model (see weights.h). */
#include "models/weights.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sana_weights_init(sana_weights *w, const sana_backend *be, const sana_st_set *set, unsigned flags)
{
    memset(w, 0, sizeof *w);
    w->be = be ? be : sana_backend_ref();
    w->set = set;
    w->flags = flags;
}

void sana_weights_free(sana_weights *w)
{
    for (int i = 0; i < w->n; i++) {
        if (w->be->release_weight) w->be->release_weight(w->be->ctx, w->prep[i]);
        free(w->prep[i]);
    }
    free(w->prep);
    w->prep = NULL;
    w->n = w->cap = 0;
    w->bytes = w->file_bytes = 0;
}

/* Keep p (a prepared weight) for sana_weights_free; -1 when out of memory. */
static int keep(sana_weights *w, sana_wt *p)
{
    if (w->n == w->cap) {
        int ncap = w->cap ? 2 * w->cap : 64;
        sana_wt **np = realloc(w->prep, (size_t)ncap * sizeof *np);
        if (!np) return -1;
        w->prep = np;
        w->cap = ncap;
    }
    w->prep[w->n++] = p;
    return 0;
}

sana_status sana_model_weight(sana_status *st, sana_weights *w, const sana_wt **out, sana_op use, sana_shape shape,
                              const char *fmt, ...)
{
    *out = NULL;
    if (*st != SANA_OK) return *st;
    char key[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(key, sizeof key, fmt, ap);
    va_end(ap);
    const sana_wt *in = NULL;
    if (sana_st_weight(st, w->set, &in, shape, "%s", key) != SANA_OK) return *st;
    w->file_bytes += (size_t)sana_wt_numel(in) * sana_dtype_size(in->dtype);
    if (!w->be->prepare_weight) {
        *out = in;
        return *st;
    }
    sana_wt *p = calloc(1, sizeof *p);
    if (!p || keep(w, p) != 0) {
        free(p);
        return *st = sana_err(SANA_ERR_NOMEM, "%s: out of memory preparing tensor \"%s\"", w->set->desc, key);
    }
    size_t bytes = 0;
    sana_status ps = w->be->prepare_weight(w->be->ctx, in, use, w->flags, p, &bytes);
    if (ps != SANA_OK) {
        w->n--; /* nothing to release */
        free(p);
        return *st = sana_err_prefix(ps, "%s: backend %s: preparing tensor \"%s\" for %s", w->set->desc, w->be->name,
                                     key, sana_op_name(use));
    }
    w->bytes += bytes;
    *out = p;
    return *st;
}
