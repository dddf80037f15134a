/* src/text/tokenizer_json.c -- tokenizer.json through json-c, as strict as serde_json.
 *
 * The file is parsed by json-c (the project's JSON library) in strict mode
 * (JSON_TOKENER_STRICT: no comments, no single-quoted values, no trailing commas, no
 * trailing characters, no leading zeros), at most TJ_MAX_DEPTH nested arrays/objects.
 *
 * tokenizers reads tokenizer.json with serde_json, which also rejects five things
 * that json-c 0.16 accepts; a file with them would not load in transformers, so they
 * are errors here too, found by one pass over the text after json-c accepted it:
 *   - bytes that are not valid UTF-8 (json-c's optional check lets overlong forms and
 *     UTF-16 surrogates through, so sana_utf8_valid_prefix checks the whole text);
 *   - raw control characters (< 0x20) inside strings;
 *   - a \u escape of a lone UTF-16 surrogate (json-c puts U+FFFD in its place);
 *   - an object key holding \u0000 (json-c keeps keys as C strings: it would cut the
 *     key at the NUL, silently changing a vocabulary entry);
 *   - an object key in single quotes (json-c takes them even in strict mode).
 * What json-c's strict mode still lets through in numbers (NaN, Infinity, "1.", "-01")
 * only ever reaches a number-typed field, where it is a type or range error.
 *
 * Errors name the file and the byte offset.
 *
 * Then the typed reads of the parsed values (tj_get_str, tj_get_id, ...) that the loaders use.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "text/tokenizer_impl.h"

/* Most nested arrays/objects accepted, json-c's tokener depth (a tokenizer.json is about 6 deep). */
#define TJ_MAX_DEPTH 64

static sana_status at(const char *name, size_t off, const char *what)
{
    return sana_err(SANA_ERR_FORMAT, "%s: invalid JSON at byte %zu: %s", name, off, what);
}

/* The 4 hex digits at u[i] (i + 4 <= n), or -1. */
static long hex4(const unsigned char *u, size_t i, size_t n)
{
    if (i + 4 > n) return -1;
    long x = 0;
    for (int k = 0; k < 4; k++) {
        int h = tk_hex_digit(u[i + (size_t)k]);
        if (h < 0) return -1;
        x = x << 4 | h;
    }
    return x;
}

/* The checks of serde_json that json-c lacks (see the top of the file), on text json-c accepted:
 * outside strings there are only JSON's ASCII punctuation, literals, numbers, white space and
 * (json-c's leniency) single-quoted keys, so up to the first single quote each '"' there opens a
 * string. */
static sana_status serde_checks(const char *text, size_t n, const char *name)
{
    size_t bad = sana_utf8_valid_prefix(text, n);
    if (bad != n) return at(name, bad, "string is not valid UTF-8");
    const unsigned char *u = (const unsigned char *)text;
    size_t i = 0;
    for (;;) {
        const unsigned char *q = memchr(u + i, '"', n - i), *sq = memchr(u + i, '\'', (q ? (size_t)(q - u) : n) - i);
        if (sq) return at(name, (size_t)(sq - u), "a key in single quotes");
        if (!q) return SANA_OK;
        i = (size_t)(q - u) + 1;
        int has_nul = 0;
        for (;;) {
            if (i >= n) return at(name, i, "unterminated string");
            unsigned char c = u[i];
            if (c == '"') break;
            if (c < 0x20) return at(name, i, "control character in a string");
            if (c != '\\') { i++; continue; }
            if (i + 1 >= n) return at(name, i, "unterminated string");
            if (u[i + 1] != 'u') { i += 2; continue; }
            long cp = hex4(u, i + 2, n);
            if (cp < 0) return at(name, i, "bad \\u escape");
            if (cp >= 0xDC00 && cp <= 0xDFFF) return at(name, i, "lone low surrogate in \\u escape");
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                long lo = i + 8 <= n && u[i + 6] == '\\' && u[i + 7] == 'u' ? hex4(u, i + 8, n) : -1;
                if (lo < 0xDC00 || lo > 0xDFFF) return at(name, i, "lone high surrogate in \\u escape");
                i += 12;
                continue;
            }
            has_nul |= cp == 0;
            i += 6;
        }
        size_t end = i++;                          /* the closing quote */
        if (has_nul) {
            size_t k = i;
            while (k < n && (u[k] == ' ' || u[k] == '\n' || u[k] == '\r' || u[k] == '\t')) k++;
            if (k < n && u[k] == ':') return at(name, end, "an object key holds \\u0000");
        }
    }
}

sana_status tj_parse(json_object **root, const char *text, size_t len, const char *name)
{
    *root = NULL;
    if (len > (size_t)INT32_MAX - 1) return sana_err(SANA_ERR_FORMAT, "%s: file too large for JSON", name);
    json_tokener *tok = json_tokener_new_ex(TJ_MAX_DEPTH);
    if (!tok) return sana_err(SANA_ERR_NOMEM, "%s: out of memory", name);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *r = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error e = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    sana_status st = SANA_OK;
    if (e == json_tokener_continue) {
        st = at(name, len, "unexpected end of file");
    } else if (e != json_tokener_success) {
        st = at(name, end, json_tokener_error_desc(e));
    } else {
        for (size_t i = end; i < len && !st; i++)
            if (text[i] != ' ' && text[i] != '\n' && text[i] != '\r' && text[i] != '\t')
                st = at(name, i, "trailing characters after the top-level value");
        if (!st && !json_object_is_type(r, json_type_object))
            st = sana_err(SANA_ERR_FORMAT, "%s: invalid JSON: the top level is not an object", name);
        if (!st) st = serde_checks(text, len, name);
    }
    if (st) { json_object_put(r); return st; }
    *root = r;
    return SANA_OK;
}

