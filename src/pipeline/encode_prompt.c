/*
 * src/pipeline/encode_prompt.c -- SanaPipeline.encode_prompt (diffusers v0.35.2) over the tokenizer
 * and the Gemma-2 encoder, with the two exact shortcuts described in doc/text-encoder.md:
 * padded positions are not encoded, and the complex human instruction (CHI) prefix is
 * encoded once and its keys/values reused.
 */
#include "pipeline/encode_prompt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/tokenizer.h"
#include "core/utf8.h"

/* SanaPipeline.__call__'s default `complex_human_instruction` (diffusers v0.35.2,
 * pipelines/sana/pipeline_sana.py). The last line ends with a space: the prompt follows it. */
const char *const sana_default_chi[] = {
    "Given a user prompt, generate an 'Enhanced prompt' that provides detailed visual descriptions suitable for "
    "image generation. Evaluate the level of detail in the user prompt:",
    "- If the prompt is simple, focus on adding specifics about colors, shapes, sizes, textures, and spatial "
    "relationships to create vivid and concrete scenes.",
    "- If the prompt is already detailed, refine and enhance the existing details slightly without "
    "overcomplicating.",
    "Here are examples of how to transform or refine prompts:",
    "- User Prompt: A cat sleeping -> Enhanced: A small, fluffy white cat curled up in a round shape, sleeping "
    "peacefully on a warm sunny windowsill, surrounded by pots of blooming red flowers.",
    "- User Prompt: A busy city street -> Enhanced: A bustling city street scene at dusk, featuring glowing street "
    "lamps, a diverse crowd of people in colorful clothing, and a double-decker bus passing by towering glass "
    "skyscrapers.",
    "Please generate only the enhanced description for the prompt below and avoid including any additional "
    "commentary or evaluations:",
    "User Prompt: ",
    NULL,
};

struct sana_text_encoder {
    sana_tokenizer *tok;
    sana_gemma2 *gemma;
    const sana_backend *be;
    int full, chi_cache;
    /* The CHI prefix cache: the joined instruction text, its ids (with <bos>), the keys/values of
     * every layer at those positions and their final hidden states. */
    char *chi_text;
    int32_t *chi_ids;
    int n_chi;
    sana_gemma2_kv chi_kv;
    float *chi_hidden;
    sana_encoder_counts counts;
};

/* ------------------------------------------------------------ text preprocessing */

#include "text/text_lower.inc"

/* Python str.isspace() (Unicode White_Space, as CPython's _PyUnicode_IsWhitespace). */
static int py_isspace(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
           c == 0x3000;
}

static int in_ranges(const uint32_t (*r)[2], size_t n, uint32_t c)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c < r[mid][0]) hi = mid;
        else if (c > r[mid][1]) lo = mid + 1;
        else return 1;
    }
    return 0;
}
#define IN(table, c) in_ranges(table, sizeof table / sizeof table[0], c)

/* 1:1 lower-case mapping (U+0130 is handled by the caller). */
static uint32_t lower1(uint32_t c)
{
    size_t lo = 0, hi = sizeof lower_ranges / sizeof lower_ranges[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c < lower_ranges[mid].lo) hi = mid;
        else if (c > lower_ranges[mid].hi) lo = mid + 1;
        else {
            if ((c - lower_ranges[mid].lo) % lower_ranges[mid].step == 0)
                return (uint32_t)((int32_t)c + lower_ranges[mid].delta);
            return c;
        }
    }
    return c;
}

/* Decode UTF-8 into code points (-1: not valid UTF-8, -2: out of memory). */
static int utf8_decode(const char *s, size_t len, uint32_t **out, size_t *n)
{
    if (sana_utf8_valid_prefix(s, len) != len) return -1;
    uint32_t *cp = malloc((len + 1) * sizeof(uint32_t));
    if (!cp) return -2;
    size_t k = 0;
    for (size_t i = 0; i < len; k++) i += (size_t)sana_utf8_next(s + i, &cp[k]);
    *out = cp;
    *n = k;
    return 0;
}

/* CPython's Final_Sigma test for the capital sigma at cp[i] of cp[0..n):
 * cased (case-ignorable)* SIGMA, not followed by (case-ignorable)* cased. */
