/* src/text/tokenizer_encode.c -- running a loaded tokenizer: text -> ids (with padding and
 * truncation as transformers' tokenizer(..., padding="max_length", truncation=True) does),
 * and ids -> text for diagnostics.
 *
 * Encoding follows tokenizers' Tokenizer::encode: the input is checked to be UTF-8; added
 * tokens that are not "normalized" are cut out of the raw text first; each remaining span is
 * normalized, cut again on the "normalized" added tokens, pre-tokenized into words, and each
 * word goes through BPE. The post-processor's tokens (<bos> for Gemma) go around the result.
 */
#include <stdlib.h>
#include <string.h>
#include "text/tokenizer_impl.h"

/* ------------------------------------------------------------ encode */

/* Normalize one raw span, match normalized added tokens, pre-tokenize, run BPE. */
static sana_status encode_text(const sana_tokenizer *t, const char *s, size_t n, int at_start, tk_ids *out)
{
    char *nz = NULL;
    size_t nn = 0, ns = 0;
    tk_span *sp = NULL;
    tk_pieces words = {0};
    sana_status st = tk_normalize(t->norm, t->nnorm, s, n, &nz, &nn);
    if (st) return st;
    if (t->has_norm_added) {
        if ((st = tk_added_split(&t->trie_norm, t->added, nz, nn, &sp, &ns))) goto done;
    } else if (nn) {
        if (!(sp = malloc(sizeof *sp))) { st = sana_err(SANA_ERR_NOMEM, "tokenizer: out of memory"); goto done; }
        sp[0] = (tk_span){0, nn, -1};
        ns = 1;
    }
    for (size_t k = 0; k < ns; k++) {
        if (sp[k].tok >= 0) {
            if (tk_ids_push(out, t->added[sp[k].tok].id)) { st = sana_err(SANA_ERR_NOMEM, "tokenizer: out of memory"); goto done; }
            continue;
        }
        tk_piece in = {nz + sp[k].a, sp[k].b - sp[k].a, at_start && sp[k].a == 0};
        words.n = 0;
        if ((st = tk_pretokenize(t->pre, t->npre, &in, &words))) goto done;
        for (size_t w = 0; w < words.n; w++)
            if ((st = tk_bpe_word(&t->bpe, words.p[w].s, words.p[w].n, out))) goto done;
        tk_pieces_free(&words);
    }
done:
    tk_pieces_free(&words);
    free(sp);
    free(nz);
    return st;
}

/* Ids of the text without the post-processor's tokens. */
static sana_status encode(const sana_tokenizer *t, const char *text, size_t len, tk_ids *out)
{
    if (!text && len) return sana_err(SANA_ERR_ARG, "tokenizer: NULL text");
    size_t ok = sana_utf8_valid_prefix(text, len);
    if (ok != len)
        return sana_err(SANA_ERR_ARG, "tokenizer: the prompt is not valid UTF-8 (byte 0x%02X at offset %zu of %zu)",
                        (unsigned char)text[ok], ok, len);
    tk_span *sp = NULL;
    size_t ns = 0;
    sana_status st = tk_added_split(&t->trie_raw, t->added, text, len, &sp, &ns);
    for (size_t k = 0; !st && k < ns; k++) {
        if (sp[k].tok >= 0) {
            if (tk_ids_push(out, t->added[sp[k].tok].id)) st = sana_err(SANA_ERR_NOMEM, "tokenizer: out of memory");
        } else {
            st = encode_text(t, text + sp[k].a, sp[k].b - sp[k].a, sp[k].a == 0, out);
        }
    }
    free(sp);
    return st;
}

