/* src/text/tokenizer.c -- load a Hugging Face tokenizer.json and run it (see tokenizer.h).
 *
 * What is read (everything else that changes the result is an error that names
 * the file and the key):
 *   model           BPE: vocab, merges ("a b" strings or [a, b] pairs), unk_token,
 *                   fuse_unk, byte_fallback, ignore_merges, continuing_subword_prefix,
 *                   end_of_word_suffix, dropout (null or 0 only)
 *   added_tokens    id, content, special, normalized, single_word, lstrip, rstrip
 *   normalizer      null, Replace (String pattern), Prepend, Strip, Sequence of these
 *   pre_tokenizer   null, Split (String pattern, any behavior, invert), Metaspace, Sequence
 *   post_processor  null, TemplateProcessing (the "single" template), Sequence of one
 *   decoder         null, Replace, ByteFallback, Fuse, Strip, Metaspace, Sequence
 * and, beside it, tokenizer_config.json (special_tokens_map.json as a fallback) for
 * what transformers adds on top: pad/bos/eos tokens and, for the Gemma and Llama
 * tokenizer classes, add_bos_token/add_eos_token, which rebuild the post-processor
 * exactly as GemmaTokenizerFast.update_post_processor does.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/json.h"
#include "text/tokenizer_impl.h"

/* ------------------------------------------------------------ warnings */

static void warn_stderr(const char *msg, void *ud)
{
    (void)ud;
    fprintf(stderr, "warning: %s\n", msg);
}

static void (*warn_fn)(const char *, void *) = warn_stderr;
static void *warn_ud;

void sana_tokenizer_set_warn(void (*fn)(const char *msg, void *ud), void *ud)
{
    warn_fn = fn ? fn : warn_stderr;
    warn_ud = fn ? ud : NULL;
}


void tk_warnf(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    warn_fn(msg, warn_ud);
}

/* ------------------------------------------------------------ JSON helpers */

typedef struct { const char *file; } ctx;

typedef json_object jv;                    /* a json-c value; NULL is JSON null */

static const char *tname(const jv *v) { return tj_type_name(v); }
/* Type tests; TJ_INT: an integer (json-c keeps integers and floats apart). */
enum { TJ_BOOL, TJ_NUMBER, TJ_INT, TJ_STRING, TJ_ARRAY, TJ_OBJECT };
static int IS(const jv *v, int type)
{
    static const enum json_type jt[] = {json_type_boolean, json_type_double, json_type_int, json_type_string,
                                        json_type_array, json_type_object};
    if (!v) return 0;
    if (type == TJ_NUMBER && json_object_is_type(v, json_type_int)) return 1;
    return json_object_is_type(v, jt[type]);
}
#define TJSTR(v) json_object_get_string(v)
#define TJLEN(v) json_object_get_string_len(v)

/* Member of an object; NULL when absent or null, or when o is not an object (of duplicate keys,
 * json-c keeps the last, as serde_json does). */
static jv *member(const jv *o, const char *key)
{
    jv *v = NULL;
    return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static sana_status get_str(const ctx *c, jv *o, const char *where, const char *key, int required,
                           const char **out, size_t *len)
{
    jv *v = member(o, key);
    *out = NULL;
    if (len) *len = 0;
    if (!v) return required ? sana_err(SANA_ERR_FORMAT, "%s: %s: \"%s\" is missing", c->file, where, key) : SANA_OK;
    if (!IS(v, TJ_STRING))
        return sana_err(SANA_ERR_FORMAT, "%s: %s.%s: expected a string, found %s", c->file, where, key, tname(v));
    *out = TJSTR(v);
    if (len) *len = (size_t)TJLEN(v);
    return SANA_OK;
}

static sana_status get_bool(const ctx *c, jv *o, const char *where, const char *key, int def, int *out)
{
    jv *v = member(o, key);
    *out = def;
    if (!v) return SANA_OK;
    if (!IS(v, TJ_BOOL))
        return sana_err(SANA_ERR_FORMAT, "%s: %s.%s: expected true or false, found %s", c->file, where, key,
                        tname(v));
    *out = json_object_get_boolean(v);
    return SANA_OK;
}

static sana_status get_id(const ctx *c, jv *v, const char *where, int32_t *out)
{
    if (!v || !IS(v, TJ_INT))
        return sana_err(SANA_ERR_FORMAT, "%s: %s: expected a token id (an integer), found %s", c->file, where,
                        tname(v));
    int64_t x = json_object_get_int64(v);
    if (x == INT64_MAX)                     /* json-c's value for any integer from 2^63 - 1 up */
        return sana_err(SANA_ERR_FORMAT, "%s: %s: token id out of range [0, %d]", c->file, where, TK_MAX_ID);
    if (x < 0 || x > TK_MAX_ID)
        return sana_err(SANA_ERR_FORMAT, "%s: %s: token id %lld out of range [0, %d]", c->file, where,
                        (long long)x, TK_MAX_ID);
    *out = (int32_t)x;
    return SANA_OK;
}

static sana_status nomem(const ctx *c) { return sana_err(SANA_ERR_NOMEM, "%s: out of memory", c->file); }

static char *dupn(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) { memcpy(p, s, n); p[n] = 0; }
    return p;
}

