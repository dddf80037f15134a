/* src/core/quant.h -- quantized weights: float weights to SANA_Q8 / SANA_Q4 (doc/quantization.md).
 *
 * Quantization happens once, at load (sana_model_weight, for `--quantize`) or in `sana convert`;
 * dequantization is sana_wt_range_f32 (core/weight.h), the oracle every quantized kernel is tested
 * against.
 */
#ifndef SANA_CORE_QUANT_H
#define SANA_CORE_QUANT_H

#include "core/status.h"
#include "core/weight.h"

/* Which weights of a model are quantized at load, and to what (SANA_Q8 or SANA_Q4; SANA_F32: none). */
typedef sana_dtype sana_quant;

/*
 * *out = in (any float dtype, or already quantized: then copied as it is) quantized to type
 * (SANA_Q8 or SANA_Q4), seen as a matrix [rows, cols]:
 *   Q8: per row, scale = max |w| / 127, q = rint(w / scale) in [-127, 127];
 *   Q4: per group of SANA_Q4_GROUP values of a row, d = the value of largest magnitude / -8,
 *       q = rint(w / d) clamped to [-8, 7], stored as q + 8 (16 levels, the extreme one exact).
 * A zero row or group has scale 0 (its values dequantize to 0). *own receives the one buffer
 * holding data and scales (caller frees). SANA_ERR_ARG when type is not a quantized type or a Q4
 * row is not whole groups; SANA_ERR_NOMEM.
 */
sana_status sana_quantize(const sana_wt *in, sana_dtype type, sana_wt *out, void **own);

/* Bytes of the scales of a quantized weight (0 for other dtypes). */
size_t sana_wt_scale_bytes(const sana_wt *w);

/* Whether type names a quantization ("int8" -> SANA_Q8, "q4" -> SANA_Q4, "none"/"f32" -> SANA_F32);
 * -1 when unknown. */
int sana_quant_parse(const char *name, sana_quant *out);
/* "int8", "q4" or "none". */
const char *sana_quant_name(sana_quant q);

#endif