static int final_sigma(const uint32_t *cp, size_t n, size_t i)
{
    size_t j = i;
    uint32_t c = 0;
    int found = 0;
    while (j > 0) {
        c = cp[--j];
        if (!IN(case_ignorable, c)) { found = 1; break; }
    }
    if (!found || !IN(cased_letters, c))
        return 0;
    for (j = i + 1; j < n; j++) {
        c = cp[j];
        if (!IN(case_ignorable, c))
            return !IN(cased_letters, c);
    }
    return 1;
}

sana_status sana_text_preprocess(const char *text, char **out)
{
    *out = NULL;
    uint32_t *cp = NULL;
    size_t n = 0;
    int r = utf8_decode(text, strlen(text), &cp, &n);
    if (r == -2) return sana_err(SANA_ERR_NOMEM, "prompt: out of memory");
    if (r) return sana_err(SANA_ERR_ARG, "prompt: invalid UTF-8");
    /* lower() first, then strip(): lower never maps whitespace to non-whitespace or back,
     * so stripping the code points before lowering them is the same. */
    size_t a = 0, b = n;
    while (a < b && py_isspace(cp[a])) a++;
    while (b > a && py_isspace(cp[b - 1])) b--;
    char *o = malloc(8 * (b - a) + 1);
    if (!o) { free(cp); return sana_err(SANA_ERR_NOMEM, "prompt: out of memory"); }
    size_t k = 0;
    for (size_t i = a; i < b; i++) {
        uint32_t c = cp[i];
        if (c == 0x130) {               /* LATIN CAPITAL LETTER I WITH DOT ABOVE -> "i" + COMBINING DOT ABOVE */
            k += sana_utf8_put(o + k, 0x69);
            k += sana_utf8_put(o + k, 0x307);
        } else if (c == 0x3A3) {        /* GREEK CAPITAL LETTER SIGMA: the context is the whole string */
            k += sana_utf8_put(o + k, final_sigma(cp, n, i) ? 0x3C2 : 0x3C3);
        } else {
            k += sana_utf8_put(o + k, lower1(c));
        }
    }
    o[k] = 0;
    free(cp);
    *out = o;
    return SANA_OK;
}

/* ------------------------------------------------------------ the encoder */

sana_status sana_text_encoder_load(sana_text_encoder **out, const char *tokenizer_dir, const char *text_encoder_dir,
                                   const char *variant, const sana_backend *be)
{
    return sana_text_encoder_load_q(out, tokenizer_dir, text_encoder_dir, variant, be, SANA_F32);
}

sana_status sana_text_encoder_load_q(sana_text_encoder **out, const char *tokenizer_dir, const char *text_encoder_dir,
                                     const char *variant, const sana_backend *be, sana_quant quant)
{
    *out = NULL;
    sana_text_encoder *te = calloc(1, sizeof *te);
    if (!te) return sana_err(SANA_ERR_NOMEM, "text encoder: out of memory");
    te->be = be;
    te->chi_cache = 1;
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenizer.json", tokenizer_dir);
    sana_status st = sana_tokenizer_load(&te->tok, path);
    if (st == SANA_OK)
        st = sana_gemma2_load_q(&te->gemma, text_encoder_dir, variant, be, quant);
    /* A tokenizer with more entries than the embedding table (tokenizer.add_tokens without
     * resize_token_embeddings) loads, as in transformers; an id past the table is an error only
     * when a prompt produces it (check_ids). */
    if (st != SANA_OK) {
        sana_text_encoder_free(te);
        return st;
    }
    *out = te;
    return SANA_OK;
}

static void chi_drop(sana_text_encoder *te)
{
    free(te->chi_text);
    free(te->chi_ids);
    free(te->chi_hidden);
    if (te->chi_kv.k)
        sana_gemma2_kv_free(&te->chi_kv);
    te->chi_text = NULL;
    te->chi_ids = NULL;
    te->chi_hidden = NULL;
    te->n_chi = 0;
}

void sana_text_encoder_free(sana_text_encoder *te)
{
    if (!te) return;
    chi_drop(te);
    sana_gemma2_free(te->gemma);
    sana_tokenizer_free(te->tok);
    free(te);
}

sana_encoder_counts sana_text_encoder_counts(const sana_text_encoder *te) { return te->counts; }
sana_gemma2 *sana_text_encoder_model(sana_text_encoder *te) { return te->gemma; }

