/* accel/cpu/cpu_gemma.c -- the cpu backend's kernels of the gemma ops (src/backend/ops/gemma.def):
 * the Gemma-2 text encoder between its matrix products (those are `linear`, in cpu_core.c).
 *
 *   gemma_attention  row-exact (the contract of ref_gemma.h): one task per (query row, kv head);
 *                    both query heads of the kv group read the group's K/V in place (no repeat_kv
 *                    copy) over exactly the keys the row may see (causal, sliding window, padding
 *                    trimmed at both ends), so the masked part of the score matrix is never
 *                    computed and a row's bits never depend on the call's other rows, on keys
 *                    beyond it, or on the thread. Scores are AVX2 dot products over D with one
 *                    fixed order (2 heads x 4 keys a tile), the softmax is per row in float32,
 *                    P V is an FMA chain over the keys per output element (32 of them a tile).
 *   gemma_rms_norm   (1 + w) RMSNorm with the residual add, one row per thread, the mean of squares
 *                    in double as ref: ref's bits.
 *   gemma_geglu      gelu_tanh(gate) * up as gate / (1 + exp(-2a)) * up with a vector exp.
 *   gemma_rope       cos/sin of each position once for all heads: ref's bits.
 *   gemma_embed      row gather, bf16/f16 rows converted with F16C/AVX2: ref's bits.
 * The AVX2 row kernels are in cpu_gemma_avx2.c; each has the portable loop here beside its call.
 * Fused kernels (attention, norm + residual, geglu) run ref's operator when c->fusion is 0
 * (SANA_CPU_FUSION=0). Thresholds and block sizes live here, not in ref/. doc/text-encoder.md
 * has the measurements behind them.
 */
#include "config.h"
#include "accel/cpu/cpu.h"
#include "accel/cpu/cpu_avx2.h"
#include "accel/cpu/cpu_kern.h"
#include "ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* Elementwise work below this many floats runs on one thread (a parallel region costs ~10 us). */
#define GEMMA_PAR_MIN 32768
/* Floats per thread's slice of geglu (a multiple of 8: the vector path sees whole lanes). */
#define GEMMA_GEGLU_CHUNK 16384
/* (query row, kv head) tasks an attention thread takes at a time (dynamic schedule). */
#define GEMMA_ATTN_CHUNK 4
/* Attention calls under this many multiply-adds of Q K^T (nq * nk * Hq * D) run on one thread:
 * a query row alone over 849 keys (1.7M, ~40 us) or 32 tokens over 32 (2.1M) do not pay for
 * waking the team (a few us idle, milliseconds on a loaded machine). */
#define GEMMA_ATTN_PAR_MIN (1 << 22)

#ifdef SANA_HAVE_AVX2_KERNELS
#define USE_AVX2(c) ((c)->avx2)
#else
#define USE_AVX2(c) 0
#endif

static int max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

static int thread_num(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* ------------------------------------------------------------ embedding, norm, geglu, rope */

/* y[i, :] = table[ids[i], :] * scale (ids clamped to the table, as ref). */
static void cpu_gemma_embed(void *ctx, float *y, const int32_t *ids, const sana_wt *table, int64_t n, int64_t C,
                            float scale)
{
    cpu_ctx *c = ctx;
    int64_t vocab = table->shape[0];
    int vec = USE_AVX2(c) && (table->dtype == SANA_BF16 || table->dtype == SANA_F16);
#pragma omp parallel for if (n * C >= GEMMA_PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        int64_t id = ids[i] < 0 ? 0 : ids[i] >= vocab ? vocab - 1 : ids[i];
        float *yr = y + i * C;
#ifdef SANA_HAVE_AVX2_KERNELS
        if (vec) {
            const void *row = (const char *)table->data + (size_t)id * (size_t)C * 2;
            if (table->dtype == SANA_BF16)
                cpu_bf16_to_f32_avx2(yr, row, C);
            else
                cpu_f16_to_f32_avx2(yr, row, C);
            cpu_gemma_scale_avx2(yr, C, scale);
            continue;
        }
#endif
        (void)vec;
        sana_wt_rows_f32(yr, table, id, 1);
        for (int64_t k = 0; k < C; k++)
            yr[k] = yr[k] * scale;
    }
}

