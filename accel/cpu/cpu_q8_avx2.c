/* accel/cpu/cpu_q8_avx2.c -- the float32 passes around the int8 matmul (cpu_dnnl_mm.c) with AVX2:
 * a row's quantization and the scaling back. The same bits as the portable loops there: the maximum
 * is exact in any order, cvtps rounds to nearest even as the portable magic-number rounding does,
 * and the scaling is the same two multiplies and one add (no FMA). */
#include "accel/cpu/cpu_avx2.h"

#include <immintrin.h>

float cpu_q8_quantize_row_avx2(int8_t *q, const float *x, int64_t K)
{
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 m = _mm256_setzero_ps();
    int64_t k = 0;
    for (; k + 8 <= K; k += 8) m = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + k)), m);
    float t[8], amax = 0.0f;
    _mm256_storeu_ps(t, m);
    for (int i = 0; i < 8; i++) amax = t[i] > amax ? t[i] : amax;
    for (; k < K; k++) {
        const float a = x[k] < 0.0f ? -x[k] : x[k];
        amax = a > amax ? a : amax;
    }
    const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
    const __m256 vi = _mm256_set1_ps(inv);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (k = 0; k + 32 <= K; k += 32) {
        __m256i a = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + k), vi));
        __m256i b = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + k + 8), vi));
        __m256i c = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + k + 16), vi));
        __m256i d = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + k + 24), vi));
        __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(c, d));
        _mm256_storeu_si256((__m256i *)(q + k), _mm256_permutevar8x32_epi32(p, order));
    }
    const float magic = 12582912.0f;
    for (; k < K; k++) q[k] = (int8_t)(int)((x[k] * inv + magic) - magic);
    return amax;
}

void cpu_q8_scale_row_avx2(float *y, const int32_t *acc, float s, const float *sw, const float *bias, int64_t N)
{
    const __m256 vs = _mm256_set1_ps(s);
    int64_t n = 0;
    for (; n + 8 <= N; n += 8) {
        __m256 v = _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)(acc + n))), vs),
                                 _mm256_loadu_ps(sw + n));
        v = _mm256_add_ps(v, bias ? _mm256_loadu_ps(bias + n) : _mm256_setzero_ps());
        _mm256_storeu_ps(y + n, v);
    }
    for (; n < N; n++) y[n] = (float)acc[n] * s * sw[n] + (bias ? bias[n] : 0.0f);
}
