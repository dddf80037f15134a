/* src/io/image.h -- image input: a PNG file to 8-bit RGB, PIL's Lanczos resize, the [-1, 1] tensor.
 *
 * The conditioning image of SanaControlNetPipeline and the input of SanaSprintImg2ImgPipeline reach
 * diffusers as `load_image(path)` and then `VaeImageProcessor.preprocess(image, height, width)`.
 * These functions do the same three steps, each bit for bit against Pillow / diffusers
 * (golden/dump_image.py, tests/test-image.c):
 *
 *   sana_image_load_png      diffusers.utils.load_image: PIL.Image.open, ImageOps.exif_transpose,
 *                            Image.convert("RGB")
 *   sana_image_resize_lanczos  PIL Image.resize((w, h), resample=Image.LANCZOS) on an RGB image,
 *                            which is VaeImageProcessor.resize for PIL input (resample="lanczos",
 *                            reducing_gap=None)
 *   sana_image_to_tensor     VaeImageProcessor.pil_to_numpy + numpy_to_pt + normalize: x/255 in
 *                            float32, then 2*x - 1, as [3, H, W]
 *
 * Images are 8-bit RGB, rows top to bottom, pixels interleaved: rgb[height, width, 3] (HWC), the
 * layout of numpy.asarray(pil_image) and of sana_png_write.
 *
 * What convert("RGB") makes of each PNG kind (found by experiment with Pillow 13.0.0; golden):
 *   gray 1/2/4-bit   scaled to 0..255 (v * 255 / (2^d - 1)), copied to R, G and B
 *   gray 8-bit       copied to R, G and B
 *   gray 16-bit      Pillow opens it as mode "I;16" and I;16 -> RGB CLIPS: min(v, 255). A 16-bit
 *                    gray image of ordinary brightness comes out almost all white; that is what
 *                    diffusers users get, so it is what we give.
 *   gray+alpha       8-bit: the gray; 16-bit: Pillow opens it as RGBA from "LA;16B", the high byte
 *   RGB, RGBA        8-bit as is; 16-bit: the high byte of each sample (v >> 8, no rounding)
 *   palette          looked up; an index past the end of PLTE gives black (0, 0, 0)
 *   alpha, tRNS      dropped, not composited (convert("RGB") ignores them)
 *   gAMA, sBIT, iCCP ignored, as PIL ignores them
 *   interlaced       decoded (Adam7), same pixels
 *   APNG             the default image (IDAT), which is Pillow's frame 0
 *
 * Orientation (ImageOps.exif_transpose): the EXIF Orientation tag of IFD0, values 2..8 applied as
 * PIL's transposes (2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90 clockwise,
 * 7 transverse, 8 rotate 90 counter-clockwise); 1 or any other value: unchanged. It is looked for
 * where Pillow looks in a PNG: the last eXIf chunk (before or after IDAT, with or without an
 * "Exif\0\0" prefix), else a "Raw profile type exif" text chunk; when neither has the tag, the
 * first `tiff:Orientation="N"` / `tiff:Orientation>N` of the XMP text ("XML:com.adobe.xmp").
 * Where Pillow raises (EXIF data that does not start with a TIFF header, bad hex in a raw profile),
 * load_image fails in Python; we ignore the orientation instead and load the image unrotated.
 *
 * Bounds and errors (messages name the file): a side over SANA_IMAGE_MAX_SIDE or more than
 * SANA_IMAGE_MAX_PIXELS pixels is refused from the header, before any pixel is decoded, and a
 * file over SANA_IMAGE_MAX_FILE bytes before it is read (SANA_ERR_UNSUPPORTED); an ancillary chunk
 * is never allocated larger than the bytes there are (libpng 1.6 would trust its declared length); a file that is not a PNG, or is truncated or corrupt (bad CRC in a
 * critical chunk, broken zlib data, zero width) is SANA_ERR_FORMAT. On any error nothing is
 * returned (*rgb stays NULL) and nothing leaks. Damage after the last image row (a missing IEND, a
 * broken trailing chunk) is tolerated, as Pillow tolerates it.
 */
