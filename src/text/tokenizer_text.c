/* src/text/tokenizer_text.c -- the text side of the tokenizer: UTF-8, normalizers,
 * pre-tokenizers and added-token matching, as the Rust `tokenizers` library
 * does them (normalizers/replace.rs, normalizers/prepend.rs, normalizers/strip.rs,
 * pre_tokenizers/split.rs, pre_tokenizers/metaspace.rs, tokenizer/added_vocabulary.rs).
 */
#include <stdlib.h>
#include <string.h>
#include "text/tokenizer_impl.h"

/* ------------------------------------------------------------ UTF-8 */

/* Start of the code point that ends at s[end] (s valid UTF-8). */
static size_t utf8_prev(const char *s, size_t end)
{
    size_t i = end - 1;
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80) i--;
    return i;
}

/* Unicode White_Space, which is what regex `\s` matches in Rust. */
int tk_is_space(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
           c == 0x3000;
}

/* Rust regex `\w` (Alphabetic, marks, decimal digits, connector punctuation, join controls).
 * Exact for ASCII and Latin-1; beyond that an approximation: everything is a word character
 * except whitespace and the main punctuation/symbol blocks. Only added tokens with
 * single_word=true use this (Gemma's and Llama's files have none). */
int tk_is_word(uint32_t c)
{
    if (c < 0x80)
        return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    if (c < 0x100)
        return c == 0xAA || c == 0xB5 || c == 0xBA || (c >= 0xC0 && c != 0xD7 && c != 0xF7);
    if (tk_is_space(c)) return 0;
    if (c == 0x200C || c == 0x200D) return 1;
    if ((c >= 0x2010 && c <= 0x2BFF) || (c >= 0x3001 && c <= 0x3004) || (c >= 0x3008 && c <= 0x3020) ||
        (c >= 0xFE10 && c <= 0xFE6F) || (c >= 0xFF01 && c <= 0xFF0F) || (c >= 0xFF1A && c <= 0xFF20) ||
        (c >= 0x1F000 && c <= 0x1FBFF))
        return 0;
    return 1;
}

/* ------------------------------------------------------------ pieces */

int tk_pieces_push(tk_pieces *ps, const char *s, size_t n, int at_start)
{
    if (ps->n == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 16;
        tk_piece *p = realloc(ps->p, cap * sizeof *p);
        if (!p) return -1;
        ps->p = p; ps->cap = cap;
    }
    char *c = tk_strndup(s, n);
    if (!c) return -1;
    ps->p[ps->n++] = (tk_piece){c, n, at_start};
    return 0;
}

void tk_pieces_free(tk_pieces *ps)
{
    for (size_t i = 0; i < ps->n; i++) free(ps->p[i].s);
    free(ps->p);
    memset(ps, 0, sizeof *ps);
}

/* ------------------------------------------------------------ normalizers */

/* Replace every non-overlapping occurrence of pat (left to right) by rep. */
int tk_replace_all(tk_buf *out, const char *s, size_t n, const char *pat, const char *rep)
{
    size_t pl = strlen(pat), rl = strlen(rep), i = 0, last = 0;
    out->n = 0;
    if (tk_buf_put(out, "", 0)) return -1;
    if (pl == 0) return tk_buf_put(out, s, n);
    while (i + pl <= n) {
        if (memcmp(s + i, pat, pl) == 0) {
            if (tk_buf_put(out, s + last, i - last) || tk_buf_put(out, rep, rl)) return -1;
            i += pl;
            last = i;
        } else {
            i++;
        }
    }
    return tk_buf_put(out, s + last, n - last);
}