size_t sana_text_encoder_weight_bytes(const sana_text_encoder *te) { return sana_gemma2_weight_bytes(te->gemma); }
const sana_st_set *sana_text_encoder_tensors(const sana_text_encoder *te) { return te ? sana_gemma2_tensors(te->gemma) : NULL; }

int64_t sana_text_encoder_hidden_size(const sana_text_encoder *te)
{
    return sana_gemma2_get_config(te->gemma)->hidden_size;
}

void sana_text_encoder_set_attn(sana_text_encoder *te, sana_gemma2_attn attn)
{
    chi_drop(te);
    sana_gemma2_set_attn(te->gemma, attn);
}
void sana_text_encoder_set_full(sana_text_encoder *te, int full) { te->full = full; }
void sana_text_encoder_set_chi_cache(sana_text_encoder *te, int cache)
{
    te->chi_cache = cache;
    if (!cache) chi_drop(te);
}

/* "\n".join(lines) (malloc'd). */
static char *join_lines(const char *const *lines)
{
    size_t len = 0;
    for (int i = 0; lines[i]; i++) len += strlen(lines[i]) + 1;
    char *s = malloc(len + 1);
    if (!s) return NULL;
    size_t k = 0;
    for (int i = 0; lines[i]; i++) {
        if (i) s[k++] = '\n';
        size_t l = strlen(lines[i]);
        memcpy(s + k, lines[i], l);
        k += l;
    }
    s[k] = 0;
    return s;
}

/* The work of one prompt of an encode call. */
typedef struct {
    char *text;                 /* the preprocessed prompt (until encode_text takes it) */
    char *chi_text, *full_text; /* "\n".join(chi); the text to tokenize */
    int32_t *chi_ids;           /* tokenizer.encode(chi_text), with <bos> */
    int n_chi, L;               /* its length; the length of the padded sequence */
    int use_chi;                /* an instruction precedes the prompt */
    int R, P, E;                /* tokens before the padding; positions from the cache; positions encoded */
    int P_build;                /* when it builds the instruction cache: the positions it leaves there */
    int32_t *ids, *mask;        /* [L] */
    float *hidden;              /* [L, C] */
    sana_gemma2_kv kv;
} encode_work;

static void encode_work_free(encode_work *w)
{
    if (w->kv.k) sana_gemma2_kv_free(&w->kv);
    free(w->text);
    free(w->chi_text);
    free(w->full_text);
    free(w->chi_ids);
    free(w->ids);
    free(w->mask);
    free(w->hidden);
}

/* The text to tokenize and L: chi + text with L = num_chi_prompt_tokens + M - 2, or the text alone
 * (taken from *text) with L = M. */
static sana_status encode_text(sana_text_encoder *te, const char *const *chi, char **text, int M, encode_work *w)
{
    /* `if not complex_human_instruction`: None, False and [] mean no instruction. */
    if (!(chi && chi[0])) {
        w->L = M;
        w->full_text = *text;
        *text = NULL;
        return SANA_OK;
    }
    w->chi_text = join_lines(chi);
    if (!w->chi_text) return sana_err(SANA_ERR_NOMEM, "encode_prompt: out of memory");
    /* num_chi_prompt_tokens = len(tokenizer.encode(chi_prompt)): with the special tokens (<bos>). */
    sana_status st = sana_tokenize(te->tok, w->chi_text, strlen(w->chi_text), 1, &w->chi_ids, &w->n_chi);
    if (st != SANA_OK) return st;
    w->L = w->n_chi + M - 2;
    size_t a = strlen(w->chi_text), b = strlen(*text);
    w->full_text = malloc(a + b + 1);
    if (!w->full_text) return sana_err(SANA_ERR_NOMEM, "encode_prompt: out of memory");
    memcpy(w->full_text, w->chi_text, a);
    memcpy(w->full_text + a, *text, b + 1);
    return SANA_OK;
}

/* Every id of the sequence must have a row in the text encoder's embedding table. transformers runs
 * all of them through nn.Embedding and fails with IndexError "index out of range in self"; we name the
 * token. */
