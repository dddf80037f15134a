/* ref/ref_dit.h -- reference operators of the dit family (see ref.h for the conventions).
 *
 * SanaTransformer2DModel of diffusers v0.35.2 (models/transformers/sana_transformer.py) is
 * built from the core operators (linear, layer_norm, rms_norm, silu, add, conv2d) and these:
 *
 *   dit_embed.c    timestep_embedding, mlp2, pos_embed_2d, patch_embed, unpatchify
 *   dit_block.c    dit_modulation, modulated_layer_norm, gated_residual, transpose_batched
 *   linear_attn.c  linear_attn (ReLU linear attention, SanaLinearAttnProcessor2_0)
 *   softmax_attn.c attn_mask_bias, softmax_attn (SanaAttnProcessor2_0 / scaled_dot_product_attention)
 *   glumbconv.c    glumbconv (Mix-FFN, also used by the DC-AE), glumbconv_tokens (the DiT's)
 *
 * Work buffers: a dit operator that needs scratch activations takes them as `work` (same
 * memory kind as its other buffers: a backend allocation from the model's arena); its size
 * in floats is given by the matching *_work() function.
 */
#ifndef SANA_REF_DIT_H
#define SANA_REF_DIT_H

/* ------------------------------------------------------------ dit_embed.c */

/*
 * Sinusoidal timestep embedding, flip_sin_to_cos=True, downscale_freq_shift=0, scale=1,
 * max_period=10000 (the only setting Sana uses):
 *   half = dim/2, f_k = exp(-ln(10000) * k / half)          (float32, k < half)
 *   y[b] = [cos(t_b f_0) .. cos(t_b f_{half-1}), sin(t_b f_0) .. sin(t_b f_{half-1})]
 * t: [B]  y: [B, dim]  (dim even)
 * diffusers: embeddings.Timesteps(256, flip_sin_to_cos=True, downscale_freq_shift=0)
 *            -> embeddings.get_timestep_embedding
 */
void ref_timestep_embedding(float *y, const float *t, int64_t B, int64_t dim);

/* Activation between the two linears of ref_mlp2. */
/* act: SANA_ACT_SILU or SANA_ACT_GELU_TANH (src/backend/ops/types.h) */

/*
 * Two-layer perceptron: y = act(x W1^T + b1) W2^T + b2
 * x: [M, K]  W1: [Hd, K]  b1: [Hd]  W2: [N, Hd]  b2: [N]  y: [M, N]
 * work: ref_mlp2_work(M, Hd) floats (the hidden activation).
 * act = SANA_ACT_SILU:      diffusers: embeddings.TimestepEmbedding (linear_1, SiLU, linear_2)
 * act = SANA_ACT_GELU_TANH: diffusers: embeddings.PixArtAlphaTextProjection (caption projection)
 */
int64_t ref_mlp2_work(int64_t M, int64_t Hd);
void ref_mlp2(float *y, float *work, const float *x, const sana_wt *w1, const sana_wt *b1,
              const sana_wt *w2, const sana_wt *b2, int64_t M, int64_t K, int64_t Hd, int64_t N,
              int act);

/*
 * 2D sin-cos position table of a grid of h x w patches, as PatchEmbed builds it for
 * pos_embed_type="sincos" (row-major tokens n = i*w + j, i < h, j < w):
 *   gw_j = (float)j / ((float)w / base) / interp,  gh_i = (float)i / ((float)h / base) / interp
 *   (float32 divisions, as torch does), omega_k = 10000^(-k / (D/4)) (float64), k < D/4,
 *   y[n] = [sin(gw_j omega), cos(gw_j omega), sin(gh_i omega), cos(gh_i omega)]
 *   computed in float64 and rounded to float32. The first half encodes the column (w).
 * y: [h*w, D]  (D divisible by 4)
 * base = sample_size // patch_size, interp = config interpolation_scale.
 * diffusers: embeddings.get_2d_sincos_pos_embed(output_type="pt") as called by PatchEmbed.forward
 */
void ref_pos_embed_2d(float *y, int64_t h, int64_t w, int64_t D, double base, double interp);

/*
 * Patch embedding: non-overlapping p x p conv (stride p), flatten to tokens, add pos.
 *   y[b, i*w + j, d] = bias[d] + sum_{c,u,v} W[d, c, u, v] x[b, c, i*p + u, j*p + v] (+ pos[i*w + j, d])
 * x: [B, C, H, W]  W: [D, C, p, p]  bias: [D]  pos: [h*w, D] or NULL  y: [B, h*w, D]
 * h = H/p, w = W/p (H, W multiples of p).
 * diffusers: embeddings.PatchEmbed (layer_norm=False, flatten=True; pos NULL when
 * pos_embed_type=None, i.e. interpolation_scale is None in SanaTransformer2DModel)
 */