/* Objects that are a Sequence of others are flattened: call fn on each leaf. */
typedef sana_status (*leaf_fn)(const ctx *c, sana_tokenizer *t, jv *o, const char *where);

static sana_status each_leaf(const ctx *c, sana_tokenizer *t, jv *o, const char *where, const char *list_key,
                             leaf_fn fn, int depth)
{
    if (!IS(o, TJ_OBJECT))
        return sana_err(SANA_ERR_FORMAT, "%s: %s: expected an object, found %s", c->file, where, tname(o));
    const char *type;
    sana_status st = get_str(c, o, where, "type", 1, &type, NULL);
    if (st) return st;
    if (strcmp(type, "Sequence") != 0) return fn(c, t, o, where);
    if (depth > 8) return sana_err(SANA_ERR_FORMAT, "%s: %s: Sequence nested too deeply", c->file, where);
    jv *arr = member(o, list_key);
    if (!arr || !IS(arr, TJ_ARRAY))
        return sana_err(SANA_ERR_FORMAT, "%s: %s.%s: expected an array, found %s", c->file, where, list_key,
                        tname(arr));
    for (size_t i = 0, n = json_object_array_length(arr); i < n; i++) {
        jv *e = json_object_array_get_idx(arr, i);
        char w[256];
        snprintf(w, sizeof w, "%s.%s[%zu]", where, list_key, i);
        if ((st = each_leaf(c, t, e, w, list_key, fn, depth + 1))) return st;
    }
    return SANA_OK;
}

/* A "pattern": {"String": "..."} (a Regex pattern is not supported). */
static sana_status get_pattern(const ctx *c, jv *o, const char *where, char **out)
{
    jv *p = member(o, "pattern");
    const char *s;
    size_t n;
    if (!p || !IS(p, TJ_OBJECT))
        return sana_err(SANA_ERR_FORMAT, "%s: %s.pattern: expected {\"String\": ...}, found %s", c->file, where,
                        tname(p));
    if (member(p, "Regex"))
        return sana_err(SANA_ERR_UNSUPPORTED, "%s: %s.pattern: Regex patterns are not supported (String only)",
                        c->file, where);
    sana_status st = get_str(c, p, where, "String", 1, &s, &n);
    if (st) return st;
    if (n == 0 || memchr(s, 0, n))
        return sana_err(SANA_ERR_FORMAT, "%s: %s.pattern: empty or NUL-containing pattern", c->file, where);
    return (*out = dupn(s, n)) ? SANA_OK : nomem(c);
}

static sana_status get_cstr(const ctx *c, jv *o, const char *where, const char *key, int required,
                            const char *def, char **out)
{
    const char *s;
    size_t n;
    sana_status st = get_str(c, o, where, key, required, &s, &n);
    if (st) return st;
    if (!s) { s = def; n = strlen(def); }
    if (memchr(s, 0, n)) return sana_err(SANA_ERR_FORMAT, "%s: %s.%s: string holds a NUL", c->file, where, key);
    return (*out = dupn(s, n)) ? SANA_OK : nomem(c);
}

/* ------------------------------------------------------------ normalizer */

static sana_status norm_leaf(const ctx *c, sana_tokenizer *t, jv *o, const char *where)
{
    const char *type;
    get_str(c, o, where, "type", 1, &type, NULL);
    tk_norm z = {0};
    sana_status st = SANA_OK;
    if (!strcmp(type, "Replace")) {
        z.kind = TK_NORM_REPLACE;
        if ((st = get_pattern(c, o, where, &z.pat)) || (st = get_cstr(c, o, where, "content", 1, "", &z.content)))
            goto fail;
    } else if (!strcmp(type, "Prepend")) {
        z.kind = TK_NORM_PREPEND;
        if ((st = get_cstr(c, o, where, "prepend", 1, "", &z.content))) goto fail;
    } else if (!strcmp(type, "Strip")) {
        z.kind = TK_NORM_STRIP;
        if ((st = get_bool(c, o, where, "strip_left", 1, &z.left)) ||
            (st = get_bool(c, o, where, "strip_right", 1, &z.right)))
            goto fail;
    } else {
        return sana_err(SANA_ERR_UNSUPPORTED,
                        "%s: %s: normalizer type \"%s\" is not supported (Replace, Prepend, Strip, Sequence)",
                        c->file, where, type);
    }
    tk_norm *p = realloc(t->norm, (size_t)(t->nnorm + 1) * sizeof *p);
    if (!p) { st = nomem(c); goto fail; }
    t->norm = p;
    t->norm[t->nnorm++] = z;
    return SANA_OK;
fail:
    free(z.pat); free(z.content);
    return st;
}