sana_status tk_normalize(const tk_norm *nz, int nn, const char *s, size_t n, char **out, size_t *outn)
{
    tk_buf cur = {0}, nxt = {0};
    if (tk_buf_put(&cur, s, n)) goto nomem;
    for (int k = 0; k < nn; k++) {
        const tk_norm *z = &nz[k];
        nxt.n = 0;
        if (z->kind == TK_NORM_REPLACE) {
            if (tk_replace_all(&nxt, cur.p, cur.n, z->pat, z->content)) goto nomem;
        } else if (z->kind == TK_NORM_PREPEND) {
            /* prepends only to non-empty strings */
            if (tk_buf_put(&nxt, "", 0)) goto nomem;
            if (cur.n && (tk_buf_put(&nxt, z->content, strlen(z->content)) || tk_buf_put(&nxt, cur.p, cur.n)))
                goto nomem;
        } else {                                    /* TK_NORM_STRIP: Unicode whitespace */
            size_t a = 0, b = cur.n;
            uint32_t cp;
            while (z->left && a < b) {
                int l = sana_utf8_next(cur.p + a, &cp);
                if (!tk_is_space(cp)) break;
                a += (size_t)l;
            }
            while (z->right && b > a) {
                size_t p = utf8_prev(cur.p, b);
                sana_utf8_next(cur.p + p, &cp);
                if (!tk_is_space(cp)) break;
                b = p;
            }
            if (tk_buf_put(&nxt, cur.p + a, b - a)) goto nomem;
        }
        tk_buf t = cur; cur = nxt; nxt = t;
    }
    free(nxt.p);
    *out = cur.p;
    *outn = cur.n;
    return SANA_OK;
nomem:
    free(cur.p); free(nxt.p);
    return sana_err(SANA_ERR_NOMEM, "tokenizer: out of memory");
}

/* ------------------------------------------------------------ pre-tokenizers */

typedef struct { size_t a, b; int match; } range;
typedef struct { range *r; size_t n, cap; } ranges;

static int ranges_push(ranges *rs, size_t a, size_t b, int match)
{
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? rs->cap * 2 : 16;
        range *r = realloc(rs->r, cap * sizeof *r);
        if (!r) return -1;
        rs->r = r; rs->cap = cap;
    }
    rs->r[rs->n++] = (range){a, b, match};
    return 0;
}

/* Split s into ranges that are matches of pat or the text between (covering all of s),
 * then group them by behaviour (tokenizers: NormalizedString::split). */
static int split_ranges(ranges *out, const char *s, size_t n, const char *pat, int behavior, int invert)
{
    ranges m = {0};
    size_t pl = strlen(pat), i = 0, last = 0;
    int rc = -1;
    while (pl && i + pl <= n) {
        if (memcmp(s + i, pat, pl) == 0) {
            if (last < i && ranges_push(&m, last, i, 0)) goto done;
            if (ranges_push(&m, i, i + pl, 1)) goto done;
            i += pl;
            last = i;
        } else {
            i++;
        }
    }
    if (last < n && ranges_push(&m, last, n, 0)) goto done;
    if (invert)
        for (size_t k = 0; k < m.n; k++) m.r[k].match = !m.r[k].match;

    out->n = 0;
    if (behavior == TK_SPLIT_MERGED_NEXT) {
        int prev_match = 0;
        for (size_t k = m.n; k-- > 0;) {
            if (m.r[k].match && !prev_match && out->n) out->r[out->n - 1].a = m.r[k].a;
            else if (ranges_push(out, m.r[k].a, m.r[k].b, 0)) goto done;
            prev_match = m.r[k].match;
        }
        for (size_t a = 0, b = out->n ? out->n - 1 : 0; a < b; a++, b--) {
            range t = out->r[a]; out->r[a] = out->r[b]; out->r[b] = t;
        }
    } else {
        int prev_match = 0;
        for (size_t k = 0; k < m.n; k++) {
            range r = m.r[k];
            if (behavior == TK_SPLIT_MERGED_PREV && r.match && !prev_match && out->n) {
                out->r[out->n - 1].b = r.b;
            } else if (behavior == TK_SPLIT_CONTIGUOUS && r.match == prev_match && out->n) {
                out->r[out->n - 1].b = r.b;
            } else if (behavior == TK_SPLIT_REMOVED) {
                if (ranges_push(out, r.a, r.b, r.match)) goto done;
            } else if (ranges_push(out, r.a, r.b, 0)) {
                goto done;
            }
            prev_match = r.match;
        }
    }
    rc = 0;
done:
    free(m.r);
    return rc;
}

