/* src/text/tokenizer_bpe.c -- hash tables and the BPE model of the tokenizer.
 *
 * The BPE model follows the Rust `tokenizers` library (models/bpe/model.rs,
 * word.rs), which is what transformers' GemmaTokenizerFast runs:
 *
 *  1. A word (one pre-tokenized piece) becomes one symbol per character. A
 *     character missing from the vocabulary becomes, with byte_fallback, one
 *     <0xNN> symbol per UTF-8 byte when all of those exist; otherwise it is
 *     unknown: a pending <unk> that grows over following unknown characters
 *     when fuse_unk is set. The pending <unk> is emitted when the next
 *     character found in the vocabulary is added, or at the end of the word,
 *     but NOT before byte-fallback symbols (tokenizers adds those straight
 *     away), so "<unk>-char, byte-char, vocab-char" comes out as
 *     bytes, <unk>, vocab. We reproduce that order.
 *  2. Merges: every adjacent pair that has a merge goes into a min-heap keyed by
 *     (rank, position). The top is popped; it is skipped when its left symbol
 *     was merged away, has no right neighbour, or the pair at that place no
 *     longer merges into the same id (a stale entry); otherwise the two symbols
 *     merge and the pairs formed with the new neighbours are pushed. This is
 *     O(n log n) in the word length: a 2,000-character prompt (one word for
 *     Gemma, which has no whitespace split) is a few thousand heap operations.
 *  3. ignore_merges: a word that is itself in the vocabulary is that one token.
 */
#include <stdlib.h>
#include <string.h>
#include "text/tokenizer_impl.h"

/* ------------------------------------------------------------ small buffers */

int tk_buf_put(tk_buf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) return -1;
        b->p = p; b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
    return 0;
}

char *tk_strndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (!p) return NULL;
    if (n) memcpy(p, s, n);
    p[n] = 0;
    return p;
}

int tk_ids_push(tk_ids *a, int32_t v)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        int32_t *p = realloc(a->p, cap * sizeof *p);
        if (!p) return -1;
        a->p = p; a->cap = cap;
    }
    a->p[a->n++] = v;
    return 0;
}

/* ------------------------------------------------------------ string map */

uint64_t tk_hash_more(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) { h ^= (unsigned char)s[i]; h *= 1099511628211ull; }   /* FNV-1a, 64-bit */
    return h;
}

static uint32_t hash_bytes(const char *s, size_t n) { return tk_hash_fold(tk_hash_more(TK_HASH0, s, n)); }

/* Open addressing with linear probing; a slot holds the hash, the key's place in the arena and
 * the value, so that a lookup reads one slot and the key bytes (two cache misses at most on a
 * 256k vocabulary, where most lookups miss the cache). */
static int strmap_grow_to(tk_strmap *m, size_t cap)
{
    struct tk_sslot *slot = calloc(cap, sizeof *slot);
    if (!slot) return -1;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slot[i].off1) continue;
        size_t j = m->slot[i].hash & (cap - 1);
        while (slot[j].off1) j = (j + 1) & (cap - 1);
        slot[j] = m->slot[i];
    }
    free(m->slot);
    m->slot = slot; m->cap = cap;
    return 0;
}

int tk_strmap_reserve(tk_strmap *m, size_t n)
{
    size_t cap = 1024;
    while (cap < 2 * n + 2) cap *= 2;
    return cap > m->cap ? strmap_grow_to(m, cap) : 0;
}

int tk_strmap_put(tk_strmap *m, const char *s, size_t n, int32_t val)
{
    return tk_strmap_put_h(m, hash_bytes(s, n), s, n, val);
}

int tk_strmap_put_h(tk_strmap *m, uint32_t h, const char *s, size_t n, int32_t val)
{
    if (n >= UINT32_MAX || m->keys.n + n + 2 > UINT32_MAX) return -1;
    if ((m->n + 1) * 2 > m->cap && strmap_grow_to(m, m->cap ? m->cap * 2 : 1024)) return -1;
    size_t j = h & (m->cap - 1);
    while (m->slot[j].off1) {
        struct tk_sslot *e = &m->slot[j];
        if (e->hash == h && e->len == n && memcmp(m->keys.p + e->off1 - 1, s, n) == 0) {
            e->val = val;
            return 0;
        }
        j = (j + 1) & (m->cap - 1);
    }
    uint32_t off = (uint32_t)m->keys.n;
    /* keys are stored NUL-terminated so that they can be used as C strings */
    if (tk_buf_put(&m->keys, s, n) || tk_buf_put(&m->keys, "", 1)) return -1;
    m->slot[j] = (struct tk_sslot){h, (uint32_t)n, off + 1, val};
    m->n++;
    return 0;
}

