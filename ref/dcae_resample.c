/*
 * ref/dcae_resample.c -- moves between space and channels: pixel (un)shuffle, nearest
 * upsampling, and the two parameter-free shortcuts of the DC-AE ("residual
 * autoencoding": the up path duplicates channels into space, the down path averages
 * space-to-channel groups).
 *
 * Part of ref/, the reference operators: index arithmetic only, one output element at
 * a time, written the way the formulas in ref_dcae.h read.
 */
#include "ref.h"

/* y[b, c, i*r + u, j*r + v] = x[b, c*r*r + u*r + v, i, j].  torch: F.pixel_shuffle */
void ref_pixel_shuffle(float *y, const float *x, int64_t B, int64_t C, int64_t H, int64_t W, int64_t r)
{
    int64_t Ho = H * r, Wo = W * r;
#pragma omp parallel for collapse(2)
    for (int64_t b = 0; b < B; b++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t oi = 0; oi < Ho; oi++) {
                int64_t i = oi / r, u = oi % r;
                float *yr = y + ((b * C + c) * Ho + oi) * Wo;
                for (int64_t oj = 0; oj < Wo; oj++) {
                    int64_t j = oj / r, v = oj % r, ci = c * r * r + u * r + v;
                    yr[oj] = x[((b * C * r * r + ci) * H + i) * W + j];
                }
            }
}

/* y[b, c*r*r + u*r + v, i, j] = x[b, c, i*r + u, j*r + v].  torch: F.pixel_unshuffle */
void ref_pixel_unshuffle(float *y, const float *x, int64_t B, int64_t C, int64_t H, int64_t W, int64_t r)
{
    int64_t Ho = H / r, Wo = W / r, Co = C * r * r;
#pragma omp parallel for collapse(2)
    for (int64_t b = 0; b < B; b++)
        for (int64_t co = 0; co < Co; co++) {
            int64_t c = co / (r * r), u = (co / r) % r, v = co % r;
            for (int64_t i = 0; i < Ho; i++)
                for (int64_t j = 0; j < Wo; j++)
                    y[((b * Co + co) * Ho + i) * Wo + j] = x[((b * C + c) * H + i * r + u) * W + j * r + v];
        }
}

/* y[b, c, i, j] = x[b, c, i / s, j / s].  torch: F.interpolate(mode="nearest", scale_factor=s) */
void ref_upsample_nearest(float *y, const float *x, int64_t B, int64_t C, int64_t H, int64_t W, int64_t s)
{
    int64_t Ho = H * s, Wo = W * s;
#pragma omp parallel for collapse(2)
    for (int64_t bc = 0; bc < B * C; bc++)
        for (int64_t i = 0; i < Ho; i++) {
            const float *xr = x + (bc * H + i / s) * W;
            float *yr = y + (bc * Ho + i) * Wo;
            for (int64_t j = 0; j < Wo; j++) yr[j] = xr[j / s];
        }
}

/*
 * y[b, o, i*r + u, j*r + v] += x[b, (o*r*r + u*r + v) / repeats, i, j]
 * = pixel_shuffle(repeat_interleave(x, repeats, dim=1), r).  x: [B, C, H, W]
 * diffusers: DCUpBlock2d shortcut (r = 2), Decoder in_shortcut (r = 1)
 */
void ref_dcae_shortcut_up(float *y, const float *x, int64_t B, int64_t C, int64_t H, int64_t W,
                          int64_t repeats, int64_t r)
{
    int64_t Co = C * repeats / (r * r), Ho = H * r, Wo = W * r;
#pragma omp parallel for collapse(2)
    for (int64_t b = 0; b < B; b++)
        for (int64_t o = 0; o < Co; o++)
            for (int64_t oi = 0; oi < Ho; oi++) {
                int64_t i = oi / r, u = oi % r;
                float *yr = y + ((b * Co + o) * Ho + oi) * Wo;
                for (int64_t oj = 0; oj < Wo; oj++) {
                    int64_t j = oj / r, v = oj % r, c = (o * r * r + u * r + v) / repeats;
                    yr[oj] += x[((b * C + c) * H + i) * W + j];
                }
            }
}

/*
 * y[b, o, i, j] += mean_{g < group} pixel_unshuffle(x, r)[b, o*group + g, i, j]
 * x: [B, C, H, W]  y: [B, C*r*r/group, H/r, W/r]
 * diffusers: DCDownBlock2d shortcut (r = 2), Encoder out_shortcut (r = 1)
 */
void ref_dcae_shortcut_down(float *y, const float *x, int64_t B, int64_t C, int64_t H, int64_t W,
                            int64_t group, int64_t r)
{
    int64_t Ho = H / r, Wo = W / r, Co = C * r * r / group;
#pragma omp parallel for collapse(2)
    for (int64_t b = 0; b < B; b++)
        for (int64_t o = 0; o < Co; o++)
            for (int64_t i = 0; i < Ho; i++)
                for (int64_t j = 0; j < Wo; j++) {
                    float sum = 0.0f;
                    for (int64_t g = 0; g < group; g++) {
                        int64_t cu = o * group + g; /* channel of the unshuffled tensor */
                        int64_t c = cu / (r * r), u = (cu / r) % r, v = cu % r;
                        sum += x[((b * C + c) * H + i * r + u) * W + j * r + v];
                    }
                    y[((b * Co + o) * Ho + i) * Wo + j] += sum / (float)group;
                }
}
