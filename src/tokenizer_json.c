/* src/tokenizer_json.c -- a small, fast JSON reader for tokenizer.json.
 *
 * Why not json-c (which reads every other config): Gemma's tokenizer.json holds a
 * 256k-entry vocabulary and about as many merges, i.e. a million JSON values in
 * 20-30 MB; json-c allocates each value and builds a hash table per object, which
 * takes most of a second on its own. This reader parses the whole file in one pass
 * into one array of values (children linked by index), decoding strings in place
 * in a private copy of the text, which is several times faster.
 *
 * Strict JSON (RFC 8259), as serde_json reads it: no trailing commas, no comments,
 * strings must be valid UTF-8 with valid escapes (surrogate pairs joined, a lone
 * surrogate is an error), control characters must be escaped, nesting depth <= 64.
 * Errors give the byte offset.
 */
#include <stdlib.h>
#include <string.h>
#include "tokenizer_impl.h"

#define TJ_MAX_DEPTH 64

typedef struct {
    char *p;            /* the private copy being parsed (strings are decoded into it) */
    size_t n, i;
    tj_doc *d;
    const char *name;
    int depth;
} parser;

static sana_status perr(parser *ps, const char *what)
{
    return sana_err(SANA_ERR_FORMAT, "%s: invalid JSON at byte %zu: %s", ps->name, ps->i, what);
}

static void skip_ws(parser *ps)
{
    while (ps->i < ps->n) {
        char c = ps->p[ps->i];
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t') break;
        ps->i++;
    }
}

static int32_t new_val(parser *ps, int type)
{
    tj_doc *d = ps->d;
    if (d->n == d->cap) {
        /* a tokenizer.json holds about one value per 20 bytes */
        size_t cap = d->cap ? d->cap * 2 : ps->n / 16 + 1024;
        if (cap > (size_t)INT32_MAX) return -1;
        tj_val *v = realloc(d->v, cap * sizeof *v);
        if (!v) return -1;
        d->v = v; d->cap = cap;
    }
    tj_val *v = &d->v[d->n];
    memset(v, 0, sizeof *v);
    v->type = (unsigned char)type;
    v->child = v->next = -1;
    return (int32_t)d->n++;
}

static int hex4(const char *s, uint32_t *out)
{
    uint32_t x = 0;
    for (int k = 0; k < 4; k++) {
        char c = s[k];
        int h = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (h < 0) return -1;
        x = x << 4 | (uint32_t)h;
    }
    *out = x;
    return 0;
}

static size_t put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | cp >> 6); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Parse a string at ps->i (on the opening quote); decode it in place, NUL-terminated. */
static sana_status parse_string(parser *ps, const char **s, size_t *len)
{
    size_t start = ++ps->i, o = start;
    char *p = ps->p;
    for (;;) {
        if (ps->i >= ps->n) return perr(ps, "unterminated string");
        unsigned char c = (unsigned char)p[ps->i];
        if (c == '"') break;
        if (c < 0x20) return perr(ps, "control character in a string");
        if (c != '\\') {
            /* copy a run of plain bytes */
            size_t j = ps->i;
            while (j < ps->n && p[j] != '"' && p[j] != '\\' && (unsigned char)p[j] >= 0x20) j++;
            if (o != ps->i) memmove(p + o, p + ps->i, j - ps->i);
            o += j - ps->i;
            ps->i = j;
            continue;
        }
        if (ps->i + 1 >= ps->n) return perr(ps, "unterminated string");
        char e = p[ps->i + 1];
        ps->i += 2;
        switch (e) {
        case '"': p[o++] = '"'; break;
        case '\\': p[o++] = '\\'; break;
        case '/': p[o++] = '/'; break;
        case 'b': p[o++] = '\b'; break;
        case 'f': p[o++] = '\f'; break;
        case 'n': p[o++] = '\n'; break;
        case 'r': p[o++] = '\r'; break;
        case 't': p[o++] = '\t'; break;
        case 'u': {
            uint32_t cp, lo;
            if (ps->i + 4 > ps->n || hex4(p + ps->i, &cp)) return perr(ps, "bad \\u escape");
            ps->i += 4;
            if (cp >= 0xDC00 && cp <= 0xDFFF) return perr(ps, "lone low surrogate in \\u escape");
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (ps->i + 6 > ps->n || p[ps->i] != '\\' || p[ps->i + 1] != 'u' || hex4(p + ps->i + 2, &lo) ||
                    lo < 0xDC00 || lo > 0xDFFF)
                    return perr(ps, "lone high surrogate in \\u escape");
                ps->i += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            o += put_utf8(p + o, cp);             /* never longer than the 6 or 12 escape bytes */
            break;
        }
        default: return perr(ps, "bad escape in a string");
        }
    }
    ps->i++;                                       /* closing quote */
    *len = o - start;
    if (*len > UINT32_MAX) return perr(ps, "string too long");
    if (tk_utf8_valid(p + start, *len) != *len) return perr(ps, "string is not valid UTF-8");
    p[o] = 0;                                      /* o < i: the closing quote's byte or earlier */
    *s = p + start;
    return SANA_OK;
}