const char *tj_type_name(const json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_boolean: return "boolean";
    case json_type_double:
    case json_type_int: return "number";
    case json_type_string: return "string";
    case json_type_array: return "array";
    case json_type_object: return "object";
    default: return "null";
    }
}

/* ------------------------------------------------------------ typed reads of values */

int tj_is(const json_object *v, int type)
{
    static const enum json_type jt[] = {json_type_boolean, json_type_double, json_type_int, json_type_string,
                                        json_type_array, json_type_object};
    if (!v) return 0;
    if (type == TJ_NUMBER && json_object_is_type(v, json_type_int)) return 1;
    return json_object_is_type(v, jt[type]);
}

json_object *tj_member(const json_object *o, const char *key)
{
    json_object *v = NULL;
    return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

sana_status tj_nomem(const tj_ctx *c) { return sana_err(SANA_ERR_NOMEM, "%s: out of memory", c->file); }

sana_status tj_get_str(const tj_ctx *c, json_object *o, const char *where, const char *key, int required,
                       const char **out, size_t *len)
{
    json_object *v = tj_member(o, key);
    *out = NULL;
    if (len) *len = 0;
    if (!v) return required ? sana_err(SANA_ERR_FORMAT, "%s: %s: \"%s\" is missing", c->file, where, key) : SANA_OK;
    if (!tj_is(v, TJ_STRING))
        return sana_err(SANA_ERR_FORMAT, "%s: %s.%s: expected a string, found %s", c->file, where, key,
                        tj_type_name(v));
    *out = json_object_get_string(v);
    if (len) *len = (size_t)json_object_get_string_len(v);
    return SANA_OK;
}

sana_status tj_get_bool(const tj_ctx *c, json_object *o, const char *where, const char *key, int def, int *out)
{
    json_object *v = tj_member(o, key);
    *out = def;
    if (!v) return SANA_OK;
    if (!tj_is(v, TJ_BOOL))
        return sana_err(SANA_ERR_FORMAT, "%s: %s.%s: expected true or false, found %s", c->file, where, key,
                        tj_type_name(v));
    *out = json_object_get_boolean(v);
    return SANA_OK;
}

sana_status tj_get_id(const tj_ctx *c, json_object *v, const char *where, int32_t *out)
{
    if (!v || !tj_is(v, TJ_INT))
        return sana_err(SANA_ERR_FORMAT, "%s: %s: expected a token id (an integer), found %s", c->file, where,
                        tj_type_name(v));
    int64_t x = json_object_get_int64(v);
    if (x == INT64_MAX)                     /* json-c's value for any integer from 2^63 - 1 up */
        return sana_err(SANA_ERR_FORMAT, "%s: %s: token id out of range [0, %d]", c->file, where, TK_MAX_ID);
    if (x < 0 || x > TK_MAX_ID)
        return sana_err(SANA_ERR_FORMAT, "%s: %s: token id %lld out of range [0, %d]", c->file, where,
                        (long long)x, TK_MAX_ID);
    *out = (int32_t)x;
    return SANA_OK;
}

sana_status tj_get_pattern(const tj_ctx *c, json_object *o, const char *where, char **out)
{
    json_object *p = tj_member(o, "pattern");
    const char *s;
    size_t n;
    if (!p || !tj_is(p, TJ_OBJECT))
        return sana_err(SANA_ERR_FORMAT, "%s: %s.pattern: expected {\"String\": ...}, found %s", c->file, where,
                        tj_type_name(p));
    if (tj_member(p, "Regex"))
        return sana_err(SANA_ERR_UNSUPPORTED, "%s: %s.pattern: Regex patterns are not supported (String only)",
                        c->file, where);
    sana_status st = tj_get_str(c, p, where, "String", 1, &s, &n);
    if (st) return st;
    if (n == 0 || memchr(s, 0, n))
        return sana_err(SANA_ERR_FORMAT, "%s: %s.pattern: empty or NUL-containing pattern", c->file, where);
    return (*out = tk_strndup(s, n)) ? SANA_OK : tj_nomem(c);
}

sana_status tj_get_cstr(const tj_ctx *c, json_object *o, const char *where, const char *key, int required,
                        const char *def, char **out)
{
    const char *s;
    size_t n;
    sana_status st = tj_get_str(c, o, where, key, required, &s, &n);
    if (st) return st;
    if (!s) { s = def; n = strlen(def); }
    if (memchr(s, 0, n)) return sana_err(SANA_ERR_FORMAT, "%s: %s.%s: string holds a NUL", c->file, where, key);
    return (*out = tk_strndup(s, n)) ? SANA_OK : tj_nomem(c);
}
