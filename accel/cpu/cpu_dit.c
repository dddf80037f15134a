/* accel/cpu/cpu_dit.c -- the cpu backend's kernels of the dit ops (src/backend/ops/dit.def).
 *
 * Fused kernels for what lies between the matrix products of a Sana block:
 *   linear_attn   per (batch, head) on one thread: ReLU, the padded-value state [v 1]^T k and the
 *                 division, with single-threaded sgemm calls (OpenBLAS runs serially inside our
 *                 parallel region), heads in parallel
 *   softmax_attn  per (batch, head): keys whose bias is -10000 (padding) are left out of both
 *                 products when that is exact (their weight is exp(< -104) = +0 in float32, checked
 *                 per query), heads in parallel
 *   glumbconv     the two 1x1 convolutions are sgemm; between them one pass per channel pair:
 *                 bias + SiLU, depthwise 3x3 + bias, gate (cpu_glu_pair_avx2)
 *   glumbconv_tokens the DiT's: the same on [H*W, C] rows, 1x1 convolutions as sgemm of token rows,
 *                 the middle per block of 64 channels (cpu_glu_tokens_avx2), no transposes
 *   mlp2, modulated_layer_norm, gated_residual, transpose_batched, dit_modulation: vectorised,
 *                 parallel loops without per-call allocation.
 * With SANA_CPU_FUSION=0 (cpu_ctx.fusion == 0) each fused kernel runs ref's operator instead:
 * the unfused sequence of ref ops, so test-backend-ops compares the two.
 * timestep_embedding, pos_embed_2d, patch_embed, unpatchify, attn_mask_bias stay ref's: they run
 * once per forward pass on a few thousand values (under 0.1% of a step, bench/dit_step.sh).
 */
#include "config.h"
#include "accel/cpu/cpu_kern.h"
#include "accel/cpu/cpu_pack.h"
#include "ref.h"
#ifdef SANA_HAVE_AVX2_KERNELS
#include "accel/cpu/cpu_avx2.h"
#endif

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* diffusers SanaLinearAttnProcessor2_0: `hidden_states[:, :, -1:] + 1e-15` (as ref/linear_attn.c) */
#define LINEAR_ATTN_EPS 1e-15f
/* Keys with a bias this far under the largest are candidates for skipping (the mask gives -10000). */
#define SOFTMAX_SKIP_BIAS 1000.0f
/* expf(x) is +0 in float32 for x < -103.98: a skipped key must stay under this, with margin. */
#define SOFTMAX_EXP_ZERO -110.0f

static float silu1(float v) { return v / (1.0f + expf(-v)); }

/* ------------------------------------------------------------------ mlp2 */

static void mlp2(void *ctx, float *y, float *work, const float *x, const sana_wt *w1, const sana_wt *b1,
                 const sana_wt *w2, const sana_wt *b2, int64_t M, int64_t K, int64_t Hd, int64_t N, int act)
{
    const cpu_ctx *c = ctx;
    cpu_linear(ctx, work, x, w1, b1, M, K, Hd);
    const int64_t n = M * Hd;
#pragma omp parallel for if (n >= CPU_OMP_MIN_HEAVY)
    for (int64_t m = 0; m < M; m++) {
        if (act == SANA_ACT_GELU_TANH) cpu_gelu_tanh_rows(c, work + m * Hd, work + m * Hd, Hd);
        else cpu_silu_rows(c, work + m * Hd, work + m * Hd, Hd);
    }
    cpu_linear(ctx, y, work, w2, b2, M, Hd, N);
}

/* ------------------------------------------------------------------ block pieces */

static void dit_modulation(void *ctx, float *mod, const sana_wt *table, const float *temb, int64_t B, int64_t nmod,
                           int64_t C, int per_row)
{
    float *own;
    const float *tab = cpu_wt_f32(table, nmod * C, &own);
    if (!tab) {
        cpu_fail(ctx, SANA_ERR_NOMEM);
        return;
    }
    for (int64_t b = 0; b < B; b++)
        for (int64_t k = 0; k < nmod; k++) {
            const float *t = per_row ? temb + (b * nmod + k) * C : temb + b * C;
            float *m = mod + (b * nmod + k) * C;
#pragma omp simd
            for (int64_t i = 0; i < C; i++) m[i] = tab[k * C + i] + t[i];
        }
    free(own);
}

