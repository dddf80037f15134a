/* accel/cpu/cpu_gemma_avx2.c -- row kernels of the Gemma-2 text encoder with AVX2 + FMA (compiled
 * with AVX2_CFLAGS; called by accel/cpu/cpu_gemma.c only when cpu_ctx.avx2 is set, which keeps a
 * portable path beside each).
 *
 * exp is cpu_exp256 (cpu_avx2_math.h) and tanh Cephes' tanhf on top of it: about 2 ulp from the
 * correctly rounded value, against libm's <= 1.
 * Every element goes through the same vector code: a ragged tail is copied into an 8-lane buffer,
 * so the bits of an element never depend on where a row or a thread's slice begins.
 * Products and sums are written out as separate multiplies and adds (no FMA) where the ref
 * operator rounds them separately, so RMSNorm and RoPE give ref's bits.
 */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "accel/cpu/cpu_avx2.h"
#include "accel/cpu/cpu_avx2_math.h"

/* tanh(x) in float32 (Cephes tanhf): an odd polynomial for |x| < 0.625, else
 * 1 - 2 / (exp(2|x|) + 1) with the sign of x. */
static inline __m256 tanh8(__m256 x)
{
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 ax = _mm256_andnot_ps(sign, x);
    __m256 z = _mm256_mul_ps(x, x);
    __m256 p = _mm256_set1_ps(-5.70498872745e-3f);
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(2.06390887954e-2f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-5.37397155531e-2f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(1.33314422036e-1f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-3.33332819422e-1f));
    __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, z), x, x);
    __m256 e = cpu_exp256(_mm256_add_ps(ax, ax));
    __m256 big = _mm256_sub_ps(_mm256_set1_ps(1.0f), _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, _mm256_set1_ps(1.0f))));
    big = _mm256_or_ps(big, _mm256_and_ps(sign, x));
    return _mm256_blendv_ps(big, small, _mm256_cmp_ps(ax, _mm256_set1_ps(0.625f), _CMP_LT_OQ));
}

/* gelu_tanh(g) * u. 0.5 g (1 + tanh(a)) = g / (1 + exp(-2a)): one exp, no cancellation. */
static inline __m256 geglu8(__m256 g, __m256 u)
{
    const __m256 k = _mm256_set1_ps(0.7978845608028654f), c = _mm256_set1_ps(0.044715f);
    __m256 g3 = _mm256_mul_ps(_mm256_mul_ps(g, g), g);
    __m256 a = _mm256_mul_ps(k, _mm256_fmadd_ps(c, g3, g));
    __m256 e = cpu_exp256(_mm256_mul_ps(_mm256_set1_ps(-2.0f), a));
    return _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), e)), u);
}

void cpu_gemma_geglu_avx2(float *gate, const float *up, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(gate + i, geglu8(_mm256_loadu_ps(gate + i), _mm256_loadu_ps(up + i)));
    if (i < n) {
        float g[8] = {0}, u[8] = {0};
        memcpy(g, gate + i, (size_t)(n - i) * sizeof(float));
        memcpy(u, up + i, (size_t)(n - i) * sizeof(float));
        _mm256_storeu_ps(g, geglu8(_mm256_loadu_ps(g), _mm256_loadu_ps(u)));
        memcpy(gate + i, g, (size_t)(n - i) * sizeof(float));
    }
}

/* s[j] = s[j] * scale, then cap * tanh(s[j] / cap) when cap > 0 (ref's order of roundings). */
static inline __m256 logit8(__m256 s, __m256 scale, float cap)
{
    s = _mm256_mul_ps(s, scale);
    if (cap > 0.0f)
        s = _mm256_mul_ps(tanh8(_mm256_div_ps(s, _mm256_set1_ps(cap))), _mm256_set1_ps(cap));
    return s;
}

void cpu_gemma_logits_avx2(float *s, int64_t n, float scale, float cap)
{
    const __m256 sc = _mm256_set1_ps(scale);
    int64_t j = 0;
    for (; j + 8 <= n; j += 8)
        _mm256_storeu_ps(s + j, logit8(_mm256_loadu_ps(s + j), sc, cap));
    if (j < n) {
        float t[8] = {0};
        memcpy(t, s + j, (size_t)(n - j) * sizeof(float));
        _mm256_storeu_ps(t, logit8(_mm256_loadu_ps(t), sc, cap));
        memcpy(s + j, t, (size_t)(n - j) * sizeof(float));
    }
}

float cpu_gemma_max_avx2(const float *s, int64_t n)
{
    __m256 m = _mm256_set1_ps(-INFINITY);
    int64_t j = 0;
    for (; j + 8 <= n; j += 8)
        m = _mm256_max_ps(m, _mm256_loadu_ps(s + j));
    float t[8];
    _mm256_storeu_ps(t, m);
    float r = -INFINITY;
    for (int l = 0; l < 8; l++)
        r = t[l] > r ? t[l] : r;
    for (; j < n; j++)
        r = s[j] > r ? s[j] : r;
    return r;
}

