/*
 * tests/fuzz-png.c -- libFuzzer target for image input: PNG decoding (every colour type, Adam7,
 * eXIf / XMP / raw-profile orientation, damaged tails), then a Lanczos resize and the [-1, 1]
 * tensor of what was decoded.
 * Build: ./configure CC=clang --enable-fuzz && make fuzz-png FUZZ_SECONDS=60
 * Any input must give SANA_OK with a whole image or an error with nothing returned, never a
 * crash, leak or out-of-bounds access. The EXIF and XMP parsers also see the raw input.
 */
#include "io/image.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)sana_exif_orientation(data, size);
    (void)sana_xmp_orientation((const char *)data, size);
    /* Headers of more than 4 Mpixel are skipped: the library's own bound (64 Mpixel, tested in
     * test-image) would let one input allocate ~700 MB, past libFuzzer's default RSS limit under
     * ASan. IHDR is always the first chunk: width and height are bytes 16..23. */
    if (size >= 24) {
        uint64_t w = (uint64_t)data[16] << 24 | (uint64_t)data[17] << 16 | (uint64_t)data[18] << 8 | data[19];
        uint64_t h = (uint64_t)data[20] << 24 | (uint64_t)data[21] << 16 | (uint64_t)data[22] << 8 | data[23];
        if (w * h > ((uint64_t)1 << 22) && w <= SANA_IMAGE_MAX_SIDE && h <= SANA_IMAGE_MAX_SIDE) return 0;
    }
    uint8_t *rgb = (uint8_t *)"not touched";
    int w = -1, h = -1;
    if (sana_image_load_png_mem(data, size, "fuzz", &rgb, &w, &h) != SANA_OK) {
        if (rgb) abort(); /* an error returns nothing */
        return 0;
    }
    if (w < 1 || h < 1 || (int64_t)w * h > SANA_IMAGE_MAX_PIXELS) abort();
    /* small images only: keep each run fast */
    if ((int64_t)w * h <= 4096) {
        int ow = w / 2 + 1, oh = h * 3 / 2 + 1;
        uint8_t *out = malloc((size_t)ow * oh * 3);
        float *x = malloc(sizeof *x * 3 * (size_t)ow * oh);
        if (out && x && sana_image_resize_lanczos(out, ow, oh, rgb, w, h) == SANA_OK)
            sana_image_to_tensor(x, out, ow, oh);
        free(out);
        free(x);
    }
    free(rgb);
    return 0;
}