/* ------------------------------------------------------------ pre-tokenizer */

static sana_status pre_leaf(const ctx *c, sana_tokenizer *t, jv *o, const char *where)
{
    const char *type, *s;
    get_str(c, o, where, "type", 1, &type, NULL);
    tk_pre p = {0};
    sana_status st = SANA_OK;
    if (!strcmp(type, "Split")) {
        static const char *names[] = {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"};
        p.kind = TK_PRE_SPLIT;
        if ((st = get_pattern(c, o, where, &p.pat)) || (st = get_str(c, o, where, "behavior", 1, &s, NULL)) ||
            (st = get_bool(c, o, where, "invert", 0, &p.invert)))
            goto fail;
        p.behavior = -1;
        for (int i = 0; i < 5; i++)
            if (!strcmp(s, names[i])) p.behavior = i;
        if (p.behavior < 0) {
            st = sana_err(SANA_ERR_FORMAT, "%s: %s.behavior: unknown split behavior \"%s\"", c->file, where, s);
            goto fail;
        }
    } else if (!strcmp(type, "Metaspace")) {
        p.kind = TK_PRE_METASPACE;
        int add_prefix;
        if ((st = get_cstr(c, o, where, "replacement", 0, "\xe2\x96\x81", &p.repl)) ||
            (st = get_bool(c, o, where, "split", 1, &p.split)) ||
            (st = get_bool(c, o, where, "add_prefix_space", 1, &add_prefix)) ||
            (st = get_str(c, o, where, "prepend_scheme", 0, &s, NULL)))
            goto fail;
        if (!p.repl[0]) {
            st = sana_err(SANA_ERR_FORMAT, "%s: %s.replacement: empty", c->file, where);
            goto fail;
        }
        if (!s) p.prepend = add_prefix ? TK_PREPEND_ALWAYS : TK_PREPEND_NEVER;
        else if (!strcmp(s, "always")) p.prepend = TK_PREPEND_ALWAYS;
        else if (!strcmp(s, "first")) p.prepend = TK_PREPEND_FIRST;
        else if (!strcmp(s, "never")) p.prepend = TK_PREPEND_NEVER;
        else {
            st = sana_err(SANA_ERR_FORMAT, "%s: %s.prepend_scheme: unknown value \"%s\"", c->file, where, s);
            goto fail;
        }
    } else {
        return sana_err(SANA_ERR_UNSUPPORTED,
                        "%s: %s: pre-tokenizer type \"%s\" is not supported (Split, Metaspace, Sequence)",
                        c->file, where, type);
    }
    tk_pre *q = realloc(t->pre, (size_t)(t->npre + 1) * sizeof *q);
    if (!q) { st = nomem(c); goto fail; }
    t->pre = q;
    t->pre[t->npre++] = p;
    return SANA_OK;
fail:
    free(p.pat); free(p.repl);
    return st;
}

/* ------------------------------------------------------------ decoder */

static sana_status dec_leaf(const ctx *c, sana_tokenizer *t, jv *o, const char *where)
{
    const char *type, *s;
    get_str(c, o, where, "type", 1, &type, NULL);
    tk_dec d = {0};
    sana_status st = SANA_OK;
    jv *v;
    if (!strcmp(type, "Replace")) {
        d.kind = TK_DEC_REPLACE;
        if ((st = get_pattern(c, o, where, &d.pat)) || (st = get_cstr(c, o, where, "content", 1, "", &d.content)))
            goto fail;
    } else if (!strcmp(type, "ByteFallback")) {
        d.kind = TK_DEC_BYTE_FALLBACK;
    } else if (!strcmp(type, "Fuse")) {
        d.kind = TK_DEC_FUSE;
    } else if (!strcmp(type, "Strip")) {
        d.kind = TK_DEC_STRIP;
        if ((st = get_cstr(c, o, where, "content", 1, "", &d.content))) goto fail;
        d.start = (v = member(o, "start")) && IS(v, TJ_INT) ? (int)json_object_get_int(v) : 0;
        d.stop = (v = member(o, "stop")) && IS(v, TJ_INT) ? (int)json_object_get_int(v) : 0;
        if (d.start < 0 || d.stop < 0) d.start = d.stop = 0;
    } else if (!strcmp(type, "Metaspace")) {
        d.kind = TK_DEC_METASPACE;
        int add_prefix;
        if ((st = get_cstr(c, o, where, "replacement", 0, "\xe2\x96\x81", &d.pat)) ||
            (st = get_bool(c, o, where, "add_prefix_space", 1, &add_prefix)) ||
            (st = get_str(c, o, where, "prepend_scheme", 0, &s, NULL)))
            goto fail;
        d.prepend = s ? strcmp(s, "never") != 0 : add_prefix;
    } else {
        return sana_err(SANA_ERR_UNSUPPORTED,
                        "%s: %s: decoder type \"%s\" is not supported (Replace, ByteFallback, Fuse, Strip, "
                        "Metaspace, Sequence)", c->file, where, type);
    }
    tk_dec *q = realloc(t->dec, (size_t)(t->ndec + 1) * sizeof *q);
    if (!q) { st = nomem(c); goto fail; }
    t->dec = q;
    t->dec[t->ndec++] = d;
    return SANA_OK;
fail:
    free(d.pat); free(d.content);
    return st;
}

/* ------------------------------------------------------------ model */

/* Vocabulary and merges are most of a tokenizer.json (256k + ~500k entries for Gemma) and their
 * hash-table lookups mostly miss the cache, so both are done in batches: hash a batch of keys and
 * prefetch their slots, then look them up. */
enum { TK_BATCH = 32 };

static sana_status load_vocab(const ctx *c, sana_tokenizer *t, jv *voc)
{
    tk_strmap *vm = &t->bpe.vocab;
    struct { const char *key; jv *val; size_t len; uint32_t h; int32_t id; } q[TK_BATCH];
    if (tk_strmap_reserve(vm, (size_t)json_object_object_length(voc))) return nomem(c);
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
                sana_status st = get_id(c, q[k].val, where, &unused);
                if (st) return st;
            }
            q[k].id = (int32_t)id;
            q[k].len = strlen(q[k].key);
            q[k].h = tk_hash_fold(tk_hash_more(TK_HASH0, q[k].key, q[k].len));
            tk_strmap_prefetch(vm, q[k].h);
        }
        for (int k = 0; k < nq; k++) {
            if (tk_strmap_put_h(vm, q[k].h, q[k].key, q[k].len, q[k].id)) return nomem(c);
            if (q[k].id >= t->nids) t->nids = q[k].id + 1;
        }
    }
}

