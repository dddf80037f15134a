/* accel/cpu/cpu_core_avx2.c -- AVX2 + FMA kernels of the core ops (compiled with AVX2_CFLAGS, called
 * only when cpu_ctx.avx2 is set): activations with a vector exp, LayerNorm / RMSNorm rows, and the
 * 16-bit weight product for few rows. Each has a portable equivalent in cpu_core.c. */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "accel/cpu/cpu_avx2.h"
#include "accel/cpu/cpu_avx2_math.h"
#include "core/weight.h"

void cpu_silu_avx2(float *y, const float *x, int64_t n)
{
    const __m256 one = _mm256_set1_ps(1.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256 e = cpu_exp256(_mm256_sub_ps(_mm256_setzero_ps(), v));
        _mm256_storeu_ps(y + i, _mm256_div_ps(v, _mm256_add_ps(one, e)));
    }
    for (; i < n; i++) y[i] = x[i] / (1.0f + expf(-x[i]));
}

/* 0.5 v (1 + tanh(u)) = v / (1 + exp(-2u)), u = sqrt(2/pi) (v + 0.044715 v^3) */
void cpu_gelu_tanh_avx2(float *y, const float *x, int64_t n)
{
    const float k = 0.7978845608028654f;
    const __m256 one = _mm256_set1_ps(1.0f), m2k = _mm256_set1_ps(-2.0f * k), c = _mm256_set1_ps(0.044715f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256 u = _mm256_fmadd_ps(_mm256_mul_ps(c, v), _mm256_mul_ps(v, v), v);
        __m256 e = cpu_exp256(_mm256_mul_ps(m2k, u));
        _mm256_storeu_ps(y + i, _mm256_div_ps(v, _mm256_add_ps(one, e)));
    }
    for (; i < n; i++) {
        float v = x[i];
        y[i] = 0.5f * v * (1.0f + tanhf(k * (v + 0.044715f * v * v * v)));
    }
}

float cpu_exp_sub_sum_avx2(float *p, int64_t n, float mx)
{
    const __m256 m = _mm256_set1_ps(mx);
    __m256 s = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 e = cpu_exp256(_mm256_sub_ps(_mm256_loadu_ps(p + i), m));
        _mm256_storeu_ps(p + i, e);
        s = _mm256_add_ps(s, e);
    }
    float sum = cpu_hsum256(s);
    for (; i < n; i++) {
        p[i] = expf(p[i] - mx);
        sum += p[i];
    }
    return sum;
}

/* sum_i (x_i - sub)^p over n floats, p = 1 or 2, in 2 accumulators of 8 lanes then the tail: a
 * fixed order. */
static float row_sum(const float *x, int64_t n, float sub, int sq)
{
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    const __m256 s = _mm256_set1_ps(sub);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(x + i), s), d1 = _mm256_sub_ps(_mm256_loadu_ps(x + i + 8), s);
        a0 = sq ? _mm256_fmadd_ps(d0, d0, a0) : _mm256_add_ps(a0, d0);
        a1 = sq ? _mm256_fmadd_ps(d1, d1, a1) : _mm256_add_ps(a1, d1);
    }
    float t = cpu_hsum256(_mm256_add_ps(a0, a1));
    for (; i < n; i++) t += sq ? (x[i] - sub) * (x[i] - sub) : x[i] - sub;
    return t;
}

void cpu_layer_norm_row_avx2(float *y, const float *x, const float *w, const float *b, const float *scale,
                             const float *shift, int64_t C, float eps)
{
    const float mean = row_sum(x, C, 0.0f, 0) / (float)C;
    const float var = row_sum(x, C, mean, 1) / (float)C;
    const float inv = (float)(1.0 / sqrt((double)var + (double)eps));
    const __m256 vm = _mm256_set1_ps(mean), vi = _mm256_set1_ps(inv), one = _mm256_set1_ps(1.0f);
    int64_t c = 0;
    for (; c + 8 <= C; c += 8) {
        __m256 v = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + c), vm), vi);
        if (w) v = _mm256_mul_ps(v, _mm256_loadu_ps(w + c));
        if (b) v = _mm256_add_ps(v, _mm256_loadu_ps(b + c));
        if (scale) v = _mm256_fmadd_ps(v, _mm256_add_ps(one, _mm256_loadu_ps(scale + c)), _mm256_loadu_ps(shift + c));
        _mm256_storeu_ps(y + c, v);
    }
    for (; c < C; c++) {
        float v = (x[c] - mean) * inv;
        if (w) v *= w[c];
        if (b) v += b[c];
        if (scale) v = v * (1.0f + scale[c]) + shift[c];
        y[c] = v;
    }
}