/* s[j] = exp(s[j] - mx) (0 for -inf), and their sum: 8 lanes, then the lanes in order. */
float cpu_gemma_exp_sum_avx2(float *s, int64_t n, float mx)
{
    const __m256 m = _mm256_set1_ps(mx);
    __m256 acc = _mm256_setzero_ps();
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256 e = cpu_exp256(_mm256_sub_ps(_mm256_loadu_ps(s + j), m));
        _mm256_storeu_ps(s + j, e);
        acc = _mm256_add_ps(acc, e);
    }
    if (j < n) {
        float t[8];
        for (int l = 0; l < 8; l++)
            t[l] = j + l < n ? s[j + l] : -INFINITY;
        __m256 e = cpu_exp256(_mm256_sub_ps(_mm256_loadu_ps(t), m));
        _mm256_storeu_ps(t, e);
        memcpy(s + j, t, (size_t)(n - j) * sizeof(float));
        acc = _mm256_add_ps(acc, e);
    }
    return cpu_hsum256(acc);
}

double cpu_gemma_sumsq_avx2(const float *x, int64_t n)
{
    __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256d lo = _mm256_cvtps_pd(_mm_loadu_ps(x + i)), hi = _mm256_cvtps_pd(_mm_loadu_ps(x + i + 4));
        a0 = _mm256_fmadd_pd(lo, lo, a0);
        a1 = _mm256_fmadd_pd(hi, hi, a1);
    }
    double t[4];
    _mm256_storeu_pd(t, _mm256_add_pd(a0, a1));
    double s = (t[0] + t[1]) + (t[2] + t[3]);
    for (; i < n; i++)
        s += (double)x[i] * (double)x[i];
    return s;
}

void cpu_gemma_norm_row_avx2(float *y, const float *x, const float *w1, const float *res, float inv, int64_t n)
{
    const __m256 iv = _mm256_set1_ps(inv);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), iv), _mm256_loadu_ps(w1 + i));
        if (res)
            v = _mm256_add_ps(_mm256_loadu_ps(res + i), v);
        _mm256_storeu_ps(y + i, v);
    }
    for (; i < n; i++) {
        float v = (x[i] * inv) * w1[i];
        y[i] = res ? res[i] + v : v;
    }
}

void cpu_gemma_rope_row_avx2(float *x, const float *c, const float *s, int64_t H, int64_t D)
{
    int64_t half = D / 2;
    for (int64_t h = 0; h < H; h++) {
        float *a = x + h * D, *b = a + half;
        int64_t i = 0;
        for (; i + 8 <= half; i += 8) {
            __m256 x1 = _mm256_loadu_ps(a + i), x2 = _mm256_loadu_ps(b + i);
            __m256 cc = _mm256_loadu_ps(c + i), ss = _mm256_loadu_ps(s + i);
            _mm256_storeu_ps(a + i, _mm256_sub_ps(_mm256_mul_ps(x1, cc), _mm256_mul_ps(x2, ss)));
            _mm256_storeu_ps(b + i, _mm256_add_ps(_mm256_mul_ps(x2, cc), _mm256_mul_ps(x1, ss)));
        }
        for (; i < half; i++) {
            float x1 = a[i], x2 = b[i];
            a[i] = x1 * c[i] - x2 * s[i];
            b[i] = x2 * c[i] + x1 * s[i];
        }
    }
}

void cpu_gemma_scale_avx2(float *y, int64_t n, float a)
{
    const __m256 av = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(y + i), av));
    for (; i < n; i++)
        y[i] = y[i] * a;
}

/* One score: q . k over D (D % 8 == 0) as 8 lanes (lane l sums the elements d = l mod 8 with FMA,
 * d ascending), then cpu_hsum256. Every score of the attention kernel is this function of its
 * q and k rows, whichever tile computes it. */
static inline float dot1(const float *q, const float *k, int64_t D)
{
    __m256 a = _mm256_setzero_ps();
    for (int64_t d = 0; d < D; d += 8)
        a = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), _mm256_loadu_ps(k + d), a);
    return cpu_hsum256(a);
}

