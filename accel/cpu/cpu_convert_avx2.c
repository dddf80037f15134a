/* accel/cpu/cpu_convert_avx2.c -- half and bfloat16 rows to float32 with AVX2 + F16C (compiled with
 * AVX2_CFLAGS; called only when cpu_ctx.avx2 says the CPU has them). Bit-exact with
 * sana_convert_f32 (src/core/dtype.c): both conversions are exact. */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "accel/cpu/cpu_avx2.h"
#include "core/weight.h"

void cpu_bf16_to_f32_avx2(float *dst, const void *src, int64_t n)
{
    const uint16_t *s = src;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i h = _mm_loadu_si128((const __m128i *)(s + i));
        __m256i w = _mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16);
        _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(w));
    }
    for (; i < n; i++) {
        uint16_t h;
        memcpy(&h, s + i, 2);
        dst[i] = sana_bf16_to_f32(h);
    }
}

void cpu_f16_to_f32_avx2(float *dst, const void *src, int64_t n)
{
    const uint16_t *s = src;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(s + i))));
    for (; i < n; i++) {
        uint16_t h;
        memcpy(&h, s + i, 2);
        dst[i] = sana_f16_to_f32(h);
    }
}