void cpu_rms_norm_row_avx2(float *y, const float *x, const float *w, int64_t C, float eps)
{
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= C; i += 16) {
        __m256 v0 = _mm256_loadu_ps(x + i), v1 = _mm256_loadu_ps(x + i + 8);
        a0 = _mm256_fmadd_ps(v0, v0, a0);
        a1 = _mm256_fmadd_ps(v1, v1, a1);
    }
    float ss = cpu_hsum256(_mm256_add_ps(a0, a1));
    for (; i < C; i++) ss += x[i] * x[i];
    const float inv = (float)(1.0 / sqrt((double)ss / (double)C + (double)eps));
    const __m256 vi = _mm256_set1_ps(inv);
    int64_t c = 0;
    for (; c + 8 <= C; c += 8) {
        __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + c), vi);
        if (w) v = _mm256_mul_ps(v, _mm256_loadu_ps(w + c));
        _mm256_storeu_ps(y + c, v);
    }
    for (; c < C; c++) y[c] = w ? (x[c] * inv) * w[c] : x[c] * inv;
}

/* nb (<= 4) rows of a 16-bit weight, K each, into wbuf rows of Kp floats (zero padded, zero rows). */
static void load_rows16(float *wbuf, const uint16_t *w, int bf16, int64_t nb, int64_t K, int64_t Kp)
{
    memset(wbuf, 0, (size_t)(4 * Kp) * sizeof(float));
    for (int64_t r = 0; r < nb; r++) {
        if (bf16) cpu_bf16_to_f32_avx2(wbuf + r * Kp, w + r * K, K);
        else cpu_f16_to_f32_avx2(wbuf + r * Kp, w + r * K, K);
    }
}

/* acc[j][i] = x_j . w_i over Kp (j < 3 rows of x, i < 4 rows of w); the x tail beyond K is masked. */
static void dot3x4(float out[3][4], const float *x0, const float *x1, const float *x2, const float *wb, int64_t K,
                   int64_t Kp)
{
    __m256 acc[3][4];
    for (int j = 0; j < 3; j++)
        for (int i = 0; i < 4; i++) acc[j][i] = _mm256_setzero_ps();
    const float *xs[3] = {x0, x1, x2};
    int64_t k = 0;
    for (; k + 8 <= K; k += 8) {
        __m256 w0 = _mm256_loadu_ps(wb + k), w1 = _mm256_loadu_ps(wb + Kp + k);
        __m256 w2 = _mm256_loadu_ps(wb + 2 * Kp + k), w3 = _mm256_loadu_ps(wb + 3 * Kp + k);
        for (int j = 0; j < 3; j++) {
            __m256 xv = _mm256_loadu_ps(xs[j] + k);
            acc[j][0] = _mm256_fmadd_ps(xv, w0, acc[j][0]);
            acc[j][1] = _mm256_fmadd_ps(xv, w1, acc[j][1]);
            acc[j][2] = _mm256_fmadd_ps(xv, w2, acc[j][2]);
            acc[j][3] = _mm256_fmadd_ps(xv, w3, acc[j][3]);
        }
    }
    if (k < K) {
        int32_t mk[8];
        for (int t = 0; t < 8; t++) mk[t] = k + t < K ? -1 : 0;
        const __m256i m = _mm256_loadu_si256((const __m256i *)mk);
        for (int j = 0; j < 3; j++) {
            __m256 xv = _mm256_maskload_ps(xs[j] + k, m);
            for (int i = 0; i < 4; i++) acc[j][i] = _mm256_fmadd_ps(xv, _mm256_loadu_ps(wb + i * Kp + k), acc[j][i]);
        }
    }
    for (int j = 0; j < 3; j++)
        for (int i = 0; i < 4; i++) out[j][i] = cpu_hsum256(acc[j][i]);
}

void cpu_linear16_avx2(float *y, int64_t ldy, const float *x, const uint16_t *w, int bf16, int64_t M, int64_t K,
                       int64_t n0, int64_t n1, float *wbuf)
{
    const int64_t Kp = (K + 7) / 8 * 8;
    for (int64_t n = n0; n < n1; n += 4) {
        const int64_t nb = n1 - n < 4 ? n1 - n : 4;
        load_rows16(wbuf, w + n * K, bf16, nb, K, Kp);
        for (int64_t m = 0; m < M; m += 3) {
            const int64_t mb = M - m < 3 ? M - m : 3;
            const float *x0 = x + m * K, *x1 = mb > 1 ? x0 + K : x0, *x2 = mb > 2 ? x0 + 2 * K : x0;
            float out[3][4];
            dot3x4(out, x0, x1, x2, wbuf, K, Kp);
            for (int64_t j = 0; j < mb; j++)
                for (int64_t i = 0; i < nb; i++) y[(m + j) * ldy + n + i] += out[j][i];
        }
    }
}
