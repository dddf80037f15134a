/* tests/test-tokenizer.c -- the tokenizer against transformers' fast tokenizers (Rust `tokenizers`).
 *
 * Goldens (golden/dump_tokenizer.py): four tokenizer folders made like Gemma's (SentencePiece BPE
 * with byte_fallback, converted by GemmaTokenizerFast / LlamaTokenizerFast), each run on the same
 * 206-prompt corpus: ids without special tokens, ids + attention masks padded/truncated as
 * SanaPipeline calls the tokenizer (max_length 300, 24, and the complex-human-instruction form),
 * and decode(skip_special_tokens=True). All comparisons are exact.
 * Then: errors for bad tokenizer.json files (each names the file and the problem), invalid
 * UTF-8 prompts, the truncation warning, bad max_length.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden.h"
#include "text/tokenizer.h"

static void ok(const char *what) { printf("ok  : %s\n", what); }

static void expect(int cond, const char *what)
{
    if (cond) ok(what);
    else golden_fail("%s -- %s", what, sana_errmsg());
}

static void print_escaped(const char *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n && i < 120; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n') fputs("\\n", stdout);
        else if (c == '\t') fputs("\\t", stdout);
        else if (c < 0x20 || c == 0x7f) printf("\\x%02x", c);
        else putchar(c);
    }
    if (n > 120) fputs("...", stdout);
    putchar('"');
}

static void print_ids(const char *label, const int64_t *v, int64_t n)
{
    printf("      %s:", label);
    for (int64_t i = 0; i < n && i < 40; i++) printf(" %lld", (long long)v[i]);
    printf(n > 40 ? " ...\n" : "\n");
}

/* ------------------------------------------------------------ goldens */

static char last_warning[512];
static int nwarnings;
static void catch_warning(const char *msg, void *ud)
{
    (void)ud;
    snprintf(last_warning, sizeof last_warning, "%s", msg);
    nwarnings++;
}


/* The arrays of one golden file (golden/dump_tokenizer.py): the corpus and what transformers made
 * of it. Prompt p is text[po[p], po[p + 1]); its ids want_ids[ioff[p], ioff[p + 1]) and its decode
 * db[doff[p], doff[p + 1]). Padded case c: prompt pad_prompt[c] (after chi when pad_chi[c]),
 * max_length pad_len[c], ids and mask at pad_off[c]. special: pad id, bos id, vocabulary size. */
typedef struct {
    int64_t nb, np1, nids, nid1, ndec, ndo, npad, nmask, npo, ncase, nchi, nsp;
    int64_t *pb, *po, *want_ids, *ioff, *db, *doff, *pad_ids, *pad_mask, *pad_off, *pad_prompt, *pad_chi, *pad_len;
    int64_t *chib, *special;
    int64_t np;                 /* prompts */
    char *text, *chi;           /* the prompt bytes and the complex-human-instruction bytes */
} tok_golden;

static void tok_golden_read(golden *g, tok_golden *d)
{
    d->pb = golden_i64(g, "prompt_bytes", &d->nb);
    d->po = golden_i64(g, "prompt_off", &d->np1);
    d->want_ids = golden_i64(g, "ids", &d->nids);
    d->ioff = golden_i64(g, "ids_off", &d->nid1);
    d->db = golden_i64(g, "decoded_bytes", &d->ndec);
    d->doff = golden_i64(g, "decoded_off", &d->ndo);
    d->pad_ids = golden_i64(g, "pad_ids", &d->npad);
    d->pad_mask = golden_i64(g, "pad_mask", &d->nmask);
    d->pad_off = golden_i64(g, "pad_off", &d->npo);
    d->pad_prompt = golden_i64(g, "pad_prompt", &d->ncase);
    d->pad_chi = golden_i64(g, "pad_chi", NULL);
    d->pad_len = golden_i64(g, "pad_len", NULL);
    d->chib = golden_i64(g, "chi_bytes", &d->nchi);
    d->special = golden_i64(g, "special", &d->nsp);
    d->np = d->np1 - 1;
    d->text = malloc((size_t)d->nb + (size_t)d->nchi + 1);
    d->chi = malloc((size_t)d->nchi + 1);
    for (int64_t i = 0; i < d->nb; i++) d->text[i] = (char)d->pb[i];
    for (int64_t i = 0; i < d->nchi; i++) d->chi[i] = (char)d->chib[i];
}

