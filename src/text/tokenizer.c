/* src/text/tokenizer.c -- load a Hugging Face tokenizer.json (see tokenizer.h); running it is
 * tokenizer_encode.c.
 *
 * What is read (everything else that changes the result is an error that names
 * the file and the key):
 *   model           BPE: vocab, merges ("a b" strings or [a, b] pairs), unk_token,
 *                   fuse_unk, byte_fallback, ignore_merges, continuing_subword_prefix,
 *                   end_of_word_suffix, dropout (null or 0 only) -- in tokenizer_model.c
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

/* ------------------------------------------------------------ Sequence */

/* Objects that are a Sequence of others are flattened: call fn on each leaf. */
typedef sana_status (*leaf_fn)(const tj_ctx *c, sana_tokenizer *t, json_object *o, const char *where);

static sana_status each_leaf(const tj_ctx *c, sana_tokenizer *t, json_object *o, const char *where,
                             const char *list_key, leaf_fn fn, int depth)
{
    if (!tj_is(o, TJ_OBJECT))
        return sana_err(SANA_ERR_FORMAT, "%s: %s: expected an object, found %s", c->file, where, tj_type_name(o));
    const char *type;
    sana_status st = tj_get_str(c, o, where, "type", 1, &type, NULL);
    if (st) return st;
    if (strcmp(type, "Sequence") != 0) return fn(c, t, o, where);
    if (depth > 8) return sana_err(SANA_ERR_FORMAT, "%s: %s: Sequence nested too deeply", c->file, where);
    json_object *arr = tj_member(o, list_key);
    if (!arr || !tj_is(arr, TJ_ARRAY))
        return sana_err(SANA_ERR_FORMAT, "%s: %s.%s: expected an array, found %s", c->file, where, list_key,
                        tj_type_name(arr));
    for (size_t i = 0, n = json_object_array_length(arr); i < n; i++) {
        json_object *e = json_object_array_get_idx(arr, i);
        char w[256];
        snprintf(w, sizeof w, "%s.%s[%zu]", where, list_key, i);
        if ((st = each_leaf(c, t, e, w, list_key, fn, depth + 1))) return st;
    }
    return SANA_OK;
}


/* ------------------------------------------------------------ normalizer */

static sana_status norm_leaf(const tj_ctx *c, sana_tokenizer *t, json_object *o, const char *where)
{
    const char *type;
    tj_get_str(c, o, where, "type", 1, &type, NULL);
    tk_norm z = {0};
    sana_status st = SANA_OK;
    if (!strcmp(type, "Replace")) {
        z.kind = TK_NORM_REPLACE;
        if ((st = tj_get_pattern(c, o, where, &z.pat)) ||
            (st = tj_get_cstr(c, o, where, "content", 1, "", &z.content)))
            goto fail;
    } else if (!strcmp(type, "Prepend")) {
        z.kind = TK_NORM_PREPEND;
        if ((st = tj_get_cstr(c, o, where, "prepend", 1, "", &z.content))) goto fail;
    } else if (!strcmp(type, "Strip")) {
        z.kind = TK_NORM_STRIP;
        if ((st = tj_get_bool(c, o, where, "strip_left", 1, &z.left)) ||
            (st = tj_get_bool(c, o, where, "strip_right", 1, &z.right)))
            goto fail;
    } else {
        return sana_err(SANA_ERR_UNSUPPORTED,
                        "%s: %s: normalizer type \"%s\" is not supported (Replace, Prepend, Strip, Sequence)",
                        c->file, where, type);
    }
    tk_norm *p = realloc(t->norm, (size_t)(t->nnorm + 1) * sizeof *p);
    if (!p) { st = tj_nomem(c); goto fail; }
    t->norm = p;
    t->norm[t->nnorm++] = z;
    return SANA_OK;
fail:
    free(z.pat); free(z.content);
    return st;
}

/* ------------------------------------------------------------ pre-tokenizer */

