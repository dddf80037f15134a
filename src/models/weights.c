/* src/models/weights.c -- look up, prepare once, release: the weights of a model (see weights.h). */
#include "models/weights.h"
#include "models/lora.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>
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

void sana_weights_quantize(sana_weights *w, sana_quant q) { w->quant = q; }

void sana_weights_free(sana_weights *w)
{
    for (int i = 0; i < w->n; i++) {
        if (w->be->release_weight) w->be->release_weight(w->be->ctx, w->prep[i]);
        free(w->prep[i]);
        free(w->qbuf[i]);
        free(w->lbuf[i]);
    }
    free(w->prep);
    free(w->qbuf);
    free(w->lbuf);
    w->lbuf = NULL;
    for (int i = 0; i < w->nrec; i++) free(w->rec_keys[i]);
    free(w->rec_keys);
    free(w->rec_wts);
    w->rec_keys = NULL;
    w->rec_wts = NULL;
    w->nrec = w->caprec = 0;
    w->prep = NULL;
    w->qbuf = NULL;
    w->n = w->cap = 0;
    w->bytes = w->file_bytes = 0;
}

/* Keep p (a prepared weight) for sana_weights_free; -1 when out of memory. */
static int keep(sana_weights *w, sana_wt *p)
{
    if (w->n == w->cap) {
        int ncap = w->cap ? 2 * w->cap : 64;
        sana_wt **np = realloc(w->prep, (size_t)ncap * sizeof *np);
        if (np) w->prep = np;
        void **nq = np ? realloc(w->qbuf, (size_t)ncap * sizeof *nq) : NULL;
        if (nq) w->qbuf = nq;
        float **nl = nq ? realloc(w->lbuf, (size_t)ncap * sizeof *nl) : NULL;
        if (nl) w->lbuf = nl;
        if (!np || !nq || !nl) return -1;
        w->cap = ncap;
    }
    w->qbuf[w->n] = NULL;
    w->lbuf[w->n] = NULL;
    w->prep[w->n++] = p;
    return 0;
}

/* Give back to the kernel the pages of a tensor's mmapped file data that lie wholly inside it, once
 * nothing reads them any more (a quantized copy replaced it): they no longer count in the resident
 * memory, and a later read would fault them in again from the file. Only for memory-mapped files
 * (not the inflated .gz goldens: MADV_DONTNEED would zero anonymous memory). */
static void drop_file_pages(const sana_st_set *set, const sana_wt *t)
{
    const uintptr_t a = (uintptr_t)t->data, e = a + sana_wt_bytes(t);
    const long pg = sysconf(_SC_PAGESIZE);
    if (pg <= 0) return;
    for (int f = 0; f < set->nfiles; f++) {
        const sana_st_file *sf = set->files[f];
        const uintptr_t m = (uintptr_t)sf->map;
        if (sf->mapped != 1 || a < m || e > m + sf->size) continue;
        const uintptr_t lo = (a + (uintptr_t)pg - 1) / (uintptr_t)pg * (uintptr_t)pg, hi = e / (uintptr_t)pg * (uintptr_t)pg;
        if (hi > lo) (void)madvise((void *)lo, hi - lo, MADV_DONTNEED);
        return;
    }
}

/* Whether a weight of shape dim[ndim] read by op `use` is a matrix: a linear layer's, or a 1x1
 * convolution of GLUMBConv (the DiT's feed-forward reads its weights through glumbconv_tokens). */
static int matrix_of(sana_op use, int ndim, const int64_t *dim)
{
    if (use == SANA_OP_linear) return ndim == 2;
    return (use == SANA_OP_glumbconv || use == SANA_OP_glumbconv_tokens) && ndim == 4 && dim[2] == 1 && dim[3] == 1;
}

/* Whether a weight read by op `use` is one of the matrices sana_weights_quantize quantizes to q. */
static int quantizable(const sana_wt *in, sana_op use, sana_quant q)
{
    const int fl = in->dtype == SANA_F32 || in->dtype == SANA_F16 || in->dtype == SANA_BF16;
    return fl && matrix_of(use, in->ndim, in->shape) &&
           (q == SANA_Q8 || (q == SANA_Q4 && sana_wt_cols(in) % SANA_Q4_GROUP == 0));
}

/* Note key -> t for sana_weights_each (the store records); 0, or -1 when out of memory. */
static int record(sana_weights *w, const char *key, const sana_wt *t)
{
    if (!w->record) return 0;
    if (w->nrec == w->caprec) {
        int ncap = w->caprec ? 2 * w->caprec : 64;
        char **nk = realloc(w->rec_keys, (size_t)ncap * sizeof *nk);
        if (nk) w->rec_keys = nk;
        const sana_wt **nt = nk ? realloc(w->rec_wts, (size_t)ncap * sizeof *nt) : NULL;
        if (nt) w->rec_wts = nt;
        if (!nk || !nt) return -1;
        w->caprec = ncap;
    }
    char *k = strdup(key);
    if (!k) return -1;
    w->rec_keys[w->nrec] = k;
    w->rec_wts[w->nrec++] = t;
    return 0;
}