static void modulated_layer_norm(void *ctx, float *y, const float *x, const sana_wt *ln_w, const sana_wt *ln_b,
                                 const float *mod, int64_t B, int64_t N, int64_t C, int64_t nmod, int64_t i_shift,
                                 int64_t i_scale, float eps)
{
    float *ow, *ob;
    const float *wf = cpu_wt_f32(ln_w, C, &ow), *bf = cpu_wt_f32(ln_b, C, &ob);
#pragma omp parallel for if (B * N * C >= CPU_OMP_MIN)
    for (int64_t r = 0; r < B * N; r++) {
        const float *m = mod + (r / N) * nmod * C;
        cpu_layer_norm_row(ctx, y + r * C, x + r * C, wf, bf, m + i_scale * C, m + i_shift * C, C, eps);
    }
    free(ow);
    free(ob);
}

static void gated_residual(void *ctx, float *x, const float *r, const float *mod, int64_t B, int64_t N, int64_t C,
                           int64_t nmod, int64_t i_gate)
{
    (void)ctx;
#pragma omp parallel for if (B * N * C >= CPU_OMP_MIN)
    for (int64_t row = 0; row < B * N; row++) {
        float *xr = x + row * C;
        const float *rr = r + row * C;
        if (mod) {
            const float *gate = mod + ((row / N) * nmod + i_gate) * C;
#pragma omp simd
            for (int64_t c = 0; c < C; c++) xr[c] += gate[c] * rr[c];
        } else {
#pragma omp simd
            for (int64_t c = 0; c < C; c++) xr[c] += rr[c];
        }
    }
}

/* y[b, c, r] = x[b, r, c] in 32 x 32 tiles, tiles in parallel. */
static void transpose_batched(void *ctx, float *y, const float *x, int64_t B, int64_t R, int64_t Cc)
{
    enum { T = 32 };
    (void)ctx;
    const int64_t tr = (R + T - 1) / T, tc = (Cc + T - 1) / T;
#pragma omp parallel for if (B * R * Cc >= CPU_OMP_MIN)
    for (int64_t t = 0; t < B * tr * tc; t++) {
        const int64_t b = t / (tr * tc), r0 = (t / tc) % tr * T, c0 = t % tc * T;
        const float *xb = x + b * R * Cc;
        float *yb = y + b * R * Cc;
        const int64_t r1 = r0 + T < R ? r0 + T : R, c1 = c0 + T < Cc ? c0 + T : Cc;
        for (int64_t c = c0; c < c1; c++)
            for (int64_t r = r0; r < r1; r++) yb[c * R + r] = xb[r * Cc + c];
    }
}

/* ------------------------------------------------------------------ linear attention */

/* One head: q, k relu'd in place (stride C), y = (q S'^T)[:, :d] / ((q S'^T)[:, d] + eps) with
 * S' = [v 1]^T k, the padded value of diffusers. vp: [N, d + 1], S: [(d + 1), d], o: [N, d + 1]. */
static void linear_attn_head(float *y, float *q, float *k, const float *v, int64_t N, int64_t C, int64_t d,
                             float *vp, float *S, float *o)
{
    for (int64_t n = 0; n < N; n++) {
        float *qn = q + n * C, *kn = k + n * C;
        const float *vn = v + n * C;
#pragma omp simd
        for (int64_t j = 0; j < d; j++) {
            qn[j] = qn[j] > 0.0f ? qn[j] : 0.0f;
            kn[j] = kn[j] > 0.0f ? kn[j] : 0.0f;
        }
        memcpy(vp + n * (d + 1), vn, (size_t)d * sizeof(float));
        vp[n * (d + 1) + d] = 1.0f;
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)(d + 1), (int)d, (int)N, 1.0f, vp, (int)(d + 1), k,
                (int)C, 0.0f, S, (int)d);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)(d + 1), (int)d, 1.0f, q, (int)C, S, (int)d,
                0.0f, o, (int)(d + 1));
    for (int64_t n = 0; n < N; n++) {
        const float *on = o + n * (d + 1);
        const float den = on[d] + LINEAR_ATTN_EPS;
        float *yn = y + n * C;
#pragma omp simd
        for (int64_t i = 0; i < d; i++) yn[i] = on[i] / den;
    }
}