void ref_patch_embed(float *y, const float *x, const sana_wt *w, const sana_wt *bias, const float *pos,
                     int64_t B, int64_t C, int64_t H, int64_t W, int64_t D, int64_t p);

/*
 * Unpatchify: tokens of p*p*C values back to an image.
 *   y[b, c, i*p + u, j*p + v] = x[b, i*w + j, (u*p + v)*C + c]
 * x: [B, h*w, p*p*C]  y: [B, C, h*p, w*p]
 * diffusers: SanaTransformer2DModel.forward, "5. Unpatchify" (reshape, permute(0,5,1,3,2,4))
 */
void ref_unpatchify(float *y, const float *x, int64_t B, int64_t h, int64_t w, int64_t p, int64_t C);

/* ------------------------------------------------------------ dit_block.c */

/*
 * Modulation vectors: table + timestep embedding, split in nmod rows.
 *   per_row = 1: mod[b, k, c] = table[k, c] + temb[b, k*C + c]      temb: [B, nmod*C]
 *   per_row = 0: mod[b, k, c] = table[k, c] + temb[b, c]             temb: [B, C]
 * table: [nmod, C]  mod: [B, nmod, C]
 * diffusers: SanaTransformerBlock.forward "1. Modulation" (nmod=6: shift_msa, scale_msa, gate_msa,
 * shift_mlp, scale_mlp, gate_mlp; per_row=1) and SanaModulatedNorm (nmod=2: shift, scale; per_row=0)
 */
void ref_dit_modulation(float *mod, const sana_wt *table, const float *temb, int64_t B, int64_t nmod,
                        int64_t C, int per_row);

/*
 * LayerNorm (affine only when ln_w/ln_b are given), then modulation:
 *   y[b, n] = ((x[b, n] - mean) / sqrt(var + eps) * ln_w + ln_b) * (1 + scale[b]) + shift[b]
 *   shift = mod[b, i_shift, :], scale = mod[b, i_scale, :]
 * x, y: [B, N, C]  ln_w, ln_b: [C] or NULL  mod: [B, nmod, C]   (y may equal x)
 * diffusers: SanaTransformerBlock.forward (norm1 / norm2 then `* (1 + scale) + shift`; norm2 has
 * an affine when norm_elementwise_affine=True), SanaModulatedNorm.forward.
 * eps = config norm_eps (blocks), 1e-6 (norm_out).
 */
void ref_modulated_layer_norm(float *y, const float *x, const sana_wt *ln_w, const sana_wt *ln_b,
                              const float *mod, int64_t B, int64_t N, int64_t C, int64_t nmod,
                              int64_t i_shift, int64_t i_scale, float eps);

/*
 * Gated residual: x[b, n, c] += gate[b, c] * r[b, n, c], gate = mod[b, i_gate, :]
 * (mod NULL: plain residual x += r).
 * x, r: [B, N, C]  mod: [B, nmod, C]
 * diffusers: SanaTransformerBlock.forward (`hidden_states + gate_msa * attn_output`, the
 * ungated cross-attention residual, `hidden_states + gate_mlp * ff_output`)
 */
void ref_gated_residual(float *x, const float *r, const float *mod, int64_t B, int64_t N, int64_t C,
                        int64_t nmod, int64_t i_gate);

/*
 * Batched transpose: y[b, c, r] = x[b, r, c]
 * x: [B, R, Cc]  y: [B, Cc, R]
 * Tokens [B, N, C] <-> images [B, C, H, W] (N = H*W): diffusers' unflatten(1,(H,W)).permute(0,3,1,2)
 * before GLUMBConv and flatten(2,3).permute(0,2,1) after it.
 */
void ref_transpose_batched(float *y, const float *x, int64_t B, int64_t R, int64_t Cc);

/* ------------------------------------------------------------ linear_attn.c */

/*
 * ReLU linear attention with the padded-value trick, per batch b and head h
 * (q, k, v of one head are the columns [h*d, (h+1)*d) of [B, N, C]):
 *   q = relu(q), k = relu(k)                                    (in place: q, k are overwritten)
 *   S[i, j] = sum_n v[n, i] k[n, j]   (d x d),  z[j] = sum_n k[n, j]
 *   y[n, i] = (sum_j S[i, j] q[n, j]) / (sum_j z[j] q[n, j] + 1e-15)
 * This equals diffusers' "pad v with a row of ones, (v_pad k^T) q, divide by the last row + eps".
 * All in float32. q, k, v, y: [B, N, C], C = heads * d.
 * work: ref_linear_attn_work(d) floats.
 * diffusers: attention_processor.SanaLinearAttnProcessor2_0 (between the q/k norms and to_out)
 */
