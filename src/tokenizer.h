/* src/tokenizer.h -- Hugging Face tokenizer.json (the `tokenizers` format) as Gemma uses it.
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
#include "status.h"

typedef struct sana_tokenizer sana_tokenizer;

/* Load DIR/tokenizer.json (path of the file itself). */
sana_status sana_tokenizer_load(sana_tokenizer **out, const char *path);
void sana_tokenizer_free(sana_tokenizer *t);

/* Token ids of UTF-8 text (invalid UTF-8 is SANA_ERR_ARG); add_special adds what the
 * post-processor adds (<bos> for Gemma). *ids is malloc'd, *n its length. */
sana_status sana_tokenize(const sana_tokenizer *t, const char *text, size_t len, int add_special,
                          int32_t **ids, int *n);

/* As tokenizer(text, padding="max_length", max_length=L, truncation=True, add_special_tokens=True):
 * ids[L] and mask[L] (1 for real tokens, 0 for padding on the right with the pad id).
 * *dropped (may be NULL) receives how many tokens truncation removed. */
sana_status sana_tokenize_padded(const sana_tokenizer *t, const char *text, size_t len, int max_length,
                                 int32_t *ids, int32_t *mask, int *dropped);

int32_t sana_tokenizer_pad_id(const sana_tokenizer *t);
int32_t sana_tokenizer_bos_id(const sana_tokenizer *t);
int sana_tokenizer_vocab_size(const sana_tokenizer *t);
/* Text of a token sequence (malloc'd), for diagnostics; skip_special drops special tokens. */
char *sana_detokenize(const sana_tokenizer *t, const int32_t *ids, int n, int skip_special);

#endif
