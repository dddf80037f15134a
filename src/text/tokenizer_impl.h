/* src/text/tokenizer_impl.h -- internals of the tokenizer (src/tokenizer*.c); not installed.
 *
 * Files:
 *   tokenizer.c        loading tokenizer.json: its sections but the model (added tokens, normalizer,
 *                      pre-tokenizer, post-processor, decoder), tokenizer_config.json, warnings, free
 *   tokenizer_model.c  loading the "model" section: BPE options, vocabulary, merges (in batches)
 *   tokenizer_encode.c tokenize (+ padding/truncation), detokenize
 *   tokenizer_bpe.c    small buffers, hash tables, the BPE model (merges by rank with a heap,
 *                      byte fallback, unk)
 *   tokenizer_json.c   tokenizer.json through json-c, as strict as serde_json; typed reads of values
 *   tokenizer_text.c   UTF-8 classes, normalizers, pre-tokenizers, added-token matching
 */
#ifndef SANA_TOKENIZER_IMPL_H
#define SANA_TOKENIZER_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include "core/status.h"
#include "text/tokenizer.h"
#include "core/utf8.h"

/* A hint to load the cache line of p (for table lookups in bulk, see tokenizer.c). */
#if defined(__GNUC__)
#define TK_PREFETCH(p) __builtin_prefetch(p)
#else
#define TK_PREFETCH(p) ((void)(p))
#endif

/* Largest token id we accept (ids index dense tables). */
#define TK_MAX_ID ((1 << 24) - 1)

