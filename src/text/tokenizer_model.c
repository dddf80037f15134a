/* src/text/tokenizer_model.c -- the "model" section of a tokenizer.json: a BPE model (tokenizers:
 * models/bpe/serialization.rs), read into the tables of tokenizer_bpe.c.
 *
 * Read: type ("BPE", or absent with merges), vocab (token: id), merges ("a b" strings or [a, b]
 * pairs), unk_token, fuse_unk, byte_fallback, ignore_merges, continuing_subword_prefix,
 * end_of_word_suffix, dropout (null or 0 only). Errors name the file and the key
 * ("model.merges[33]: token \"x\" is not in the vocabulary").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "text/tokenizer_impl.h"

/* Vocabulary and merges are most of a tokenizer.json (256k + ~500k entries for Gemma) and their
 * hash-table lookups mostly miss the cache, so both are done in batches: hash a batch of keys and
 * prefetch their slots, then look them up. */
enum { TK_BATCH = 32 };

static sana_status load_vocab(const tj_ctx *c, sana_tokenizer *t, json_object *voc)
{
    tk_strmap *vm = &t->bpe.vocab;
    struct { const char *key; json_object *val; size_t len; uint32_t h; int32_t id; } q[TK_BATCH];
    if (tk_strmap_reserve(vm, (size_t)json_object_object_length(voc))) return tj_nomem(c);
    /* in file order (json-c keeps insertion order); of repeated keys json-c keeps the last id */
    struct json_object_iterator it = json_object_iter_begin(voc), end = json_object_iter_end(voc);
    for (;;) {
        int nq = 0;
        for (; nq < TK_BATCH && !json_object_iter_equal(&it, &end); nq++, json_object_iter_next(&it)) {
            q[nq].key = json_object_iter_peek_name(&it);
            q[nq].val = json_object_iter_peek_value(&it);
            TK_PREFETCH(q[nq].key);
            TK_PREFETCH(q[nq].val);
        }
        if (!nq) return SANA_OK;
        for (int k = 0; k < nq; k++) {
            int64_t id = json_object_is_type(q[k].val, json_type_int) ? json_object_get_int64(q[k].val) : -1;
            if (id < 0 || id > TK_MAX_ID) {
                char where[96];
                int32_t unused;
                snprintf(where, sizeof where, "model.vocab[\"%.40s\"]", q[k].key);
                sana_status st = tj_get_id(c, q[k].val, where, &unused);
                if (st) return st;
            }
            q[k].id = (int32_t)id;
            q[k].len = strlen(q[k].key);
            q[k].h = tk_hash_fold(tk_hash_more(TK_HASH0, q[k].key, q[k].len));
            tk_strmap_prefetch(vm, q[k].h);
        }
        for (int k = 0; k < nq; k++) {
            if (tk_strmap_put_h(vm, q[k].h, q[k].key, q[k].len, q[k].id)) return tj_nomem(c);
            if (q[k].id >= t->nids) t->nids = q[k].id + 1;
        }
    }
}

/* The two tokens of merge i: "a b" (the older form: exactly one space) or ["a", "b"]. */
static sana_status merge_pair(const tj_ctx *c, json_object *e, size_t i, const char **a, size_t *na, const char **b,
                              size_t *nb)
{
    if (tj_is(e, TJ_STRING)) {
        const char *s = json_object_get_string(e);
        size_t len = (size_t)json_object_get_string_len(e);
        const char *sp = memchr(s, ' ', len);
        if (!sp || memchr(sp + 1, ' ', len - (size_t)(sp + 1 - s)))
            return sana_err(SANA_ERR_FORMAT, "%s: model.merges[%zu]: \"%.60s\" is not two tokens separated by "
                            "one space", c->file, i, s);
        *a = s; *na = (size_t)(sp - s); *b = sp + 1; *nb = len - *na - 1;
        return SANA_OK;
    }
    int pair = tj_is(e, TJ_ARRAY) && json_object_array_length(e) == 2;
    json_object *x = pair ? json_object_array_get_idx(e, 0) : NULL;
    json_object *y = x ? json_object_array_get_idx(e, 1) : NULL;
    if (!tj_is(x, TJ_STRING) || !tj_is(y, TJ_STRING))
        return sana_err(SANA_ERR_FORMAT, "%s: model.merges[%zu]: expected \"a b\" or [\"a\", \"b\"], found %s%s",
                        c->file, i, tj_is(e, TJ_ARRAY) ? "an array of " : "",
                        tj_is(e, TJ_ARRAY) ? "other" : tj_type_name(e));
    *a = json_object_get_string(x); *na = (size_t)json_object_get_string_len(x);
    *b = json_object_get_string(y); *nb = (size_t)json_object_get_string_len(y);
    return SANA_OK;
}