sana_status sana_tokenize(const sana_tokenizer *t, const char *text, size_t len, int add_special, int32_t **ids,
                          int *n)
{
    tk_ids out = {0};
    *ids = NULL;
    *n = 0;
    sana_status st = SANA_OK;
    if (add_special)
        for (int i = 0; i < t->npre_ids; i++)
            if (tk_ids_push(&out, t->pre_ids[i])) goto nomem;
    if ((st = encode(t, text, len, &out))) goto fail;
    if (add_special)
        for (int i = 0; i < t->npost_ids; i++)
            if (tk_ids_push(&out, t->post_ids[i])) goto nomem;
    if (out.n > INT32_MAX) { st = sana_err(SANA_ERR_ARG, "tokenizer: prompt too long"); goto fail; }
    if (!out.p && !(out.p = malloc(sizeof *out.p))) goto nomem;    /* never NULL on success */
    *ids = out.p;
    *n = (int)out.n;
    return SANA_OK;
nomem:
    st = sana_err(SANA_ERR_NOMEM, "tokenizer: out of memory");
fail:
    free(out.p);
    return st;
}

sana_status sana_tokenize_padded(const sana_tokenizer *t, const char *text, size_t len, int max_length,
                                 int32_t *ids, int32_t *mask, int *dropped)
{
    int nadd = t->npre_ids + t->npost_ids;
    if (dropped) *dropped = 0;
    if (max_length < 1 || max_length < nadd)
        return sana_err(SANA_ERR_ARG, "tokenizer: max_length %d is less than the %d special tokens it must hold",
                        max_length, nadd > 1 ? nadd : 1);
    tk_ids c = {0};
    sana_status st = encode(t, text, len, &c);
    if (st) { free(c.p); return st; }
    /* truncation (right side) happens before the post-processor adds its tokens, so the content
     * keeps max_length - nadd tokens, as tokenizers' truncate_encodings in post_process */
    size_t keep = c.n, room = (size_t)(max_length - nadd);
    if (keep > room) {
        size_t d = keep - room;
        tk_warnf("tokenizer: the prompt has %zu tokens, more than the %zu that fit in max_length %d with %d special "
              "token%s: %zu tokens dropped from the end", c.n, room, max_length, nadd, nadd == 1 ? "" : "s", d);
        if (dropped) *dropped = d > INT32_MAX ? INT32_MAX : (int)d;
        keep = room;
    }
    int k = 0;
    for (int i = 0; i < t->npre_ids; i++) ids[k++] = t->pre_ids[i];
    for (size_t i = 0; i < keep; i++) ids[k++] = c.p[i];
    for (int i = 0; i < t->npost_ids; i++) ids[k++] = t->post_ids[i];
    free(c.p);
    if (k < max_length && t->pad_id < 0)
        return sana_err(SANA_ERR_MISSING, "%s: padding is needed but the tokenizer has no pad token", t->path);
    for (int i = 0; i < max_length; i++) {
        mask[i] = i < k;
        if (i >= k) ids[i] = t->pad_id;
    }
    return SANA_OK;
}

/* ------------------------------------------------------------ decode */

typedef struct { tk_buf *s; size_t n, cap; } strlist;

static int sl_push(strlist *l, const char *s, size_t n)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        tk_buf *p = realloc(l->s, cap * sizeof *p);
        if (!p) return -1;
        l->s = p; l->cap = cap;
    }
    l->s[l->n] = (tk_buf){0};
    return tk_buf_put(&l->s[l->n++], s, n);
}

static void sl_free(strlist *l)
{
    for (size_t i = 0; i < l->n; i++) free(l->s[i].p);
    free(l->s);
    memset(l, 0, sizeof *l);
}

/* The strings of l joined by sep into *all (malloc'd, NUL-terminated, "" for none; the strings may
 * hold NUL bytes, all->n counts them); -1 when out of memory. */
static int sl_join(const strlist *l, const char *sep, tk_buf *all)
{
    size_t nsep = strlen(sep);
    *all = (tk_buf){0};
    if (tk_buf_put(all, "", 0)) return -1;
    for (size_t i = 0; i < l->n; i++)
        if ((i && tk_buf_put(all, sep, nsep)) || tk_buf_put(all, l->s[i].p, l->s[i].n)) {
            free(all->p);
            *all = (tk_buf){0};
            return -1;
        }
    return 0;
}

