/* accel/cpu/cpu.h -- internals of the cpu backend: its context, and how each family of kernels
 * (cpu_core.c, cpu_conv.c, cpu_dit.c, cpu_dcae.c, cpu_gemma.c) takes over slots of the table.
 *
 * The cpu backend is the ref backend with faster kernels in the slots they fill: host memory,
 * weights prepared once at load (prepare_weight), one OpenMP thread pool shared with OpenBLAS
 * (Debian's OpenMP build), and ISA-specific code (cpu_*_avx2.c, compiled with AVX2_CFLAGS) chosen
 * at run time by cpuid. A slot no family fills runs ref's operator; supports_op says which.
 * SANA_CPU_FUSION=0 in the environment turns the fused kernels off (each falls back to the
 * unfused sequence), so tests can compare the two.
 */
#ifndef SANA_ACCEL_CPU_H
#define SANA_ACCEL_CPU_H

#include "backend/backend.h"

typedef struct {
    int threads;             /* set_threads; 0 = all cores */
    int fusion;              /* 0 when SANA_CPU_FUSION=0 */
    int int8;                /* 0 when SANA_CPU_INT8=0: Q8 weights are not packed for the int8 matmul */
    int pack32;              /* 0 when SANA_CPU_PACK_F32=0 or fusion is off: float32 weights stay plain (sgemm) */
    int avx2;                /* the CPU runs AVX2 + FMA + F16C and the kernels are built */
    sana_status error;       /* sticky: the first failure since the last synchronize */
    unsigned char has[SANA_OP_COUNT]; /* 1: a kernel of this backend fills the slot */
} cpu_ctx;

/* Record a failure of an op (kept until synchronize reads it). */
void cpu_fail(cpu_ctx *c, sana_status st);

/* Each family sets the slots it implements (be->NAME = ...; c->has[SANA_OP_NAME] = 1). */
void cpu_fill_core(sana_backend *be, cpu_ctx *c);
void cpu_fill_dit(sana_backend *be, cpu_ctx *c);
void cpu_fill_dcae(sana_backend *be, cpu_ctx *c);
void cpu_fill_conv(sana_backend *be, cpu_ctx *c); /* conv2d (core.def), in cpu_conv.c */
void cpu_fill_gemma(sana_backend *be, cpu_ctx *c);

/* Set a slot and mark it as this backend's. */
#define CPU_SET(be, c, op, fn) do { (be)->op = (fn); (c)->has[SANA_OP_##op] = 1; } while (0)

#endif