/* ---- growable byte string and int array ---- */
typedef struct { char *p; size_t n, cap; } tk_buf;
typedef struct { int32_t *p; size_t n, cap; } tk_ids;
int tk_buf_put(tk_buf *b, const char *s, size_t n);
int tk_ids_push(tk_ids *a, int32_t v);
/* A malloc'd, NUL-terminated copy of s[n] (NULL when out of memory). */
char *tk_strndup(const char *s, size_t n);
/* Value of a hexadecimal digit (either case), -1 for any other byte. */
static inline int tk_hex_digit(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* ---- string -> int32 hash table (keys copied into an arena) ---- */
typedef struct {
    struct tk_sslot { uint32_t hash, len, off1; int32_t val; } *slot;  /* off1: arena offset + 1, 0 = empty */
    size_t cap;            /* power of two */
    size_t n;
    tk_buf keys;           /* the keys, NUL-terminated, in insertion order */
} tk_strmap;
int tk_strmap_put(tk_strmap *m, const char *s, size_t n, int32_t val);  /* 0 ok, -1 nomem; existing: overwritten */
int32_t tk_strmap_get(const tk_strmap *m, const char *s, size_t n);     /* -1 when absent */
/* For lookups in bulk: a key's hash is tk_hash_fold(tk_hash_more(TK_HASH0, key, len)) (it can be
 * continued over a second part); prefetch its slot a little before tk_strmap_get2, which looks up
 * the key a[na] b[nb] (the two parts joined) with hash h. */
#define TK_HASH0 1469598103934665603ull
uint64_t tk_hash_more(uint64_t h, const char *s, size_t n);
static inline uint32_t tk_hash_fold(uint64_t h) { return (uint32_t)(h ^ (h >> 32)); }
void tk_strmap_prefetch(const tk_strmap *m, uint32_t h);
int tk_strmap_put_h(tk_strmap *m, uint32_t h, const char *s, size_t n, int32_t val);
int32_t tk_strmap_get2(const tk_strmap *m, uint32_t h, const char *a, size_t na, const char *b, size_t nb);
int tk_strmap_reserve(tk_strmap *m, size_t n);                          /* room for n keys */
void tk_strmap_free(tk_strmap *m);

/* ---- uint64 -> (int32, int32) hash table ---- */
typedef struct {
    struct tk_uslot { uint64_t key1; int32_t a, b; } *slot;   /* key1: key + 1, 0 = empty */
    size_t cap, n;
} tk_u64map;
int tk_u64map_put(tk_u64map *m, uint64_t k, int32_t a, int32_t b);
int tk_u64map_get(const tk_u64map *m, uint64_t k, int32_t *a, int32_t *b);  /* 1 found */
void tk_u64map_prefetch(const tk_u64map *m, uint64_t k);
int tk_u64map_reserve(tk_u64map *m, size_t n);
void tk_u64map_free(tk_u64map *m);

/* ---- JSON (tokenizer_json.c): json-c in strict mode, plus the checks of serde_json it lacks ---- */
/* Parse JSON text whose top level is an object into *root (free it with json_object_put);
 * errors name the file and the byte offset. */
sana_status tj_parse(json_object **root, const char *text, size_t len, const char *name);
/* "null", "boolean", "number", "string", "array" or "object". */
const char *tj_type_name(const json_object *v);
/* Typed reads of the values of a parsed tokenizer.json. Errors name the file (c->file) and where
 * the value is ("model.vocab", "added_tokens[3]", ...); a key that is absent or null is NULL here
 * (of duplicate keys, json-c keeps the last, as serde_json does). */
typedef struct { const char *file; } tj_ctx;
/* Type tests; TJ_INT: an integer (json-c keeps integers and floats apart), TJ_NUMBER: either. */
enum { TJ_BOOL, TJ_NUMBER, TJ_INT, TJ_STRING, TJ_ARRAY, TJ_OBJECT };
int tj_is(const json_object *v, int type);                  /* 0 for NULL */
json_object *tj_member(const json_object *o, const char *key);   /* NULL: absent, null, o not an object */
sana_status tj_nomem(const tj_ctx *c);
/* where.key as a string (*out points into o; *len may be NULL); absent: an error when required,
 * else *out = NULL. */
sana_status tj_get_str(const tj_ctx *c, json_object *o, const char *where, const char *key, int required,
                       const char **out, size_t *len);
/* The same, copied (malloc'd) and without NUL; absent and not required: a copy of def. */
sana_status tj_get_cstr(const tj_ctx *c, json_object *o, const char *where, const char *key, int required,
                        const char *def, char **out);
sana_status tj_get_bool(const tj_ctx *c, json_object *o, const char *where, const char *key, int def, int *out);
/* A token id: an integer in [0, TK_MAX_ID]. */
sana_status tj_get_id(const tj_ctx *c, json_object *v, const char *where, int32_t *out);
/* where.pattern: {"String": "..."}, non-empty, copied (a Regex pattern is SANA_ERR_UNSUPPORTED). */
sana_status tj_get_pattern(const tj_ctx *c, json_object *o, const char *where, char **out);

/* ---- the BPE model (tokenizers: models/bpe) ---- */
typedef struct {
    tk_strmap vocab;           /* token -> id */
    tk_u64map merges;          /* (left id << 32 | right id) -> (rank, merged id) */
    int32_t unk_id;            /* -1: no unk_token */
    int fuse_unk, byte_fallback, ignore_merges;
    int32_t byte_id[256];      /* <0xNN> token ids, -1 when absent */
    char *cont_prefix;         /* continuing_subword_prefix or NULL */
    char *eow_suffix;          /* end_of_word_suffix or NULL */
} tk_bpe;
/* Append the ids of one pre-tokenized word (valid UTF-8, n > 0). */
sana_status tk_bpe_word(const tk_bpe *m, const char *w, size_t n, tk_ids *out);
void tk_bpe_free(tk_bpe *m);

/* ---- normalizers and pre-tokenizers (a flat list; Sequence is flattened at load) ---- */
enum { TK_NORM_REPLACE, TK_NORM_PREPEND, TK_NORM_STRIP };
typedef struct { int kind; char *pat, *content; int left, right; } tk_norm;

enum { TK_SPLIT_REMOVED, TK_SPLIT_ISOLATED, TK_SPLIT_MERGED_PREV, TK_SPLIT_MERGED_NEXT,
       TK_SPLIT_CONTIGUOUS };
enum { TK_PRE_SPLIT, TK_PRE_METASPACE };
enum { TK_PREPEND_ALWAYS, TK_PREPEND_FIRST, TK_PREPEND_NEVER };
typedef struct {
    int kind;
    char *pat; int behavior, invert;          /* Split with a String pattern */
    char *repl; int prepend, split;           /* Metaspace */
} tk_pre;

/* A piece of text during tokenization: bytes + whether it starts at offset 0 of the input. */
typedef struct { char *s; size_t n; int at_start; } tk_piece;
typedef struct { tk_piece *p; size_t n, cap; } tk_pieces;
int tk_pieces_push(tk_pieces *ps, const char *s, size_t n, int at_start);
void tk_pieces_free(tk_pieces *ps);

/* out = s[n] with every non-overlapping occurrence of pat (left to right) replaced by rep. */
int tk_replace_all(tk_buf *out, const char *s, size_t n, const char *pat, const char *rep);
/* Apply the normalizers to s[n]; *out is malloc'd. */
sana_status tk_normalize(const tk_norm *nz, int nn, const char *s, size_t n, char **out, size_t *outn);
/* Pre-tokenize one normalized piece into words (appended to out). */
sana_status tk_pretokenize(const tk_pre *pt, int np, const tk_piece *in, tk_pieces *out);

/* ---- added tokens: byte trie, leftmost-longest (tokenizers: AddedVocabulary) ---- */
typedef struct {
    char *content; size_t len;
    int32_t id;
    int special, single_word, lstrip, rstrip, normalized;
} tk_added;
typedef struct {
    tk_u64map edge;      /* (node << 8 | byte) -> (child, 0) */
    int32_t *term;       /* node -> index into added (or -1) */
    size_t nnodes, cap;
} tk_trie;
int tk_trie_add(tk_trie *t, const char *s, size_t n, int32_t idx);
void tk_trie_free(tk_trie *t);
/* Split s[n] on the trie's tokens: each output range is either text (tok = -1) or an added
 * token index. Follows find_matches: single_word, lstrip, rstrip. */
typedef struct { size_t a, b; int32_t tok; } tk_span;
sana_status tk_added_split(const tk_trie *t, const tk_added *added, const char *s, size_t n,
                           tk_span **spans, size_t *nspans);

/* ---- decoders (for sana_detokenize) ---- */
enum { TK_DEC_REPLACE, TK_DEC_BYTE_FALLBACK, TK_DEC_FUSE, TK_DEC_STRIP, TK_DEC_METASPACE };
typedef struct { int kind; char *pat, *content; int start, stop, prepend; } tk_dec;

/* ---- loading (tokenizer_model.c): the "model" section into t->bpe, raising t->nids ---- */
sana_status tk_load_model(const tj_ctx *c, sana_tokenizer *t, json_object *model);

/* A warning through the function set by sana_tokenizer_set_warn. */
void tk_warnf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- UTF-8 (decoding: core/utf8.h) ---- */
int tk_is_space(uint32_t cp);   /* Unicode White_Space (regex \s) */
int tk_is_word(uint32_t cp);    /* regex \w (approximated beyond ASCII, see tokenizer_text.c) */

struct sana_tokenizer {
    char *path;
    tk_bpe bpe;
    tk_norm *norm; int nnorm;
    tk_pre *pre; int npre;
    tk_dec *dec; int ndec;
    tk_added *added; int nadded;
    tk_trie trie_raw, trie_norm;     /* non-normalized / normalized added tokens */
    int has_norm_added;
    /* post-processor (TemplateProcessing "single"): ids before and after $A */
    int32_t *pre_ids, *post_ids; int npre_ids, npost_ids;
    int32_t pad_id, bos_id, eos_id;
    int32_t nids;                    /* max id + 1 */
    char **id_tok;                   /* id -> token text (points into owned strings) or NULL */
    unsigned char *id_special;       /* id -> 1 when a special added token */
};

#endif
