/* accel/cpu/cpu_core.c -- the cpu backend's kernels of the core ops (src/backend/ops/core.def). */
#include "accel/cpu/cpu.h"

void cpu_fill_core(sana_backend *be, cpu_ctx *c)
{
    (void)be;
    (void)c;
}