static sana_status pre_one(const tk_pre *p, const tk_piece *in, tk_pieces *out)
{
    ranges rs = {0};
    tk_buf buf = {0};
    const char *s = in->s;
    size_t n = in->n;
    const char *pat = p->pat;
    int behavior = p->behavior, invert = p->invert;
    if (p->kind == TK_PRE_METASPACE) {
        /* spaces become the replacement, which is prepended (per prepend_scheme) when the piece
         * does not start with it; with split, the piece splits before each replacement */
        size_t rl = strlen(p->repl);
        if (tk_replace_all(&buf, s, n, " ", p->repl)) goto nomem;
        int want = p->prepend == TK_PREPEND_ALWAYS || (p->prepend == TK_PREPEND_FIRST && in->at_start);
        if (want && !(buf.n >= rl && memcmp(buf.p, p->repl, rl) == 0)) {
            tk_buf t = {0};
            if (tk_buf_put(&t, p->repl, rl) || tk_buf_put(&t, buf.p, buf.n)) { free(t.p); goto nomem; }
            free(buf.p);
            buf = t;
        }
        s = buf.p; n = buf.n;
        if (!p->split) {
            if (n && tk_pieces_push(out, s, n, in->at_start)) goto nomem;
            free(buf.p);
            return SANA_OK;
        }
        pat = p->repl; behavior = TK_SPLIT_MERGED_NEXT; invert = 0;
    }
    if (split_ranges(&rs, s, n, pat, behavior, invert)) goto nomem;
    for (size_t k = 0; k < rs.n; k++) {
        if (rs.r[k].match || rs.r[k].b == rs.r[k].a) continue;     /* removed, or empty */
        if (tk_pieces_push(out, s + rs.r[k].a, rs.r[k].b - rs.r[k].a, in->at_start && rs.r[k].a == 0))
            goto nomem;
    }
    free(rs.r); free(buf.p);
    return SANA_OK;
nomem:
    free(rs.r); free(buf.p);
    return sana_err(SANA_ERR_NOMEM, "tokenizer: out of memory");
}

sana_status tk_pretokenize(const tk_pre *pt, int np, const tk_piece *in, tk_pieces *out)
{
    tk_pieces cur = {0}, nxt = {0};
    sana_status st = SANA_OK;
    if (tk_pieces_push(&cur, in->s, in->n, in->at_start)) goto nomem;
    for (int k = 0; k < np; k++) {
        for (size_t i = 0; i < cur.n; i++)
            if ((st = pre_one(&pt[k], &cur.p[i], &nxt))) goto fail;
        tk_pieces_free(&cur);
        cur = nxt;
        memset(&nxt, 0, sizeof nxt);
    }
    for (size_t i = 0; i < cur.n; i++)
        if (cur.p[i].n && tk_pieces_push(out, cur.p[i].s, cur.p[i].n, cur.p[i].at_start)) goto nomem;
    tk_pieces_free(&cur);
    return SANA_OK;
nomem:
    st = sana_err(SANA_ERR_NOMEM, "tokenizer: out of memory");
fail:
    tk_pieces_free(&cur); tk_pieces_free(&nxt);
    return st;
}

/* ------------------------------------------------------------ added tokens */

int tk_trie_add(tk_trie *t, const char *s, size_t n, int32_t idx)
{
    if (t->nnodes == 0) {
        t->cap = 64;
        t->term = malloc(t->cap * sizeof *t->term);
        if (!t->term) return -1;
        t->term[0] = -1;
        t->nnodes = 1;
    }
    int32_t node = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t child, unused;
        uint64_t key = (uint64_t)(uint32_t)node << 8 | (unsigned char)s[i];
        if (!tk_u64map_get(&t->edge, key, &child, &unused)) {
            if (t->nnodes == t->cap) {
                int32_t *p = realloc(t->term, 2 * t->cap * sizeof *p);
                if (!p) return -1;
                t->term = p; t->cap *= 2;
            }
            child = (int32_t)t->nnodes++;
            t->term[child] = -1;
            if (tk_u64map_put(&t->edge, key, child, 0)) return -1;
        }
        node = child;
    }
    /* the first token of a given content wins, as in the Aho-Corasick pattern order */
    if (t->term[node] < 0) t->term[node] = idx;
    return 0;
}

