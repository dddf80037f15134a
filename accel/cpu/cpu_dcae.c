/* accel/cpu/cpu_dcae.c -- the cpu backend's kernels of the dcae ops (src/backend/ops/dcae.def). */
#include "accel/cpu/cpu.h"

void cpu_fill_dcae(sana_backend *be, cpu_ctx *c)
{
    (void)be;
    (void)c;
}