static void linear_attn(void *ctx, float *y, float *work, float *q, float *k, const float *v, int64_t B, int64_t N,
                        int64_t heads, int64_t d)
{
    cpu_ctx *c = ctx;
    if (!c->fusion) {
        ref_linear_attn(y, work, q, k, v, B, N, heads, d);
        return;
    }
    const int64_t C = heads * d;
    int failed = 0;
#pragma omp parallel for schedule(static) if (B * heads > 1 && B * N * C >= CPU_OMP_MIN_HEAVY)
    for (int64_t t = 0; t < B * heads; t++) {
        const int64_t off = t / heads * N * C + t % heads * d;
        float *vp = cpu_scratch(1, 2 * N * (d + 1)), *S = cpu_scratch(2, (d + 1) * d);
        if (!vp || !S) {
#pragma omp atomic write
            failed = 1;
            continue;
        }
        linear_attn_head(y + off, q + off, k + off, v + off, N, C, d, vp, S, vp + N * (d + 1));
    }
    if (failed) cpu_fail(c, SANA_ERR_NOMEM);
}

/* ------------------------------------------------------------------ softmax attention */

/* p[0..n) = softmax(p): exp(p - max) / sum; returns the max. */
static float softmax_row(const cpu_ctx *c, float *p, int64_t n)
{
    float mx = -INFINITY;
    for (int64_t l = 0; l < n; l++) mx = p[l] > mx ? p[l] : mx;
    float sum = 0.0f;
#ifdef SANA_HAVE_AVX2_KERNELS
    if (c->avx2) sum = cpu_exp_sub_sum_avx2(p, n, mx);
    else
#endif
    {
        (void)c;
        for (int64_t l = 0; l < n; l++) sum += p[l] = expf(p[l] - mx);
    }
    const float inv = 1.0f / sum;
#pragma omp simd
    for (int64_t l = 0; l < n; l++) p[l] *= inv;
    return mx;
}

/* Keys of batch item b kept by softmax_attn: those within SOFTMAX_SKIP_BIAS of the largest bias
 * (all when bias is NULL). keep: [L] indices; returns their count. */
static int64_t kept_keys(int *keep, const float *bias, int64_t L)
{
    float bmax = -INFINITY;
    for (int64_t l = 0; bias && l < L; l++) bmax = bias[l] > bmax ? bias[l] : bmax;
    int64_t n = 0;
    for (int64_t l = 0; l < L; l++)
        if (!bias || !(bias[l] < bmax - SOFTMAX_SKIP_BIAS)) keep[n++] = (int)l;
    return n;
}

/*
 * One (batch, head) over the kept keys keep[0..Lv): q, y [N, C] (head columns), k, v [L, C], bias [L]
 * or NULL. Returns 0 when leaving the other keys out is not exact for some query (the caller then
 * runs it over all keys): their score is bounded by |q_n| max|k_l| scale + max bias_l, which must
 * stay SOFTMAX_EXP_ZERO under the row's max (then expf gives +0 for them, as in ref).
 */
static int softmax_head(const cpu_ctx *c, float *y, const float *q, const float *k, const float *v, const float *bias,
                        const int *keep, int64_t Lv, int64_t N, int64_t L, int64_t C, int64_t d, float *P, float *kc)
{
    const float scale = (float)(1.0 / sqrt((double)d));
    float *vc = kc + Lv * d, kmax = 0.0f, bskip = -INFINITY;
    for (int64_t l = 0, j = 0; l < L; l++) {
        if (j < Lv && keep[j] == l) {
            memcpy(kc + j * d, k + l * C, (size_t)d * sizeof(float));
            memcpy(vc + j * d, v + l * C, (size_t)d * sizeof(float));
            j++;
            continue;
        }
        float nk = 0.0f;
        for (int64_t i = 0; i < d; i++) nk += k[l * C + i] * k[l * C + i];
        kmax = fmaxf(kmax, sqrtf(nk));
        bskip = fmaxf(bskip, bias[l]);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)Lv, (int)d, scale, q, (int)C, kc, (int)d, 0.0f,
                P, (int)Lv);
    for (int64_t n = 0; n < N; n++) {
        float *p = P + n * Lv;
        if (bias)
            for (int64_t j = 0; j < Lv; j++) p[j] += bias[keep[j]];
        const float mx = softmax_row(c, p, Lv);
        if (Lv < L) {
            float nq = 0.0f;
            for (int64_t i = 0; i < d; i++) nq += q[n * C + i] * q[n * C + i];
            if (!(sqrtf(nq) * kmax * scale * 1.001f + 1.0f + bskip - mx < SOFTMAX_EXP_ZERO)) return 0;
        }
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, (int)d, (int)Lv, 1.0f, P, (int)Lv, vc, (int)d, 0.0f,
                y, (int)C);
    return 1;
}