/* One decoder over the token list (tokenizers: the decode_chain of each decoder). */
static int decode_step(const tk_dec *d, strlist *in, strlist *out)
{
    out->n = 0;
    if (d->kind == TK_DEC_FUSE) {
        tk_buf all;
        int rc = sl_join(in, "", &all) ? -1 : sl_push(out, all.p, all.n);
        free(all.p);
        return rc;
    }
    if (d->kind == TK_DEC_BYTE_FALLBACK) {
        /* runs of <0xNN> tokens become their bytes when those are valid UTF-8, else one U+FFFD each */
        tk_buf bytes = {0};
        size_t run = 0;
        for (size_t i = 0; i <= in->n; i++) {
            const tk_buf *s = i < in->n ? &in->s[i] : NULL;
            int byte = -1;
            if (s && s->n == 6 && !memcmp(s->p, "<0x", 3) && s->p[5] == '>' && tk_hex_digit(s->p[3]) >= 0 &&
                tk_hex_digit(s->p[4]) >= 0)
                byte = tk_hex_digit(s->p[3]) * 16 + tk_hex_digit(s->p[4]);
            if (byte >= 0) {
                char b = (char)byte;
                if (tk_buf_put(&bytes, &b, 1)) { free(bytes.p); return -1; }
                run++;
                continue;
            }
            if (run) {
                int rc = 0;
                if (sana_utf8_valid_prefix(bytes.p, bytes.n) == bytes.n) rc = sl_push(out, bytes.p, bytes.n);
                else
                    for (size_t k = 0; k < run && !rc; k++) rc = sl_push(out, "\xef\xbf\xbd", 3);
                if (rc) { free(bytes.p); return -1; }
                bytes.n = 0;
                run = 0;
            }
            if (s && sl_push(out, s->p, s->n)) { free(bytes.p); return -1; }
        }
        free(bytes.p);
        return 0;
    }
    for (size_t i = 0; i < in->n; i++) {
        const tk_buf *s = &in->s[i];
        tk_buf r = {0};
        int rc = 0;
        if (d->kind == TK_DEC_REPLACE || d->kind == TK_DEC_METASPACE) {
            rc = tk_replace_all(&r, s->p, s->n, d->pat, d->kind == TK_DEC_REPLACE ? d->content : " ");
            if (!rc && d->kind == TK_DEC_METASPACE && i == 0 && d->prepend && r.n && r.p[0] == ' ') {
                memmove(r.p, r.p + 1, r.n);
                r.n--;
            }
        } else {                                              /* TK_DEC_STRIP */
            size_t cl = strlen(d->content), a = 0, b = s->n;
            for (int k = 0; k < d->start && cl && b - a >= cl && !memcmp(s->p + a, d->content, cl); k++) a += cl;
            for (int k = 0; k < d->stop && cl && b - a >= cl && !memcmp(s->p + b - cl, d->content, cl); k++) b -= cl;
            rc = tk_buf_put(&r, s->p + a, b - a);
        }
        if (!rc) rc = sl_push(out, r.p ? r.p : "", r.n);
        free(r.p);
        if (rc) return -1;
    }
    return 0;
}

char *sana_detokenize(const sana_tokenizer *t, const int32_t *ids, int n, int skip_special)
{
    strlist a = {0}, b = {0};
    tk_buf all;
    char *res = NULL;
    for (int i = 0; i < n; i++) {
        int32_t id = ids[i];
        if (id < 0 || id >= t->nids || !t->id_tok[id]) continue;       /* unknown ids are skipped */
        if (skip_special && t->id_special[id]) continue;
        if (sl_push(&a, t->id_tok[id], strlen(t->id_tok[id]))) goto done;
    }
    if (t->ndec == 0) {                                  /* no decoder: tokens joined by spaces */
        if (!sl_join(&a, " ", &all)) res = all.p;
        goto done;
    }
    for (int k = 0; k < t->ndec; k++) {
        if (decode_step(&t->dec[k], &a, &b)) goto done;
        strlist x = a; a = b; b = x;
        for (size_t i = 0; i < b.n; i++) free(b.s[i].p);
        b.n = 0;
    }
    if (!sl_join(&a, "", &all)) res = all.p;
done:
    sl_free(&a); sl_free(&b);
    return res;
}