int32_t tk_strmap_get2(const tk_strmap *m, uint32_t h, const char *a, size_t na, const char *b, size_t nb)
{
    if (!m->cap) return -1;
    size_t j = h & (m->cap - 1);
    while (m->slot[j].off1) {
        const struct tk_sslot *e = &m->slot[j];
        const char *k = m->keys.p + e->off1 - 1;
        if (e->hash == h && e->len == na + nb && memcmp(k, a, na) == 0 && (!nb || memcmp(k + na, b, nb) == 0))
            return e->val;
        j = (j + 1) & (m->cap - 1);
    }
    return -1;
}

int32_t tk_strmap_get(const tk_strmap *m, const char *s, size_t n)
{
    return tk_strmap_get2(m, hash_bytes(s, n), s, n, NULL, 0);
}

void tk_strmap_prefetch(const tk_strmap *m, uint32_t h)
{
    if (m->cap) TK_PREFETCH(&m->slot[h & (m->cap - 1)]);
}

void tk_strmap_free(tk_strmap *m)
{
    free(m->slot); free(m->keys.p);
    memset(m, 0, sizeof *m);
}

/* ------------------------------------------------------------ u64 map */

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30; x *= 0xbf58476d1ce4e5b9ull;           /* splitmix64 finaliser */
    x ^= x >> 27; x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Key, and both values, in one slot: one cache miss per lookup. */
static int u64map_grow_to(tk_u64map *m, size_t cap)
{
    struct tk_uslot *slot = calloc(cap, sizeof *slot);
    if (!slot) return -1;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slot[i].key1) continue;
        size_t j = mix64(m->slot[i].key1 - 1) & (cap - 1);
        while (slot[j].key1) j = (j + 1) & (cap - 1);
        slot[j] = m->slot[i];
    }
    free(m->slot);
    m->slot = slot; m->cap = cap;
    return 0;
}

int tk_u64map_reserve(tk_u64map *m, size_t n)
{
    size_t cap = 1024;
    while (cap < 2 * n + 2) cap *= 2;
    return cap > m->cap ? u64map_grow_to(m, cap) : 0;
}

int tk_u64map_put(tk_u64map *m, uint64_t k, int32_t a, int32_t b)
{
    if (k == UINT64_MAX) return -1;
    if ((m->n + 1) * 2 > m->cap && u64map_grow_to(m, m->cap ? m->cap * 2 : 1024)) return -1;
    size_t j = mix64(k) & (m->cap - 1);
    while (m->slot[j].key1 && m->slot[j].key1 != k + 1) j = (j + 1) & (m->cap - 1);
    if (!m->slot[j].key1) { m->slot[j].key1 = k + 1; m->n++; }
    m->slot[j].a = a; m->slot[j].b = b;
    return 0;
}

void tk_u64map_prefetch(const tk_u64map *m, uint64_t k)
{
    if (m->cap) TK_PREFETCH(&m->slot[mix64(k) & (m->cap - 1)]);
}

int tk_u64map_get(const tk_u64map *m, uint64_t k, int32_t *a, int32_t *b)
{
    if (!m->cap) return 0;
    size_t j = mix64(k) & (m->cap - 1);
    while (m->slot[j].key1) {
        if (m->slot[j].key1 == k + 1) { *a = m->slot[j].a; if (b) *b = m->slot[j].b; return 1; }
        j = (j + 1) & (m->cap - 1);
    }
    return 0;
}

void tk_u64map_free(tk_u64map *m)
{
    free(m->slot);
    memset(m, 0, sizeof *m);
}

/* ------------------------------------------------------------ BPE */

typedef struct { int32_t id; int32_t prev, next; uint32_t len; } sym;
typedef struct { int32_t rank, pos, new_id; } merge_ent;

/* min-heap on (rank, pos), as tokenizers' Merge ordering */
static int merge_less(merge_ent x, merge_ent y)
{
    return x.rank != y.rank ? x.rank < y.rank : x.pos < y.pos;
}

typedef struct { merge_ent *h; size_t n, cap; } heap;

static int heap_push(heap *q, merge_ent e)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 64;
        merge_ent *h = realloc(q->h, cap * sizeof *h);
        if (!h) return -1;
        q->h = h; q->cap = cap;
    }
    size_t i = q->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!merge_less(e, q->h[p])) break;
        q->h[i] = q->h[p];
        i = p;
    }
    q->h[i] = e;
    return 0;
}

static merge_ent heap_pop(heap *q)
{
    merge_ent top = q->h[0], last = q->h[--q->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= q->n) break;
        if (c + 1 < q->n && merge_less(q->h[c + 1], q->h[c])) c++;
        if (!merge_less(q->h[c], last)) break;
        q->h[i] = q->h[c];
        i = c;
    }
    if (q->n) q->h[i] = last;
    return top;
}

static int get_merge(const tk_bpe *m, int32_t l, int32_t r, int32_t *rank, int32_t *new_id)
{
    return tk_u64map_get(&m->merges, ((uint64_t)(uint32_t)l << 32) | (uint32_t)r, rank, new_id);
}

typedef struct { sym *s; size_t n, cap; } symvec;