/* One row of RMSNorm: y = res + (x * rsqrt(mean(x^2) + eps)) * w1, the mean in double. */
static void norm_row(int avx2, float *y, const float *x, const float *w1, const float *res, int64_t C, float eps)
{
    double ss = 0;
#ifdef SANA_HAVE_AVX2_KERNELS
    if (avx2) {
        ss = cpu_gemma_sumsq_avx2(x, C);
        float inv = 1.0f / sqrtf((float)(ss / (double)C) + eps);
        cpu_gemma_norm_row_avx2(y, x, w1, res, inv, C);
        return;
    }
#endif
    (void)avx2;
    for (int64_t k = 0; k < C; k++)
        ss += (double)x[k] * (double)x[k];
    float inv = 1.0f / sqrtf((float)(ss / (double)C) + eps);
    for (int64_t k = 0; k < C; k++) {
        float v = (x[k] * inv) * w1[k];
        y[k] = res ? res[k] + v : v;
    }
}

static void cpu_gemma_rms_norm(void *ctx, float *y, const float *x, const sana_wt *w, const float *res,
                               int64_t rows, int64_t C, float eps)
{
    cpu_ctx *c = ctx;
    if (res && !c->fusion) {
        ref_gemma_rms_norm(y, x, w, res, rows, C, eps);
        return;
    }
    float *w1 = sana_wt_vec_f32(w, C);
    if (!w1) {
        cpu_fail(c, SANA_ERR_NOMEM);
        return;
    }
    for (int64_t k = 0; k < C; k++)
        w1[k] = 1.0f + w1[k];
    int avx2 = USE_AVX2(c);
#pragma omp parallel for if (rows * C >= GEMMA_PAR_MIN)
    for (int64_t r = 0; r < rows; r++)
        norm_row(avx2, y + r * C, x + r * C, w1, res ? res + r * C : NULL, C, eps);
    free(w1);
}

static void cpu_gemma_geglu(void *ctx, float *gate, const float *up, int64_t n)
{
    cpu_ctx *c = ctx;
    if (!c->fusion) {
        ref_gemma_geglu(gate, up, n);
        return;
    }
    int64_t nchunk = (n + GEMMA_GEGLU_CHUNK - 1) / GEMMA_GEGLU_CHUNK;
    int avx2 = USE_AVX2(c);
#pragma omp parallel for if (n >= GEMMA_PAR_MIN)
    for (int64_t b = 0; b < nchunk; b++) {
        int64_t i0 = b * GEMMA_GEGLU_CHUNK, len = n - i0 < GEMMA_GEGLU_CHUNK ? n - i0 : GEMMA_GEGLU_CHUNK;
#ifdef SANA_HAVE_AVX2_KERNELS
        if (avx2) {
            cpu_gemma_geglu_avx2(gate + i0, up + i0, len);
            continue;
        }
#endif
        (void)avx2;
        ref_gemma_geglu(gate + i0, up + i0, len); /* the portable path: ref's libm loop, threaded */
    }
}

/* RoPE: inv_freq and the float32 angle as ref (transformers' default rope), cos/sin once per
 * position for every head; the rotation rounds each product and sum as ref does. */
static void cpu_gemma_rope(void *ctx, float *x, int64_t n, int64_t H, int64_t D, int64_t pos0, float theta)
{
    cpu_ctx *c = ctx;
    int64_t half = D / 2;
    float *inv_freq = malloc((size_t)half * sizeof(float));
    float *cs = malloc((size_t)(n * 2 * half) * sizeof(float) + 1);
    if (!inv_freq || !cs) {
        free(inv_freq);
        free(cs);
        cpu_fail(c, SANA_ERR_NOMEM);
        return;
    }
    for (int64_t i = 0; i < half; i++)
        inv_freq[i] = 1.0f / powf(theta, (float)(2 * i) / (float)D);
    int avx2 = USE_AVX2(c);
#pragma omp parallel for if (n * H * D >= GEMMA_PAR_MIN)
    for (int64_t t = 0; t < n; t++) {
        float pos = (float)(pos0 + t), *co = cs + t * 2 * half, *si = co + half;
        for (int64_t i = 0; i < half; i++) {
            float a = pos * inv_freq[i];
            co[i] = cosf(a);
            si[i] = sinf(a);
        }
        float *xt = x + t * H * D;
#ifdef SANA_HAVE_AVX2_KERNELS
        if (avx2) {
            cpu_gemma_rope_row_avx2(xt, co, si, H, D);
            continue;
        }
#endif
        (void)avx2;
        for (int64_t h = 0; h < H; h++) {
            float *xa = xt + h * D, *xb = xa + half;
            for (int64_t i = 0; i < half; i++) {
                float x1 = xa[i], x2 = xb[i];
                xa[i] = x1 * co[i] - x2 * si[i];
                xb[i] = x2 * co[i] + x1 * si[i];
            }
        }
    }
    free(inv_freq);
    free(cs);
}

