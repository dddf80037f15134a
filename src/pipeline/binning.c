/* src/pipeline/binning.c -- aspect-ratio bins, resize-and-crop, postprocess; see binning.h. */
#include "pipeline/binning.h"

#include <math.h>
#include <stdlib.h>

/* The aspect-ratio tables of diffusers v0.35.2 as {height/width, height, width}, in the
 * tables' own order (classify keeps the first of equally near entries, so order matters).
 * ASPECT_RATIO_512_BIN and _1024_BIN: pipelines/pixart_alpha/pipeline_pixart_alpha.py;
 * _2048_BIN: pipelines/pixart_alpha/pipeline_pixart_sigma.py; _4096_BIN: pipelines/sana/pipeline_sana.py. */
static const sana_bin bins_512[] = {
    {0.25, 256, 1024}, {0.28, 256, 928}, {0.32, 288, 896},
    {0.33, 288, 864}, {0.35, 288, 832}, {0.4, 320, 800},
    {0.42, 320, 768}, {0.48, 352, 736}, {0.5, 352, 704},
    {0.52, 352, 672}, {0.57, 384, 672}, {0.6, 384, 640},
    {0.68, 416, 608}, {0.72, 416, 576}, {0.78, 448, 576},
    {0.82, 448, 544}, {0.88, 480, 544}, {0.94, 480, 512},
    {1.0, 512, 512}, {1.07, 512, 480}, {1.13, 544, 480},
    {1.21, 544, 448}, {1.29, 576, 448}, {1.38, 576, 416},
    {1.46, 608, 416}, {1.67, 640, 384}, {1.75, 672, 384},
    {2.0, 704, 352}, {2.09, 736, 352}, {2.4, 768, 320},
    {2.5, 800, 320}, {3.0, 864, 288}, {4.0, 1024, 256},
};
static const sana_bin bins_1024[] = {
    {0.25, 512, 2048}, {0.28, 512, 1856}, {0.32, 576, 1792},
    {0.33, 576, 1728}, {0.35, 576, 1664}, {0.4, 640, 1600},
    {0.42, 640, 1536}, {0.48, 704, 1472}, {0.5, 704, 1408},
    {0.52, 704, 1344}, {0.57, 768, 1344}, {0.6, 768, 1280},
    {0.68, 832, 1216}, {0.72, 832, 1152}, {0.78, 896, 1152},
    {0.82, 896, 1088}, {0.88, 960, 1088}, {0.94, 960, 1024},
    {1.0, 1024, 1024}, {1.07, 1024, 960}, {1.13, 1088, 960},
    {1.21, 1088, 896}, {1.29, 1152, 896}, {1.38, 1152, 832},
    {1.46, 1216, 832}, {1.67, 1280, 768}, {1.75, 1344, 768},
    {2.0, 1408, 704}, {2.09, 1472, 704}, {2.4, 1536, 640},
    {2.5, 1600, 640}, {3.0, 1728, 576}, {4.0, 2048, 512},
};
static const sana_bin bins_2048[] = {
    {0.25, 1024, 4096}, {0.26, 1024, 3968}, {0.27, 1024, 3840},
    {0.28, 1024, 3712}, {0.32, 1152, 3584}, {0.33, 1152, 3456},
    {0.35, 1152, 3328}, {0.4, 1280, 3200}, {0.42, 1280, 3072},
    {0.48, 1408, 2944}, {0.5, 1408, 2816}, {0.52, 1408, 2688},
    {0.57, 1536, 2688}, {0.6, 1536, 2560}, {0.68, 1664, 2432},
    {0.72, 1664, 2304}, {0.78, 1792, 2304}, {0.82, 1792, 2176},
    {0.88, 1920, 2176}, {0.94, 1920, 2048}, {1.0, 2048, 2048},
    {1.07, 2048, 1920}, {1.13, 2176, 1920}, {1.21, 2176, 1792},
    {1.29, 2304, 1792}, {1.38, 2304, 1664}, {1.46, 2432, 1664},
    {1.67, 2560, 1536}, {1.75, 2688, 1536}, {2.0, 2816, 1408},
    {2.09, 2944, 1408}, {2.4, 3072, 1280}, {2.5, 3200, 1280},
    {2.89, 3328, 1152}, {3.0, 3456, 1152}, {3.11, 3584, 1152},
    {3.62, 3712, 1024}, {3.75, 3840, 1024}, {3.88, 3968, 1024},
    {4.0, 4096, 1024},
};
static const sana_bin bins_4096[] = {
    {0.25, 2048, 8192}, {0.26, 2048, 7936}, {0.27, 2048, 7680},
    {0.28, 2048, 7424}, {0.32, 2304, 7168}, {0.33, 2304, 6912},
    {0.35, 2304, 6656}, {0.4, 2560, 6400}, {0.42, 2560, 6144},
    {0.48, 2816, 5888}, {0.5, 2816, 5632}, {0.52, 2816, 5376},
    {0.57, 3072, 5376}, {0.6, 3072, 5120}, {0.68, 3328, 4864},
    {0.72, 3328, 4608}, {0.78, 3584, 4608}, {0.82, 3584, 4352},
    {0.88, 3840, 4352}, {0.94, 3840, 4096}, {1.0, 4096, 4096},
    {1.07, 4096, 3840}, {1.13, 4352, 3840}, {1.21, 4352, 3584},
    {1.29, 4608, 3584}, {1.38, 4608, 3328}, {1.46, 4864, 3328},
    {1.67, 5120, 3072}, {1.75, 5376, 3072}, {2.0, 5632, 2816},
    {2.09, 5888, 2816}, {2.4, 6144, 2560}, {2.5, 6400, 2560},
    {2.89, 6656, 2304}, {3.0, 6912, 2304}, {3.11, 7168, 2304},
    {3.62, 7424, 2048}, {3.75, 7680, 2048}, {3.88, 7936, 2048},
    {4.0, 8192, 2048},
};

