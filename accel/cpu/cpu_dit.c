/* accel/cpu/cpu_dit.c -- the cpu backend's kernels of the dit ops (src/backend/ops/dit.def). */
#include "accel/cpu/cpu.h"

void cpu_fill_dit(sana_backend *be, cpu_ctx *c)
{
    (void)be;
    (void)c;
}
