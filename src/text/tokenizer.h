/* src/text/tokenizer.h -- Hugging Face tokenizer.json (the `tokenizers` format) as Gemma uses it.
 *
 * Pipeline of a call, as in the Rust `tokenizers` library: added/special
 * tokens are matched first, the rest goes through the normalizer (e.g.
 * Replace " " -> "▁"), the pre-tokenizer when one is declared, the BPE model
 * (merges by rank, byte_fallback to <0xNN>, unk), then the post-processor
 * (e.g. <bos> first).
 */
#ifndef SANA_TOKENIZER_H
#define SANA_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>
#include "core/status.h"

typedef struct sana_tokenizer sana_tokenizer;

/* Load DIR/tokenizer.json (path of the file itself). tokenizer_config.json beside it, when present,
 * gives the pad/bos/eos tokens and, for the Gemma and Llama tokenizer classes, add_bos_token /
 * add_eos_token, which replace the file's post-processor as transformers does
 * (special_tokens_map.json is read for tokens the config lacks). Without them, "<pad>", "<bos>" and
 * "<eos>" are looked up. Anything in tokenizer.json that would change the result and that we do not
 * implement is an error (SANA_ERR_UNSUPPORTED) naming the file and the key; a malformed file is
 * SANA_ERR_FORMAT. Token ids must be below 2^24. */
sana_status sana_tokenizer_load(sana_tokenizer **out, const char *path);
/* The same from tokenizer.json text in memory (no tokenizer_config.json); name is used in messages. */
sana_status sana_tokenizer_load_mem(sana_tokenizer **out, const char *json, size_t len, const char *name);
void sana_tokenizer_free(sana_tokenizer *t);

/* Token ids of UTF-8 text (invalid UTF-8 is SANA_ERR_ARG); add_special adds what the
 * post-processor adds (<bos> for Gemma). *ids is malloc'd, *n its length. */
sana_status sana_tokenize(const sana_tokenizer *t, const char *text, size_t len, int add_special,
                          int32_t **ids, int *n);

/* As tokenizer(text, padding="max_length", max_length=L, truncation=True, add_special_tokens=True):
 * ids[L] and mask[L] (1 for real tokens, 0 for padding on the right with the pad id).
 * *dropped (may be NULL) receives how many tokens truncation removed; a truncation is also reported
 * through the warning function (see sana_tokenizer_set_warn). Errors: max_length below the number
 * of special tokens (SANA_ERR_ARG), padding needed without a pad token (SANA_ERR_MISSING). */
sana_status sana_tokenize_padded(const sana_tokenizer *t, const char *text, size_t len, int max_length,
                                 int32_t *ids, int32_t *mask, int *dropped);

int32_t sana_tokenizer_pad_id(const sana_tokenizer *t);
int32_t sana_tokenizer_bos_id(const sana_tokenizer *t);
int sana_tokenizer_vocab_size(const sana_tokenizer *t);
/* Where warnings go (e.g. "tokenizer: the prompt has 400 tokens ... 100 tokens dropped from the end",
 * from sana_tokenize_padded when it truncates). Default (fn NULL): "warning: MSG\n" on stderr.
 * Process-wide; set it before tokenizing from several threads. */
void sana_tokenizer_set_warn(void (*fn)(const char *msg, void *ud), void *ud);

/* Text of a token sequence (malloc'd, NULL when out of memory), for diagnostics, as tokenizers'
 * decode with the file's decoder; skip_special drops special tokens; ids that are not in the
 * vocabulary are skipped. A decoded NUL character ends the C string. */
char *sana_detokenize(const sana_tokenizer *t, const int32_t *ids, int n, int skip_special);

#endif