/* The two tokens of merge i: "a b" (the older form: exactly one space) or ["a", "b"]. */
static sana_status merge_pair(const ctx *c, jv *e, size_t i, const char **a, size_t *na, const char **b, size_t *nb)
{
    if (IS(e, TJ_STRING)) {
        const char *s = TJSTR(e);
        size_t len = (size_t)TJLEN(e);
        const char *sp = memchr(s, ' ', len);
        if (!sp || memchr(sp + 1, ' ', len - (size_t)(sp + 1 - s)))
            return sana_err(SANA_ERR_FORMAT, "%s: model.merges[%zu]: \"%.60s\" is not two tokens separated by "
                            "one space", c->file, i, s);
        *a = s; *na = (size_t)(sp - s); *b = sp + 1; *nb = len - *na - 1;
        return SANA_OK;
    }
    jv *x = IS(e, TJ_ARRAY) && json_object_array_length(e) == 2 ? json_object_array_get_idx(e, 0) : NULL;
    jv *y = x ? json_object_array_get_idx(e, 1) : NULL;
    if (!IS(x, TJ_STRING) || !IS(y, TJ_STRING))
        return sana_err(SANA_ERR_FORMAT, "%s: model.merges[%zu]: expected \"a b\" or [\"a\", \"b\"], found %s%s",
                        c->file, i, IS(e, TJ_ARRAY) ? "an array of " : "", IS(e, TJ_ARRAY) ? "other" : tname(e));
    *a = TJSTR(x); *na = (size_t)TJLEN(x);
    *b = TJSTR(y); *nb = (size_t)TJLEN(y);
    return SANA_OK;
}

/* merges[i] = (a, b): (id(a), id(b)) -> (rank i, id(ab)). Errors come in file order: a batch stops
 * before a malformed merge, whose error is given after the merges before it are checked. */
static sana_status load_merges(const ctx *c, tk_bpe *b, jv *mer)
{
    size_t nm = json_object_array_length(mer);
    struct { const char *a, *b; size_t na, nb; uint32_t ha, hb, hab; uint64_t key; int32_t inew; } q[TK_BATCH];
    if (tk_u64map_reserve(&b->merges, nm)) return nomem(c);
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
            if (tk_u64map_put(&b->merges, q[k].key, (int32_t)(i0 + k), q[k].inew)) return nomem(c);
        if (bad) return bad;
    }
    return SANA_OK;
}

