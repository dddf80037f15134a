/* src/io/pngio.h -- PNG output (libpng) with generation parameters as text metadata.
 * (Named pngio, not png, so that <png.h> of libpng is not shadowed by -Isrc.)
 *
 * Images are 8-bit RGB, rows top to bottom, pixels interleaved (HWC), which is
 * what VaeImageProcessor.postprocess gives (numpy [H, W, 3] uint8).
 *
 * The generation parameters travel in a text chunk with the key "parameters",
 * in the format AUTOMATIC1111-style web UIs and stable-diffusion.cpp write and
 * read:
 *     <prompt>
 *     Negative prompt: <negative prompt>
 *     Steps: 20, Sampler: ..., CFG scale: 4.5, Seed: 42, Size: 512x512, Model: ...
 * The chunk is tEXt when the text is plain ASCII, and iTXt (UTF-8) otherwise,
 * as PIL's PngInfo.add_text does, since tEXt is Latin-1 by definition.
 *
 * A file is written to a temporary name in the destination folder and renamed
 * when complete, so a failed or interrupted write never leaves a partial file
 * under the asked name.
 */
#ifndef SANA_PNGIO_H
#define SANA_PNGIO_H

#include <stdint.h>
#include "core/status.h"

/* Write rgb[height, width, 3] to path; parameters may be NULL (no text chunk). */
sana_status sana_png_write(const char *path, const uint8_t *rgb, int width, int height,
                           const char *parameters);

/* Read a PNG back as 8-bit RGB (any PNG libpng reads: palette, gray, 16-bit and
 * alpha are converted). *rgb is malloc'd; *parameters (may be NULL to skip) is
 * the malloc'd "parameters" text or NULL when the file has none. */
sana_status sana_png_read(const char *path, uint8_t **rgb, int *width, int *height, char **parameters);

/* Only the "parameters" text of a PNG (NULL when absent), without decoding pixels. */
sana_status sana_png_read_parameters(const char *path, char **parameters);

/* Remove the temporary file of a write in progress, if any. Async-signal-safe: a command's
 * SIGINT/SIGTERM handler calls it so that an interrupted run leaves neither the output nor a
 * temporary file. */
void sana_png_abort_cleanup(void);

/* Where a PNG reader may read up to, for libpng's sake. libpng 1.6 allocates an ancillary chunk's
 * declared length before reading it (tEXt, zTXt, iTXt, sPLT, ... ignore png_set_chunk_malloc_max),
 * so a 300-byte file declaring a 2 GB text chunk would make it allocate 2 GB (found by
 * tests/fuzz-png). The walk over the chunk headers from offset 8 returns the offset of the first
 * ancillary chunk that runs past the end of the data, else size: reading stops there as at any
 * truncation (an error before the image data, a tolerated damaged tail after it). header(ctx, pos,
 * h) reads the 8 bytes at pos into h and returns 0, or -1 when it cannot; then size is returned. */
uint64_t sana_png_visible_end(int (*header)(void *ctx, uint64_t pos, uint8_t h[8]), void *ctx, uint64_t size);

/* 1 when the file starts with the PNG signature. */
int sana_png_is_png(const char *path);

#endif