static sana_status check_ids(const sana_text_encoder *te, const int32_t *ids, int L)
{
    const int64_t V = sana_gemma2_get_config(te->gemma)->vocab_size;
    for (int i = 0; i < L; i++) {
        if (ids[i] >= 0 && ids[i] < V) continue;
        char *tok = sana_detokenize(te->tok, ids + i, 1, 0);
        sana_status st = sana_err(SANA_ERR_ARG, "prompt: token id %d (\"%s\") at position %d is outside the text "
                                  "encoder's vocab_size %lld (the tokenizer has %d entries: a token added "
                                  "to it has no embedding)", (int)ids[i], tok ? tok : "?", i, (long long)V,
                                  sana_tokenizer_vocab_size(te->tok));
        free(tok);
        return st;
    }
    return SANA_OK;
}

/* tokenizer(text, padding="max_length", max_length=L, truncation=True); *R: the tokens [0, R) before
 * the right padding. */
static sana_status encode_tokenize(sana_text_encoder *te, encode_work *w, int *R)
{
    const int L = w->L;
    w->ids = malloc((size_t)L * sizeof(int32_t));
    w->mask = malloc((size_t)L * sizeof(int32_t));
    if (!w->ids || !w->mask) return sana_err(SANA_ERR_NOMEM, "encode_prompt: out of memory");
    sana_status st = sana_tokenize_padded(te->tok, w->full_text, strlen(w->full_text), L, w->ids, w->mask, NULL);
    if (st != SANA_OK) return st;
    *R = 0;
    while (*R < L && w->mask[*R]) (*R)++;
    for (int i = *R; i < L; i++)
        if (w->mask[i]) return sana_err(SANA_ERR_FORMAT, "encode_prompt: the tokenizer did not pad on the right");
    return check_ids(te, w->ids, L);
}

/* Positions [0, P) of w that the instruction cache holds: the ids CHI + prompt shares with the CHI
 * alone, up to the rows cached. -1 when the cache holds no or another instruction. */
static int cache_prefix(const sana_text_encoder *te, const encode_work *w)
{
    if (!te->chi_text || strcmp(te->chi_text, w->chi_text) != 0 || te->n_chi != w->n_chi ||
        memcmp(te->chi_ids, w->chi_ids, (size_t)w->n_chi * sizeof(int32_t)) != 0)
        return -1;
    int P = 0;
    while (P < te->chi_kv.n && P < w->R && w->ids[P] == te->chi_ids[P]) P++;
    return P;
}

/* An empty instruction cache for w's instruction with room for `rows` positions (keys/values and
 * hidden states); -1 out of memory (no cache then). */
static int cache_alloc(sana_text_encoder *te, const encode_work *w, int rows)
{
    chi_drop(te);
    const int64_t C = sana_text_encoder_hidden_size(te);
    if (rows < 1) rows = 1;
    te->chi_text = strdup(w->chi_text);
    te->chi_ids = malloc((size_t)w->n_chi * sizeof(int32_t));
    te->chi_hidden = malloc((size_t)rows * (size_t)C * sizeof(float));
    if (!te->chi_text || !te->chi_ids || !te->chi_hidden || sana_gemma2_kv_init(&te->chi_kv, te->gemma, rows) != SANA_OK) {
        chi_drop(te);
        return -1;
    }
    memcpy(te->chi_ids, w->chi_ids, (size_t)w->n_chi * sizeof(int32_t));
    te->n_chi = w->n_chi;
    return 0;
}

/* After the forward: w's first P_build positions (keys/values of every layer, final hidden states)
 * become the instruction cache. Out of memory leaves no cache (not an error: it is only reuse). */
static void cache_build(sana_text_encoder *te, const encode_work *w)
{
    const int P = w->P_build;
    if (cache_alloc(te, w, P) != 0) return;
    sana_gemma2_kv_copy_prefix(&te->chi_kv, &w->kv, P);
    if (te->chi_kv.n != P) {
        chi_drop(te);
        return;
    }
    memcpy(te->chi_hidden, w->hidden, (size_t)P * (size_t)sana_text_encoder_hidden_size(te) * sizeof(float));
}

/* The instruction alone (all positions are tokens: no mask) into the cache, in a pass of its own. */
static sana_status chi_build(sana_text_encoder *te, const encode_work *w)
{
    const int n = w->n_chi;
    if (cache_alloc(te, w, n) != 0)
        return sana_err(SANA_ERR_NOMEM, "text encoder: out of memory for the instruction cache");
    /* positions 1 .. n_chi - 2 are never selected: their hidden states stay 0 */
    sana_gemma2_seq sq = {.kv = &te->chi_kv, .ids = te->chi_ids, .start = 0, .n = n, .hidden = te->chi_hidden,
                          .drop0 = 1, .drop1 = n - 1};
    sana_status st = sana_gemma2_forward_batch(te->gemma, &sq, 1);
    if (st == SANA_OK) te->counts.encoded += n;
    else chi_drop(te);
    return st;
}