static void tok_golden_free(tok_golden *d)
{
    free(d->pb); free(d->po); free(d->want_ids); free(d->ioff); free(d->db); free(d->doff); free(d->pad_ids);
    free(d->pad_mask); free(d->pad_off); free(d->pad_prompt); free(d->pad_chi); free(d->pad_len); free(d->chib);
    free(d->special); free(d->text); free(d->chi);
}

/* ids without special tokens, every prompt; the first prompt that differs is printed. */
static void check_ids(golden *g, const sana_tokenizer *t, const char *name, const tok_golden *d)
{
    char label[160];
    int64_t *got = malloc(((size_t)d->nids + 1) * sizeof *got);
    int64_t ng = 0, first_bad = -1;
    for (int64_t p = 0; p < d->np; p++) {
        int32_t *ids;
        int n;
        if (sana_tokenize(t, d->text + d->po[p], (size_t)(d->po[p + 1] - d->po[p]), 0, &ids, &n)) {
            golden_fail("%s: prompt %lld: %s", name, (long long)p, sana_errmsg());
            n = 0;
            ids = NULL;
        }
        int64_t wn = d->ioff[p + 1] - d->ioff[p];
        int same = n == wn;
        for (int k = 0; same && k < n; k++) same = ids[k] == d->want_ids[d->ioff[p] + k];
        if (!same && first_bad < 0) {
            first_bad = p;
            printf("      %s: first prompt that differs: #%lld ", name, (long long)p);
            print_escaped(d->text + d->po[p], (size_t)(d->po[p + 1] - d->po[p]));
            putchar('\n');
            int64_t *tmp = malloc(((size_t)n + 1) * sizeof *tmp);
            for (int k = 0; k < n; k++) tmp[k] = ids[k];
            print_ids("got ", tmp, n);
            print_ids("want", d->want_ids + d->ioff[p], wn);
            free(tmp);
        }
        for (int k = 0; k < n && ng < d->nids; k++) got[ng++] = ids[k];
        free(ids);
    }
    snprintf(label, sizeof label, "%s: ids of %lld prompts", name, (long long)d->np);
    golden_check_i64(g, label, got, ng, "ids");
    if (first_bad >= 0) golden_fail("%s: prompt %lld tokenized differently", name, (long long)first_bad);
    free(got);
}

/* Padded case c tokenized into gi/gm at pad_off[c]; returns whether it truncated. The first case
 * that differs (*first_bad < 0 until then) is printed. */
static int padded_case(const sana_tokenizer *t, const char *name, const tok_golden *d, int64_t c, int64_t *gi,
                       int64_t *gm, int64_t *first_bad)
{
    int L = (int)d->pad_len[c];
    int64_t p = d->pad_prompt[c], off = d->pad_off[c];
    size_t plen = (size_t)(d->po[p + 1] - d->po[p]), len = plen;
    char *buf = d->text + d->po[p];
    char *cat = NULL;
    if (d->pad_chi[c]) {
        cat = malloc((size_t)d->nchi + plen + 1);
        memcpy(cat, d->chi, (size_t)d->nchi);
        memcpy(cat + d->nchi, buf, plen);
        buf = cat;
        len = (size_t)d->nchi + plen;
    }
    int32_t *ids = malloc((size_t)L * sizeof *ids), *mask = malloc((size_t)L * sizeof *mask);
    int dropped = 0;
    if (sana_tokenize_padded(t, buf, len, L, ids, mask, &dropped)) {
        golden_fail("%s: padded case %lld: %s", name, (long long)c, sana_errmsg());
        for (int k = 0; k < L; k++) ids[k] = mask[k] = -1;
    }
    for (int k = 0; k < L; k++) {
        gi[off + k] = ids[k];
        gm[off + k] = mask[k];
        if (*first_bad < 0 && (ids[k] != d->pad_ids[off + k] || mask[k] != d->pad_mask[off + k])) {
            *first_bad = c;
            printf("      %s: first padded case that differs: #%lld (prompt %lld, chi %lld, max_length %d) at %d\n",
                   name, (long long)c, (long long)p, (long long)d->pad_chi[c], L, k);
        }
    }
    free(ids); free(mask); free(cat);
    return dropped > 0;
}

