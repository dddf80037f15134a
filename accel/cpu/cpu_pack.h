/* accel/cpu/cpu_pack.h -- matrix products of the cpu backend on weights packed at load for
 * oneDNN's matmul (cpu_dnnl_mm.c; built with oneDNN only, SANA_HAVE_DNNL).
 *
 * A weight W [N, K] of a linear layer or of a GLUMBConv 1x1 convolution is reordered once at load
 * into the blocked layout oneDNN's brgemm matmul picks for it: a SANA_PACKED sana_wt whose data is
 * a cpu_packw. Two kinds:
 * - int8 (Q8 weights, doc/quantization.md): a product quantizes the activations per row on the fly
 *   (symmetric int8, scale max|x| / 127), multiplies int8 x int8 with 32-bit sums (VNNI where the
 *   CPU has it) and scales back in float32:
 *     y[m, n] = sum_k qx[m, k] qw[n, k] * sx[m] * sw[n] + b[n]
 *   The sums are exact integers, so a row's result does not depend on how many rows the call has
 *   (the text encoder's cached prefix relies on that). Without oneDNN Q8 weights stay as they are
 *   and cpu_linear dequantizes them into sgemm panels.
 * - float32 (F32, F16, BF16 weights of the DiT; not the text encoder's, kept COMPACT): the same
 *   y = x W^T + b as sgemm, in oneDNN's blocking of the K-sums. Only where oneDNN runs it with a
 *   brgemm kernel (AVX-512 in oneDNN 2.6; elsewhere the weight stays a plain float32 matrix for
 *   OpenBLAS): at the DiT's shapes here it runs 8-15% above OpenBLAS's sgemm rate, and 3-4x at
 *   the few-row products (timestep modulation). Not row-exact.
 */
#ifndef SANA_ACCEL_CPU_PACK_H
#define SANA_ACCEL_CPU_PACK_H

#include <stddef.h>
#include <stdint.h>
#include "core/status.h"
#include "core/weight.h"

typedef enum { CPU_PACK_S8 = 1, CPU_PACK_F32 = 2 } cpu_pack_kind;

/* The packed weight: what a SANA_PACKED sana_wt of this backend points to. */
typedef struct {
    cpu_pack_kind kind;
    int64_t N, K;
    float *scale; /* [N], int8 only (NULL for float32) */
    void *data;   /* oneDNN's blocked layout (int8: with its compensation) */
    size_t bytes;
    unsigned char md[]; /* the oneDNN memory descriptor of data */
} cpu_packw;

/* *out = q8 (a SANA_Q8 weight [N, K]) packed for the int8 matmul; *bytes what it costs.
 * SANA_ERR_UNSUPPORTED when the int8 matmul is not available here (the caller keeps q8 as it is). */
sana_status cpu_pack_q8(const sana_wt *q8, sana_wt *out, size_t *bytes);
/* *out = the float32 matrix f [N, K] (of weight `in`, whose shape and name it keeps) packed for the
 * float32 matmul; *bytes what it costs. SANA_ERR_UNSUPPORTED when oneDNN has no brgemm kernel for
 * it here (the caller keeps a plain float32 matrix). */
sana_status cpu_pack_f32(const sana_wt *in, const float *f, sana_wt *out, size_t *bytes);
void cpu_pack_release(sana_wt *packed);

/*
 * y = x W^T + b for a packed W [N, K], on strided x and y: x[m, k] at x[m * xm + k * xk], y[m, n]
 * at y[m * ym + n * yn] (a row-major linear: xm = K, xk = 1, ym = N, yn = 1; GLUMBConv's
 * channel-major 1x1 convolution: xm = 1, xk = M, ym = 1, yn = M). bias: N floats or NULL.
 * avx2: the AVX2 passes may run (cpu_ctx.avx2; the same bits). Not inside a parallel region; calls
 * from several threads take turns (one lock: the plans and buffers are the process's).
 * 0 on success, -1 out of memory, -2 oneDNN failed or a layout other than those two.
 */
int cpu_packed_matmul(float *y, int64_t ym, int64_t yn, const float *x, int64_t xm, int64_t xk, const cpu_packw *w,
                      const float *bias, int64_t M, int avx2);

#endif
