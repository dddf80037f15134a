/* accel/cpu/cpu_kern.h -- what the core and dit kernels of the cpu backend share (cpu_core.c,
 * cpu_dit.c): the OpenMP threshold, per-thread scratch, float32 views of weights and the
 * linear product they are all built on.
 */
#ifndef SANA_ACCEL_CPU_KERN_H
#define SANA_ACCEL_CPU_KERN_H

#include <stdint.h>
#include "accel/cpu/cpu.h"

/*
 * Thresholds of the OpenMP loops. With Debian's OpenMP build of OpenBLAS our regions and sgemm
 * share one pool, so on an idle machine a region costs a few microseconds. But every region ends
 * in a barrier, and on a loaded machine (other processes on the cores) that barrier waits for a
 * descheduled thread: measured on the shared 2-core machine, modulated_layer_norm at the 600M
 * shape (589k floats) took 0.19 ms on one thread and 5.8 ms as a 2-thread region.
 *   CPU_OMP_MIN        memory-bound loops (norms, residuals, transposes, relu, add): one thread
 *                      below 1M floats, where a second core gains ~0.1 ms at best
 *   CPU_OMP_MIN_HEAVY  compute-bound loops (exp per element, per-head attention, GLUMBConv's
 *                      middle: 10-100 ns per element): parallel from 32k elements
 */
#define CPU_OMP_MIN (1 << 20)
#define CPU_OMP_MIN_HEAVY (1 << 15)

/* Per-thread scratch of n floats for slot (0..CPU_SCRATCH_SLOTS-1) of the calling OpenMP thread,
 * 64-byte aligned; kept and grown across calls (no allocation once the shapes repeat). NULL on
 * out of memory (the caller records SANA_ERR_NOMEM). Not to be held across parallel regions. */
#define CPU_SCRATCH_SLOTS 3 /* 0: cpu_linear's panels; 1, 2: the fused kernels */
float *cpu_scratch(int slot, int64_t n);

/* The float32 data of the first n elements of an optional weight: w->data when it is aligned
 * float32 (as prepare_weight leaves it), else a converted copy in *own (free it); NULL when w is
 * NULL or on out of memory. */
const float *cpu_wt_f32(const sana_wt *w, int64_t n, float **own);

/* y[M, N] = x[M, K] W^T + b (the linear op of this backend, usable by the fused kernels).
 * Called inside a parallel region it runs on the calling thread alone. */
void cpu_linear(void *ctx, float *y, const float *x, const sana_wt *w, const sana_wt *b, int64_t M, int64_t K,
                int64_t N);

/* y = x * sigmoid(x) / gelu_tanh(x) over n floats (y may equal x), vectorised when c->avx2, on the
 * calling thread. */
void cpu_silu_rows(const cpu_ctx *c, float *y, const float *x, int64_t n);
void cpu_gelu_tanh_rows(const cpu_ctx *c, float *y, const float *x, int64_t n);

/* One row of LayerNorm (biased variance) over C, then the optional affine (w, b; NULL: none) and
 * modulation (* (1 + scale) + shift; NULL: none). y may equal x. */
void cpu_layer_norm_row(const cpu_ctx *c, float *y, const float *x, const float *w, const float *b,
                        const float *scale, const float *shift, int64_t C, float eps);

/* Convert n elements of a 16-bit weight (F16 or BF16) at src to float32, in parallel. */
void cpu_convert16(const cpu_ctx *c, float *dst, const void *src, sana_dtype t, int64_t n);

#endif
