/*
 * ref/ -- the reference operators of libsana.
 *
 * This folder is written to be read. Every operator is a short, plain C11
 * function over float32 buffers: output pointers first, then inputs, then
 * sizes. Matrix products go through CBLAS; OpenMP is used only where it is
 * cheap to read. Before each function: the math, the shape of every tensor in
 * diffusers order, the defaults, and the diffusers / transformers class it
 * mirrors. The ref backend (src/backend/backend_ref.c) exposes these functions through
 * the backend table, and every other backend is tested against them.
 *
 * Weights are passed in their checkpoint dtype (sana_wt) and converted to
 * float32 inside the operator, a block at a time, by sana_wt_rows_f32()
 * (src/core/dtype.c): that is the one place where weight conversion happens.
 */
#ifndef SANA_REF_H
#define SANA_REF_H

#include <stddef.h>
#include <stdint.h>

#include "core/weight.h"
#include "backend/ops/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The one tuning constant of ref/: element loops over fewer elements than this run on one
 * thread (`#pragma omp parallel for if (n >= REF_OMP_MIN)`), so that the small tensors of the
 * tests do not pay for a parallel region. Tuned kernels, with their own thresholds, live in
 * accel/cpu.
 */
#define REF_OMP_MIN (1 << 22)

#include "ref_core.h"
#include "ref_dit.h"
#include "ref_dcae.h"
#include "ref_gemma.h"

#ifdef __cplusplus
}
#endif
#endif