/* padded + truncated, as SanaPipeline calls the tokenizer; one warning per truncation */
static void check_padded(golden *g, const sana_tokenizer *t, const char *name, const tok_golden *d)
{
    char label[160];
    int64_t *gi = malloc(((size_t)d->npad + 1) * sizeof *gi), *gm = malloc(((size_t)d->npad + 1) * sizeof *gm);
    int truncated = 0;
    int64_t first_bad = -1;
    sana_tokenizer_set_warn(catch_warning, NULL);
    nwarnings = 0;
    for (int64_t c = 0; c < d->ncase; c++) truncated += padded_case(t, name, d, c, gi, gm, &first_bad);
    snprintf(label, sizeof label, "%s: padded ids, %lld cases", name, (long long)d->ncase);
    golden_check_i64(g, label, gi, d->npad, "pad_ids");
    snprintf(label, sizeof label, "%s: attention masks", name);
    golden_check_i64(g, label, gm, d->nmask, "pad_mask");
    snprintf(label, sizeof label, "%s: %d of the cases truncated, each with one warning", name, truncated);
    expect(nwarnings == truncated, label);
    sana_tokenizer_set_warn(NULL, NULL);
    free(gi); free(gm);
}

/* decode(ids with special tokens, skip_special_tokens=True); the first that differs is printed. */
static void check_decode(const sana_tokenizer *t, const char *name, const tok_golden *d)
{
    char label[160];
    int dec_bad = -1;
    for (int64_t p = 0; p < d->np && dec_bad < 0; p++) {
        int32_t *ids;
        int n;
        if (sana_tokenize(t, d->text + d->po[p], (size_t)(d->po[p + 1] - d->po[p]), 1, &ids, &n)) continue;
        char *s = sana_detokenize(t, ids, n, 1);
        const int64_t *want = d->db + d->doff[p];
        size_t wl = (size_t)(d->doff[p + 1] - d->doff[p]);
        for (size_t k = 0; k < wl; k++)          /* the C string ends at the first NUL */
            if (want[k] == 0) { wl = k; break; }
        int same = s && strlen(s) == wl;
        for (size_t k = 0; same && k < wl; k++) same = (unsigned char)s[k] == want[k];
        if (!same) {
            dec_bad = (int)p;
            char *w = malloc(wl + 1);
            for (size_t k = 0; k < wl; k++) w[k] = (char)want[k];
            printf("      decode of prompt %lld: got ", (long long)p);
            print_escaped(s ? s : "(null)", s ? strlen(s) : 6);
            printf(" want ");
            print_escaped(w, wl);
            putchar('\n');
            free(w);
        }
        free(s);
        free(ids);
    }
    snprintf(label, sizeof label, "%s: decode of %lld prompts matches", name, (long long)d->np);
    expect(dec_bad < 0, label);
}

static void run_golden(const char *name)
{
    char path[512], gname[128], label[160];
    snprintf(path, sizeof path, "%s/text/tokenizer-%s/tokenizer.json", golden_dir(), name);
    snprintf(gname, sizeof gname, "text/tokenizer-%s.safetensors", name);
    sana_tokenizer *t;
    if (sana_tokenizer_load(&t, path)) {
        golden_fail("load %s: %s", path, sana_errmsg());
        return;
    }
    golden *g = golden_open(gname);
    tok_golden d;
    tok_golden_read(g, &d);
    check_ids(g, t, name, &d);
    check_padded(g, t, name, &d);
    check_decode(t, name, &d);
    const int64_t *special = d.special;
    snprintf(label, sizeof label, "%s: pad id %lld, bos id %lld, vocabulary size %lld", name, (long long)special[0],
             (long long)special[1], (long long)special[2]);
    expect(d.nsp == 3 && sana_tokenizer_pad_id(t) == special[0] && sana_tokenizer_bos_id(t) == special[1] &&
               sana_tokenizer_vocab_size(t) == special[2], label);
    tok_golden_free(&d);
    golden_close(g);
    sana_tokenizer_free(t);
}