/*
 * Gemma2Model(ids, attention_mask=mask).last_hidden_state of every prompt into its hidden [L, C]:
 * the positions [0, R) only unless `full`, the instruction prefix taken from the cache.
 * Where the encoder is row-exact (sana_gemma2_rows_exact) all the prompts run in one forward pass
 * over the weights, each getting the bits it gets alone, and a prompt whose instruction the cache
 * does not hold runs from position 0 and leaves its prefix there (the first such prompt of the
 * call): one pass in all. Elsewhere a row's bits change with the rows of its call, so the calls
 * stay those of one prompt at a time (the instruction alone into the cache, then each prompt's
 * own pass): the same prompt then gets the same bits whatever else the process encodes.
 */
static sana_status encode_hidden(sana_text_encoder *te, encode_work *ws, int n)
{
    const int64_t C = sana_text_encoder_hidden_size(te);
    const int exact = sana_gemma2_rows_exact(te->gemma);
    sana_status st = SANA_OK;
    for (int i = 0; !exact && st == SANA_OK && i < n; i++)
        if (ws[i].use_chi && te->chi_cache && cache_prefix(te, &ws[i]) < 0) st = chi_build(te, &ws[i]);
    if (st != SANA_OK) return st;
    sana_gemma2_seq *seqs = n > 0 ? calloc((size_t)n, sizeof *seqs) : NULL;
    if (!seqs) return sana_err(SANA_ERR_NOMEM, "encode_prompt: out of memory");
    int builder = -1;
    for (int i = 0; st == SANA_OK && i < n; i++) {
        encode_work *w = &ws[i];
        w->E = te->full ? w->L : w->R;
        w->hidden = calloc((size_t)w->L * (size_t)C, sizeof(float));
        if (!w->hidden) {
            st = sana_err(SANA_ERR_NOMEM, "encode_prompt: out of memory");
            break;
        }
        w->P = 0;
        if (w->use_chi && te->chi_cache) {
            int P = cache_prefix(te, w);
            if (P >= 0) w->P = P;
            else if (builder < 0) builder = i;
        }
        if ((st = sana_gemma2_kv_init(&w->kv, te->gemma, w->E > 0 ? w->E : 1)) != SANA_OK) break;
        if (w->P > 0) {
            sana_gemma2_kv_copy_prefix(&w->kv, &te->chi_kv, w->P);
            if (w->kv.n != w->P) {
                st = sana_err(SANA_ERR_NOMEM, "encode_prompt: out of memory copying the cache");
                break;
            }
            memcpy(w->hidden, te->chi_hidden, (size_t)w->P * (size_t)C * sizeof(float));
        }
        /* select_index keeps positions 0 and n_chi - 1 .. L - 1: the last layer skips the others */
        seqs[i] = (sana_gemma2_seq){.kv = &w->kv, .ids = w->ids + w->P, .start = w->P, .n = w->E - w->P,
                                    .key_mask = w->mask, .hidden = w->hidden + (size_t)w->P * (size_t)C,
                                    .drop0 = w->use_chi ? 1 : 0, .drop1 = w->use_chi ? w->n_chi - 1 : 0};
    }
    if (st == SANA_OK && builder >= 0) {
        /* the prefix CHI + prompt shares with the CHI alone: what later prompts can reuse */
        encode_work *w = &ws[builder];
        int P = 0;
        while (P < w->n_chi && P < w->E && w->ids[P] == w->chi_ids[P]) P++;
        w->P_build = P;
    }
    if (st == SANA_OK && exact) st = sana_gemma2_forward_batch(te->gemma, seqs, n);
    for (int i = 0; st == SANA_OK && !exact && i < n; i++) st = sana_gemma2_forward_batch(te->gemma, seqs + i, 1);
    free(seqs);
    if (st != SANA_OK) return st;
    for (int i = 0; i < n; i++) {
        te->counts.encoded += ws[i].E - ws[i].P;
        te->counts.from_cache += ws[i].P;
        te->counts.padding_skipped += ws[i].L - ws[i].E;
    }
    if (builder >= 0) cache_build(te, &ws[builder]);
    return SANA_OK;
}