static void softmax_attn(void *ctx, float *y, float *work, const float *q, const float *k, const float *v,
                         const float *bias, int64_t B, int64_t N, int64_t L, int64_t heads, int64_t d)
{
    cpu_ctx *c = ctx;
    int *keep = (int *)cpu_scratch(0, B * L + B); /* slot 0 of this thread: unused by the loop below */
    if (!c->fusion || !keep) {
        ref_softmax_attn(y, work, q, k, v, bias, B, N, L, heads, d);
        return;
    }
    int *all = keep + B * L; /* all[b]: the count, then keep[b * L ..] the indices */
    for (int64_t b = 0; b < B; b++) all[b] = (int)kept_keys(keep + b * L, bias ? bias + b * L : NULL, L);
    const int64_t C = heads * d;
    int failed = 0;
#pragma omp parallel for schedule(static) if (B * heads > 1 && B * N * C >= CPU_OMP_MIN_HEAVY)
    for (int64_t t = 0; t < B * heads; t++) {
        const int64_t b = t / heads, h = t % heads;
        const float *qh = q + b * N * C + h * d, *kh = k + b * L * C + h * d, *vh = v + b * L * C + h * d;
        const float *bb = bias ? bias + b * L : NULL;
        float *yh = y + b * N * C + h * d;
        float *P = cpu_scratch(1, N * L + L), *kc = cpu_scratch(2, 2 * L * d);
        if (!P || !kc) {
#pragma omp atomic write
            failed = 1;
            continue;
        }
        if (!softmax_head(c, yh, qh, kh, vh, bb, keep + b * L, all[b], N, L, C, d, P, kc)) {
            int *every = (int *)(P + N * L); /* leaving keys out is not exact here: all of them */
            for (int64_t l = 0; l < L; l++) every[l] = (int)l;
            softmax_head(c, yh, qh, kh, vh, bb, every, L, N, L, C, d, P, kc);
        }
    }
    if (failed) cpu_fail(c, SANA_ERR_NOMEM);
}

/* ------------------------------------------------------------------ GLUMBConv */

/* Portable cpu_glu_pair_avx2: out = dw3x3(silu(xa + ba)) * silu(dw3x3(silu(xg + bg))), biases da, dg
 * added after the 3x3 sums; pad: 2 (H + 2)(W + 2) floats. out may equal xa. */
static void glu_pair(const cpu_ctx *c, float *out, const float *xa, const float *xg, float ba, float bg,
                     const float *wa, const float *wg, float da, float dg, int64_t H, int64_t W, float *pad)
{
#ifdef SANA_HAVE_AVX2_KERNELS
    if (c->avx2) {
        cpu_glu_pair_avx2(out, xa, xg, ba, bg, wa, wg, da, dg, H, W, pad);
        return;
    }
#endif
    (void)c;
    const int64_t Wp = W + 2, np = (H + 2) * Wp;
    float *pa = pad, *pg = pad + np;
    memset(pad, 0, (size_t)(2 * np) * sizeof(float));
    for (int64_t i = 0; i < H; i++)
        for (int64_t j = 0; j < W; j++) {
            pa[(i + 1) * Wp + j + 1] = silu1(xa[i * W + j] + ba);
            pg[(i + 1) * Wp + j + 1] = silu1(xg[i * W + j] + bg);
        }
    for (int64_t i = 0; i < H; i++)
        for (int64_t j = 0; j < W; j++) {
            float a = da, g = dg;
            for (int u = 0; u < 3; u++)
                for (int v = 0; v < 3; v++) {
                    a += wa[3 * u + v] * pa[(i + u) * Wp + j + v];
                    g += wg[3 * u + v] * pg[(i + u) * Wp + j + v];
                }
            out[i * W + j] = a * silu1(g);
        }
}