/* ------------------------------------------------------------ attention */

/* One call of gemma_attention: its arguments and what the blocks share. */
typedef struct {
    float *out;
    const float *q, *k, *v;
    const int32_t *mask;
    int64_t nq, q0, nk, Hq, Hkv, D, window;
    float scale, cap;
    const float *kp, *vp; /* [Hkv, nkp, D]: k and v of each kv head packed contiguous (keys 0 .. nkp-1) */
    int64_t nkp;
    const float *vmean; /* [Hkv, D]: mean of v over all nk keys (eager's empty rows); NULL: zeros */
} gattn;

/* Keys allowed to the query at position p (before the padding mask): [*lo, *hi]. */
static void key_range(const gattn *a, int64_t p, int64_t *lo, int64_t *hi)
{
    *lo = a->window > 0 && p - a->window + 1 > 0 ? p - a->window + 1 : 0;
    *hi = p < a->nk - 1 ? p : a->nk - 1;
}

/* Narrow [*lo, *hi] to its first and last unmasked key (empty: *lo > *hi). */
static void trim_masked(const gattn *a, int64_t *lo, int64_t *hi)
{
    if (!a->mask)
        return;
    while (*lo <= *hi && !a->mask[*lo])
        (*lo)++;
    while (*hi >= *lo && !a->mask[*hi])
        (*hi)--;
}

#ifdef SANA_HAVE_AVX2_KERNELS
/* Scores s[0 .. n) of one query row over its keys lo .. lo+n-1, in place: the softmax of the allowed
 * keys (scaled, soft-capped), 0 for the masked ones; the lanes of each step are counted from lo, so
 * the bits are fixed by the row and its keys. */
static void softmax_row(const gattn *a, float *s, int64_t lo, int64_t n)
{
    const int32_t *m = a->mask ? a->mask + lo : NULL;
    cpu_gemma_logits_avx2(s, n, a->scale, a->cap);
    for (int64_t j = 0; m && j < n; j++)
        if (!m[j]) s[j] = -INFINITY;
    float sum = cpu_gemma_exp_sum_avx2(s, n, cpu_gemma_max_avx2(s, n));
    for (int64_t j = 0; j < n; j++)
        s[j] = s[j] / sum;
}

/* Query row i of the kv group g: its query heads two at a time (they share the keys), each over
 * exactly the keys the row may see. S: 2 * nk floats of scratch. Nothing here depends on the other
 * rows of the call, on nk, or on the thread: the row-exact contract of ref_gemma.h. */
static void attn_row(const gattn *a, int64_t g, int64_t i, float *S)
{
    int64_t lo, hi, Hq = a->Hq, Hkv = a->Hkv, D = a->D, group = Hq / Hkv;
    key_range(a, a->q0 + i, &lo, &hi);
    trim_masked(a, &lo, &hi);
    const int64_t n = hi - lo + 1, ld = D;
    const float *kg = a->kp + (g * a->nkp + lo) * D, *vg = a->vp + (g * a->nkp + lo) * D;
    for (int64_t h = g * group; h < (g + 1) * group; h += 2) {
        const int two = h + 1 < (g + 1) * group;
        float *o0 = a->out + (i * Hq + h) * D, *o1 = two ? o0 + D : NULL;
        if (n <= 0) {
            /* No allowed key: eager's uniform mean of v, sdpa's zeros (see ref_gemma.h). */
            for (int r = 0; r <= two; r++) {
                if (a->vmean)
                    memcpy(o0 + r * D, a->vmean + g * D, (size_t)D * sizeof(float));
                else
                    memset(o0 + r * D, 0, (size_t)D * sizeof(float));
            }
            continue;
        }
        const float *q0 = a->q + (i * Hq + h) * D;
        float *s1 = two ? S + a->nk : NULL;
        cpu_gemma_scores_avx2(S, s1, q0, two ? q0 + D : NULL, kg, ld, n, D);
        softmax_row(a, S, lo, n);
        if (s1)
            softmax_row(a, s1, lo, n);
        cpu_gemma_pv_avx2(o0, o1, S, s1, vg, ld, n, D);
    }
}
#endif

/* 1 when some query of the call has no allowed key (then eager needs the mean of v). */
static int has_empty_row(const gattn *a)
{
    for (int64_t i = 0; i < a->nq; i++) {
        int64_t lo, hi;
        key_range(a, a->q0 + i, &lo, &hi);
        trim_masked(a, &lo, &hi);
        if (lo > hi)
            return 1;
    }
    return 0;
}

