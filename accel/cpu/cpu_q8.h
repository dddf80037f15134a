/* accel/cpu/cpu_q8.h -- int8 matrix products of the cpu backend (Q8 weights, doc/quantization.md).
 *
 * A Q8 weight [N, K] (int8, a scale per row) is packed once at load into oneDNN's blocked layout
 * for its int8 matmul (cpu_q8_pack; a SANA_PACKED sana_wt whose data is a cpu_q8w). A product
 * quantizes the activations per row on the fly (symmetric int8, scale max|x| / 127), multiplies
 * int8 x int8 with 32-bit sums (VNNI where the CPU has it), and scales back in float32:
 *   y[m, n] = sum_k qx[m, k] qw[n, k] * sx[m] * sw[n] + b[n]
 * The sums are exact integers, so a row's result does not depend on how many rows the call has
 * (the text encoder's cached prefix relies on that). Built with oneDNN only (SANA_HAVE_DNNL);
 * without it Q8 weights stay as they are and cpu_linear dequantizes them into sgemm panels.
 */
#ifndef SANA_ACCEL_CPU_Q8_H
#define SANA_ACCEL_CPU_Q8_H

#include <stddef.h>
#include <stdint.h>
#include "core/status.h"
#include "core/weight.h"

/* The packed weight: what a SANA_PACKED sana_wt of this backend points to. */
typedef struct {
    int64_t N, K;
    float *scale; /* [N] */
    void *data;   /* oneDNN's blocked int8 layout (with its compensation) */
    size_t bytes;
    unsigned char md[]; /* the oneDNN memory descriptor of data */
} cpu_q8w;

/* 1 when the int8 matmul runs here (oneDNN built in and working). */
int cpu_q8_available(void);
/* *out = q8 (a SANA_Q8 weight [N, K]) packed; *bytes what it costs. SANA_ERR_UNSUPPORTED when the
 * int8 matmul is not available here (the caller keeps q8 as it is). */
sana_status cpu_q8_pack(const sana_wt *q8, sana_wt *out, size_t *bytes);
void cpu_q8_release(sana_wt *packed);

/*
 * y = x W^T + b for a packed W [N, K], on strided x and y: x[m, k] at x[m * xm + k * xk], y[m, n]
 * at y[m * ym + n * yn] (a row-major linear: xm = K, xk = 1, ym = N, yn = 1; GLUMBConv's
 * channel-major 1x1 convolution: xm = 1, xk = M, ym = 1, yn = M). bias: N floats or NULL.
 * avx2: the AVX2 passes may run (cpu_ctx.avx2; the same bits). 0 on success, -1 out of memory,
 * -2 oneDNN failed or a layout other than those two.
 */
int cpu_q8_matmul(float *y, int64_t ym, int64_t yn, const float *x, int64_t xm, int64_t xk, const cpu_q8w *w,
                  const float *bias, int64_t M, int avx2);

#endif