/* ------------------------------------------------------------ bad files */

/* A small valid file: Gemma's structure in miniature. Pieces are replaced to make bad ones. */
#define MODEL_OK "{\"type\":\"BPE\",\"unk_token\":\"<unk>\",\"byte_fallback\":true,\"fuse_unk\":true," \
    "\"vocab\":{\"<pad>\":0,\"<eos>\":1,\"<bos>\":2,\"<unk>\":3,\"a\":4,\"b\":5,\"ab\":6,\"\\u2581\":7}," \
    "\"merges\":[[\"a\",\"b\"]]}"
#define POST_OK "{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<bos>\",\"type_id\":0}}," \
    "{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}],\"special_tokens\":{\"<bos>\":{\"id\":\"<bos>\",\"ids\":[2]," \
    "\"tokens\":[\"<bos>\"]}}}"
#define NORM_OK "{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"\\u2581\"}"
#define FILE_WITH(model, norm, post) "{\"version\":\"1.0\",\"added_tokens\":[],\"normalizer\":" norm \
    ",\"pre_tokenizer\":null,\"post_processor\":" post ",\"decoder\":null,\"model\":" model "}"

#define MERGES_8 "[\"a\",\"b\"],[\"a\",\"b\"],[\"a\",\"b\"],[\"a\",\"b\"],\"a b\",\"a b\",\"a b\",\"a b\","

typedef struct { const char *what, *json; sana_status st; const char *msg; } bad_case;