/*
 * A tensor of a quantized folder (`sana convert`, doc/quantization.md): key holds I8 (Q8, the
 * logical shape) or U8 (Q4, [rows, cols / 2]) data and key + "_scale" the F32 scales ([rows] or
 * [rows, cols / SANA_Q4_GROUP]). Checked against the shape the model expects; the scales are copied
 * to aligned memory (*own), the data stays mapped. Only the matrices sana_weights_quantize would
 * quantize may be quantized in a file.
 */
static sana_status file_quantized(const sana_weights *w, const char *key, const sana_st_tensor *t, sana_op use,
                                  sana_shape shape, sana_wt *q, void **own)
{
    *own = NULL;
    const char *file = w->set->desc;
    memset(q, 0, sizeof *q);
    q->ndim = shape.ndim;
    for (int i = 0; i < shape.ndim; i++) q->shape[i] = shape.dim[i];
    q->dtype = t->wt.dtype == SANA_I8 ? SANA_Q8 : SANA_Q4;
    const int64_t rows = sana_wt_rows(q), cols = sana_wt_cols(q);
    if (!matrix_of(use, shape.ndim, shape.dim))
        return sana_err(SANA_ERR_FORMAT, "%s: tensor \"%s\" is %s (quantized), but only the matrices of linear layers "
                        "and GLUMBConv's 1x1 convolutions may be", file, key, sana_dtype_name(t->wt.dtype));
    int ok;
    if (q->dtype == SANA_Q8) {
        ok = t->wt.ndim == shape.ndim;
        for (int i = 0; ok && i < shape.ndim; i++) ok = t->wt.shape[i] == shape.dim[i];
    } else {
        ok = cols % SANA_Q4_GROUP == 0 && t->wt.ndim == 2 && t->wt.shape[0] == rows && t->wt.shape[1] == cols / 2;
    }
    if (!ok)
        return sana_err(SANA_ERR_FORMAT, "%s: quantized tensor \"%s\" (%s) has the wrong shape for [%lld, %lld]%s", file,
                        key, sana_dtype_name(t->wt.dtype), (long long)rows, (long long)cols,
                        q->dtype == SANA_Q4 ? " (q4: U8 [rows, cols / 2], cols a multiple of 32)" : "");
    char skey[600];
    snprintf(skey, sizeof skey, "%s_scale", key);
    const sana_st_tensor *s = sana_st_set_find(w->set, skey);
    const int64_t ns = q->dtype == SANA_Q8 ? rows : rows * (cols / SANA_Q4_GROUP);
    if (!s) return sana_err(SANA_ERR_MISSING, "%s: quantized tensor \"%s\" has no scale tensor \"%s\"", file, key, skey);
    if (s->wt.dtype != SANA_F32 || sana_wt_numel(&s->wt) != ns ||
        (q->dtype == SANA_Q8 ? s->wt.ndim != 1 : s->wt.ndim != 2 || s->wt.shape[0] != rows))
    {
        char got[96] = "";
        for (int i = 0; i < s->wt.ndim && strlen(got) < 80; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", i ? ", " : "", (long long)s->wt.shape[i]);
        return sana_err(SANA_ERR_FORMAT, "%s: scale tensor \"%s\" must be F32 [%lld%s], not %s [%s]", file, skey,
                        (long long)rows, q->dtype == SANA_Q8 ? "" : ", cols / 32", sana_dtype_name(s->wt.dtype), got);
    }
    float *sc = malloc((size_t)ns * sizeof(float));
    if (!sc) return sana_err(SANA_ERR_NOMEM, "%s: out of memory", file);
    memcpy(sc, s->wt.data, (size_t)ns * sizeof(float));
    for (int64_t i = 0; i < ns; i++)
        if (!isfinite(sc[i])) {
            free(sc);
            return sana_err(SANA_ERR_FORMAT, "%s: scale tensor \"%s\" holds a non-finite value at %lld", file, skey,
                            (long long)i);
        }
    q->data = t->wt.data;
    q->scale = sc;
    *own = sc;
    return SANA_OK;
}

/* The LoRA adapters of w merged into *in (the file tensor of key): *merged the float32 copy (NULL when
 * no adapter targets key), *in then points to lw, a view of it. */
static sana_status lora_merge(sana_weights *w, const char *key, int filequant, const sana_wt **in, sana_wt *lw,
                              float **merged)
{
    if (filequant)
        return sana_err(SANA_ERR_UNSUPPORTED, "%s: tensor \"%s\" is quantized; a LoRA merges into float weights "
                        "(merge into the float folder, then quantize)", w->set->desc, key);
    sana_status ls = sana_lora_merge(w->lora, key, *in, merged);
    if (ls != SANA_OK || !*merged) return ls;
    *lw = **in;
    lw->data = *merged;
    lw->dtype = SANA_F32;
    lw->scale = NULL;
    drop_file_pages(w->set, *in);
    *in = lw;
    return SANA_OK;
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
    const sana_st_tensor *ft = sana_st_set_find(w->set, key);
    const int filequant = ft && (ft->wt.dtype == SANA_I8 || ft->wt.dtype == SANA_U8);
    if (!filequant && sana_st_weight(st, w->set, &in, shape, "%s", key) != SANA_OK) return *st;
    if (filequant) w->file_bytes += ft->nbytes;
    else w->file_bytes += sana_wt_bytes(in);
    float *merged = NULL; /* LoRA: W + deltas in float32, seen through lw */
    sana_wt lw;
    if (w->lora && (*st = lora_merge(w, key, filequant, &in, &lw, &merged)) != SANA_OK) return *st;
    const int quant = !filequant && w->quant != SANA_F32 && quantizable(in, use, w->quant);
    if (!w->be->prepare_weight && !quant && !filequant && !merged) {
        *out = in;
        if (record(w, key, in)) return *st = sana_err(SANA_ERR_NOMEM, "%s: out of memory", w->set->desc);
        return *st;
    }
    sana_wt *p = calloc(1, sizeof *p);
    if (!p || keep(w, p) != 0) {
        free(p);
        free(merged);
        return *st = sana_err(SANA_ERR_NOMEM, "%s: out of memory preparing tensor \"%s\"", w->set->desc, key);
    }
    const int i = w->n - 1;
    w->lbuf[i] = merged;
    sana_wt q;
    if (filequant) {
        sana_status qs = file_quantized(w, key, ft, use, shape, &q, &w->qbuf[i]);
        if (qs == SANA_OK && w->quant != SANA_F32 && w->quant != q.dtype)
            qs = sana_err(SANA_ERR_ARG, "%s: tensor \"%s\" is already quantized to %s; --quantize %s for this component "
                          "would quantize it twice (leave it out)", w->set->desc, key, sana_quant_name(q.dtype),
                          sana_quant_name(w->quant));
        if (qs != SANA_OK) {
            w->n--;
            free(p);
            free(w->qbuf[i]);
            return *st = qs;
        }
        in = &q;
    } else if (quant) {
        sana_status qs = sana_quantize(in, w->quant, &q, &w->qbuf[i]);
        if (qs != SANA_OK) {
            w->n--;
            free(p);
            free(merged);
            return *st = sana_err_prefix(qs, "%s: tensor \"%s\"", w->set->desc, key);
        }
        drop_file_pages(w->set, in); /* a no-op for a merged copy (not file memory) */
        free(merged); /* the quantized copy replaces it */
        w->lbuf[i] = merged = NULL;
        in = &q;
    }
    size_t bytes = 0;
    sana_status ps = SANA_OK;
    if (w->be->prepare_weight) ps = w->be->prepare_weight(w->be->ctx, in, use, w->flags, p, &bytes);
    else *p = *in;
    if (ps != SANA_OK) {
        w->n--; /* nothing to release */
        free(p);
        free(w->qbuf[i]);
        free(merged);
        return *st = sana_err_prefix(ps, "%s: backend %s: preparing tensor \"%s\" for %s", w->set->desc, w->be->name,
                                     key, sana_op_name(use));
    }
    if ((quant || filequant) && p->data != q.data && p->scale != q.scale) { /* the backend made its own copy */
        free(w->qbuf[i]);
        w->qbuf[i] = NULL;
        if (filequant) drop_file_pages(w->set, &ft->wt);
    } else if (quant) {
        bytes += sana_wt_bytes(&q) + sana_wt_scale_bytes(&q);
    } else if (filequant) {
        bytes += sana_wt_scale_bytes(&q); /* the data stays mapped */
    } else if (merged && p->data != (const void *)merged) { /* the backend converted it: the merged copy goes */
        free(merged);
        w->lbuf[i] = NULL;
    } else if (merged) {
        bytes += (size_t)sana_wt_numel(&lw) * sizeof(float);
    } else if (p->data != in->data) { /* the backend converted or packed a file tensor: its pages go */
        drop_file_pages(w->set, in);
    }
    w->bytes += bytes;
    *out = p;
    if (record(w, key, p)) return *st = sana_err(SANA_ERR_NOMEM, "%s: out of memory", w->set->desc);
    return *st;
}

int sana_weights_each(const sana_weights *w, int i, const char **key, const sana_wt **t)
{
    if (i < 0 || i >= w->nrec) return 0;
    *key = w->rec_keys[i];
    *t = w->rec_wts[i];
    return 1;
}
