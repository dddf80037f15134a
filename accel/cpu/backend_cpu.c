/* accel/cpu/backend_cpu.c -- the cpu backend's table: memory, weights, threads, errors, and the
 * families of kernels (see cpu.h). */
#include "config.h"
#include "accel/cpu/cpu.h"

#include <stdlib.h>
#include <string.h>

static cpu_ctx cpu;

void cpu_fail(cpu_ctx *c, sana_status st)
{
    if (c->error == SANA_OK) c->error = st;
}

/* Activations are 64-byte aligned host buffers, as ref's. */
static void *cpu_alloc(void *ctx, size_t n)
{
    (void)ctx;
    size_t sz = (n + 63) / 64 * 64;
    return aligned_alloc(64, sz ? sz : 64);
}
static void cpu_free(void *ctx, void *p) { (void)ctx; free(p); }
static void cpu_copy(void *ctx, void *dst, const void *src, size_t n) { (void)ctx; if (n && dst != src) memmove(dst, src, n); }

static sana_status cpu_sync(void *ctx)
{
    cpu_ctx *c = ctx;
    sana_status st = c->error;
    c->error = SANA_OK;
    return st;
}

static int cpu_supports(void *ctx, sana_op op, sana_dtype wdtype)
{
    const cpu_ctx *c = ctx;
    (void)wdtype;
    return (unsigned)op < SANA_OP_COUNT && c->has[op];
}

static void cpu_set_threads(void *ctx, int n)
{
    cpu_ctx *c = ctx;
    c->threads = n > 0 ? n : 0;
    sana_backend_ref()->set_threads(NULL, n); /* the same OpenMP pool and OpenBLAS */
}

static sana_backend cpu_backend;
static int cpu_ready;

const sana_backend *sana_backend_cpu(void)
{
    if (cpu_ready) return &cpu_backend;
    const sana_backend *ref = sana_backend_ref();
    sana_backend *be = &cpu_backend;
    *be = *ref; /* every slot starts as ref's; the families below take theirs over */
    be->name = "cpu";
    be->description = "tuned CPU kernels (OpenMP, OpenBLAS" ", AVX2 when the CPU has it); ref for the rest";
    be->ctx = &cpu;
    be->alloc = cpu_alloc;
    be->free = cpu_free;
    be->upload = cpu_copy;
    be->download = cpu_copy;
    be->copy = cpu_copy;
    be->synchronize = cpu_sync;
    be->supports_op = cpu_supports;
    be->set_threads = cpu_set_threads;
    const char *f = getenv("SANA_CPU_FUSION");
    cpu.fusion = !(f && !strcmp(f, "0"));
#ifdef SANA_HAVE_AVX2_KERNELS
    cpu.avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#endif
    cpu_fill_core(be, &cpu);
    cpu_fill_conv(be, &cpu);
    cpu_fill_dit(be, &cpu);
    cpu_fill_dcae(be, &cpu);
    cpu_fill_gemma(be, &cpu);
    cpu_ready = 1;
    return be;
}