static sana_status parse_value(parser *ps, int32_t *out);

static sana_status parse_number(parser *ps, int32_t *out)
{
    size_t s = ps->i;
    const char *p = ps->p;
    int is_int = 1;
    if (ps->i < ps->n && p[ps->i] == '-') ps->i++;
    if (ps->i >= ps->n || p[ps->i] < '0' || p[ps->i] > '9') return perr(ps, "unexpected character");
    if (p[ps->i] == '0') ps->i++;
    else while (ps->i < ps->n && p[ps->i] >= '0' && p[ps->i] <= '9') ps->i++;
    if (ps->i < ps->n && p[ps->i] == '.') {
        is_int = 0;
        ps->i++;
        if (ps->i >= ps->n || p[ps->i] < '0' || p[ps->i] > '9') return perr(ps, "bad number");
        while (ps->i < ps->n && p[ps->i] >= '0' && p[ps->i] <= '9') ps->i++;
    }
    if (ps->i < ps->n && (p[ps->i] == 'e' || p[ps->i] == 'E')) {
        is_int = 0;
        ps->i++;
        if (ps->i < ps->n && (p[ps->i] == '+' || p[ps->i] == '-')) ps->i++;
        if (ps->i >= ps->n || p[ps->i] < '0' || p[ps->i] > '9') return perr(ps, "bad number");
        while (ps->i < ps->n && p[ps->i] >= '0' && p[ps->i] <= '9') ps->i++;
    }
    char buf[64];
    size_t len = ps->i - s;
    if (len >= sizeof buf) len = sizeof buf - 1;
    memcpy(buf, p + s, len);
    buf[len] = 0;
    int32_t v = new_val(ps, TJ_NUMBER);
    if (v < 0) return sana_err(SANA_ERR_NOMEM, "%s: out of memory", ps->name);
    tj_val *x = &ps->d->v[v];
    /* an integer that fits in int64 keeps its exact value */
    x->is_int = is_int && len < 19;
    if (x->is_int) x->i = strtoll(buf, NULL, 10);
    else x->d = strtod(buf, NULL);
    if (is_int && !x->is_int) x->is_int = 2;       /* an integer too large for int64 */
    *out = v;
    return SANA_OK;
}

