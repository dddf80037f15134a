/* src/models/gemma2.h -- the Gemma-2 decoder as SANA's text encoder (transformers' Gemma2Model).
 *
 * Loads a transformers `text_encoder/` folder: config.json (Gemma2Config) and
 * model[.VARIANT].safetensors or its sharded index, keys with or without the
 * "model." prefix of Gemma2ForCausalLM, weights in float32, bfloat16 or float16
 * (memory-mapped; prepared once by the backend with SANA_PREP_COMPACT: the encoder runs
 * once per prompt, so its weights stay small rather than fast). The forward pass is float32
 * and returns the last hidden state (after the final norm) of every position.
 *
 * Sequences are encoded one at a time through a key/value cache, so that a
 * prefix shared by many prompts (SANA's complex human instruction) is computed
 * once. A position's result does not depend on how the sequence is cut into forward calls
 * (same bits): see doc/text-encoder.md.
 */
#ifndef SANA_GEMMA2_H
#define SANA_GEMMA2_H

#include <stddef.h>
#include <stdint.h>
#include "backend/backend.h"
#include "core/quant.h"
#include "models/weights.h"
#include "core/status.h"

/* Gemma2Config fields that the encoder uses, with transformers 4.57 defaults. */
typedef struct {
    int64_t vocab_size;              /* 256000 */
    int64_t hidden_size;             /* 2304 */
    int64_t intermediate_size;       /* 9216 */
    int64_t num_hidden_layers;       /* 26 */
    int64_t num_attention_heads;     /* 8 */
    int64_t num_key_value_heads;     /* 4 */
    int64_t head_dim;                /* 256 */
    int64_t sliding_window;          /* 4096 */
    int64_t pad_token_id;            /* 0 */
    double rms_norm_eps;             /* 1e-6 */
    double rope_theta;               /* 10000.0 */
    double query_pre_attn_scalar;    /* 256 */
    double attn_logit_softcapping;   /* 50.0; 0 when null */
    int attention_bias;              /* false */
    int *sliding;                    /* [num_hidden_layers]: 1 = "sliding_attention", 0 = "full_attention";
                                        default: layer i slides when i is even */
} sana_gemma2_config;

/* Read config.json (absent keys take the defaults above; unsupported values are errors naming the key). */
sana_status sana_gemma2_config_load(sana_gemma2_config *c, const char *path);
void sana_gemma2_config_free(sana_gemma2_config *c);

/*
 * Which transformers attention implementation to reproduce. They differ in two ways:
 *  - SDPA (the default that transformers 4.57 picks for Gemma2 on from_pretrained, and
 *    therefore what diffusers' SanaPipeline runs) does NOT apply attn_logit_softcapping:
 *    sdpa_attention_forward ignores the `softcap` argument;
 *  - a query row that sees no valid key (only padded rows can, with a sliding window)
 *    is zero under SDPA and the mean of all values under eager.
 * EAGER (attn_implementation="eager") applies the soft-capping.
 */
typedef enum { SANA_GEMMA2_SDPA = 0, SANA_GEMMA2_EAGER = 1 } sana_gemma2_attn;

typedef struct sana_gemma2 sana_gemma2;

/* Load DIR/config.json and DIR/model[.VARIANT].safetensors (or its index). variant: NULL, "fp16", "bf16". */
sana_status sana_gemma2_load(sana_gemma2 **out, const char *dir, const char *variant, const sana_backend *be);
/* The same, with the matrices (the projections of attention and MLP) quantized at load to quant
 * (SANA_Q8, SANA_Q4; SANA_F32: none; see sana_weights_quantize). */
sana_status sana_gemma2_load_q(sana_gemma2 **out, const char *dir, const char *variant, const sana_backend *be,
                               sana_quant quant);
/* The same, noting every weight it reads (for `sana convert`), listed by sana_gemma2_weights. */
sana_status sana_gemma2_load_recorded(sana_gemma2 **out, const char *dir, const char *variant, const sana_backend *be,
                                      sana_quant quant);
const sana_weights *sana_gemma2_weights(const sana_gemma2 *m);
const sana_st_set *sana_gemma2_tensors(const sana_gemma2 *m);
void sana_gemma2_free(sana_gemma2 *m);
const sana_gemma2_config *sana_gemma2_get_config(const sana_gemma2 *m);
void sana_gemma2_set_attn(sana_gemma2 *m, sana_gemma2_attn attn);
/* Memory the backend's prepare_weight took for the weights (SANA_PREP_COMPACT; 0: as mapped). */
size_t sana_gemma2_weight_bytes(const sana_gemma2 *m);

/*
 * Key/value cache of one sequence: per layer K (after RoPE) and V, [rows, Hkv * head_dim],
 * in backend memory: `cap` positions usable (rows = max(cap, 1) allocated), `n` filled.
 */
typedef struct {
    int64_t cap, n, rows, layers, width;
    float **k, **v;
    const sana_backend *be;
} sana_gemma2_kv;

sana_status sana_gemma2_kv_init(sana_gemma2_kv *kv, const sana_gemma2 *m, int64_t cap);
void sana_gemma2_kv_free(sana_gemma2_kv *kv);
/* dst->n = n, positions [0, n) copied from src (n <= src->n, n <= dst->cap). */
void sana_gemma2_kv_copy_prefix(sana_gemma2_kv *dst, const sana_gemma2_kv *src, int64_t n);

/*
 * Run tokens ids[0..n) at positions start .. start+n-1 of a sequence whose positions
 * [0, start) are already in kv (kv->n must equal start). Appends their keys/values
 * to kv (kv->n becomes start + n) and writes the final-norm hidden states to
 * hidden: host [n, hidden_size].
 * key_mask: host int32 [start + n] (1 = token, 0 = padding) or NULL (all tokens);
 * it is the `attention_mask` of Gemma2Model.forward for the whole sequence.
 */
sana_status sana_gemma2_forward(sana_gemma2 *m, sana_gemma2_kv *kv, const int32_t *ids,
                                int64_t start, int64_t n, const int32_t *key_mask, float *hidden);

/* One sequence of a batched forward: the arguments of sana_gemma2_forward, and positions
 * [drop0, drop1) whose hidden states are not wanted (drop0 >= drop1: none): the last layer runs
 * only their keys and values (what later positions attend to), their rows of hidden are 0. */
typedef struct {
    sana_gemma2_kv *kv;
    const int32_t *ids;
    int64_t start, n;
    const int32_t *key_mask;
    float *hidden;
    int64_t drop0, drop1;
} sana_gemma2_seq;

/*
 * sana_gemma2_forward of several sequences (each with its own cache) in one pass over the weights:
 * the matrix products run on the rows of all of them, rotary embedding and attention per sequence.
 * Where the model is row-exact (sana_gemma2_rows_exact) each sequence gets the bits it gets alone.
 */
sana_status sana_gemma2_forward_batch(sana_gemma2 *m, sana_gemma2_seq *seqs, int ns);
/* 1 when every linear layer of the model is row-exact on its backend (sana_backend_row_exact; the
 * attention and the norms always are): a position's bits then do not depend on which positions or
 * sequences share its forward call. */
int sana_gemma2_rows_exact(const sana_gemma2 *m);

/*
 * Gemma2Model(input_ids, attention_mask).last_hidden_state for a batch:
 * ids, mask: host [B, N] (mask may be NULL)  hidden: host [B, N, hidden_size].
 */
sana_status sana_gemma2_encode(sana_gemma2 *m, const int32_t *ids, const int32_t *mask,
                               int64_t B, int64_t N, float *hidden);

#endif