#ifndef SANA_IO_IMAGE_H
#define SANA_IO_IMAGE_H

#include <stddef.h>
#include <stdint.h>
#include "core/status.h"

/* Largest accepted side, and largest width * height (64 Mpixel, 8192 x 8192). */
#define SANA_IMAGE_MAX_SIDE 16384
#define SANA_IMAGE_MAX_PIXELS ((int64_t)1 << 26)
/* Largest file read (it is read whole, then decoded). */
#define SANA_IMAGE_MAX_FILE ((int64_t)1 << 30)

/* Load a PNG file as diffusers.utils.load_image(path) does. *rgb [*height, *width, 3] is malloc'd. */
sana_status sana_image_load_png(const char *path, uint8_t **rgb, int *width, int *height);

/* The same from a PNG in memory; name is used in messages (e.g. "request image"). */
sana_status sana_image_load_png_mem(const void *data, size_t size, const char *name, uint8_t **rgb,
                                    int *width, int *height);

/* Apply an EXIF orientation (1..8) to rgb[*height, *width, 3] in place of *rgb (a new buffer replaces
 * it; *width and *height swap for 5..8). 1 and unknown values leave the image as it is.
 * PIL: ImageOps.exif_transpose's Image.transpose. */
sana_status sana_image_orient(uint8_t **rgb, int *width, int *height, int orientation);

/* The EXIF Orientation of a TIFF/EXIF block (eXIf chunk contents; one or two "Exif\0\0" prefixes
 * allowed, as Pillow's Exif.load strips them): the value of tag 0x0112 in IFD0 when it is one
 * integer (SHORT, LONG, SSHORT or SLONG), -1 when the tag is there with another value (a tuple, a
 * rational, 0), 0 when the tag or a valid header is missing (then XMP is consulted).
 * PIL: Image.getexif().get(ExifTags.Base.Orientation). */
int sana_exif_orientation(const uint8_t *data, size_t size);

/* The orientation digit of XMP text, or 0: PIL's regex tiff:Orientation(="|>)([0-9]). */
int sana_xmp_orientation(const char *xmp, size_t size);

/*
 * dst[dst_h, dst_w, 3] = src[src_h, src_w, 3] resized as PIL's Image.resize((dst_w, dst_h),
 * Image.LANCZOS) resizes an RGB image (Pillow 13.0's libImaging/Resample.c, 8 bits per channel):
 * separable, one pass per axis whose size changes (same size is a copy), through an intermediate
 * uint8 image. The horizontal pass runs first unless the height loses more than twice as many
 * pixels as the width (src_h - dst_h > 0 and > 2 * (src_w - dst_w): Pillow 13's rule, PR #9549;
 * older Pillow always ran the horizontal pass first and differs in those cases, by tens of levels
 * on noisy images).
 * Each pass: Lanczos-3 filter widened by the scale when downscaling, coefficients normalised in
 * double precision and rounded to fixed point with 22 fractional bits, sums rounded and clipped to
 * 0..255. Sizes 1..SANA_IMAGE_MAX_SIDE, else SANA_ERR_ARG.
 */
sana_status sana_image_resize_lanczos(uint8_t *dst, int dst_w, int dst_h, const uint8_t *src, int src_w,
                                      int src_h);

/*
 * dst[3, height, width] float32 = rgb[height, width, 3] to [-1, 1], as VaeImageProcessor.preprocess
 * does for a PIL image: pil_to_numpy (np.float32(v) / 255.0, a float32 division), numpy_to_pt
 * (HWC -> CHW), normalize (2.0 * x - 1.0 in float32). 0 -> -1, 255 -> 1 exactly.
 */
void sana_image_to_tensor(float *dst, const uint8_t *rgb, int width, int height);

#endif