/* Float32 views of GLUMBConv's six parameters (NULL biases stay NULL; PACKED matrices too,
 * cpu_packed_matmul reads them); own[] to free. */
static int glu_params(const float *p[6], float *own[6], const sana_wt *const w[6], const int64_t n[6])
{
    int ok = 1;
    for (int i = 0; i < 6; i++) {
        own[i] = NULL;
        if (w[i] && w[i]->dtype == SANA_PACKED) {
            p[i] = NULL;
            continue;
        }
        p[i] = cpu_wt_f32(w[i], n[i], &own[i]);
        if (w[i] && !p[i]) ok = 0;
    }
    return ok;
}

/* The float32 views p[] (own[] to free) of the six GLUMBConv parameters for the fused kernels: 1 when
 * they are ready; 0 when ref's operator must run instead (fusion off, or out of memory converting:
 * nothing to free); -1 when it cannot (packed matrices have no unfused form; the failure is recorded). */
static int glu_fused_params(cpu_ctx *c, const float *p[6], float *own[6], const sana_wt *const wts[6], int64_t Cin,
                            int64_t Hd, int64_t Cout)
{
    const int64_t C2 = 2 * Hd;
    const int64_t nel[6] = {C2 * Cin, C2, C2 * 9, C2, Cout * Hd, Cout};
    const int packed = wts[0]->dtype == SANA_PACKED || wts[4]->dtype == SANA_PACKED;
    if (!c->fusion && !packed) return 0;
    if (glu_params(p, own, wts, nel)) return 1;
    for (int i = 0; i < 6; i++) free(own[i]);
    if (!packed) return 0;
    cpu_fail(c, SANA_ERR_NOMEM);
    return -1;
}

/*
 * Per image b: t = W_inv x_b (sgemm, [2Hd, HW] in work), then per channel c < Hd in parallel
 * t[c] = glu_pair(t[c], t[Hd + c]) (the biases of conv_inverted and conv_depth folded in), then
 * y_b = W_pt t[:Hd] + b_pt (sgemm). work: 2 Hd HW floats of ref's 4 Hd HW.
 */
static void glumbconv(void *ctx, float *y, float *work, const float *x, const sana_wt *w_inv, const sana_wt *b_inv,
                      const sana_wt *w_dep, const sana_wt *b_dep, const sana_wt *w_pt, const sana_wt *b_pt,
                      int64_t B, int64_t Cin, int64_t H, int64_t W, int64_t Hd, int64_t Cout)
{
    cpu_ctx *c = ctx;
    const int64_t HW = H * W, C2 = 2 * Hd;
    const sana_wt *const wts[6] = {w_inv, b_inv, w_dep, b_dep, w_pt, b_pt};
    const float *p[6];
    float *own[6];
    const int ready = glu_fused_params(c, p, own, wts, Cin, Hd, Cout);
    if (ready <= 0) {
        if (ready == 0) ref_glumbconv(y, work, x, w_inv, b_inv, w_dep, b_dep, w_pt, b_pt, B, Cin, H, W, Hd, Cout);
        return;
    }
    const float *wi = p[0], *bi = p[1], *wd = p[2], *bd = p[3], *wp = p[4], *bp = p[5];
    int failed = 0;
    for (int64_t b = 0; b < B; b++) {
        float *t = work, *yb = y + b * Cout * HW;
        if (!wi) { /* int8: t[c, i] = sum_k W[c, k] x[k, i], channel-major in and out */
#ifdef SANA_HAVE_DNNL
            int r = cpu_packed_matmul(t, 1, HW, x + b * Cin * HW, 1, HW, w_inv->data, NULL, HW, c->avx2);
            if (r) cpu_fail(c, r == -1 ? SANA_ERR_NOMEM : SANA_ERR_UNSUPPORTED);
#endif
        } else {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)C2, (int)HW, (int)Cin, 1.0f, wi, (int)Cin,
                        x + b * Cin * HW, (int)HW, 0.0f, t, (int)HW);
        }
