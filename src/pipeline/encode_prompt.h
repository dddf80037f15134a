/* src/pipeline/encode_prompt.h -- SANA prompt encoding: a prompt string to prompt_embeds + prompt_attention_mask,
 * as diffusers v0.35.2 SanaPipeline.encode_prompt / _get_gemma_prompt_embeds do it.
 *
 *   text  = prompt.lower().strip()                         (_text_preprocessing, clean_caption=False)
 *   with a complex human instruction (CHI, a list of lines):
 *     chi   = "\n".join(lines);  text = chi + text
 *     L     = len(tokenizer.encode(chi)) + max_sequence_length - 2     (encode adds <bos>)
 *   without (the negative prompt, or chi == NULL / empty list):  L = max_sequence_length
 *   ids, mask = tokenizer(text, padding="max_length", max_length=L, truncation=True)  (right padding)
 *   hidden    = Gemma2Model(ids, attention_mask=mask).last_hidden_state     [L, hidden]
 *   select    = [0] + range(-max_sequence_length + 1, 0)
 *   prompt_embeds = hidden[select], prompt_attention_mask = mask[select]    [max_sequence_length, ...]
 *
 * Two shortcuts give the same result (doc/text-encoder.md says why):
 *  - padded positions are not run through the encoder; their embeddings are zero (they
 *    are masked out in every cross-attention of the DiT). sana_text_encoder_set_full()
 *    runs them too, for bit-level comparison with diffusers' prompt_embeds;
 *  - the CHI prefix is encoded once per instruction text; its keys/values are reused
 *    for the token positions that CHI + prompt shares with CHI alone.
 */
#ifndef SANA_ENCODE_PROMPT_H
#define SANA_ENCODE_PROMPT_H

#include <stdint.h>
#include "backend/backend.h"
#include "models/gemma2.h"
#include "core/status.h"

/* tokenizer + Gemma2 + CHI cache. Encoding updates the cache: one thread at a time per encoder. */
typedef struct sana_text_encoder sana_text_encoder;

/* tokenizer_dir/tokenizer.json and text_encoder_dir/{config.json, model[.variant].safetensors[.index.json]}. */
sana_status sana_text_encoder_load(sana_text_encoder **out, const char *tokenizer_dir, const char *text_encoder_dir,
                                   const char *variant, const sana_backend *be);
/* The same, with the matrices of Gemma-2 quantized at load to quant (SANA_Q8, SANA_Q4; SANA_F32: none). */
sana_status sana_text_encoder_load_q(sana_text_encoder **out, const char *tokenizer_dir, const char *text_encoder_dir,
                                     const char *variant, const sana_backend *be, sana_quant quant);
void sana_text_encoder_free(sana_text_encoder *te);
int64_t sana_text_encoder_hidden_size(const sana_text_encoder *te);
/* Memory the backend took preparing the Gemma-2 weights (SANA_PREP_COMPACT; 0: as mapped). */
size_t sana_text_encoder_weight_bytes(const sana_text_encoder *te);
/* The mapped safetensors set of its Gemma-2 (for sana_st_set_release_pages). */
const sana_st_set *sana_text_encoder_tensors(const sana_text_encoder *te);
/* Positions since load: run through Gemma-2 (the instruction alone included), taken from the
 * instruction cache, and padded positions not encoded. */
typedef struct {
    int64_t encoded, from_cache, padding_skipped;
} sana_encoder_counts;
sana_encoder_counts sana_text_encoder_counts(const sana_text_encoder *te);
/* The Gemma-2 model inside (tests). */
sana_gemma2 *sana_text_encoder_model(sana_text_encoder *te);

/* Attention implementation of the Gemma-2 encoder (default SANA_GEMMA2_SDPA, what SanaPipeline
 * runs with transformers 4.57; see gemma2.h). Drops the CHI cache. */
void sana_text_encoder_set_attn(sana_text_encoder *te, sana_gemma2_attn attn);
/* full = 1: also run the padded positions through the encoder (their embeddings then equal
 * diffusers' instead of zero). Default 0. */
void sana_text_encoder_set_full(sana_text_encoder *te, int full);
/* cache = 0: encode the CHI prefix with every prompt instead of reusing its keys/values. Default 1. */
void sana_text_encoder_set_chi_cache(sana_text_encoder *te, int cache);

/* The default complex human instruction list of SanaPipeline.__call__ (NULL-terminated). */
extern const char *const sana_default_chi[];

/*
 * encode_prompt for one prompt: embeds [max_sequence_length, hidden] and mask [max_sequence_length] (1/0).
 * chi: NULL or an empty list = none (as for the negative prompt), or the NULL-terminated list of lines;
 * they are joined with "\n" and the preprocessed prompt is appended directly (the default list ends
 * with "User Prompt: ").
 * Also returns, when the pointers are not NULL, the token ids and mask of the whole sequence
 * (before select_index; *ids_out and *mask_out malloc'd, *len_out = L) for diagnostics and tests.
 */
sana_status sana_encode_prompt(sana_text_encoder *te, const char *prompt, const char *const *chi,
                               int max_sequence_length, float *embeds, int32_t *mask);
sana_status sana_encode_prompt_ex(sana_text_encoder *te, const char *prompt, const char *const *chi,
                                  int max_sequence_length, float *embeds, int32_t *mask,
                                  int32_t **ids_out, int32_t **mask_out, int *len_out);
/*
 * encode_prompt for n prompts in one forward pass of the encoder (e.g. SanaPipeline's prompt with
 * its instruction and the negative prompt without one): chis[i] as chi above (chis NULL: none for
 * all), embeds[i] [max_sequence_length, hidden], masks[i] [max_sequence_length]. Each prompt gets
 * the bits sana_encode_prompt gives it alone where the backend's linear is row-exact (the cpu
 * backend's always); the weights are read once instead of once per prompt.
 */
sana_status sana_encode_prompts(sana_text_encoder *te, int n, const char *const *prompts,
                                const char *const *const *chis, int max_sequence_length, float *const *embeds,
                                int32_t *const *masks);

/* prompt.lower().strip() with Python's semantics (full Unicode lower case with Final_Sigma,
 * Unicode whitespace). *out is malloc'd. Invalid UTF-8 is SANA_ERR_ARG. */
sana_status sana_text_preprocess(const char *text, char **out);

#endif
