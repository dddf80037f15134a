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
 * OpenMP threshold of the ref/ loops: loops over fewer elements run on one thread.
 * An OpenMP region next to OpenBLAS (Debian's pthread build) costs milliseconds:
 * OpenBLAS's idle threads keep spinning after an sgemm and the OpenMP threads take
 * turns with them (doc/performance.md: ~8 ms per region around a 512x1152x1152 sgemm
 * on a 2-core machine), more than one thread needs for a few million floats.
 * Use it as `#pragma omp parallel for if (n >= REF_OMP_MIN)`.
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