#pragma omp parallel for schedule(static) if (C2 * HW >= CPU_OMP_MIN_HEAVY)
        for (int64_t ch = 0; ch < Hd; ch++) {
            float *pad = cpu_scratch(1, 2 * (H + 2) * (W + 2));
            if (!pad) {
#pragma omp atomic write
                failed = 1;
                continue;
            }
            glu_pair(c, t + ch * HW, t + ch * HW, t + (Hd + ch) * HW, bi ? bi[ch] : 0.0f, bi ? bi[Hd + ch] : 0.0f,
                     wd + 9 * ch, wd + 9 * (Hd + ch), bd ? bd[ch] : 0.0f, bd ? bd[Hd + ch] : 0.0f, H, W, pad);
        }
        if (!wp) {
#ifdef SANA_HAVE_DNNL
            int r = cpu_packed_matmul(yb, 1, HW, t, 1, HW, w_pt->data, bp, HW, c->avx2);
            if (r) cpu_fail(c, r == -1 ? SANA_ERR_NOMEM : SANA_ERR_UNSUPPORTED);
#endif
            continue;
        }
        for (int64_t o = 0; bp && o < Cout; o++)
            for (int64_t i = 0; i < HW; i++) yb[o * HW + i] = bp[o];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)Cout, (int)HW, (int)Hd, 1.0f, wp, (int)Hd, t,
                    (int)HW, bp ? 1.0f : 0.0f, yb, (int)HW);
    }
    for (int i = 0; i < 6; i++) free(own[i]);
    if (failed) cpu_fail(c, SANA_ERR_NOMEM);
}

/* Portable cpu_glu_tokens_avx2. */
static void glu_tokens(const cpu_ctx *c, float *out, float *t, const float *bi, const float *wT, const float *bd,
                       int64_t H, int64_t W, int64_t Hd, int64_t c0, int64_t c1)
{
#ifdef SANA_HAVE_AVX2_KERNELS
    if (c->avx2) {
        cpu_glu_tokens_avx2(out, t, bi, wT, bd, H, W, Hd, c0, c1);
        return;
    }
#endif
    (void)c;
    const int64_t C2 = 2 * Hd, HW = H * W;
    for (int64_t p = 0; p < HW; p++)
        for (int64_t k = c0; k < c1; k++) {
            float *r = t + p * C2 + k;
            r[0] = silu1(bi ? r[0] + bi[k] : r[0]);
            r[Hd] = silu1(bi ? r[Hd] + bi[Hd + k] : r[Hd]);
        }
    for (int64_t i = 0; i < H; i++)
        for (int64_t j = 0; j < W; j++)
            for (int64_t k = c0; k < c1; k++) {
                float a = bd ? bd[k] : 0.0f, g = bd ? bd[Hd + k] : 0.0f;
                for (int u = 0; u < 3; u++)
                    for (int v = 0; v < 3; v++) {
                        const int64_t y = i + u - 1, x = j + v - 1;
                        if (y < 0 || y >= H || x < 0 || x >= W) continue;
                        const float *r = t + (y * W + x) * C2 + k, *w = wT + (3 * u + v) * C2 + k;
                        a += w[0] * r[0];
                        g += w[Hd] * r[Hd];
                    }
                out[(i * W + j) * Hd + k] = a * silu1(g);
            }
}

/* Channels per task of the token-layout middle: t's columns of a task for all H*W rows stay in L2. */
enum { GLU_TOKENS_CB = 64 };

/* glumbconv on tokens (the DiT's feed-forward): no transposes, and the 1x1 convolutions as sgemm on
 * [H*W, C] rows (faster shapes for OpenBLAS than channel-major [C, H*W]); the middle per block of
 * channels over the whole image. work: t [H*W, 2Hd], then the gated half [H*W, Hd]. */
