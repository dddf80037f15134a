/*
 * src/core/dtype.c -- element types and the one place where weights become float32.
 *
 * Checkpoint tensors stay in their file dtype (F32, F16, BF16) inside the
 * mmap. Operators ask for float32 rows with sana_wt_rows_f32() just before
 * use; nothing else converts weights. Reads go through memcpy because
 * safetensors data offsets need not be aligned.
 */
#include "core/weight.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct { const char *name; size_t size; } dtype_info[SANA_DTYPE_COUNT] = {
    [SANA_F32] = {"F32", 4},  [SANA_F16] = {"F16", 2}, [SANA_BF16] = {"BF16", 2},
    [SANA_F64] = {"F64", 8},  [SANA_I64] = {"I64", 8}, [SANA_I32] = {"I32", 4},
    [SANA_I16] = {"I16", 2},  [SANA_I8] = {"I8", 1},   [SANA_U8] = {"U8", 1},
    [SANA_BOOL] = {"BOOL", 1},
    [SANA_Q8] = {"Q8", 1},    [SANA_Q4] = {"Q4", 0},   [SANA_PACKED] = {"PACKED", 0},
};

size_t sana_dtype_size(sana_dtype t) { return (unsigned)t < SANA_DTYPE_COUNT ? dtype_info[t].size : 0; }
const char *sana_dtype_name(sana_dtype t) { return (unsigned)t < SANA_DTYPE_COUNT ? dtype_info[t].name : "?"; }

int64_t sana_wt_numel(const sana_wt *w)
{
    int64_t n = 1;
    for (int i = 0; i < w->ndim; i++)
        n *= w->shape[i];
    return n;
}

size_t sana_wt_bytes(const sana_wt *w)
{
    const int64_t n = sana_wt_numel(w);
    if (w->dtype == SANA_Q4) return (size_t)(n + 1) / 2;
    return (size_t)n * sana_dtype_size(w->dtype);
}

int64_t sana_wt_rows(const sana_wt *w) { return w->ndim > 0 ? w->shape[0] : 1; }

int64_t sana_wt_cols(const sana_wt *w)
{
    const int64_t r = sana_wt_rows(w);
    return r > 0 ? sana_wt_numel(w) / r : 0;
}

sana_wt sana_wt_f32(const float *data, int ndim, const int64_t *shape)
{
    sana_wt w;
    memset(&w, 0, sizeof w);
    w.data = data;
    w.dtype = SANA_F32;
    w.ndim = ndim;
    for (int i = 0; i < ndim && i < SANA_MAX_DIMS; i++)
        w.shape[i] = shape[i];
    return w;
}

/* IEEE 754 binary16 -> binary32, exact (subnormals, inf, nan included). */
float sana_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: man * 2^-24 */
            float f = ldexpf((float)man, -24);
            return (h & 0x8000) ? -f : f;
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* bfloat16 is the top half of a binary32. */
float sana_bf16_to_f32(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t sana_f32_to_bf16(float f)
{
    uint32_t bits;
    memcpy(&bits, &f, 4);
    if ((bits & 0x7fffffffu) > 0x7f800000u) /* NaN: keep it quiet */
        return (uint16_t)((bits >> 16) | 0x40);
    bits += 0x7fffu + ((bits >> 16) & 1); /* round to nearest even */
    return (uint16_t)(bits >> 16);
}

uint16_t sana_f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return (uint16_t)(sign | 0x7e00);            /* NaN */
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00);           /* overflow -> inf (>= 65520) */
    if (ax < 0x38800000u) {                                            /* subnormal or zero in half */
        float a;
        memcpy(&a, &ax, 4);
        /* value / 2^-24, rounded to nearest even by rintf in the default rounding mode */
        return (uint16_t)(sign | (uint32_t)rintf(a * 16777216.0f));
    }
    uint32_t r = ax + 0xfffu + ((ax >> 13) & 1); /* round mantissa to 10 bits, ties to even */
    return (uint16_t)(sign | ((r - 0x38000000u) >> 13));
}