static const bad_case bad_cases[] = {
    {"not JSON", "{\"model\": ", SANA_ERR_FORMAT, "invalid JSON"},
    {"empty file", "", SANA_ERR_FORMAT, "invalid JSON"},
    {"top level is an array", "[1, 2]", SANA_ERR_FORMAT, "top level"},
    {"no model", "{\"version\":\"1.0\"}", SANA_ERR_FORMAT, "no \"model\""},
    {"model is a string", "{\"model\":\"BPE\"}", SANA_ERR_FORMAT, "model: expected an object"},
    {"unknown model type", "{\"model\":{\"type\":\"Unigram\",\"vocab\":[]}}", SANA_ERR_UNSUPPORTED,
     "model type \"Unigram\""},
    {"WordPiece model", "{\"model\":{\"type\":\"WordPiece\",\"vocab\":{}}}", SANA_ERR_UNSUPPORTED, "BPE only"},
    {"vocab is an array", "{\"model\":{\"type\":\"BPE\",\"vocab\":[1],\"merges\":[]}}", SANA_ERR_FORMAT,
     "model.vocab"},
    {"vocab id is a string", "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":\"0\"},\"merges\":[]}}",
     SANA_ERR_FORMAT, "model.vocab[\"a\"]"},
    {"negative id", "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":-1},\"merges\":[]}}", SANA_ERR_FORMAT,
     "out of range"},
    {"huge id", "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":4000000000},\"merges\":[]}}", SANA_ERR_FORMAT,
     "out of range"},
    {"id beyond int64", "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":123456789012345678901234},\"merges\":[]}}",
     SANA_ERR_FORMAT, "out of range"},
    {"fractional id", "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":1.5},\"merges\":[]}}", SANA_ERR_FORMAT,
     "expected a token id"},
    {"trailing comma", "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":1,},\"merges\":[]}}", SANA_ERR_FORMAT,
     "invalid JSON at byte 38: unexpected character"},
    {"key in single quotes", "{\"version\":\"1.0\",'model':{}}", SANA_ERR_FORMAT,
     "invalid JSON at byte 17: a key in single quotes"},
    {"comment", "{\"model\":{} /* BPE */}", SANA_ERR_FORMAT, "invalid JSON at byte 12: object value separator ',' expected"},
    {"trailing characters", "{\"model\":{}} x", SANA_ERR_FORMAT, "invalid JSON at byte 13: unexpected character"},
    {"leading zero", "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":01},\"merges\":[]}}", SANA_ERR_FORMAT,
     "invalid JSON at byte 38: number expected"},
    {"NaN id", "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":NaN},\"merges\":[]}}", SANA_ERR_FORMAT,
     "model.vocab[\"a\"]: expected a token id (an integer), found number"},
    {"lone low surrogate escape", "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"x\\udc00\":1},\"merges\":[]}}",
     SANA_ERR_FORMAT, "invalid JSON at byte 34: lone low surrogate in \\u escape"},
    {"\\u0000 in a key", "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\\u0000b\":1},\"merges\":[]}}",
     SANA_ERR_FORMAT, "invalid JSON at byte 41: an object key holds \\u0000"},
    {"lone surrogate escape", "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"\\ud800\":1},\"merges\":[]}}",
     SANA_ERR_FORMAT, "invalid JSON at byte 33: lone high surrogate in \\u escape"},
    {"invalid UTF-8 in a string", "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"\xff\":1},\"merges\":[]}}",
     SANA_ERR_FORMAT, "invalid JSON at byte 33: string is not valid UTF-8"},
    {"raw control character", "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\tb\":1},\"merges\":[]}}",
     SANA_ERR_FORMAT, "invalid JSON at byte 34: control character in a string"},
    {"nested too deeply", "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
     "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}", SANA_ERR_FORMAT, "invalid JSON at byte 68: nesting too deep"},
    {"truncated file", "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":1}", SANA_ERR_FORMAT,
     "invalid JSON at byte 38: unexpected end of file"},
    {"merges not an array", "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":{}}}", SANA_ERR_FORMAT,
     "model.merges: expected an array"},
    {"merge of an unknown token", "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"ab\":2},"
     "\"merges\":[[\"a\",\"c\"]]}}", SANA_ERR_FORMAT, "model.merges[0]: token \"c\" is not in the vocabulary"},
    {"merge result not in vocab", "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[\"a b\"]}}",
     SANA_ERR_FORMAT, "token \"ab\" is not in the vocabulary"},
    /* merges are checked in batches of 32: the first bad merge in file order is the one named */
    {"unknown token before a malformed merge", "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"ab\":2},"
     "\"merges\":[[\"a\",\"c\"],\"ab\"]}}", SANA_ERR_FORMAT, "model.merges[0]: token \"c\" is not in the vocabulary"},
    {"bad merge in the second batch", "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"ab\":2},"
     "\"merges\":[" MERGES_8 MERGES_8 MERGES_8 MERGES_8 "[\"a\",\"b\"],[\"x\",\"b\"],\"ab\"]}}", SANA_ERR_FORMAT,
     "model.merges[33]: token \"x\" is not in the vocabulary"},
    {"malformed merge in the second batch", "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"ab\":2},"
     "\"merges\":[" MERGES_8 MERGES_8 MERGES_8 MERGES_8 "[\"a\",\"b\"],\"ab\",[\"x\",\"b\"]]}}", SANA_ERR_FORMAT,
     "model.merges[33]: \"ab\" is not two tokens"},
    {"merge string without space", "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[\"ab\"]}}",
     SANA_ERR_FORMAT, "one space"},
    {"merge of three", "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[[\"a\",\"a\",\"a\"]]}}",
     SANA_ERR_FORMAT, "model.merges[0]"},
    {"unk token not in vocab", "{\"model\":{\"type\":\"BPE\",\"unk_token\":\"<unk>\",\"vocab\":{\"a\":0},"
     "\"merges\":[]}}", SANA_ERR_FORMAT, "model.unk_token"},
    {"byte_fallback not a bool", "{\"model\":{\"type\":\"BPE\",\"byte_fallback\":1,\"vocab\":{},\"merges\":[]}}",
     SANA_ERR_FORMAT, "model.byte_fallback: expected true or false"},
    {"dropout", "{\"model\":{\"type\":\"BPE\",\"dropout\":0.1,\"vocab\":{},\"merges\":[]}}", SANA_ERR_UNSUPPORTED,
     "dropout"},
    {"added token without content", "{\"added_tokens\":[{\"id\":0}],\"model\":" MODEL_OK "}", SANA_ERR_FORMAT,
     "added_tokens[0]: \"content\" is missing"},
    {"added token id is a string", "{\"added_tokens\":[{\"id\":\"0\",\"content\":\"x\"}],\"model\":" MODEL_OK "}",
     SANA_ERR_FORMAT, "added_tokens[0]"},
    {"added_tokens is an object", "{\"added_tokens\":{},\"model\":" MODEL_OK "}", SANA_ERR_FORMAT,
     "added_tokens: expected an array"},
    {"unknown normalizer", FILE_WITH(MODEL_OK, "{\"type\":\"NFKC\"}", POST_OK), SANA_ERR_UNSUPPORTED,
     "normalizer type \"NFKC\""},
    {"regex Replace", FILE_WITH(MODEL_OK, "{\"type\":\"Replace\",\"pattern\":{\"Regex\":\" {2,}\"},\"content\":\"x\"}",
     POST_OK), SANA_ERR_UNSUPPORTED, "Regex"},
    {"normalizer without type", FILE_WITH(MODEL_OK, "{\"pattern\":1}", POST_OK), SANA_ERR_FORMAT,
     "normalizer: \"type\" is missing"},
    {"Sequence without list", FILE_WITH(MODEL_OK, "{\"type\":\"Sequence\"}", POST_OK), SANA_ERR_FORMAT,
     "normalizer.normalizers: expected an array"},
    {"bad nested normalizer", FILE_WITH(MODEL_OK, "{\"type\":\"Sequence\",\"normalizers\":[" NORM_OK ",{\"type\":"
     "\"Lowercase\"}]}", POST_OK), SANA_ERR_UNSUPPORTED, "normalizer.normalizers[1]"},
    {"ByteLevel pre-tokenizer", "{\"pre_tokenizer\":{\"type\":\"ByteLevel\"},\"model\":" MODEL_OK "}",
     SANA_ERR_UNSUPPORTED, "pre-tokenizer type \"ByteLevel\""},
    {"unknown split behavior", "{\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"String\":\" \"},"
     "\"behavior\":\"Sideways\"},\"model\":" MODEL_OK "}", SANA_ERR_FORMAT, "unknown split behavior"},
    {"BertProcessing", FILE_WITH(MODEL_OK, NORM_OK, "{\"type\":\"BertProcessing\"}"), SANA_ERR_UNSUPPORTED,
     "post-processor type \"BertProcessing\""},
    {"template without $A", FILE_WITH(MODEL_OK, NORM_OK, "{\"type\":\"TemplateProcessing\",\"single\":[],"
     "\"special_tokens\":{}}"), SANA_ERR_FORMAT, "no $A"},
    {"template special token undefined", FILE_WITH(MODEL_OK, NORM_OK, "{\"type\":\"TemplateProcessing\",\"single\":"
     "[{\"SpecialToken\":{\"id\":\"<s>\"}},{\"Sequence\":{\"id\":\"A\"}}],\"special_tokens\":{}}"),
     SANA_ERR_FORMAT, "no ids for \"<s>\""},
    {"unknown decoder", "{\"decoder\":{\"type\":\"WordPiece\"},\"model\":" MODEL_OK "}", SANA_ERR_UNSUPPORTED,
     "decoder type \"WordPiece\""},
};