#define NBINS(t) ((int)(sizeof(t) / sizeof((t)[0])))

const sana_bin *sana_bin_table(int sample_size, int *n)
{
    switch (sample_size) {
    case 128: *n = NBINS(bins_4096); return bins_4096;
    case 64: *n = NBINS(bins_2048); return bins_2048;
    case 32: *n = NBINS(bins_1024); return bins_1024;
    case 16: *n = NBINS(bins_512); return bins_512;
    default:
        *n = 0;
        sana_err(SANA_ERR_UNSUPPORTED,
                 "resolution binning needs a transformer sample_size of 16, 32, 64 or 128, not %d "
                 "(turn binning off)", sample_size);
        return NULL;
    }
}

void sana_bin_classify(const sana_bin *table, int n, int height, int width, int *bin_height, int *bin_width)
{
    double ar = (double)height / (double)width;
    int best = 0;
    for (int i = 1; i < n; i++)
        if (fabs(table[i].ratio - ar) < fabs(table[best].ratio - ar)) best = i;
    *bin_height = table[best].height;
    *bin_width = table[best].width;
}

/* Source index and weights of one output coordinate, as PyTorch's CPU upsample kernel
 * computes them in float (aten/src/ATen/native/UpSample.h: area_pixel_compute_scale,
 * area_pixel_compute_source_index, guard_index_and_lambda): scale = in/out,
 * src = max(scale * (i + 0.5) - 0.5, 0) (one fused multiply-add in the x86-64 build of
 * torch 2.9, which we reproduce with fmaf: a separately rounded product differs by an ulp of src), i0 = min(floor(src), in - 1), i1 = i0 + (i0 < in - 1),
 * l1 = clamp(src - i0, 0, 1), l0 = 1 - l1; an unchanged size copies. */
static void linear_indices(int64_t *i0, int64_t *i1, float *l0, float *l1, int64_t in, int64_t out)
{
    float scale = (float)in / (float)out;
    for (int64_t i = 0; i < out; i++) {
        if (in == out) {
            i0[i] = i1[i] = i;
            l0[i] = 1.0f;
            l1[i] = 0.0f;
            continue;
        }
        float src = fmaf(scale, (float)i + 0.5f, -0.5f);
        if (src < 0.0f) src = 0.0f;
        int64_t k = (int64_t)floorf(src);
        if (k > in - 1) k = in - 1;
        float lam = src - (float)k;
        if (lam < 0.0f) lam = 0.0f;
        if (lam > 1.0f) lam = 1.0f;
        i0[i] = k;
        i1[i] = k + (k < in - 1 ? 1 : 0);
        l1[i] = lam;
        l0[i] = 1.0f - lam;
    }
}

