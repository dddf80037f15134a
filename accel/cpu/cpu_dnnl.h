/* accel/cpu/cpu_dnnl.h -- what the cpu backend's two oneDNN files share (cpu_dnnl.c: convolutions;
 * cpu_dnnl_mm.c: the matmul on packed weights). Built with oneDNN only (SANA_HAVE_DNNL). */
#ifndef SANA_ACCEL_CPU_DNNL_H
#define SANA_ACCEL_CPU_DNNL_H

#include <dnnl.h>

/* *pd = the primitive descriptor of op_desc (a convolution or matmul descriptor) on eng, with a
 * scratchpad the caller provides at execution (one buffer of its own shared by all its primitives,
 * not one per primitive). The status of the first oneDNN call that failed, or dnnl_success. */
dnnl_status_t cpu_dnnl_pd_user_scratchpad(dnnl_primitive_desc_t *pd, const_dnnl_op_desc_t op_desc,
                                          dnnl_engine_t eng);

#endif