static void run_bad_files(void)
{
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *c = &bad_cases[i];
        sana_tokenizer *t = (sana_tokenizer *)1;
        sana_err_clear();
        sana_status st = sana_tokenizer_load_mem(&t, c->json, strlen(c->json), "bad/tokenizer.json");
        int good = st == c->st && t == NULL && strstr(sana_errmsg(), "bad/tokenizer.json") &&
                   strstr(sana_errmsg(), c->msg);
        char what[200];
        snprintf(what, sizeof what, "bad file: %s -> %s", c->what, sana_errmsg());
        if (good) ok(what);
        else golden_fail("bad file: %s: status %d (want %d), message \"%s\" (want \"%s\")", c->what, st, c->st,
                         sana_errmsg(), c->msg);
        if (!st) sana_tokenizer_free(t);
    }
    sana_tokenizer *t;
    sana_err_clear();
    expect(sana_tokenizer_load(&t, "no/such/dir/tokenizer.json") == SANA_ERR_MISSING &&
               strstr(sana_errmsg(), "no/such/dir/tokenizer.json"),
           "missing file: SANA_ERR_MISSING naming the path");
}

/* ------------------------------------------------------------ small behaviours */

static void run_behaviours(void)
{
    const char *json = FILE_WITH(MODEL_OK, NORM_OK, POST_OK);
    sana_tokenizer *t;
    if (sana_tokenizer_load_mem(&t, json, strlen(json), "mini/tokenizer.json")) {
        golden_fail("load the mini tokenizer: %s", sana_errmsg());
        return;
    }
    int32_t *ids;
    int n;
    /* "ab a": a b merge -> ab; space -> ▁; bytes fall back */
    expect(sana_tokenize(t, "ab a", 4, 1, &ids, &n) == SANA_OK && n == 4 && ids[0] == 2 && ids[1] == 6 &&
               ids[2] == 7 && ids[3] == 4,
           "mini: \"ab a\" -> <bos> ab \u2581 a");
    free(ids);
    /* 'c' is not in the vocabulary and there are no <0xNN> pieces: <unk>, fused over a run */
    expect(sana_tokenize(t, "acca", 4, 0, &ids, &n) == SANA_OK && n == 3 && ids[0] == 4 && ids[1] == 3 &&
               ids[2] == 4,
           "mini: unknown characters fuse into one <unk>");
    free(ids);
    expect(sana_tokenize(t, "", 0, 1, &ids, &n) == SANA_OK && n == 1 && ids[0] == 2, "empty prompt -> <bos>");
    free(ids);

    static const struct { const char *s; size_t n; const char *what; } bad_utf8[] = {
        {"abc\xff", 4, "0xFF byte"},
        {"\xc3", 1, "truncated 2-byte sequence"},
        {"x\xe2\x82", 3, "truncated 3-byte sequence"},
        {"\xc0\xaf", 2, "overlong encoding"},
        {"\xed\xa0\x80", 3, "UTF-16 surrogate"},
        {"\xf4\x90\x80\x80", 4, "code point above U+10FFFF"},
        {"ok \x80 continuation", 17, "lone continuation byte"},
    };
    for (size_t i = 0; i < sizeof bad_utf8 / sizeof bad_utf8[0]; i++) {
        char what[128];
        snprintf(what, sizeof what, "invalid UTF-8 (%s) is SANA_ERR_ARG naming UTF-8", bad_utf8[i].what);
        ids = NULL;
        sana_status st = sana_tokenize(t, bad_utf8[i].s, bad_utf8[i].n, 1, &ids, &n);
        expect(st == SANA_ERR_ARG && ids == NULL && strstr(sana_errmsg(), "UTF-8"), what);
        int32_t pid[8], pm[8];
        st = sana_tokenize_padded(t, bad_utf8[i].s, bad_utf8[i].n, 8, pid, pm, NULL);
        snprintf(what, sizeof what, "invalid UTF-8 (%s), padded: SANA_ERR_ARG", bad_utf8[i].what);
        expect(st == SANA_ERR_ARG, what);
    }

    /* truncation warns with the number of dropped tokens */
    int32_t pid[4], pm[4];
    int dropped = -1;
    sana_tokenizer_set_warn(catch_warning, NULL);
    nwarnings = 0;
    expect(sana_tokenize_padded(t, "a a a a a", 9, 4, pid, pm, &dropped) == SANA_OK && dropped == 6 &&
               nwarnings == 1 && strstr(last_warning, "6 tokens dropped") && pid[0] == 2 && pm[3] == 1,
           "truncation: 9 tokens into max_length 4 with <bos> drops 6, and warns so");
    printf("      warning was: %s\n", last_warning);
    nwarnings = 0;
    expect(sana_tokenize_padded(t, "ab", 2, 4, pid, pm, &dropped) == SANA_OK && dropped == 0 && nwarnings == 0 &&
               pid[1] == 6 && pid[2] == 0 && pm[1] == 1 && pm[2] == 0,
           "no truncation: padded on the right with <pad>, no warning");
    sana_tokenizer_set_warn(NULL, NULL);
    expect(sana_tokenize_padded(t, "ab", 2, 0, pid, pm, NULL) == SANA_ERR_ARG, "max_length 0 is SANA_ERR_ARG");

    int32_t seq[] = {2, 6, 7, 4, 99, -1, 3};
    char *s = sana_detokenize(t, seq, 7, 1);
    expect(s && strcmp(s, "<bos> ab \xe2\x96\x81 a <unk>") == 0,
           "detokenize without a decoder: tokens joined by spaces, unknown ids skipped (no added tokens: "
           "<bos> is not special here)");
    free(s);
    sana_tokenizer_free(t);

    /* JSON strings as json-c decodes them: \u escapes (one a surrogate pair) and the short escapes */
    const char *esc = "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"\\u00e9\":0,\"\\ud83d\\ude00\":1,\"\\\"\":2,"
                      "\"\\\\\":3,\"\\/\":4,\"\\n\":5,\"\\u0078\":6},\"merges\":[]}}";
    if (sana_tokenizer_load_mem(&t, esc, strlen(esc), "esc/tokenizer.json")) {
        golden_fail("load the escapes tokenizer: %s", sana_errmsg());
        return;
    }
    const char *in = "\xc3\xa9\xf0\x9f\x98\x80\"\\/\nx";
    int good = sana_tokenize(t, in, strlen(in), 0, &ids, &n) == SANA_OK && n == 7;
    for (int k = 0; good && k < 7; k++) good = ids[k] == k;
    expect(good, "escaped vocabulary keys (\\u00e9, \\ud83d\\ude00, \\\", \\\\, \\/, \\n, \\u0078) decode to their "
                 "characters");
    free(ids);
    sana_tokenizer_free(t);

    /* 64 nested arrays/objects load (the top-level object and 63 arrays); 65 do not */
    for (int depth = 64; depth <= 65; depth++) {
        char deep[512];
        int k = snprintf(deep, sizeof deep, "{\"x\":");
        for (int i = 1; i < depth; i++) deep[k++] = '[';
        for (int i = 1; i < depth; i++) deep[k++] = ']';
        snprintf(deep + k, sizeof deep - (size_t)k, ",\"model\":%s}", MODEL_OK);
        sana_status st = sana_tokenizer_load_mem(&t, deep, strlen(deep), "deep/tokenizer.json");
        if (!st) sana_tokenizer_free(t);
        expect(depth == 64 ? st == SANA_OK : st == SANA_ERR_FORMAT && strstr(sana_errmsg(), "nesting too deep"),
               depth == 64 ? "nesting depth 64 loads" : "nesting depth 65 is 'nesting too deep'");
    }
}

int main(void)
{
    static const char *names[] = {
        /* converted by transformers (tokenizer_config.json beside them) */
        "gemma", "gemma-var", "llama", "llama-metaspace",
        /* Gemma's file with one part changed, goldens from the Rust tokenizers library directly */
        "feat-metaspace-split", "feat-metaspace-first", "feat-split-isolated", "feat-split-removed",
        "feat-split-contiguous", "feat-split-next", "feat-split-prev-invert", "feat-split-seq",
        "feat-nofallback", "feat-added-flags"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) run_golden(names[i]);
    run_bad_files();
    run_behaviours();
    return golden_exit();
}
