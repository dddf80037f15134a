/* src/core/weight.h -- element types and weight tensors: what every layer, ref/ included, shares.
 *
 * A weight is passed to operators in its checkpoint dtype (sana_wt, usually memory-mapped);
 * the converters here (src/core/dtype.c) are the one place where dtypes become float32.
 */
#ifndef SANA_CORE_WEIGHT_H
#define SANA_CORE_WEIGHT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Element types of safetensors files (the names of the safetensors format). */
typedef enum {
    SANA_F32 = 0,
    SANA_F16,
    SANA_BF16,
    SANA_F64,
    SANA_I64,
    SANA_I32,
    SANA_I16,
    SANA_I8,
    SANA_U8,
    SANA_BOOL,
    SANA_FILE_DTYPE_COUNT, /* the dtypes above are the safetensors ones; those below exist only in memory */
    /* Quantized weights (src/core/quant.c, doc/quantization.md). A quantized safetensors file stores their
     * data as I8 / U8 with a F32 scale tensor next to it; the loader puts the two back together. */
    SANA_Q8 = SANA_FILE_DTYPE_COUNT, /* int8, symmetric, one scale per row (output channel): w = q * scale[row] */
    SANA_Q4,     /* 4 bits, symmetric, one scale per group of SANA_Q4_GROUP values of a row: w = (q - 8) * scale;
                  * two values per byte, the even one in the low nibble; rows are whole groups */
    SANA_PACKED, /* a backend's private layout (prepare_weight): only that backend's ops read it */
    SANA_DTYPE_COUNT
} sana_dtype;

/* Values per scale of SANA_Q4: 32, as ggml's q4_0 (doc/quantization.md: 64 measured worse, and every
 * matrix of the SANA family has rows of a multiple of 32). */
#define SANA_Q4_GROUP 32

/* Bytes per element of a dtype (file dtypes and Q8; 0 for Q4 and PACKED, see sana_wt_bytes). */
size_t sana_dtype_size(sana_dtype t);
/* The safetensors name of a dtype ("F32", "BF16", ...). */
const char *sana_dtype_name(sana_dtype t);

/*
 * A weight tensor as it lies in the checkpoint: data in its file dtype
 * (memory-mapped, possibly unaligned), row-major, with its shape.
 * A NULL sana_wt pointer means "absent" (e.g. a linear layer without bias).
 */
#define SANA_MAX_DIMS 8
typedef struct {
    const void *data;
    sana_dtype dtype;
    int ndim;
    int64_t shape[SANA_MAX_DIMS];
    const float *scale; /* Q8: [shape[0]]; Q4: [shape[0], cols / SANA_Q4_GROUP]; NULL otherwise */
} sana_wt;

/* The shape a weight must have, written SHP(d0, d1, ...): SHP(D, C, 3, 3) is {ndim 4, {D, C, 3, 3}}. */
typedef struct {
    int ndim;
    int64_t dim[SANA_MAX_DIMS];
} sana_shape;
#define SHP(...) ((sana_shape){(int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), {__VA_ARGS__}})

/* Number of elements of a weight. */
int64_t sana_wt_numel(const sana_wt *w);
/* Bytes of a weight's data (scales not included; 0 for PACKED). */
size_t sana_wt_bytes(const sana_wt *w);
/* Rows and columns of a weight seen as a matrix [shape[0], numel / shape[0]]. */
int64_t sana_wt_rows(const sana_wt *w);
int64_t sana_wt_cols(const sana_wt *w);
/* A sana_wt over a float32 host array (for tests and activations used as weights). */
sana_wt sana_wt_f32(const float *data, int ndim, const int64_t *shape);

/* Scalar conversions (IEEE half, bfloat16) used by every loader. */
float sana_f16_to_f32(uint16_t h);
float sana_bf16_to_f32(uint16_t h);
uint16_t sana_f32_to_f16(float f);   /* round to nearest even */
uint16_t sana_f32_to_bf16(float f);  /* round to nearest even, as torch does */

/*
 * dst[0..n) = float32(src elements [start, start+n)) of any floating or
 * integer dtype. Reads through memcpy, so src may be unaligned.
 */
void sana_convert_f32(float *dst, const void *src, sana_dtype t, int64_t start, int64_t n);

/*
 * dst[0..n) = float32 elements [start, start+n) of a weight of any dtype, quantized ones dequantized
 * with their scales (the one dequantizer: ref's quantized ops are this, then the float32 op).
 * PACKED weights give NaN.
 */
void sana_wt_range_f32(float *dst, const sana_wt *w, int64_t start, int64_t n);

/*
 * The one place where weights are converted: float32 copy of rows
 * [r0, r0+nr) of a weight viewed as [rows, cols] (cols = numel / shape[0]).
 */
void sana_wt_rows_f32(float *dst, const sana_wt *w, int64_t r0, int64_t nr);

/*
 * Float32 copy (malloc'd, caller frees) of the first n elements of an optional
 * weight: NULL when w is NULL (absent bias/affine) or on out of memory.
 * For the small per-channel parameters (biases, norm weights, tables).
 */
float *sana_wt_vec_f32(const sana_wt *w, int64_t n);

/*
 * Float32 view of a whole weight: returns w->data when it is float32 and
 * 4-byte aligned (no copy, *owned = NULL); otherwise converts into a new
 * buffer that the caller frees (*owned = that buffer). NULL on out of memory.
 */
const float *sana_wt_f32_view(const sana_wt *w, float **owned);

#ifdef __cplusplus
}
#endif
#endif