void cpu_gemma_scores_avx2(float *s0, float *s1, const float *q0, const float *q1, const float *k, int64_t ld,
                           int64_t n, int64_t D)
{
    int64_t j = 0;
    if (q1) {
        /* Two queries x 4 keys: 8 independent lanes of the same dot1 arithmetic. */
        for (; j + 4 <= n; j += 4) {
            const float *k0 = k + j * ld, *k1 = k0 + ld, *k2 = k1 + ld, *k3 = k2 + ld;
            __m256 a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a03 = a00;
            __m256 a10 = a00, a11 = a00, a12 = a00, a13 = a00;
            for (int64_t d = 0; d < D; d += 8) {
                __m256 x0 = _mm256_loadu_ps(q0 + d), x1 = _mm256_loadu_ps(q1 + d);
                __m256 y = _mm256_loadu_ps(k0 + d);
                a00 = _mm256_fmadd_ps(x0, y, a00);
                a10 = _mm256_fmadd_ps(x1, y, a10);
                y = _mm256_loadu_ps(k1 + d);
                a01 = _mm256_fmadd_ps(x0, y, a01);
                a11 = _mm256_fmadd_ps(x1, y, a11);
                y = _mm256_loadu_ps(k2 + d);
                a02 = _mm256_fmadd_ps(x0, y, a02);
                a12 = _mm256_fmadd_ps(x1, y, a12);
                y = _mm256_loadu_ps(k3 + d);
                a03 = _mm256_fmadd_ps(x0, y, a03);
                a13 = _mm256_fmadd_ps(x1, y, a13);
            }
            s0[j] = cpu_hsum256(a00), s0[j + 1] = cpu_hsum256(a01);
            s0[j + 2] = cpu_hsum256(a02), s0[j + 3] = cpu_hsum256(a03);
            s1[j] = cpu_hsum256(a10), s1[j + 1] = cpu_hsum256(a11);
            s1[j + 2] = cpu_hsum256(a12), s1[j + 3] = cpu_hsum256(a13);
        }
        for (; j < n; j++) {
            s0[j] = dot1(q0, k + j * ld, D);
            s1[j] = dot1(q1, k + j * ld, D);
        }
        return;
    }
    for (; j + 4 <= n; j += 4) {
        const float *k0 = k + j * ld, *k1 = k0 + ld, *k2 = k1 + ld, *k3 = k2 + ld;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int64_t d = 0; d < D; d += 8) {
            __m256 x = _mm256_loadu_ps(q0 + d);
            a0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(k0 + d), a0);
            a1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(k1 + d), a1);
            a2 = _mm256_fmadd_ps(x, _mm256_loadu_ps(k2 + d), a2);
            a3 = _mm256_fmadd_ps(x, _mm256_loadu_ps(k3 + d), a3);
        }
        s0[j] = cpu_hsum256(a0), s0[j + 1] = cpu_hsum256(a1);
        s0[j + 2] = cpu_hsum256(a2), s0[j + 3] = cpu_hsum256(a3);
    }
    for (; j < n; j++)
        s0[j] = dot1(q0, k + j * ld, D);
}

void cpu_gemma_pv_avx2(float *o0, float *o1, const float *p0, const float *p1, const float *v, int64_t ld,
                       int64_t n, int64_t D)
{
    /* o[d] = fma chain over the keys j ascending from 0: per element, so the d tiling (32 floats
     * of each output at a time: 8 accumulators) does not change its bits. */
    for (int64_t d = 0; d < D; d += 32) {
        const int64_t w = D - d < 32 ? D - d : 32; /* 8, 16, 24 or 32 */
        __m256 a[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
        __m256 b[4] = {a[0], a[0], a[0], a[0]};
        if (w == 32 && o1) {
            for (int64_t j = 0; j < n; j++) {
                const float *vj = v + j * ld + d;
                __m256 x0 = _mm256_set1_ps(p0[j]), x1 = _mm256_set1_ps(p1[j]);
                __m256 y0 = _mm256_loadu_ps(vj), y1 = _mm256_loadu_ps(vj + 8);
                __m256 y2 = _mm256_loadu_ps(vj + 16), y3 = _mm256_loadu_ps(vj + 24);
                a[0] = _mm256_fmadd_ps(x0, y0, a[0]);
                a[1] = _mm256_fmadd_ps(x0, y1, a[1]);
                a[2] = _mm256_fmadd_ps(x0, y2, a[2]);
                a[3] = _mm256_fmadd_ps(x0, y3, a[3]);
                b[0] = _mm256_fmadd_ps(x1, y0, b[0]);
                b[1] = _mm256_fmadd_ps(x1, y1, b[1]);
                b[2] = _mm256_fmadd_ps(x1, y2, b[2]);
                b[3] = _mm256_fmadd_ps(x1, y3, b[3]);
            }
        } else {
            for (int64_t j = 0; j < n; j++) {
                const float *vj = v + j * ld + d;
                __m256 x0 = _mm256_set1_ps(p0[j]), x1 = _mm256_set1_ps(o1 ? p1[j] : 0.0f);
                for (int64_t c = 0; c < w / 8; c++) {
                    __m256 y = _mm256_loadu_ps(vj + 8 * c);
                    a[c] = _mm256_fmadd_ps(x0, y, a[c]);
                    b[c] = _mm256_fmadd_ps(x1, y, b[c]);
                }
            }
        }
        for (int64_t c = 0; c < w / 8; c++) {
            _mm256_storeu_ps(o0 + d + 8 * c, a[c]);
            if (o1)
                _mm256_storeu_ps(o1 + d + 8 * c, b[c]);
        }
    }
}