static sana_status parse_container(parser *ps, int32_t *out, int obj)
{
    if (++ps->depth > TJ_MAX_DEPTH) return perr(ps, "nested too deeply");
    int32_t v = new_val(ps, obj ? TJ_OBJECT : TJ_ARRAY), last = -1;
    if (v < 0) return sana_err(SANA_ERR_NOMEM, "%s: out of memory", ps->name);
    ps->i++;
    skip_ws(ps);
    char close = obj ? '}' : ']';
    if (ps->i < ps->n && ps->p[ps->i] == close) {
        ps->i++;
        ps->depth--;
        *out = v;
        return SANA_OK;
    }
    for (;;) {
        const char *key = NULL;
        size_t klen = 0;
        sana_status st;
        if (obj) {
            skip_ws(ps);
            if (ps->i >= ps->n || ps->p[ps->i] != '"') return perr(ps, "expected a key string");
            if ((st = parse_string(ps, &key, &klen))) return st;
            skip_ws(ps);
            if (ps->i >= ps->n || ps->p[ps->i] != ':') return perr(ps, "expected ':'");
            ps->i++;
        }
        int32_t c;
        if ((st = parse_value(ps, &c))) return st;
        tj_val *cv = &ps->d->v[c];
        cv->key = key;
        cv->klen = (uint32_t)klen;
        if (last < 0) ps->d->v[v].child = c;
        else ps->d->v[last].next = c;
        last = c;
        ps->d->v[v].n++;
        skip_ws(ps);
        if (ps->i >= ps->n) return perr(ps, "unexpected end of file");
        if (ps->p[ps->i] == ',') { ps->i++; continue; }
        if (ps->p[ps->i] == close) { ps->i++; break; }
        return perr(ps, obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
    ps->depth--;
    *out = v;
    return SANA_OK;
}

static sana_status parse_value(parser *ps, int32_t *out)
{
    skip_ws(ps);
    if (ps->i >= ps->n) return perr(ps, "unexpected end of file");
    char c = ps->p[ps->i];
    if (c == '{' || c == '[') return parse_container(ps, out, c == '{');
    if (c == '"') {
        const char *s;
        size_t len;
        sana_status st = parse_string(ps, &s, &len);
        if (st) return st;
        int32_t v = new_val(ps, TJ_STRING);
        if (v < 0) return sana_err(SANA_ERR_NOMEM, "%s: out of memory", ps->name);
        ps->d->v[v].s = s;
        ps->d->v[v].len = (uint32_t)len;
        *out = v;
        return SANA_OK;
    }
    static const struct { const char *w; int type, b; } lit[] = {
        {"true", TJ_BOOL, 1}, {"false", TJ_BOOL, 0}, {"null", TJ_NULL, 0}};
    for (int k = 0; k < 3; k++) {
        size_t l = strlen(lit[k].w);
        if (ps->n - ps->i >= l && !memcmp(ps->p + ps->i, lit[k].w, l)) {
            ps->i += l;
            int32_t v = new_val(ps, lit[k].type);
            if (v < 0) return sana_err(SANA_ERR_NOMEM, "%s: out of memory", ps->name);
            ps->d->v[v].i = lit[k].b;
            *out = v;
            return SANA_OK;
        }
    }
    return parse_number(ps, out);
}

sana_status tj_parse(tj_doc *d, const char *text, size_t len, const char *name)
{
    memset(d, 0, sizeof *d);
    parser ps = {0};
    ps.p = malloc(len + 1);
    if (!ps.p) return sana_err(SANA_ERR_NOMEM, "%s: out of memory", name);
    if (len) memcpy(ps.p, text, len);
    ps.p[len] = 0;
    ps.n = len;
    ps.d = d;
    ps.name = name;
    d->text = ps.p;
    int32_t root;
    sana_status st = parse_value(&ps, &root);
    if (!st) {
        skip_ws(&ps);
        if (ps.i != ps.n) st = perr(&ps, "trailing characters after the top-level value");
        else if (d->v[root].type != TJ_OBJECT) st = sana_err(SANA_ERR_FORMAT, "%s: invalid JSON: the top level is "
                                                           "not an object", name);
    }
    if (st) { tj_free(d); return st; }
    d->root = root;
    return SANA_OK;
}

void tj_free(tj_doc *d)
{
    free(d->v);
    free(d->text);
    memset(d, 0, sizeof *d);
}

const tj_val *tj_member(const tj_doc *d, const tj_val *o, const char *key)
{
    if (!o || o->type != TJ_OBJECT) return NULL;
    size_t kl = strlen(key);
    const tj_val *found = NULL;
    for (int32_t c = o->child; c >= 0; c = d->v[c].next)
        if (d->v[c].klen == kl && !memcmp(d->v[c].key, key, kl)) found = &d->v[c];   /* the last one wins */
    return found && found->type == TJ_NULL ? NULL : found;
}

const tj_val *tj_at(const tj_doc *d, const tj_val *a, size_t i)
{
    if (!a || a->type != TJ_ARRAY || i >= a->n) return NULL;
    int32_t c = a->child;
    while (i--) c = d->v[c].next;
    return &d->v[c];
}

const tj_val *tj_first(const tj_doc *d, const tj_val *a) { return a && a->child >= 0 ? &d->v[a->child] : NULL; }
const tj_val *tj_next(const tj_doc *d, const tj_val *v) { return v->next >= 0 ? &d->v[v->next] : NULL; }

const char *tj_type_name(const tj_val *v)
{
    static const char *names[] = {"null", "boolean", "number", "string", "array", "object"};
    return v ? names[v->type] : "null";
}