static sana_status load_bpe(const ctx *c, sana_tokenizer *t, jv *m)
{
    tk_bpe *b = &t->bpe;
    const char *s;
    size_t n;
    sana_status st;
    jv *v;

    if (!m) return sana_err(SANA_ERR_FORMAT, "%s: no \"model\"", c->file);
    if (!IS(m, TJ_OBJECT))
        return sana_err(SANA_ERR_FORMAT, "%s: model: expected an object, found %s", c->file, tname(m));
    if ((st = get_str(c, m, "model", "type", 0, &s, NULL))) return st;
    if (s && strcmp(s, "BPE") != 0)
        return sana_err(SANA_ERR_UNSUPPORTED, "%s: model.type: model type \"%s\" is not supported (BPE only)",
                        c->file, s);
    if (!s && !member(m, "merges"))
        return sana_err(SANA_ERR_UNSUPPORTED, "%s: model: no \"type\" and no \"merges\": not a BPE model", c->file);
    if ((st = get_bool(c, m, "model", "fuse_unk", 0, &b->fuse_unk)) ||
        (st = get_bool(c, m, "model", "byte_fallback", 0, &b->byte_fallback)) ||
        (st = get_bool(c, m, "model", "ignore_merges", 0, &b->ignore_merges)))
        return st;
    if ((v = member(m, "dropout"))) {
        if (!IS(v, TJ_NUMBER))
            return sana_err(SANA_ERR_FORMAT, "%s: model.dropout: expected a number, found %s", c->file, tname(v));
        double dv = json_object_get_double(v);
        if (dv != 0.0)
            return sana_err(SANA_ERR_UNSUPPORTED, "%s: model.dropout: BPE dropout (%g) is not supported", c->file,
                            dv);
    }
    if ((st = get_str(c, m, "model", "continuing_subword_prefix", 0, &s, &n))) return st;
    if (s && n && !(b->cont_prefix = dupn(s, n))) return nomem(c);
    if ((st = get_str(c, m, "model", "end_of_word_suffix", 0, &s, &n))) return st;
    if (s && n && !(b->eow_suffix = dupn(s, n))) return nomem(c);

    jv *voc = member(m, "vocab");
    if (!voc || !IS(voc, TJ_OBJECT))
        return sana_err(SANA_ERR_FORMAT, "%s: model.vocab: expected an object of token: id, found %s", c->file,
                        tname(voc));
    if ((st = load_vocab(c, t, voc))) return st;

    b->unk_id = -1;
    if ((st = get_str(c, m, "model", "unk_token", 0, &s, &n))) return st;
    if (s && (b->unk_id = tk_strmap_get(&b->vocab, s, n)) < 0)
        return sana_err(SANA_ERR_FORMAT, "%s: model.unk_token: \"%s\" is not in the vocabulary", c->file, s);
    for (int i = 0; i < 256; i++) {
        char code[8];
        snprintf(code, sizeof code, "<0x%02X>", i);
        b->byte_id[i] = tk_strmap_get(&b->vocab, code, 6);
    }

    jv *mer = member(m, "merges");
    if (mer && !IS(mer, TJ_ARRAY))
        return sana_err(SANA_ERR_FORMAT, "%s: model.merges: expected an array, found %s", c->file, tname(mer));
    return mer ? load_merges(c, b, mer) : SANA_OK;
}

static sana_status load_added(const ctx *c, sana_tokenizer *t, jv *arr)
{
    if (!arr) return SANA_OK;
    if (!IS(arr, TJ_ARRAY))
        return sana_err(SANA_ERR_FORMAT, "%s: added_tokens: expected an array, found %s", c->file, tname(arr));
    size_t n = json_object_array_length(arr);
    if (n > (size_t)TK_MAX_ID) return sana_err(SANA_ERR_FORMAT, "%s: added_tokens: too many", c->file);
    t->added = calloc(n ? n : 1, sizeof *t->added);
    if (!t->added) return nomem(c);
    for (size_t i = 0; i < n; i++) {
        jv *o = json_object_array_get_idx(arr, i);
        char where[64];
        snprintf(where, sizeof where, "added_tokens[%zu]", i);
        if (!IS(o, TJ_OBJECT))
            return sana_err(SANA_ERR_FORMAT, "%s: %s: expected an object, found %s", c->file, where, tname(o));
        tk_added a = {0};
        const char *s;
        size_t len;
        sana_status st;
        if ((st = get_id(c, member(o, "id"), where, &a.id)) || (st = get_str(c, o, where, "content", 1, &s, &len)) ||
            (st = get_bool(c, o, where, "special", 0, &a.special)) ||
            (st = get_bool(c, o, where, "normalized", !a.special, &a.normalized)) ||
            (st = get_bool(c, o, where, "single_word", 0, &a.single_word)) ||
            (st = get_bool(c, o, where, "lstrip", 0, &a.lstrip)) || (st = get_bool(c, o, where, "rstrip", 0, &a.rstrip)))
            return st;
        if (len == 0) continue;                         /* tokenizers ignores empty added tokens */
        if (!(a.content = dupn(s, len))) return nomem(c);
        a.len = len;
        t->added[t->nadded++] = a;
        if (a.id >= t->nids) t->nids = a.id + 1;
    }
    return SANA_OK;
}