/* merges[i] = (a, b): (id(a), id(b)) -> (rank i, id(ab)). Errors come in file order: a batch stops
 * before a malformed merge, whose error is given after the merges before it are checked. */
static sana_status load_merges(const tj_ctx *c, tk_bpe *b, json_object *mer)
{
    size_t nm = json_object_array_length(mer);
    struct { const char *a, *b; size_t na, nb; uint32_t ha, hb, hab; uint64_t key; int32_t inew; } q[TK_BATCH];
    if (tk_u64map_reserve(&b->merges, nm)) return tj_nomem(c);
    for (size_t i0 = 0; i0 < nm; i0 += TK_BATCH) {
        size_t nq = nm - i0 < TK_BATCH ? nm - i0 : TK_BATCH, k, ok;
        sana_status bad = SANA_OK;
        for (ok = 0; ok < nq; ok++) {
            if ((bad = merge_pair(c, json_object_array_get_idx(mer, i0 + ok), i0 + ok, &q[ok].a, &q[ok].na, &q[ok].b,
                                  &q[ok].nb)))
                break;
            uint64_t ha = tk_hash_more(TK_HASH0, q[ok].a, q[ok].na);
            q[ok].ha = tk_hash_fold(ha);
            q[ok].hb = tk_hash_fold(tk_hash_more(TK_HASH0, q[ok].b, q[ok].nb));
            q[ok].hab = tk_hash_fold(tk_hash_more(ha, q[ok].b, q[ok].nb));
            tk_strmap_prefetch(&b->vocab, q[ok].ha);
            tk_strmap_prefetch(&b->vocab, q[ok].hb);
            tk_strmap_prefetch(&b->vocab, q[ok].hab);
        }
        for (k = 0; k < ok; k++) {
            int32_t ia = tk_strmap_get2(&b->vocab, q[k].ha, q[k].a, q[k].na, NULL, 0);
            int32_t ib = tk_strmap_get2(&b->vocab, q[k].hb, q[k].b, q[k].nb, NULL, 0);
            q[k].inew = tk_strmap_get2(&b->vocab, q[k].hab, q[k].a, q[k].na, q[k].b, q[k].nb);
            if (ia < 0 || ib < 0 || q[k].inew < 0) {
                /* the first missing of a, b and ab (at most 60 bytes of it) */
                const char *p1 = ia < 0 ? q[k].a : ib < 0 ? q[k].b : q[k].a;
                size_t n1 = ia < 0 ? q[k].na : ib < 0 ? q[k].nb : q[k].na, n2 = ia < 0 || ib < 0 ? 0 : q[k].nb;
                if (n1 > 60) n1 = 60;
                if (n2 > 60 - n1) n2 = 60 - n1;
                return sana_err(SANA_ERR_FORMAT, "%s: model.merges[%zu]: token \"%.*s%.*s\" is not in the vocabulary",
                                c->file, i0 + k, (int)n1, p1, (int)n2, q[k].b);
            }
            q[k].key = (uint64_t)(uint32_t)ia << 32 | (uint32_t)ib;
            tk_u64map_prefetch(&b->merges, q[k].key);
        }
        /* a repeated pair keeps its last rank, as in tokenizers' HashMap build */
        for (k = 0; k < ok; k++)
            if (tk_u64map_put(&b->merges, q[k].key, (int32_t)(i0 + k), q[k].inew)) return tj_nomem(c);
        if (bad) return bad;
    }
    return SANA_OK;
}

