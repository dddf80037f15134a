/* accel/cpu/cpu_avx2.h -- the kernels compiled with AVX2_CFLAGS (files *_avx2.c). Call them only
 * when cpu_ctx.avx2 is set; each has a portable equivalent. */
#ifndef SANA_ACCEL_CPU_AVX2_H
#define SANA_ACCEL_CPU_AVX2_H

#include <stdint.h>

/* dst[0..n) = float32 of n bfloat16 / IEEE half values at src (unaligned). */
void cpu_bf16_to_f32_avx2(float *dst, const void *src, int64_t n);
void cpu_f16_to_f32_avx2(float *dst, const void *src, int64_t n);

/* Gemma-2 rows (cpu_gemma_avx2.c; see accel/cpu/cpu_gemma.c for what each computes). */
void cpu_gemma_geglu_avx2(float *gate, const float *up, int64_t n);
void cpu_gemma_logits_avx2(float *s, int64_t n, float scale, float cap);
float cpu_gemma_max_avx2(const float *s, int64_t n);
float cpu_gemma_exp_sum_avx2(float *s, int64_t n, float mx);
double cpu_gemma_sumsq_avx2(const float *x, int64_t n);
void cpu_gemma_norm_row_avx2(float *y, const float *x, const float *w1, const float *res, float inv, int64_t n);
void cpu_gemma_rope_row_avx2(float *x, const float *c, const float *s, int64_t H, int64_t D);
void cpu_gemma_scale_avx2(float *y, int64_t n, float a);
/* Attention rows (D % 8 == 0; q1/s1, p1/o1 NULL for a single head): s0[j] = q0 . k[j], s1[j] = q1 . k[j]
 * for n keys of row stride ld; o0 = sum_j p0[j] v[j], o1 = sum_j p1[j] v[j] (j ascending). Each score
 * and each output element has one fixed order, whatever n or the tiling. */
void cpu_gemma_scores_avx2(float *s0, float *s1, const float *q0, const float *q1, const float *k, int64_t ld,
                           int64_t n, int64_t D);
void cpu_gemma_pv_avx2(float *o0, float *o1, const float *p0, const float *p1, const float *v, int64_t ld,
                       int64_t n, int64_t D);

/* ---- cpu_q8_avx2.c (around the int8 matmul, cpu_dnnl_mm.c) ---- */
/* q[0..K) = x quantized with 127 / max|x| (rounded to nearest even); returns max|x|. */
float cpu_q8_quantize_row_avx2(int8_t *q, const float *x, int64_t K);
/* y[n] = acc[n] * s * sw[n] + bias[n] (bias NULL: + 0), n < N. */
void cpu_q8_scale_row_avx2(float *y, const int32_t *acc, float s, const float *sw, const float *bias, int64_t N);

/* ---- cpu_core_avx2.c (core ops) ---- */
/* y = x * sigmoid(x), y = gelu_tanh(x) = x * sigmoid(2 sqrt(2/pi) (x + 0.044715 x^3)), n floats (y may
 * equal x); exp by a degree-6 polynomial (~2 ulp). */
void cpu_silu_avx2(float *y, const float *x, int64_t n);
void cpu_gelu_tanh_avx2(float *y, const float *x, int64_t n);
/* p[i] = exp(p[i] - mx) for n floats; returns their sum (fixed lane order: deterministic). */
float cpu_exp_sub_sum_avx2(float *p, int64_t n, float mx);
/* One row of LayerNorm (biased variance), then the optional affine (w, b) and modulation
 * (* (1 + scale) + shift; both NULL: none). y may equal x. */
void cpu_layer_norm_row_avx2(float *y, const float *x, const float *w, const float *b, const float *scale,
                             const float *shift, int64_t C, float eps);
/* One row of RMSNorm: y = x / sqrt(mean(x^2) + eps) (* w when w). y may equal x. */
void cpu_rms_norm_row_avx2(float *y, const float *x, const float *w, int64_t C, float eps);
/* y[m, n] += sum_k x[m, k] W[n, k] for m < M, n0 <= n < n1, W a 16-bit weight [N, K] (bf16 when bf16,
 * else IEEE half). Each y[m, n] is one FMA chain over k = 0 .. K-1 in order, so its bits do not depend
 * on M, on the other rows or on [n0, n1) (cpu_core_avx2.c). wbuf: CPU_LINEAR16_NC * CPU_LINEAR16_KC
 * floats (the packed columns). */
#define CPU_LINEAR16_NC 128 /* columns packed at a time (a multiple of 16) */
#define CPU_LINEAR16_KC 256 /* K per chunk: the packed block is 128 KB, the x tile 6 KB */
void cpu_linear16_avx2(float *y, int64_t ldy, const float *x, const uint16_t *w, int bf16, int64_t M, int64_t K,
                       int64_t n0, int64_t n1, float *wbuf);

/* ---- cpu_dit_avx2.c (dit ops) ---- */
/* The middle of GLUMBConv for one channel pair, H x W planes: a = silu(xa + ba), g = silu(xg + bg),
 * a' = dw3x3(a; wa) + da, g' = dw3x3(g; wg) + dg (zero padding 1), out = a' * silu(g').
 * pad: 2 * (H + 2) * (W + 2) floats of scratch. out may equal xa. */
void cpu_glu_pair_avx2(float *out, const float *xa, const float *xg, float ba, float bg, const float *wa,
                       const float *wg, float da, float dg, int64_t H, int64_t W, float *pad);
/* The same middle in token layout for the channels [c0, c1) of the first half: t [H*W, 2Hd] (row
 * stride 2Hd) is replaced by silu(t + bi) in the columns c and Hd + c, then
 * out[p, c] = (dw3x3(t[:, c]; wT[., c]) + bd[c]) * silu(dw3x3(t[:, Hd + c]; wT[., Hd + c]) + bd[Hd + c])
 * with wT [9, 2Hd] the depthwise weights transposed (tap-major), zero padding. out: [H*W, Hd].
 * bi, bd: 2Hd floats or NULL. */
void cpu_glu_tokens_avx2(float *out, float *t, const float *bi, const float *wT, const float *bd, int64_t H,
                         int64_t W, int64_t Hd, int64_t c0, int64_t c1);

#endif