/* Preprocess, join with the instruction and tokenize one prompt into w. */
static sana_status encode_prepare(sana_text_encoder *te, const char *prompt, const char *const *chi, int M,
                                  encode_work *w)
{
    if (!prompt) return sana_err(SANA_ERR_ARG, "encode_prompt: no prompt");
    sana_status st = sana_text_preprocess(prompt, &w->text);
    if (st != SANA_OK) return st;
    w->use_chi = chi && chi[0];
    if ((st = encode_text(te, chi, &w->text, M, w)) != SANA_OK) return st;
    if (w->L < 1 || w->L - M + 1 < 0)
        return sana_err(SANA_ERR_ARG, "encode_prompt: sequence length %d (instruction of %d tokens, max_sequence_length %d)",
                        w->L, w->n_chi, M);
    return encode_tokenize(te, w, &w->R);
}

/* select_index = [0] + list(range(-M + 1, 0)): position 0, then the last M - 1 positions. */
static void encode_select(const encode_work *w, int M, int64_t C, float *embeds, int32_t *mask_sel)
{
    for (int i = 0; i < M; i++) {
        int pos = i == 0 ? 0 : w->L - (M - i);
        memcpy(embeds + (size_t)i * (size_t)C, w->hidden + (size_t)pos * (size_t)C, (size_t)C * sizeof(float));
        mask_sel[i] = w->mask[pos];
    }
}

sana_status sana_encode_prompts(sana_text_encoder *te, int n, const char *const *prompts,
                                const char *const *const *chis, int max_sequence_length, float *const *embeds,
                                int32_t *const *masks)
{
    if (max_sequence_length < 1)
        return sana_err(SANA_ERR_ARG, "max_sequence_length %d: must be at least 1", max_sequence_length);
    if (n < 1 || !prompts || !embeds || !masks) return sana_err(SANA_ERR_ARG, "encode_prompt: no prompts");
    const int64_t C = sana_text_encoder_hidden_size(te);
    const int M = max_sequence_length;
    encode_work *ws = calloc((size_t)n, sizeof *ws);
    if (!ws) return sana_err(SANA_ERR_NOMEM, "encode_prompt: out of memory");
    sana_status st = SANA_OK;
    for (int i = 0; st == SANA_OK && i < n; i++) st = encode_prepare(te, prompts[i], chis ? chis[i] : NULL, M, &ws[i]);
    if (st == SANA_OK) st = encode_hidden(te, ws, n);
    for (int i = 0; st == SANA_OK && i < n; i++) encode_select(&ws[i], M, C, embeds[i], masks[i]);
    for (int i = 0; i < n; i++) encode_work_free(&ws[i]);
    free(ws);
    return st;
}

sana_status sana_encode_prompt_ex(sana_text_encoder *te, const char *prompt, const char *const *chi,
                                  int max_sequence_length, float *embeds, int32_t *mask_sel,
                                  int32_t **ids_out, int32_t **mask_out, int *len_out)
{
    if (ids_out) *ids_out = NULL;
    if (mask_out) *mask_out = NULL;
    if (len_out) *len_out = 0;
    if (max_sequence_length < 1)
        return sana_err(SANA_ERR_ARG, "max_sequence_length %d: must be at least 1", max_sequence_length);
    const int64_t C = sana_text_encoder_hidden_size(te);
    const int M = max_sequence_length;
    encode_work w;
    memset(&w, 0, sizeof w);
    sana_status st = encode_prepare(te, prompt, chi, M, &w);
    if (st == SANA_OK) st = encode_hidden(te, &w, 1);
    if (st == SANA_OK) {
        encode_select(&w, M, C, embeds, mask_sel);
        if (ids_out) { *ids_out = w.ids; w.ids = NULL; }
        if (mask_out) { *mask_out = w.mask; w.mask = NULL; }
        if (len_out) *len_out = w.L;
    }
    encode_work_free(&w);
    return st;
}

sana_status sana_encode_prompt(sana_text_encoder *te, const char *prompt, const char *const *chi,
                               int max_sequence_length, float *embeds, int32_t *mask)
{
    return sana_encode_prompt_ex(te, prompt, chi, max_sequence_length, embeds, mask, NULL, NULL, NULL);
}