void sana_interpolate_bilinear(float *out, const float *in, int64_t N, int64_t H, int64_t W, int64_t oh,
                               int64_t ow)
{
    int64_t *hi0 = malloc(sizeof(int64_t) * (size_t)(2 * oh + 2 * ow));
    float *hl = malloc(sizeof(float) * (size_t)(2 * oh + 2 * ow));
    if (!hi0 || !hl) abort(); /* a few KB; treated like a failed stack allocation */
    int64_t *hi1 = hi0 + oh, *wi0 = hi0 + 2 * oh, *wi1 = wi0 + ow;
    float *hl0 = hl, *hl1 = hl + oh, *wl0 = hl + 2 * oh, *wl1 = wl0 + ow;
    linear_indices(hi0, hi1, hl0, hl1, H, oh);
    linear_indices(wi0, wi1, wl0, wl1, W, ow);
    for (int64_t n = 0; n < N; n++) {
        const float *x = in + n * H * W;
        float *y = out + n * oh * ow;
        for (int64_t i = 0; i < oh; i++) {
            const float *r0 = x + hi0[i] * W, *r1 = x + hi1[i] * W;
            for (int64_t j = 0; j < ow; j++) {
                /* the order of PyTorch's Interpolate<2>: along W inside, then H outside,
                 * each t0 * w0 + t1 * w1 contracted to fma(t0, w0, t1 * w1) as its build does */
                float t0 = fmaf(r0[wi0[j]], wl0[j], r0[wi1[j]] * wl1[j]);
                float t1 = fmaf(r1[wi0[j]], wl0[j], r1[wi1[j]] * wl1[j]);
                y[i * ow + j] = fmaf(t0, hl0[i], t1 * hl1[i]);
            }
        }
    }
    free(hi0);
    free(hl);
}

sana_status sana_resize_and_crop(float *out, const float *in, int64_t B, int64_t C, int64_t H, int64_t W,
                                 int64_t new_h, int64_t new_w)
{
    if (H == new_h && W == new_w) {
        for (int64_t i = 0; i < B * C * H * W; i++) out[i] = in[i];
        return SANA_OK;
    }
    /* ratio and the truncating int() in double, as Python computes them */
    double rh = (double)new_h / (double)H, rw = (double)new_w / (double)W;
    double ratio = rh > rw ? rh : rw;
    int64_t rwid = (int64_t)((double)W * ratio), rhei = (int64_t)((double)H * ratio);
    /* The side that sets the ratio can come out one short: int(416 * (15 / 416)) = 14, and about 2% of
     * the asked sizes do so (333x500 on a 512px model: int(608 * (500 / 608)) = 499). diffusers then
     * slices [-1 : new-1] and returns an image 1 pixel high or wide; we resize to the asked side
     * instead, the size it means to cover. */
    if (rwid < new_w) rwid = new_w;
    if (rhei < new_h) rhei = new_h;
    float *tmp = malloc(sizeof(float) * (size_t)(B * C * rhei * rwid));
    if (!tmp) return sana_err(SANA_ERR_NOMEM, "resize_and_crop: out of memory");
    sana_interpolate_bilinear(tmp, in, B * C, H, W, rhei, rwid);
    int64_t x0 = (rwid - new_w) / 2, y0 = (rhei - new_h) / 2;
    for (int64_t p = 0; p < B * C; p++)
        for (int64_t i = 0; i < new_h; i++)
            for (int64_t j = 0; j < new_w; j++)
                out[(p * new_h + i) * new_w + j] = tmp[(p * rhei + y0 + i) * rwid + x0 + j];
    free(tmp);
    return SANA_OK;
}

/* (x * 0.5 + 0.5).clamp(0, 1): two float32 roundings, as two torch ops (no fused multiply-add). */
static float denormalize(float x)
{
    volatile float h = x * 0.5f;
    float v = h + 0.5f;
    if (!(v >= 0.0f)) v = 0.0f; /* torch.clamp keeps NaN; a NaN pixel becomes 0 in uint8 either way */
    if (v > 1.0f) v = 1.0f;
    return v;
}

void sana_postprocess_f32(float *out, const float *in, int64_t B, int64_t C, int64_t H, int64_t W)
{
    for (int64_t b = 0; b < B; b++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t p = 0; p < H * W; p++)
                out[(b * H * W + p) * C + c] = denormalize(in[(b * C + c) * H * W + p]);
}

void sana_postprocess_u8(uint8_t *out, const float *in, int64_t B, int64_t C, int64_t H, int64_t W)
{
    for (int64_t b = 0; b < B; b++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t p = 0; p < H * W; p++) {
                volatile float s = denormalize(in[(b * C + c) * H * W + p]) * 255.0f;
                /* numpy round: half to even, which rintf does in the default rounding mode */
                out[(b * H * W + p) * C + c] = (uint8_t)rintf(s);
            }
}