sana_status tk_load_model(const tj_ctx *c, sana_tokenizer *t, json_object *m)
{
    tk_bpe *b = &t->bpe;
    const char *s;
    size_t n;
    sana_status st;
    json_object *v;

    if (!m) return sana_err(SANA_ERR_FORMAT, "%s: no \"model\"", c->file);
    if (!tj_is(m, TJ_OBJECT))
        return sana_err(SANA_ERR_FORMAT, "%s: model: expected an object, found %s", c->file, tj_type_name(m));
    if ((st = tj_get_str(c, m, "model", "type", 0, &s, NULL))) return st;
    if (s && strcmp(s, "BPE") != 0)
        return sana_err(SANA_ERR_UNSUPPORTED, "%s: model.type: model type \"%s\" is not supported (BPE only)",
                        c->file, s);
    if (!s && !tj_member(m, "merges"))
        return sana_err(SANA_ERR_UNSUPPORTED, "%s: model: no \"type\" and no \"merges\": not a BPE model", c->file);
    if ((st = tj_get_bool(c, m, "model", "fuse_unk", 0, &b->fuse_unk)) ||
        (st = tj_get_bool(c, m, "model", "byte_fallback", 0, &b->byte_fallback)) ||
        (st = tj_get_bool(c, m, "model", "ignore_merges", 0, &b->ignore_merges)))
        return st;
    if ((v = tj_member(m, "dropout"))) {
        if (!tj_is(v, TJ_NUMBER))
            return sana_err(SANA_ERR_FORMAT, "%s: model.dropout: expected a number, found %s", c->file,
                            tj_type_name(v));
        double dv = json_object_get_double(v);
        if (dv != 0.0)
            return sana_err(SANA_ERR_UNSUPPORTED, "%s: model.dropout: BPE dropout (%g) is not supported", c->file,
                            dv);
    }
    if ((st = tj_get_str(c, m, "model", "continuing_subword_prefix", 0, &s, &n))) return st;
    if (s && n && !(b->cont_prefix = tk_strndup(s, n))) return tj_nomem(c);
    if ((st = tj_get_str(c, m, "model", "end_of_word_suffix", 0, &s, &n))) return st;
    if (s && n && !(b->eow_suffix = tk_strndup(s, n))) return tj_nomem(c);

    json_object *voc = tj_member(m, "vocab");
    if (!voc || !tj_is(voc, TJ_OBJECT))
        return sana_err(SANA_ERR_FORMAT, "%s: model.vocab: expected an object of token: id, found %s", c->file,
                        tj_type_name(voc));
    if ((st = load_vocab(c, t, voc))) return st;

    b->unk_id = -1;
    if ((st = tj_get_str(c, m, "model", "unk_token", 0, &s, &n))) return st;
    if (s && (b->unk_id = tk_strmap_get(&b->vocab, s, n)) < 0)
        return sana_err(SANA_ERR_FORMAT, "%s: model.unk_token: \"%s\" is not in the vocabulary", c->file, s);
    for (int i = 0; i < 256; i++) {
        char code[8];
        snprintf(code, sizeof code, "<0x%02X>", i);
        b->byte_id[i] = tk_strmap_get(&b->vocab, code, 6);
    }

    json_object *mer = tj_member(m, "merges");
    if (mer && !tj_is(mer, TJ_ARRAY))
        return sana_err(SANA_ERR_FORMAT, "%s: model.merges: expected an array, found %s", c->file,
                        tj_type_name(mer));
    return mer ? load_merges(c, b, mer) : SANA_OK;
}