static int sym_add(symvec *w, int32_t id, uint32_t len)
{
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 64;
        sym *s = realloc(w->s, cap * sizeof *s);
        if (!s) return -1;
        w->s = s; w->cap = cap;
    }
    int32_t k = (int32_t)w->n;
    if (k > 0) w->s[k - 1].next = k;
    w->s[w->n++] = (sym){id, k - 1, -1, len};
    return 0;
}

/* Look a character (with the optional prefix/suffix) up in the vocabulary. */
static int32_t char_id(const tk_bpe *m, const char *c, size_t clen, int first, int last, tk_buf *tmp)
{
    if ((first || !m->cont_prefix) && (!last || !m->eow_suffix)) return tk_strmap_get(&m->vocab, c, clen);
    tmp->n = 0;
    if (!first && m->cont_prefix && tk_buf_put(tmp, m->cont_prefix, strlen(m->cont_prefix))) return -2;
    if (tk_buf_put(tmp, c, clen)) return -2;
    if (last && m->eow_suffix && tk_buf_put(tmp, m->eow_suffix, strlen(m->eow_suffix))) return -2;
    return tk_strmap_get(&m->vocab, tmp->p, tmp->n);
}

sana_status tk_bpe_word(const tk_bpe *m, const char *w, size_t n, tk_ids *out)
{
    if (m->ignore_merges) {
        int32_t id = tk_strmap_get(&m->vocab, w, n);
        if (id >= 0) return tk_ids_push(out, id) ? sana_err(SANA_ERR_NOMEM, "tokenizer: out of memory") : SANA_OK;
    }
    symvec word = {0};
    heap q = {0};
    tk_buf tmp = {0};
    sana_status st = SANA_OK;
    int32_t unk_id = -1;          /* pending unknown run */
    uint32_t unk_len = 0;

    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t cl = (size_t)sana_utf8_next(w + i, &cp);
        int first = i == 0, last = i + cl == n;
        int32_t id = char_id(m, w + i, cl, first, last, &tmp);
        if (id == -2) goto nomem;
        if (id >= 0) {
            if (unk_id >= 0) {
                if (sym_add(&word, unk_id, unk_len)) goto nomem;
                unk_id = -1;
            }
            if (sym_add(&word, id, (uint32_t)cl)) goto nomem;
        } else {
            int all = m->byte_fallback;
            for (size_t k = 0; all && k < cl; k++) all = m->byte_id[(unsigned char)w[i + k]] >= 0;
            if (all) {
                for (size_t k = 0; k < cl; k++)
                    if (sym_add(&word, m->byte_id[(unsigned char)w[i + k]], 1)) goto nomem;
            } else if (m->unk_id >= 0) {
                if (unk_id >= 0 && m->fuse_unk) {
                    unk_len += (uint32_t)cl;
                } else {
                    if (unk_id >= 0 && sym_add(&word, unk_id, unk_len)) goto nomem;
                    unk_id = m->unk_id;
                    unk_len = (uint32_t)cl;
                }
            }
            /* no unk token: the character is dropped, as in tokenizers */
        }
        i += cl;
    }
    if (unk_id >= 0 && sym_add(&word, unk_id, unk_len)) goto nomem;

    /* merges */
    for (size_t i = 0; i + 1 < word.n; i++) {
        int32_t rank, nid;
        if (get_merge(m, word.s[i].id, word.s[i + 1].id, &rank, &nid) &&
            heap_push(&q, (merge_ent){rank, (int32_t)i, nid}))
            goto nomem;
    }
    while (q.n) {
        merge_ent top = heap_pop(&q);
        sym *cur = &word.s[top.pos];
        if (cur->len == 0 || cur->next < 0) continue;
        int32_t rpos = cur->next;
        sym right = word.s[rpos];
        int32_t rank, nid;
        if (!get_merge(m, cur->id, right.id, &rank, &nid) || nid != top.new_id) continue;  /* stale */
        cur->id = top.new_id;
        cur->len += right.len;
        cur->next = right.next;
        word.s[rpos].len = 0;
        if (right.next >= 0) word.s[right.next].prev = top.pos;
        if (cur->prev >= 0 && get_merge(m, word.s[cur->prev].id, cur->id, &rank, &nid) &&
            heap_push(&q, (merge_ent){rank, cur->prev, nid}))
            goto nomem;
        cur = &word.s[top.pos];
        if (cur->next >= 0 && get_merge(m, cur->id, word.s[cur->next].id, &rank, &nid) &&
            heap_push(&q, (merge_ent){rank, top.pos, nid}))
            goto nomem;
    }
    for (size_t i = 0; i < word.n; i++)
        if (word.s[i].len && tk_ids_push(out, word.s[i].id)) goto nomem;
    goto done;
nomem:
    st = sana_err(SANA_ERR_NOMEM, "tokenizer: out of memory");
done:
    free(word.s); free(q.h); free(tmp.p);
    return st;
}

void tk_bpe_free(tk_bpe *m)
{
    tk_strmap_free(&m->vocab);
    tk_u64map_free(&m->merges);
    free(m->cont_prefix); free(m->eow_suffix);
}