void sana_convert_f32(float *dst, const void *src, sana_dtype t, int64_t start, int64_t n)
{
    const unsigned char *p = (const unsigned char *)src + (size_t)start * sana_dtype_size(t);
    switch (t) {
    case SANA_F32:
        memcpy(dst, p, (size_t)n * 4);
        break;
    case SANA_F16:
    case SANA_BF16:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            dst[i] = t == SANA_F16 ? sana_f16_to_f32(h) : sana_bf16_to_f32(h);
        }
        break;
    case SANA_F64:
        for (int64_t i = 0; i < n; i++) { double v; memcpy(&v, p + 8 * i, 8); dst[i] = (float)v; }
        break;
    case SANA_I64:
        for (int64_t i = 0; i < n; i++) { int64_t v; memcpy(&v, p + 8 * i, 8); dst[i] = (float)v; }
        break;
    case SANA_I32:
        for (int64_t i = 0; i < n; i++) { int32_t v; memcpy(&v, p + 4 * i, 4); dst[i] = (float)v; }
        break;
    case SANA_I16:
        for (int64_t i = 0; i < n; i++) { int16_t v; memcpy(&v, p + 2 * i, 2); dst[i] = (float)v; }
        break;
    case SANA_I8:
        for (int64_t i = 0; i < n; i++) dst[i] = (float)(int8_t)p[i];
        break;
    case SANA_U8:
    case SANA_BOOL:
        for (int64_t i = 0; i < n; i++) dst[i] = (float)p[i];
        break;
    default:
        for (int64_t i = 0; i < n; i++) dst[i] = NAN;
    }
}

/* Elements [start, start+n) of a quantized weight: q * its row's (Q8) or group's (Q4) scale. Whole
 * rows or groups at a time where the range allows (the common case), element by element at its ends. */
static void dequant(float *dst, const sana_wt *w, int64_t start, int64_t n)
{
    const unsigned char *p = w->data;
    const int64_t cols = sana_wt_cols(w);
    if (cols <= 0) return;
    const int64_t unit = w->dtype == SANA_Q8 ? cols : SANA_Q4_GROUP; /* values per scale */
    int64_t i = 0;
    while (i < n) {
        const int64_t e = start + i, u = e / unit, off = e % unit;
        const float s = w->scale[u]; /* Q4: groups are numbered row by row, as the scales lie */
        int64_t len = unit - off;
        if (len > n - i) len = n - i;
        if (w->dtype == SANA_Q8) {
            const int8_t *q = (const int8_t *)p + e;
            for (int64_t j = 0; j < len; j++) dst[i + j] = (float)q[j] * s;
        } else if (off == 0 && len == SANA_Q4_GROUP) {
            const unsigned char *q = p + e / 2;
            for (int j = 0; j < SANA_Q4_GROUP / 2; j++) {
                dst[i + 2 * j] = (float)((q[j] & 15) - 8) * s;
                dst[i + 2 * j + 1] = (float)((q[j] >> 4) - 8) * s;
            }
        } else {
            for (int64_t j = 0; j < len; j++)
                dst[i + j] = (float)(((p[(e + j) / 2] >> (4 * ((e + j) & 1))) & 15) - 8) * s;
        }
        i += len;
    }
}

void sana_wt_range_f32(float *dst, const sana_wt *w, int64_t start, int64_t n)
{
    if (w->dtype == SANA_Q8 || w->dtype == SANA_Q4) dequant(dst, w, start, n);
    else sana_convert_f32(dst, w->data, w->dtype, start, n);
}

void sana_wt_rows_f32(float *dst, const sana_wt *w, int64_t r0, int64_t nr)
{
    const int64_t cols = sana_wt_cols(w);
    sana_wt_range_f32(dst, w, r0 * cols, nr * cols);
}

float *sana_wt_vec_f32(const sana_wt *w, int64_t n)
{
    if (!w) return NULL;
    float *v = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    if (v) sana_wt_range_f32(v, w, 0, n);
    return v;
}

const float *sana_wt_f32_view(const sana_wt *w, float **owned)
{
    *owned = NULL;
    if (w->dtype == SANA_F32 && ((uintptr_t)w->data % sizeof(float)) == 0)
        return (const float *)w->data;
    int64_t n = sana_wt_numel(w);
    float *buf = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    if (!buf) return NULL;
    sana_wt_range_f32(buf, w, 0, n);
    *owned = buf;
    return buf;
}
