/* accel/cpu/cpu_gemma.c -- the cpu backend's kernels of the gemma ops (src/backend/ops/gemma.def). */
#include "accel/cpu/cpu.h"

void cpu_fill_gemma(sana_backend *be, cpu_ctx *c)
{
    (void)be;
    (void)c;
}