/* Build the two tries: non-normalized tokens match the raw text, normalized ones match the
 * normalized text (their content normalized too). Special tokens go in first, then the others,
 * each in file order (the pattern order of tokenizers' AddedVocabulary). */
static sana_status build_tries(const ctx *c, sana_tokenizer *t)
{
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < t->nadded; i++) {
            tk_added *a = &t->added[i];
            if (a->special != (pass == 0)) continue;
            if (!a->normalized) {
                if (tk_trie_add(&t->trie_raw, a->content, a->len, i)) return nomem(c);
                continue;
            }
            char *nz;
            size_t nn;
            sana_status st = tk_normalize(t->norm, t->nnorm, a->content, a->len, &nz, &nn);
            if (st) return st;
            int rc = nn ? tk_trie_add(&t->trie_norm, nz, nn, i) : 0;
            free(nz);
            if (rc) return nomem(c);
            t->has_norm_added = 1;
        }
    return SANA_OK;
}

static int32_t token_to_id(const sana_tokenizer *t, const char *s)
{
    size_t n = strlen(s);
    for (int i = 0; i < t->nadded; i++)
        if (t->added[i].len == n && !memcmp(t->added[i].content, s, n)) return t->added[i].id;
    return tk_strmap_get(&t->bpe.vocab, s, n);
}

/* TemplateProcessing: the ids around $A in the "single" template. */
static sana_status template_leaf(const ctx *c, sana_tokenizer *t, jv *o, const char *where)
{
    const char *type;
    get_str(c, o, where, "type", 1, &type, NULL);
    if (strcmp(type, "TemplateProcessing") != 0)
        return sana_err(SANA_ERR_UNSUPPORTED, "%s: %s: post-processor type \"%s\" is not supported "
                        "(TemplateProcessing)", c->file, where, type);
    if (t->pre_ids || t->post_ids || t->npre_ids || t->npost_ids)
        return sana_err(SANA_ERR_UNSUPPORTED, "%s: %s: more than one TemplateProcessing", c->file, where);
    jv *single = member(o, "single"), *specials = member(o, "special_tokens");
    if (!single || !IS(single, TJ_ARRAY))
        return sana_err(SANA_ERR_FORMAT, "%s: %s.single: expected an array, found %s", c->file, where, tname(single));
    tk_ids pre = {0}, post = {0};
    int seen_a = 0;
    sana_status st = SANA_OK;
    for (size_t i = 0, n = json_object_array_length(single); i < n; i++) {
        jv *it = json_object_array_get_idx(single, i);
        jv *sp = member(it, "SpecialToken"),
                    *sq = member(it, "Sequence");
        const char *id;
        if (sq) {
            if ((st = get_str(c, sq, where, "id", 1, &id, NULL))) goto fail;
            if (strcmp(id, "A") != 0 || seen_a) {
                st = sana_err(SANA_ERR_FORMAT, "%s: %s.single[%zu]: sequence \"%s\" in the single template", c->file,
                              where, i, id);
                goto fail;
            }
            seen_a = 1;
        } else if (sp) {
            if ((st = get_str(c, sp, where, "id", 1, &id, NULL))) goto fail;
            jv *def = member(specials, id), *ids = member(def, "ids");
            if (!ids || !IS(ids, TJ_ARRAY)) {
                st = sana_err(SANA_ERR_FORMAT, "%s: %s.special_tokens: no ids for \"%s\"", c->file, where, id);
                goto fail;
            }
            for (size_t k = 0, nk = json_object_array_length(ids); k < nk; k++) {
                jv *e = json_object_array_get_idx(ids, k);
                int32_t x;
                if ((st = get_id(c, e, where, &x))) goto fail;
                if (tk_ids_push(seen_a ? &post : &pre, x)) { st = nomem(c); goto fail; }
                if (x >= t->nids) t->nids = x + 1;
            }
        } else {
            st = sana_err(SANA_ERR_FORMAT, "%s: %s.single[%zu]: expected SpecialToken or Sequence", c->file, where, i);
            goto fail;
        }
    }
    if (!seen_a) {
        st = sana_err(SANA_ERR_FORMAT, "%s: %s.single: no $A", c->file, where);
        goto fail;
    }
    t->pre_ids = pre.p; t->npre_ids = (int)pre.n;
    t->post_ids = post.p; t->npost_ids = (int)post.n;
    return SANA_OK;
fail:
    free(pre.p); free(post.p);
    return st;
}

