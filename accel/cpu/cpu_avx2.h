/* accel/cpu/cpu_avx2.h -- the kernels compiled with AVX2_CFLAGS (files *_avx2.c). Call them only
 * when cpu_ctx.avx2 is set; each has a portable equivalent. */
#ifndef SANA_ACCEL_CPU_AVX2_H
#define SANA_ACCEL_CPU_AVX2_H

#include <stdint.h>

/* dst[0..n) = float32 of n bfloat16 / IEEE half values at src (unaligned). */
void cpu_bf16_to_f32_avx2(float *dst, const void *src, int64_t n);
void cpu_f16_to_f32_avx2(float *dst, const void *src, int64_t n);

#endif