static sana_status pre_leaf(const tj_ctx *c, sana_tokenizer *t, json_object *o, const char *where)
{
    const char *type, *s;
    tj_get_str(c, o, where, "type", 1, &type, NULL);
    tk_pre p = {0};
    sana_status st = SANA_OK;
    if (!strcmp(type, "Split")) {
        static const char *names[] = {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"};
        p.kind = TK_PRE_SPLIT;
        if ((st = tj_get_pattern(c, o, where, &p.pat)) || (st = tj_get_str(c, o, where, "behavior", 1, &s, NULL)) ||
            (st = tj_get_bool(c, o, where, "invert", 0, &p.invert)))
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
        if ((st = tj_get_cstr(c, o, where, "replacement", 0, "\xe2\x96\x81", &p.repl)) ||
            (st = tj_get_bool(c, o, where, "split", 1, &p.split)) ||
            (st = tj_get_bool(c, o, where, "add_prefix_space", 1, &add_prefix)) ||
            (st = tj_get_str(c, o, where, "prepend_scheme", 0, &s, NULL)))
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
    if (!q) { st = tj_nomem(c); goto fail; }
    t->pre = q;
    t->pre[t->npre++] = p;
    return SANA_OK;
fail:
    free(p.pat); free(p.repl);
    return st;
}

/* ------------------------------------------------------------ decoder */

static sana_status dec_leaf(const tj_ctx *c, sana_tokenizer *t, json_object *o, const char *where)
{
    const char *type, *s;
    tj_get_str(c, o, where, "type", 1, &type, NULL);
    tk_dec d = {0};
    sana_status st = SANA_OK;
    json_object *v;
    if (!strcmp(type, "Replace")) {
        d.kind = TK_DEC_REPLACE;
        if ((st = tj_get_pattern(c, o, where, &d.pat)) ||
            (st = tj_get_cstr(c, o, where, "content", 1, "", &d.content)))
            goto fail;
    } else if (!strcmp(type, "ByteFallback")) {
        d.kind = TK_DEC_BYTE_FALLBACK;
    } else if (!strcmp(type, "Fuse")) {
        d.kind = TK_DEC_FUSE;
    } else if (!strcmp(type, "Strip")) {
        d.kind = TK_DEC_STRIP;
        if ((st = tj_get_cstr(c, o, where, "content", 1, "", &d.content))) goto fail;
        d.start = (v = tj_member(o, "start")) && tj_is(v, TJ_INT) ? (int)json_object_get_int(v) : 0;
        d.stop = (v = tj_member(o, "stop")) && tj_is(v, TJ_INT) ? (int)json_object_get_int(v) : 0;
        if (d.start < 0 || d.stop < 0) d.start = d.stop = 0;
    } else if (!strcmp(type, "Metaspace")) {
        d.kind = TK_DEC_METASPACE;
        int add_prefix;
        if ((st = tj_get_cstr(c, o, where, "replacement", 0, "\xe2\x96\x81", &d.pat)) ||
            (st = tj_get_bool(c, o, where, "add_prefix_space", 1, &add_prefix)) ||
            (st = tj_get_str(c, o, where, "prepend_scheme", 0, &s, NULL)))
            goto fail;
        d.prepend = s ? strcmp(s, "never") != 0 : add_prefix;
    } else {
        return sana_err(SANA_ERR_UNSUPPORTED,
                        "%s: %s: decoder type \"%s\" is not supported (Replace, ByteFallback, Fuse, Strip, "
                        "Metaspace, Sequence)", c->file, where, type);
    }
    tk_dec *q = realloc(t->dec, (size_t)(t->ndec + 1) * sizeof *q);
    if (!q) { st = tj_nomem(c); goto fail; }
    t->dec = q;
    t->dec[t->ndec++] = d;
    return SANA_OK;
fail:
    free(d.pat); free(d.content);
    return st;
}

static sana_status load_added(const tj_ctx *c, sana_tokenizer *t, json_object *arr)
{
    if (!arr) return SANA_OK;
    if (!tj_is(arr, TJ_ARRAY))
        return sana_err(SANA_ERR_FORMAT, "%s: added_tokens: expected an array, found %s", c->file, tj_type_name(arr));
    size_t n = json_object_array_length(arr);
    if (n > (size_t)TK_MAX_ID) return sana_err(SANA_ERR_FORMAT, "%s: added_tokens: too many", c->file);
    t->added = calloc(n ? n : 1, sizeof *t->added);
    if (!t->added) return tj_nomem(c);
    for (size_t i = 0; i < n; i++) {
        json_object *o = json_object_array_get_idx(arr, i);
        char where[64];
        snprintf(where, sizeof where, "added_tokens[%zu]", i);
        if (!tj_is(o, TJ_OBJECT))
            return sana_err(SANA_ERR_FORMAT, "%s: %s: expected an object, found %s", c->file, where, tj_type_name(o));
        tk_added a = {0};
        const char *s;
        size_t len;
        sana_status st;
        if ((st = tj_get_id(c, tj_member(o, "id"), where, &a.id)) ||
            (st = tj_get_str(c, o, where, "content", 1, &s, &len)) ||
            (st = tj_get_bool(c, o, where, "special", 0, &a.special)) ||
            (st = tj_get_bool(c, o, where, "normalized", !a.special, &a.normalized)) ||
            (st = tj_get_bool(c, o, where, "single_word", 0, &a.single_word)) ||
            (st = tj_get_bool(c, o, where, "lstrip", 0, &a.lstrip)) ||
            (st = tj_get_bool(c, o, where, "rstrip", 0, &a.rstrip)))
            return st;
        if (len == 0) continue;                         /* tokenizers ignores empty added tokens */
        if (!(a.content = tk_strndup(s, len))) return tj_nomem(c);
        a.len = len;
        t->added[t->nadded++] = a;
        if (a.id >= t->nids) t->nids = a.id + 1;
    }
    return SANA_OK;
}

/* Build the two tries: non-normalized tokens match the raw text, normalized ones match the
 * normalized text (their content normalized too). Special tokens go in first, then the others,
 * each in file order (the pattern order of tokenizers' AddedVocabulary). */
static sana_status build_tries(const tj_ctx *c, sana_tokenizer *t)
{
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < t->nadded; i++) {
            tk_added *a = &t->added[i];
            if (a->special != (pass == 0)) continue;
            if (!a->normalized) {
                if (tk_trie_add(&t->trie_raw, a->content, a->len, i)) return tj_nomem(c);
                continue;
            }
            char *nz;
            size_t nn;
            sana_status st = tk_normalize(t->norm, t->nnorm, a->content, a->len, &nz, &nn);
            if (st) return st;
            int rc = nn ? tk_trie_add(&t->trie_norm, nz, nn, i) : 0;
            free(nz);
            if (rc) return tj_nomem(c);
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
static sana_status template_leaf(const tj_ctx *c, sana_tokenizer *t, json_object *o, const char *where)
{
    const char *type;
    tj_get_str(c, o, where, "type", 1, &type, NULL);
    if (strcmp(type, "TemplateProcessing") != 0)
        return sana_err(SANA_ERR_UNSUPPORTED, "%s: %s: post-processor type \"%s\" is not supported "
                        "(TemplateProcessing)", c->file, where, type);
    if (t->pre_ids || t->post_ids || t->npre_ids || t->npost_ids)
        return sana_err(SANA_ERR_UNSUPPORTED, "%s: %s: more than one TemplateProcessing", c->file, where);
    json_object *single = tj_member(o, "single"), *specials = tj_member(o, "special_tokens");
    if (!single || !tj_is(single, TJ_ARRAY))
        return sana_err(SANA_ERR_FORMAT, "%s: %s.single: expected an array, found %s", c->file, where,
                        tj_type_name(single));
    tk_ids pre = {0}, post = {0};
    int seen_a = 0;
    sana_status st = SANA_OK;
    for (size_t i = 0, n = json_object_array_length(single); i < n; i++) {
        json_object *it = json_object_array_get_idx(single, i);
        json_object *sp = tj_member(it, "SpecialToken"),
                    *sq = tj_member(it, "Sequence");
        const char *id;
        if (sq) {
            if ((st = tj_get_str(c, sq, where, "id", 1, &id, NULL))) goto fail;
            if (strcmp(id, "A") != 0 || seen_a) {
                st = sana_err(SANA_ERR_FORMAT, "%s: %s.single[%zu]: sequence \"%s\" in the single template", c->file,
                              where, i, id);
                goto fail;
            }
            seen_a = 1;
        } else if (sp) {
            if ((st = tj_get_str(c, sp, where, "id", 1, &id, NULL))) goto fail;
            json_object *def = tj_member(specials, id), *ids = tj_member(def, "ids");
            if (!ids || !tj_is(ids, TJ_ARRAY)) {
                st = sana_err(SANA_ERR_FORMAT, "%s: %s.special_tokens: no ids for \"%s\"", c->file, where, id);
                goto fail;
            }
            for (size_t k = 0, nk = json_object_array_length(ids); k < nk; k++) {
                json_object *e = json_object_array_get_idx(ids, k);
                int32_t x;
                if ((st = tj_get_id(c, e, where, &x))) goto fail;
                if (tk_ids_push(seen_a ? &post : &pre, x)) { st = tj_nomem(c); goto fail; }
                if (x >= t->nids) t->nids = x + 1;
            }
        } else {
            st = sana_err(SANA_ERR_FORMAT, "%s: %s.single[%zu]: expected SpecialToken or Sequence", c->file,
                          where, i);
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
    *out = tk_strndup(json_object_get_string(v), (size_t)json_object_get_string_len(v));
    return *out ? SANA_OK : sana_err(SANA_ERR_NOMEM, "%s: out of memory", j->path);
}

/* transformers' GemmaTokenizerFast/LlamaTokenizerFast replace the file's post-processor by
 * "[bos] $A [eos]" from add_bos_token/add_eos_token (update_post_processor). dir_len: the length
 * of the folder part of tok_path, for messages. */
static sana_status rebuild_post_processor(sana_tokenizer *t, int add_bos, int add_eos, const char *tok_path,
                                          size_t dir_len)
{
    if ((add_bos && t->bos_id < 0) || (add_eos && t->eos_id < 0)) {
        const char *which = add_bos && t->bos_id < 0 ? "bos" : "eos";
        return sana_err(SANA_ERR_FORMAT, "%.*stokenizer_config.json: add_%s_token is true but the %s token is "
                        "missing or not in the vocabulary", (int)dir_len, tok_path, which, which);
    }
    free(t->pre_ids); free(t->post_ids);
    t->pre_ids = t->post_ids = NULL;
    t->npre_ids = t->npost_ids = 0;
    if (add_bos) {
        if (!(t->pre_ids = malloc(sizeof(int32_t)))) return sana_err(SANA_ERR_NOMEM, "%s: out of memory", tok_path);
        t->pre_ids[0] = t->bos_id; t->npre_ids = 1;
    }
    if (add_eos) {
        if (!(t->post_ids = malloc(sizeof(int32_t)))) return sana_err(SANA_ERR_NOMEM, "%s: out of memory", tok_path);
        t->post_ids[0] = t->eos_id; t->npost_ids = 1;
    }
    return SANA_OK;
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
        if (!p) { st = sana_err(SANA_ERR_NOMEM, "%s: out of memory", tok_path); goto done; }
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
    if (have_cfg && cls && (!strncmp(cls, "GemmaTokenizer", 14) || !strncmp(cls, "LlamaTokenizer", 14)))
        st = rebuild_post_processor(t, add_bos, add_eos, tok_path, dl);
done:
    free(bos); free(eos); free(pad); free(cls);
    return st;
}

/* id -> token text, special flags. */
static sana_status build_reverse(const tj_ctx *c, sana_tokenizer *t)
{
    size_t n = t->nids ? (size_t)t->nids : 1;
    t->id_tok = calloc(n, sizeof *t->id_tok);
    t->id_special = calloc(n, 1);
    if (!t->id_tok || !t->id_special) return tj_nomem(c);
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

static sana_status load_root(sana_tokenizer *t, json_object *r, const char *name)
{
    tj_ctx c = {name};
    json_object *v;
    sana_status st;
    t->pad_id = t->bos_id = t->eos_id = -1;
    if ((st = tk_load_model(&c, t, tj_member(r, "model")))) goto done;
    if ((st = load_added(&c, t, tj_member(r, "added_tokens")))) goto done;
    if ((v = tj_member(r, "normalizer")) && (st = each_leaf(&c, t, v, "normalizer", "normalizers", norm_leaf, 0)))
        goto done;
    if ((v = tj_member(r, "pre_tokenizer")) &&
        (st = each_leaf(&c, t, v, "pre_tokenizer", "pretokenizers", pre_leaf, 0)))
        goto done;
    if ((v = tj_member(r, "post_processor")) &&
        (st = each_leaf(&c, t, v, "post_processor", "processors", template_leaf, 0)))
        goto done;
    if ((v = tj_member(r, "decoder")) && (st = each_leaf(&c, t, v, "decoder", "decoders", dec_leaf, 0))) goto done;
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
    if (!st) st = build_reverse(&(tj_ctx){name}, t);
    if (!st && !(t->path = tk_strndup(name, strlen(name)))) st = sana_err(SANA_ERR_NOMEM, "%s: out of memory", name);
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