/* A special token of tokenizer_config.json: "<bos>" or {"content": "<bos>", ...}. */
static sana_status config_token(const sana_json *j, const char *key, char **out)
{
    json_object *v = NULL;
    *out = NULL;
    if (!json_object_object_get_ex(j->root, key, &v) || !v) return SANA_OK;
    if (json_object_is_type(v, json_type_object) && !json_object_object_get_ex(v, "content", &v)) v = NULL;
    if (!v || !json_object_is_type(v, json_type_string))
        return sana_json_bad(j, key, "expected a token (a string or {\"content\": ...})");
    return (*out = dupn(json_object_get_string(v), (size_t)json_object_get_string_len(v))) ? SANA_OK : sana_err(SANA_ERR_NOMEM, "out of memory");
}

/* tokenizer_config.json / special_tokens_map.json beside tokenizer.json (both optional). */
static sana_status load_config(sana_tokenizer *t, const char *tok_path)
{
    const char *slash = strrchr(tok_path, '/');
    size_t dl = slash ? (size_t)(slash - tok_path + 1) : 0;
    char *bos = NULL, *eos = NULL, *pad = NULL, *cls = NULL;
    int add_bos = 1, add_eos = 0, have_cfg = 0;
    sana_status st = SANA_OK;
    static const char *names[2] = {"tokenizer_config.json", "special_tokens_map.json"};
    for (int f = 0; f < 2; f++) {
        char *p = malloc(dl + 32);
        if (!p) return sana_err(SANA_ERR_NOMEM, "out of memory");
        memcpy(p, tok_path, dl);
        strcpy(p + dl, names[f]);
        FILE *fp = fopen(p, "rb");
        if (!fp) { free(p); continue; }
        fclose(fp);
        sana_json j;
        st = sana_json_load(&j, p);
        free(p);
        if (st) goto done;
        char *b2 = NULL, *e2 = NULL, *p2 = NULL;
        if ((st = config_token(&j, "bos_token", &b2)) || (st = config_token(&j, "eos_token", &e2)) ||
            (st = config_token(&j, "pad_token", &p2))) {
            free(b2); free(e2); free(p2);
            sana_json_free(&j);
            goto done;
        }
        if (!bos) bos = b2; else free(b2);
        if (!eos) eos = e2; else free(e2);
        if (!pad) pad = p2; else free(p2);
        if (f == 0) {
            have_cfg = 1;
            if ((st = sana_json_bool(&j, "add_bos_token", 1, &add_bos)) ||
                (st = sana_json_bool(&j, "add_eos_token", 0, &add_eos)) ||
                (st = sana_json_string(&j, "tokenizer_class", NULL, &cls))) {
                sana_json_free(&j);
                goto done;
            }
        }
        sana_json_free(&j);
    }
    t->bos_id = bos ? token_to_id(t, bos) : -1;
    t->eos_id = eos ? token_to_id(t, eos) : -1;
    t->pad_id = pad ? token_to_id(t, pad) : -1;
    if (have_cfg && cls && (!strncmp(cls, "GemmaTokenizer", 14) || !strncmp(cls, "LlamaTokenizer", 14))) {
        /* transformers' GemmaTokenizerFast/LlamaTokenizerFast replace the file's post-processor by
         * "[bos] $A [eos]" from add_bos_token/add_eos_token (update_post_processor) */
        if ((add_bos && t->bos_id < 0) || (add_eos && t->eos_id < 0)) {
            st = sana_err(SANA_ERR_FORMAT, "%.*stokenizer_config.json: add_%s_token is true but the %s token is "
                          "missing or not in the vocabulary", (int)dl, tok_path, add_bos ? "bos" : "eos",
                          add_bos ? "bos" : "eos");
            goto done;
        }
        free(t->pre_ids); free(t->post_ids);
        t->pre_ids = t->post_ids = NULL;
        t->npre_ids = t->npost_ids = 0;
        if (add_bos) {
            if (!(t->pre_ids = malloc(sizeof(int32_t)))) { st = sana_err(SANA_ERR_NOMEM, "out of memory"); goto done; }
            t->pre_ids[0] = t->bos_id; t->npre_ids = 1;
        }
        if (add_eos) {
            if (!(t->post_ids = malloc(sizeof(int32_t)))) { st = sana_err(SANA_ERR_NOMEM, "out of memory"); goto done; }
            t->post_ids[0] = t->eos_id; t->npost_ids = 1;
        }
    }
done:
    free(bos); free(eos); free(pad); free(cls);
    return st;
}

/* id -> token text, special flags. */
static sana_status build_reverse(const ctx *c, sana_tokenizer *t)
{
    size_t n = t->nids ? (size_t)t->nids : 1;
    t->id_tok = calloc(n, sizeof *t->id_tok);
    t->id_special = calloc(n, 1);
    if (!t->id_tok || !t->id_special) return nomem(c);
    const tk_strmap *v = &t->bpe.vocab;
    /* of several tokens with one id, the first in the file (keys are in the arena in file order) */
    for (size_t i = 0; i < v->cap; i++) {
        if (!v->slot[i].off1) continue;
        char *k = v->keys.p + v->slot[i].off1 - 1, **dst = &t->id_tok[v->slot[i].val];
        if (!*dst || k < *dst) *dst = k;
    }
    for (int i = 0; i < t->nadded; i++) {
        t->id_tok[t->added[i].id] = t->added[i].content;
        t->id_special[t->added[i].id] = (unsigned char)t->added[i].special;
    }
    return SANA_OK;
}

