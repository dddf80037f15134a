/* src/pipeline/binning.h -- resolution binning and image postprocessing of the SANA pipelines.
 *
 * With use_resolution_binning (the default), diffusers' SanaPipeline does not
 * generate at the asked height x width: it picks the entry of an aspect-ratio
 * table whose ratio is nearest to height/width, generates at that size, and
 * after VAE decode resizes (bilinear) and centre-crops the image back to the
 * asked size. The table is chosen by the transformer's sample_size:
 *   128 -> ASPECT_RATIO_4096_BIN, 64 -> 2048, 32 -> 1024, 16 -> 512
 * (diffusers: pipelines/sana/pipeline_sana.py and pixart_alpha/pipeline_pixart_{alpha,sigma}.py).
 */
#ifndef SANA_BINNING_H
#define SANA_BINNING_H

#include <stdint.h>
#include "core/status.h"

typedef struct {
    double ratio; /* height / width, the table's key */
    int height, width;
} sana_bin;

/* The table for a transformer sample_size (16, 32, 64, 128); *n receives its length.
 * NULL (and an SANA_ERR_UNSUPPORTED message) for any other sample_size, where diffusers
 * raises "Invalid sample size". */
const sana_bin *sana_bin_table(int sample_size, int *n);

/* diffusers: image_processor.PixArtImageProcessor.classify_height_width_bin.
 * The first entry (in table order) whose ratio is nearest to (double)height/width. */
void sana_bin_classify(const sana_bin *table, int n, int height, int width, int *bin_height, int *bin_width);

/* diffusers: image_processor.PixArtImageProcessor.resize_and_crop_tensor.
 * in: [B, C, H, W] -> out: [B, C, new_h, new_w]. When the size differs: scale by
 * ratio = max(new_h/H, new_w/W) to (int(H*ratio), int(W*ratio)) with
 * F.interpolate(mode="bilinear", align_corners=False) (no antialias), then take
 * the centre crop. One difference: where the truncating int() makes a side one
 * short of the asked one (diffusers then returns an image 1 pixel high or wide),
 * that side is resized to the asked size. out must hold B*C*new_h*new_w floats;
 * out != in. Any sizes >= 1. */
sana_status sana_resize_and_crop(float *out, const float *in, int64_t B, int64_t C, int64_t H, int64_t W,
                                 int64_t new_h, int64_t new_w);

/* torch F.interpolate(x, size=(oh, ow), mode="bilinear", align_corners=False) on [N, H, W] planes. */
void sana_interpolate_bilinear(float *out, const float *in, int64_t N, int64_t H, int64_t W, int64_t oh,
                               int64_t ow);

/* diffusers: VaeImageProcessor.postprocess(output_type="pil") up to the uint8 array:
 * denormalize (x * 0.5 + 0.5).clamp(0, 1), permute to [B, H, W, C], then numpy
 * (x * 255).round().astype(uint8) (round half to even), all in float32.
 * in: [B, C, H, W] -> out: [B, H, W, C] uint8. */
void sana_postprocess_u8(uint8_t *out, const float *in, int64_t B, int64_t C, int64_t H, int64_t W);

/* The same up to the float [B, H, W, C] image in [0, 1] (output_type="np"). */
void sana_postprocess_f32(float *out, const float *in, int64_t B, int64_t C, int64_t H, int64_t W);

#endif