/* vm[g, :] = sum_j v[j, g, :] / nk, the row ref's uniform softmax gives (eager's empty rows). */
static void v_mean(float *vm, const float *v, int64_t nk, int64_t Hkv, int64_t D)
{
    float u = 1.0f / (float)nk;
    memset(vm, 0, (size_t)(Hkv * D) * sizeof(float));
    for (int64_t j = 0; j < nk; j++)
        for (int64_t e = 0; e < Hkv * D; e++)
            vm[e] += u * v[j * Hkv * D + e];
}

static void cpu_gemma_attention(void *ctx, float *out, const float *q, const float *k, const float *v,
                                const int32_t *key_mask, int64_t nq, int64_t q0, int64_t nk, int64_t Hq,
                                int64_t Hkv, int64_t D, float scale, float softcap, int64_t window, int eager_rows)
{
    cpu_ctx *c = ctx;
    /* The portable path is ref's operator (row-exact too, ref_gemma.h). */
    if (!c->fusion || !USE_AVX2(c) || D % 8 != 0) {
        ref_gemma_attention(out, q, k, v, key_mask, nq, q0, nk, Hq, Hkv, D, scale, softcap, window, eager_rows);
        return;
    }
#ifdef SANA_HAVE_AVX2_KERNELS
    if (nq <= 0)
        return;
    /* Keys no row sees (beyond the last query) are never read. */
    const int64_t nkp = q0 + nq < nk ? q0 + nq : nk, ntask = nq * Hkv;
    gattn a = {out, q, k, v, key_mask, nq, q0, nk, Hq, Hkv, D, window, scale, softcap, NULL, NULL, nkp, NULL};
    int par = ntask > 1 && nq * nk * Hq * D >= GEMMA_ATTN_PAR_MIN, nt = par ? max_threads() : 1;
    int need_mean = eager_rows && has_empty_row(&a);
    /* The calling thread's scratch (kept across calls: no page faults once the shapes repeat),
     * shared by the team of the one region below. */
    const int64_t ls = (2 * nk + 15) / 16 * 16 + 16; /* a thread's scores, whole cache lines apart */
    float *S = cpu_scratch(2, (int64_t)nt * ls);
    float *kv = cpu_scratch(1, 2 * Hkv * nkp * D);
    float *vm = need_mean ? malloc((size_t)(Hkv * D) * sizeof(float)) : NULL;
    if (!S || !kv || (need_mean && !vm)) {
        free(vm);
        cpu_fail(c, SANA_ERR_NOMEM);
        return;
    }
    if (vm)
        v_mean(vm, v, nk, Hkv, D);
    a.vmean = vm;
    a.kp = kv;
    a.vp = kv + Hkv * nkp * D;
    /* Each kv head's keys and values contiguous: in [nk, Hkv, D] a head's rows lie Hkv * D floats
     * apart (4 KB at Gemma-2-2B), which maps them onto a few cache sets. A copy: no bits change. */
    for (int64_t j = 0; j < nkp; j++)
        for (int64_t g = 0; g < Hkv; g++) {
            memcpy(kv + (g * nkp + j) * D, k + (j * Hkv + g) * D, (size_t)D * sizeof(float));
            memcpy(kv + ((Hkv + g) * nkp + j) * D, v + (j * Hkv + g) * D, (size_t)D * sizeof(float));
        }
#pragma omp parallel num_threads(nt) if (par)
    {
        float *St = S + (size_t)thread_num() * (size_t)ls;
        /* One kv head after the other (its keys stay in cache), heaviest rows (the last queries see
         * the most keys) first; every output row is written by one task in a fixed order, so the
         * bits do not depend on the schedule or the thread count. */
#pragma omp for schedule(dynamic, GEMMA_ATTN_CHUNK)
        for (int64_t t = 0; t < ntask; t++)
            attn_row(&a, t / nq, nq - 1 - t % nq, St);
    }
    free(vm);
#endif
}

void cpu_fill_gemma(sana_backend *be, cpu_ctx *c)
{
    CPU_SET(be, c, gemma_embed, cpu_gemma_embed);
    CPU_SET(be, c, gemma_rms_norm, cpu_gemma_rms_norm);
    CPU_SET(be, c, gemma_geglu, cpu_gemma_geglu);
    CPU_SET(be, c, gemma_rope, cpu_gemma_rope);
    CPU_SET(be, c, gemma_attention, cpu_gemma_attention);
}