static sana_status load_root(sana_tokenizer *t, jv *r, const char *name)
{
    ctx c = {name};
    jv *v;
    sana_status st;
    t->pad_id = t->bos_id = t->eos_id = -1;
    if ((st = load_bpe(&c, t, member(r, "model")))) goto done;
    if ((st = load_added(&c, t, member(r, "added_tokens")))) goto done;
    if ((v = member(r, "normalizer")) && (st = each_leaf(&c, t, v, "normalizer", "normalizers", norm_leaf, 0)))
        goto done;
    if ((v = member(r, "pre_tokenizer")) &&
        (st = each_leaf(&c, t, v, "pre_tokenizer", "pretokenizers", pre_leaf, 0)))
        goto done;
    if ((v = member(r, "post_processor")) &&
        (st = each_leaf(&c, t, v, "post_processor", "processors", template_leaf, 0)))
        goto done;
    if ((v = member(r, "decoder")) && (st = each_leaf(&c, t, v, "decoder", "decoders", dec_leaf, 0))) goto done;
    if ((st = build_tries(&c, t))) goto done;
    /* defaults when there is no tokenizer_config.json: Gemma's names */
    t->pad_id = token_to_id(t, "<pad>");
    t->bos_id = t->npre_ids ? t->pre_ids[0] : token_to_id(t, "<bos>");
    t->eos_id = token_to_id(t, "<eos>");
done:
    return st;
}

static sana_status load_text(sana_tokenizer **out, const char *json, size_t len, const char *name, int with_config)
{
    *out = NULL;
    json_object *root;
    sana_status st = tj_parse(&root, json, len, name);
    if (st) return st;
    sana_tokenizer *t = calloc(1, sizeof *t);
    if (!t) { json_object_put(root); return sana_err(SANA_ERR_NOMEM, "%s: out of memory", name); }
    st = load_root(t, root, name);
    json_object_put(root);                   /* the tables own copies of everything they keep */
    if (!st && with_config) {
        int32_t pad = t->pad_id, bos = t->bos_id, eos = t->eos_id;
        st = load_config(t, name);
        if (!st) {                           /* config tokens override the defaults when present */
            if (t->pad_id < 0) t->pad_id = pad;
            if (t->bos_id < 0) t->bos_id = bos;
            if (t->eos_id < 0) t->eos_id = eos;
        }
    }
    if (!st) st = build_reverse(&(ctx){name}, t);
    if (!st && !(t->path = dupn(name, strlen(name)))) st = sana_err(SANA_ERR_NOMEM, "%s: out of memory", name);
    if (st) { sana_tokenizer_free(t); return st; }
    *out = t;
    return SANA_OK;
}

sana_status sana_tokenizer_load_mem(sana_tokenizer **out, const char *json, size_t len, const char *name)
{
    return load_text(out, json, len, name, 0);
}

/* Largest tokenizer.json we read (Gemma's is 17-35 MB). */
#define TK_MAX_FILE ((size_t)1 << 30)

sana_status sana_tokenizer_load(sana_tokenizer **out, const char *path)
{
    *out = NULL;
    char *buf;
    size_t n;
    sana_status st = sana_read_file(path, TK_MAX_FILE, &buf, &n);
    if (st != SANA_OK) return st;
    st = load_text(out, buf, n, path, 1);
    free(buf);
    return st;
}

void sana_tokenizer_free(sana_tokenizer *t)
{
    if (!t) return;
    tk_bpe_free(&t->bpe);
    for (int i = 0; i < t->nnorm; i++) { free(t->norm[i].pat); free(t->norm[i].content); }
    for (int i = 0; i < t->npre; i++) { free(t->pre[i].pat); free(t->pre[i].repl); }
    for (int i = 0; i < t->ndec; i++) { free(t->dec[i].pat); free(t->dec[i].content); }
    for (int i = 0; i < t->nadded; i++) free(t->added[i].content);
    free(t->norm); free(t->pre); free(t->dec); free(t->added);
    tk_trie_free(&t->trie_raw); tk_trie_free(&t->trie_norm);
    free(t->pre_ids); free(t->post_ids);
    free(t->id_tok); free(t->id_special);
    free(t->path);
    free(t);
}

int32_t sana_tokenizer_pad_id(const sana_tokenizer *t) { return t->pad_id; }
int32_t sana_tokenizer_bos_id(const sana_tokenizer *t) { return t->bos_id; }
int sana_tokenizer_vocab_size(const sana_tokenizer *t) { return t->nids; }

