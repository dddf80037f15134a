/* ref/ref_gemma.h -- reference operators of the gemma family (see ref.h for the conventions).
 *
 * The Gemma-2 decoder (transformers 4.57, models/gemma2/modeling_gemma2.py) as it
 * runs when SanaPipeline encodes a prompt: token embedding scaled by sqrt(hidden),
 * (1 + w) RMSNorm, rotary position embedding, grouped-query attention with
 * query_pre_attn_scalar scaling, optional logit soft-capping and sliding window,
 * GeGLU feed-forward. Activations are token-major: a sequence of n tokens with
 * H heads of D dims is [n, H, D] (= [n, H*D]), the layout the projections give.
 */
#ifndef SANA_REF_GEMMA_H
#define SANA_REF_GEMMA_H

/* ------------------------------------------------------------ gemma_norm.c */

/*
 * Token embedding times the normalizer:
 *   y[i, :] = table[ids[i], :] * scale
 * ids: [n] int32 (each in [0, vocab))  table: [vocab, C]  y: [n, C]
 * scale is sqrt(hidden_size) rounded to float32: transformers builds it as
 * torch.tensor(hidden_size**0.5, dtype=hidden_states.dtype) and we run in float32.
 * transformers: Gemma2Model.embed_tokens + the `normalizer` product in Gemma2Model.forward
 */
void ref_gemma_embed(float *y, const int32_t *ids, const sana_wt *table,
                     int64_t n, int64_t C, float scale);

/*
 * Gemma RMSNorm, with an optional residual added after it:
 *   y = res + x / sqrt(mean(x^2) + eps) * (1 + w)      (res = 0 when NULL)
 * x, res, y: [rows, C] (y may equal x or res)  w: [C] (stored zero-centred)
 * The mean of squares is taken in float32 and the weight is applied as (1 + w)
 * in float32 before rounding to the input dtype (float32 here).
 * transformers: Gemma2RMSNorm (eps = config.rms_norm_eps, 1e-6 by default), and the
 * `residual + hidden_states` of Gemma2DecoderLayer.forward when res is given
 */
void ref_gemma_rms_norm(float *y, const float *x, const sana_wt *w, const float *res,
                        int64_t rows, int64_t C, float eps);

/*
 * GeGLU of the Gemma MLP, in place on the gate:
 *   gate[i] = gelu_tanh(gate[i]) * up[i]
 * gelu_tanh(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
 * gate, up: [n] (n = tokens * intermediate_size)
 * transformers: Gemma2MLP, act_fn = ACT2FN["gelu_pytorch_tanh"] (F.gelu(approximate="tanh"))
 */
void ref_gemma_geglu(float *gate, const float *up, int64_t n);

/* ------------------------------------------------------------ gemma_attn.c */

/*
 * Rotary position embedding ("default" rope), in place, at positions pos0 .. pos0+n-1:
 *   inv_freq[i] = 1 / theta^(2i / D)               i = 0 .. D/2-1 (float32, as torch)
 *   a = pos * inv_freq[i];  c = cos(a), s = sin(a)
 *   x1 = x[.., i], x2 = x[.., i + D/2]
 *   x[.., i]       = x1 c - x2 s
 *   x[.., i + D/2] = x2 c + x1 s
 * x: [n, H, D] (D even)
 * transformers: Gemma2RotaryEmbedding (position_ids = arange) + apply_rotary_pos_emb
 * (rotate_half pairs dimension i with i + D/2).
 */
void ref_gemma_rope(float *x, int64_t n, int64_t H, int64_t D, int64_t pos0, float theta);

/*
 * Causal grouped-query attention of queries at positions q0 .. q0+nq-1 over keys at
 * positions 0 .. nk-1 (nk >= q0 + nq; the keys of earlier positions may come from a cache):
 *   s[h, i, j] = (q[i, h, :] . k[j, h / (Hq/Hkv), :]) * scale
 *   s = softcap * tanh(s / softcap)                     when softcap > 0
 *   key j is allowed for query i (position p = q0 + i) when
 *       j <= p  and  key_mask[j] != 0 (NULL: all)  and  (window == 0 or j > p - window)
 *   out[i, h, :] = sum_j softmax_j(s over allowed j) v[j, h / (Hq/Hkv), :]
 * A row with no allowed key is where the two attention implementations of
 * transformers differ: eager (eager_rows = 1) adds finfo(float32).min to every
 * masked logit, so all logits round to the same value and the row becomes the
 * plain mean of v over all nk keys; sdpa (eager_rows = 0: torch >= 2.5
 * scaled_dot_product_attention) returns zeros for such a row.
 * Row-exact (every backend): out[i, h, :] of a row with an allowed key depends only on
 * q[i, h, :] and the keys/values row i may see (positions max(0, p - window + 1) .. p with
 * key_mask != 0), computed in an order fixed by those alone: never by nq, q0, the other rows
 * of the call, keys beyond p (nk), or the thread count. So one call over a whole sequence,
 * a call per chunk over a cache of the earlier keys (the instruction prefix of encode_prompt),
 * and a call per row give the same bits on every such row. A row with no allowed key is the
 * exception by definition: eager's mean runs over all nk keys of the call (in ascending
 * order), sdpa's zeros depend on nothing.
 * q: [nq, Hq, D]  k, v: [nk, Hkv, D]  key_mask: [nk] int32 or NULL  out: [nq, Hq, D]
 * scale = query_pre_attn_scalar^-0.5, softcap = attn_logit_softcapping (0 = none),
 * window = sliding_window on sliding layers, 0 on full-attention layers.
 * transformers: Gemma2Attention with eager_attention_forward / sdpa_attention_forward,
 * the masks of masking_utils.create_causal_mask / create_sliding_window_causal_mask.
 */
void ref_gemma_attention(float *out, const float *q, const float *k, const float *v,
                         const int32_t *key_mask, int64_t nq, int64_t q0, int64_t nk,
                         int64_t Hq, int64_t Hkv, int64_t D,
                         float scale, float softcap, int64_t window, int eager_rows);

#endif
