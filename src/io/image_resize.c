/* src/io/image_resize.c -- PIL's Lanczos resize of an RGB image, and the [-1, 1] tensor; see image.h.
 *
 * The resize follows Pillow 13.0's libImaging/Resample.c for 8-bit images (ImagingResampleInner with
 * the LANCZOS filter, box = the whole image), which is what Image.resize((w, h), Image.LANCZOS) runs
 * for mode "RGB". Every double operation is done in the order Pillow does it, since the fixed-point
 * coefficients are rounded from those doubles and one unit of difference can move a pixel by one.
 */
#include "io/image.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Fixed-point coefficients: 32 bits less 8 for the pixel and 2 for the filter's overshoot above
 * 1 and below 0 (Resample.c's PRECISION_BITS). */
#define COEF_BITS 22

/* sin(pi x) / (pi x), 1 at 0 (Resample.c's sinc_filter). */
static double sinc(double x)
{
    if (x == 0.0) return 1.0;
    x = x * 3.14159265358979323846; /* M_PI */
    return sin(x) / x;
}

/* Lanczos-3: sinc(x) sinc(x / 3) on [-3, 3), else 0 (lanczos_filter; support 3). */
static double lanczos3(double x)
{
    if (-3.0 <= x && x < 3.0) return sinc(x) * sinc(x / 3);
    return 0.0;
}

/* The taps of one axis: output i reads `count[i]` inputs from `first[i]` with the fixed-point
 * weights k[i * ksize ..]. PIL: precompute_coeffs then normalize_coeffs_8bpc. */
typedef struct {
    int ksize;
    int *first, *count;
    int32_t *k;
} axis_taps;

static void axis_free(axis_taps *a)
{
    free(a->first);
    free(a->count);
    free(a->k);
    a->first = a->count = NULL;
    a->k = NULL;
}

static sana_status axis_init(axis_taps *a, int in_size, int out_size)
{
    /* box (0, in_size): in0 = 0, in1 = in_size as a float, exact for every allowed size */
    double scale = (double)in_size / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale; /* downscaling widens the filter */
    double support = 3.0 * filterscale;
    int ksize = (int)ceil(support) * 2 + 1;
    a->ksize = ksize;
    a->first = malloc(sizeof *a->first * (size_t)out_size);
    a->count = malloc(sizeof *a->count * (size_t)out_size);
    a->k = malloc(sizeof *a->k * (size_t)out_size * (size_t)ksize);
    double *w = malloc(sizeof *w * (size_t)ksize);
    if (!a->first || !a->count || !a->k || !w) {
        free(w);
        axis_free(a);
        return sana_err(SANA_ERR_NOMEM, "out of memory for the resize coefficients");
    }
    for (int i = 0; i < out_size; i++) {
        double center = 0.0 + (i + 0.5) * scale;
        double ss = 1.0 / filterscale;
        int lo = (int)(center - support + 0.5); /* truncation toward zero, as the C cast */
        if (lo < 0) lo = 0;
        int hi = (int)(center + support + 0.5);
        if (hi > in_size) hi = in_size;
        int n = hi - lo;
        double sum = 0.0;
        for (int x = 0; x < n; x++) {
            w[x] = lanczos3(((double)(x + lo) - center + 0.5) * ss);
            sum += w[x];
        }
        int32_t *k = a->k + (size_t)i * ksize;
        for (int x = 0; x < ksize; x++) {
            double v = x < n ? (sum != 0.0 ? w[x] / sum : w[x]) : 0.0;
            /* rounded half away from zero to 22 fractional bits */
            k[x] = v < 0 ? (int32_t)(-0.5 + v * (1 << COEF_BITS)) : (int32_t)(0.5 + v * (1 << COEF_BITS));
        }
        a->first[i] = lo;
        a->count[i] = n;
    }
    free(w);
    return SANA_OK;
}

/* A fixed-point sum to a pixel: the integer part, clipped to 0..255 (Resample.c's clip8). */
static uint8_t clip8(int32_t s)
{
    if (s < 0) return 0;
    s >>= COEF_BITS;
    return s > 255 ? 255 : (uint8_t)s;
}

/* dst[rows, out_w, 3] from src rows [row0, row0 + rows) of width in_w. */
static void pass_horizontal(uint8_t *dst, const uint8_t *src, int in_w, int row0, int rows, const axis_taps *a,
                            int out_w)
{
#pragma omp parallel for schedule(static)
    for (int y = 0; y < rows; y++) {
        const uint8_t *in = src + (size_t)(row0 + y) * in_w * 3;
        uint8_t *out = dst + (size_t)y * out_w * 3;
        for (int x = 0; x < out_w; x++) {
            const int32_t *k = a->k + (size_t)x * a->ksize;
            const uint8_t *p = in + (size_t)a->first[x] * 3;
            int32_t s0 = 1 << (COEF_BITS - 1), s1 = s0, s2 = s0; /* + 0.5: rounding */
            for (int t = 0; t < a->count[x]; t++) {
                s0 += p[3 * t] * k[t];
                s1 += p[3 * t + 1] * k[t];
                s2 += p[3 * t + 2] * k[t];
            }
            out[3 * x] = clip8(s0);
            out[3 * x + 1] = clip8(s1);
            out[3 * x + 2] = clip8(s2);
        }
    }
}

/* dst[out_h, w, 3] from src[.., w, 3]; output row i reads src rows first[i] - row0 onwards. */
static void pass_vertical(uint8_t *dst, const uint8_t *src, int w, int row0, const axis_taps *a, int out_h)
{
#pragma omp parallel for schedule(static)
    for (int y = 0; y < out_h; y++) {
        const int32_t *k = a->k + (size_t)y * a->ksize;
        const uint8_t *in = src + (size_t)(a->first[y] - row0) * w * 3;
        uint8_t *out = dst + (size_t)y * w * 3;
        size_t stride = (size_t)w * 3;
        for (size_t c = 0; c < stride; c++) {
            int32_t s = 1 << (COEF_BITS - 1);
            for (int t = 0; t < a->count[y]; t++) s += in[t * stride + c] * k[t];
            out[c] = clip8(s);
        }
    }
}

sana_status sana_image_resize_lanczos(uint8_t *dst, int dst_w, int dst_h, const uint8_t *src, int src_w,
                                      int src_h)
{
    if (dst_w < 1 || dst_h < 1 || src_w < 1 || src_h < 1 || dst_w > SANA_IMAGE_MAX_SIDE ||
        dst_h > SANA_IMAGE_MAX_SIDE || src_w > SANA_IMAGE_MAX_SIDE || src_h > SANA_IMAGE_MAX_SIDE)
        return sana_err(SANA_ERR_ARG, "resize %dx%d to %dx%d: sizes must be 1..%d", src_w, src_h, dst_w, dst_h,
                        SANA_IMAGE_MAX_SIDE);
    int need_h = dst_w != src_w, need_v = dst_h != src_h;
    if (!need_h && !need_v) { /* Image.resize returns a copy */
        memcpy(dst, src, (size_t)src_w * src_h * 3);
        return SANA_OK;
    }
    axis_taps ax = {0}, ay = {0};
    sana_status st = axis_init(&ay, src_h, dst_h);
    if (st != SANA_OK) return st;
    if (!need_h) {
        pass_vertical(dst, src, src_w, 0, &ay, dst_h);
        axis_free(&ay);
        return SANA_OK;
    }
    st = axis_init(&ax, src_w, dst_w);
    if (st != SANA_OK) {
        axis_free(&ay);
        return st;
    }
    /* Pillow 13: when the height shrinks by more than twice as many pixels as the width does, the
     * vertical pass runs first (ImagingResampleInner's horizontal_first; Pillow 12 and older always
     * ran the horizontal pass first). The order matters: the intermediate image is rounded to uint8. */
    int horizontal_first = !(src_h - dst_h > 0 && src_h - dst_h > (src_w - dst_w) * 2);
    uint8_t *tmp = NULL;
    if (!need_v) {
        pass_horizontal(dst, src, src_w, 0, src_h, &ax, dst_w);
    } else if (horizontal_first) {
        /* the horizontal pass covers only the rows the vertical pass reads */
        int row0 = ay.first[0], row1 = ay.first[dst_h - 1] + ay.count[dst_h - 1];
        tmp = malloc((size_t)dst_w * (row1 - row0) * 3);
        if (!tmp) {
            st = sana_err(SANA_ERR_NOMEM, "out of memory resizing an image");
        } else {
            pass_horizontal(tmp, src, src_w, row0, row1 - row0, &ax, dst_w);
            pass_vertical(dst, tmp, dst_w, row0, &ay, dst_h);
        }
    } else {
        tmp = malloc((size_t)src_w * dst_h * 3);
        if (!tmp) {
            st = sana_err(SANA_ERR_NOMEM, "out of memory resizing an image");
        } else {
            pass_vertical(tmp, src, src_w, 0, &ay, dst_h);
            pass_horizontal(dst, tmp, src_w, 0, dst_h, &ax, dst_w);
        }
    }
    free(tmp);
    axis_free(&ax);
    axis_free(&ay);
    return st;
}

void sana_image_to_tensor(float *dst, const uint8_t *rgb, int width, int height)
{
    size_t plane = (size_t)width * height;
    for (size_t i = 0; i < plane; i++)
        for (int c = 0; c < 3; c++) {
            float x = (float)rgb[i * 3 + c] / 255.0f; /* pil_to_numpy: float32 / 255.0 stays float32 */
            dst[c * plane + i] = 2.0f * x - 1.0f;     /* normalize, on the float32 tensor */
        }
}