static void glumbconv_tokens(void *ctx, float *y, float *work, const float *x, const sana_wt *w_inv,
                             const sana_wt *b_inv, const sana_wt *w_dep, const sana_wt *b_dep, const sana_wt *w_pt,
                             const sana_wt *b_pt, int64_t B, int64_t Cin, int64_t H, int64_t W, int64_t Hd,
                             int64_t Cout)
{
    cpu_ctx *c = ctx;
    const int64_t HW = H * W, C2 = 2 * Hd;
    const sana_wt *const wts[6] = {w_inv, b_inv, w_dep, b_dep, w_pt, b_pt};
    const float *p[6];
    float *own[6];
    int ready = glu_fused_params(c, p, own, wts, Cin, Hd, Cout);
    float *wT = ready > 0 ? malloc((size_t)(9 * C2) * sizeof(float)) : NULL;
    if (ready > 0 && !wT) { /* out of memory for the tap-major weights: as in glu_fused_params */
        for (int i = 0; i < 6; i++) free(own[i]);
        ready = w_inv->dtype == SANA_PACKED || w_pt->dtype == SANA_PACKED ? -1 : 0;
        if (ready < 0) cpu_fail(c, SANA_ERR_NOMEM);
    }
    if (ready <= 0) {
        if (ready == 0) ref_glumbconv_tokens(y, work, x, w_inv, b_inv, w_dep, b_dep, w_pt, b_pt, B, Cin, H, W, Hd, Cout);
        return;
    }
    const float *wi = p[0], *bi = p[1], *wd = p[2], *bd = p[3], *wp = p[4], *bp = p[5];
    for (int64_t k = 0; k < C2; k++)
        for (int j = 0; j < 9; j++) wT[j * C2 + k] = wd[k * 9 + j];
    float *t = work, *mid = work + C2 * HW;
    const int64_t nblk = (Hd + GLU_TOKENS_CB - 1) / GLU_TOKENS_CB;
    for (int64_t b = 0; b < B; b++) {
        const float *xb = x + b * HW * Cin;
        float *yb = y + b * HW * Cout;
        if (!wi) {
#ifdef SANA_HAVE_DNNL
            int r = cpu_packed_matmul(t, C2, 1, xb, Cin, 1, w_inv->data, NULL, HW, c->avx2);
            if (r) cpu_fail(c, r == -1 ? SANA_ERR_NOMEM : SANA_ERR_UNSUPPORTED);
#endif
        } else {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)HW, (int)C2, (int)Cin, 1.0f, xb, (int)Cin, wi,
                        (int)Cin, 0.0f, t, (int)C2);
        }
#pragma omp parallel for schedule(dynamic, 1) if (C2 * HW >= CPU_OMP_MIN_HEAVY)
        for (int64_t i = 0; i < nblk; i++) {
            const int64_t c0 = i * GLU_TOKENS_CB, c1 = c0 + GLU_TOKENS_CB < Hd ? c0 + GLU_TOKENS_CB : Hd;
            glu_tokens(c, mid, t, bi, wT, bd, H, W, Hd, c0, c1);
        }
        if (!wp) {
#ifdef SANA_HAVE_DNNL
            int r = cpu_packed_matmul(yb, Cout, 1, mid, Hd, 1, w_pt->data, bp, HW, c->avx2);
            if (r) cpu_fail(c, r == -1 ? SANA_ERR_NOMEM : SANA_ERR_UNSUPPORTED);
#endif
            continue;
        }
        if (bp)
            for (int64_t i = 0; i < HW; i++) memcpy(yb + i * Cout, bp, (size_t)Cout * sizeof(float));
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)HW, (int)Cout, (int)Hd, 1.0f, mid, (int)Hd, wp,
                    (int)Hd, bp ? 1.0f : 0.0f, yb, (int)Cout);
    }
    free(wT);
    for (int i = 0; i < 6; i++) free(own[i]);
}

void cpu_fill_dit(sana_backend *be, cpu_ctx *c)
{
    CPU_SET(be, c, mlp2, mlp2);
    CPU_SET(be, c, dit_modulation, dit_modulation);
    CPU_SET(be, c, modulated_layer_norm, modulated_layer_norm);
    CPU_SET(be, c, gated_residual, gated_residual);
    CPU_SET(be, c, transpose_batched, transpose_batched);
    CPU_SET(be, c, linear_attn, linear_attn);
    CPU_SET(be, c, softmax_attn, softmax_attn);
    CPU_SET(be, c, glumbconv, glumbconv);
    CPU_SET(be, c, glumbconv_tokens, glumbconv_tokens);
}