int64_t ref_linear_attn_work(int64_t d);
void ref_linear_attn(float *y, float *work, float *q, float *k, const float *v, int64_t B, int64_t N,
                     int64_t heads, int64_t d);

/* ------------------------------------------------------------ softmax_attn.c */

/*
 * Encoder attention mask to additive bias: bias = (1 - mask) * -10000
 * mask, bias: [B, L]  (1 keep, 0 pad)
 * diffusers: SanaTransformer2DModel.forward (encoder_attention_mask of ndim 2 -> bias)
 */
void ref_attn_mask_bias(float *bias, const float *mask, int64_t n);

/*
 * Multi-head softmax attention of N queries over L keys, per batch b and head h:
 *   y[n, h*d + i] = sum_l softmax_l(q_n . k_l / sqrt(d) + bias[b, l]) v[l, h*d + i]
 * q, y: [B, N, heads*d]  k, v: [B, L, heads*d]  bias: [B, L] or NULL
 * work: ref_softmax_attn_work(N, L) floats (one head's score matrix).
 * diffusers: transformer_sana.SanaAttnProcessor2_0 (F.scaled_dot_product_attention with the
 * bias broadcast over heads and queries)
 */
int64_t ref_softmax_attn_work(int64_t N, int64_t L);
void ref_softmax_attn(float *y, float *work, const float *q, const float *k, const float *v,
                      const float *bias, int64_t B, int64_t N, int64_t L, int64_t heads, int64_t d);

/* ------------------------------------------------------------ glumbconv.c */

/*
 * GLUMBConv (Mix-FFN), one image at a time:
 *   t = silu(conv1x1(x; W_inv, b_inv))                t: [2*Hd, H, W]
 *   t = dwconv3x3(t; W_dep, b_dep), pad 1, groups 2*Hd
 *   a, g = t[:Hd], t[Hd:]                             (torch.chunk(2, dim=1))
 *   y = conv1x1(a * silu(g); W_pt, b_pt)
 * x: [B, Cin, H, W]  W_inv: [2*Hd, Cin, 1, 1]  b_inv: [2*Hd]  W_dep: [2*Hd, 1, 3, 3]
 * b_dep: [2*Hd]  W_pt: [Cout, Hd, 1, 1]  b_pt: [Cout] or NULL (Sana: no bias)  y: [B, Cout, H, W]
 * Hd = int(expand_ratio * Cin). work: ref_glumbconv_work(Hd, H, W) floats.
 * Without norm and residual (norm_type=None, residual_connection=False): the DC-AE adds its
 * RMSNorm and residual around this op.
 * diffusers: transformer_sana.GLUMBConv (same class as autoencoders' GLUMBConv)
 */
int64_t ref_glumbconv_work(int64_t Hd, int64_t H, int64_t W);
void ref_glumbconv(float *y, float *work, const float *x,
                   const sana_wt *w_inv, const sana_wt *b_inv,
                   const sana_wt *w_dep, const sana_wt *b_dep,
                   const sana_wt *w_pt, const sana_wt *b_pt,
                   int64_t B, int64_t Cin, int64_t H, int64_t W, int64_t Hd, int64_t Cout);

/*
 * The same GLUMBConv on tokens, as SanaTransformerBlock calls it:
 *   y = GLUMBConv(x.unflatten(1, (H, W)).permute(0, 3, 1, 2)).flatten(2, 3).permute(0, 2, 1)
 * x: [B, H*W, Cin]  y: [B, H*W, Cout]  weights as ref_glumbconv (prepared for SANA_OP_glumbconv:
 * the same matrices). work: ref_glumbconv_tokens_work(Hd, H*W, max(Cin, Cout)) floats.
 * Here the transposes around ref_glumbconv; accel/cpu runs the whole op in token layout.
 * diffusers: transformer_sana.SanaTransformerBlock.forward, "4. Feed-forward"
 */
int64_t ref_glumbconv_tokens_work(int64_t Hd, int64_t HW, int64_t C);
void ref_glumbconv_tokens(float *y, float *work, const float *x,
                          const sana_wt *w_inv, const sana_wt *b_inv,
                          const sana_wt *w_dep, const sana_wt *b_dep,
                          const sana_wt *w_pt, const sana_wt *b_pt,
                          int64_t B, int64_t Cin, int64_t H, int64_t W, int64_t Hd, int64_t Cout);

#endif