void tk_trie_free(tk_trie *t)
{
    tk_u64map_free(&t->edge);
    free(t->term);
    memset(t, 0, sizeof *t);
}

/* Longest token starting at s[i] (index into added, or -1); *end receives its end. */
static int32_t trie_longest(const tk_trie *t, const char *s, size_t n, size_t i, size_t *end)
{
    int32_t node = 0, best = -1;
    for (size_t k = i; k < n; k++) {
        int32_t child, unused;
        if (!tk_u64map_get(&t->edge, (uint64_t)(uint32_t)node << 8 | (unsigned char)s[k], &child, &unused)) break;
        node = child;
        if (t->term[node] >= 0) { best = t->term[node]; *end = k + 1; }
    }
    return best;
}

static int ends_with_word(const char *s, size_t end)
{
    if (end == 0) return 0;
    uint32_t cp;
    sana_utf8_next(s + utf8_prev(s, end), &cp);
    return tk_is_word(cp);
}

static int starts_with_word(const char *s, size_t i, size_t n)
{
    if (i >= n) return 0;
    uint32_t cp;
    sana_utf8_next(s + i, &cp);
    return tk_is_word(cp);
}

static int span_push(tk_span **sp, size_t *ns, size_t *cap, size_t a, size_t b, int32_t tok)
{
    if (*ns == *cap) {
        size_t c = *cap ? 2 * *cap : 16;
        tk_span *q = realloc(*sp, c * sizeof *q);
        if (!q) return -1;
        *sp = q;
        *cap = c;
    }
    (*sp)[(*ns)++] = (tk_span){a, b, tok};
    return 0;
}

sana_status tk_added_split(const tk_trie *t, const tk_added *added, const char *s, size_t n,
                           tk_span **spans, size_t *nspans)
{
    tk_span *sp = NULL;
    size_t ns = 0, cap = 0, start_off = 0, i = 0;
#define PUSH_SPAN(A, B, T) do { if (span_push(&sp, &ns, &cap, (A), (B), (T))) goto nomem; } while (0)
    while (t->nnodes && i < n) {
        /* leftmost-longest: the first position where some token starts, the longest there;
         * the scan goes on after a match even when single_word discards it */
        size_t end = 0;
        int32_t tok = trie_longest(t, s, n, i, &end);
        if (tok < 0) { i++; continue; }
        size_t a = i, b = end;
        i = end;
        const tk_added *at = &added[tok];
        if (at->single_word && ((a > 0 && ends_with_word(s, a)) || (b < n && starts_with_word(s, b, n))))
            continue;
        if (at->lstrip) {
            size_t na = a;
            while (na > 0) {
                size_t p = utf8_prev(s, na);
                uint32_t cp;
                sana_utf8_next(s + p, &cp);
                if (!tk_is_space(cp)) break;
                na = p;
            }
            a = na > start_off ? na : start_off;
        }
        if (at->rstrip) {
            while (b < n) {
                uint32_t cp;
                int l = sana_utf8_next(s + b, &cp);
                if (!tk_is_space(cp)) break;
                b += (size_t)l;
            }
            /* the scan goes on from the end of the match, not of the stripped spaces: a token
             * that starts inside them matches again (tokenizers' find_matches does the same) */
        }
        if (start_off < a) PUSH_SPAN(start_off, a, -1);
        PUSH_SPAN(a, b, tok);
        start_off = b;
    }
    if (start_off < n) PUSH_SPAN(start_off, n, -1);
#undef PUSH_SPAN
    *spans = sp;
    *nspans = ns;
    return SANA_OK;
nomem:
    free(sp);
    return sana_err(SANA_ERR_NOMEM, "tokenizer: out of memory");
}
