/* src/core/quant.c -- float weights to SANA_Q8 / SANA_Q4, once (see quant.h). */
#include "core/quant.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

size_t sana_wt_scale_bytes(const sana_wt *w)
{
    if (w->dtype == SANA_Q8) return (size_t)sana_wt_rows(w) * sizeof(float);
    if (w->dtype == SANA_Q4) return (size_t)(sana_wt_rows(w) * (sana_wt_cols(w) / SANA_Q4_GROUP)) * sizeof(float);
    return 0;
}

/* rintf for |v| < 2^22 (ties to even, the default rounding mode) as a plain expression: inlined and
 * vectorised, where rintf is a libm call on baseline x86-64. */
static inline float round_even(float v)
{
    const float magic = 12582912.0f; /* 1.5 * 2^23 */
    return (v + magic) - magic;
}

/* One row of Q8: scale and values. */
static void q8_row(int8_t *q, float *scale, const float *x, int64_t n)
{
    float amax = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        const float a = x[i] < 0.0f ? -x[i] : x[i];
        amax = a > amax ? a : amax;
    }
    const float s = amax / 127.0f;
    *scale = s;
    for (int64_t i = 0; i < n; i++) {
        float v = s > 0.0f ? round_even(x[i] / s) : 0.0f; /* |x / s| <= 127 */
        q[i] = (int8_t)(int)(v > 127.0f ? 127.0f : v < -127.0f ? -127.0f : v);
    }
}

/* One row of Q4: a scale per group, two values per byte (even index in the low nibble). */
static void q4_row(unsigned char *q, float *scale, const float *x, int64_t n)
{
    for (int64_t g = 0; g < n / SANA_Q4_GROUP; g++) {
        const float *xg = x + g * SANA_Q4_GROUP;
        float m = 0.0f;
        for (int i = 0; i < SANA_Q4_GROUP; i++)
            if (fabsf(xg[i]) > fabsf(m)) m = xg[i];
        const float d = m / -8.0f;
        scale[g] = d;
        for (int i = 0; i < SANA_Q4_GROUP; i += 2) {
            int v[2];
            for (int j = 0; j < 2; j++) {
                float t = d != 0.0f ? round_even(xg[i + j] / d) : 0.0f; /* |x / d| <= 8 */
                v[j] = (int)fminf(fmaxf(t, -8.0f), 7.0f) + 8;
            }
            q[(g * SANA_Q4_GROUP + i) / 2] = (unsigned char)(v[0] | v[1] << 4);
        }
    }
}

sana_status sana_quantize(const sana_wt *in, sana_dtype type, sana_wt *out, void **own)
{
    *own = NULL;
    if (type != SANA_Q8 && type != SANA_Q4)
        return sana_err(SANA_ERR_ARG, "quantize: %s is not a quantized type", sana_dtype_name(type));
    const int64_t rows = sana_wt_rows(in), cols = sana_wt_cols(in);
    if (type == SANA_Q4 && cols % SANA_Q4_GROUP)
        return sana_err(SANA_ERR_ARG, "quantize: q4 needs rows of a multiple of %d values, not %lld", SANA_Q4_GROUP,
                        (long long)cols);
    *out = *in;
    out->dtype = type;
    const size_t nb = sana_wt_bytes(out), ns = sana_wt_scale_bytes(out), off = (nb + 63) / 64 * 64;
    unsigned char *buf = malloc(off + ns + 1);
    if (!buf) return sana_err(SANA_ERR_NOMEM, "quantize: cannot allocate %.1f MiB", (double)(off + ns) / 1048576.0);
    float *scale = (float *)(buf + off);
    if (in->dtype == type) { /* already quantized: a copy */
        memcpy(buf, in->data, nb);
        memcpy(scale, in->scale, ns);
    } else {
        int failed = 0;
#pragma omp parallel
        {
            float *row = malloc((size_t)(cols > 0 ? cols : 1) * sizeof(float));
            if (!row) {
#pragma omp atomic write
                failed = 1;
            }
#pragma omp for schedule(static)
            for (int64_t r = 0; r < rows; r++) {
                if (!row) continue;
                sana_wt_rows_f32(row, in, r, 1);
                if (type == SANA_Q8) q8_row((int8_t *)buf + r * cols, scale + r, row, cols);
                else q4_row(buf + r * cols / 2, scale + r * (cols / SANA_Q4_GROUP), row, cols);
            }
            free(row);
        }
        if (failed) {
            free(buf);
            return sana_err(SANA_ERR_NOMEM, "quantize: out of memory");
        }
    }
    out->data = buf;
    out->scale = scale;
    *own = buf;
    return SANA_OK;
}

int sana_quant_parse(const char *name, sana_quant *out)
{
    if (!strcmp(name, "int8")) *out = SANA_Q8;
    else if (!strcmp(name, "q4")) *out = SANA_Q4;
    else if (!strcmp(name, "none")) *out = SANA_F32;
    else return -1;
    return 0;
}

const char *sana_quant_name(sana_quant q) { return q == SANA_Q8 ? "int8" : q == SANA_Q4 ? "q4" : "none"; }
