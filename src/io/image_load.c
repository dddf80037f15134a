/* src/io/image_load.c -- a PNG to 8-bit RGB as diffusers.utils.load_image reads it; see image.h.
 *
 * libpng delivers the raw samples (bit depths below 8 unpacked to one byte, Adam7 undone, nothing
 * else transformed); the conversion to RGB is ours, so that each colour type follows Pillow's
 * convert("RGB") rule and not libpng's (libpng would reduce 16-bit gray by its high byte, Pillow
 * clips it). libpng errors longjmp back to the one setjmp of decode_png, which frees what was
 * allocated; a decode either returns a whole image or nothing.
 */
#include "io/image.h"
#include "io/pngio.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Largest ancillary chunk read, and largest decompressed text (Pillow's MAX_TEXT_CHUNK is 1 MB). */
#define SANA_PNG_CHUNK_MAX (16u << 20)

/* The bytes of the file and libpng's error escape. */
typedef struct {
    jmp_buf jb;
    char msg[200];
    const uint8_t *data;
    size_t size, pos; /* size: where reading stops (see sana_png_visible_end) */
} reader;

/* Everything a decode allocates or learns, outside the function that calls setjmp, so that no
 * local variable changes between setjmp and longjmp. */
typedef struct {
    reader r;
    const char *name;
    png_structp p;
    png_infop info;
    uint8_t *raw;      /* one row, or the whole image when interlaced */
    png_bytep *rows;   /* row pointers into raw (interlaced only) */
    uint8_t *rgb;      /* the result [h, w, 3] */
    uint8_t pal[256][3];
    int w, h, depth, ctype;
    int orientation;   /* EXIF/XMP orientation found, 0 when none */
} decode;

static void on_error(png_structp p, png_const_charp msg)
{
    reader *r = (reader *)png_get_error_ptr(p);
    snprintf(r->msg, sizeof r->msg, "%s", msg);
    longjmp(r->jb, 1);
}

static void on_warning(png_structp p, png_const_charp msg)
{
    (void)p;
    (void)msg; /* a damaged ancillary chunk is dropped, as Pillow drops it or never reads it */
}

/* Up to n bytes from the source; returns how many. */
static size_t src_read(reader *r, uint8_t *out, size_t n)
{
    size_t k = r->size - r->pos < n ? r->size - r->pos : n;
    memcpy(out, r->data + r->pos, k);
    r->pos += k;
    return k;
}

static void on_read(png_structp p, png_bytep out, size_t n)
{
    reader *r = (reader *)png_get_io_ptr(p);
    if (src_read(r, out, n) != n) png_error(p, "the file is truncated");
}

/* One row of raw samples to RGB, by Pillow's rule for the PNG's colour type and bit depth (the
 * table of image.h). Samples below 8 bits arrive one per byte (png_set_packing). */
static void row_to_rgb(const decode *d, uint8_t *out, const uint8_t *in)
{
    int w = d->w;
    if (d->ctype == PNG_COLOR_TYPE_PALETTE) {
        for (int x = 0; x < w; x++) memcpy(out + 3 * x, d->pal[in[x]], 3);
        return;
    }
    if (d->ctype == PNG_COLOR_TYPE_GRAY || d->ctype == PNG_COLOR_TYPE_GRAY_ALPHA) {
        int step = d->ctype == PNG_COLOR_TYPE_GRAY ? 1 : 2; /* samples per pixel */
        for (int x = 0; x < w; x++) {
            unsigned v;
            if (d->depth < 8) /* "1" mode, or L;2 / L;4 unpacked with scaling */
                v = in[x] * 255u / ((1u << d->depth) - 1);
            else if (d->depth == 8)
                v = in[x * step];
            else if (step == 1) { /* I;16 -> RGB clips */
                unsigned s = (unsigned)in[2 * x] << 8 | in[2 * x + 1];
                v = s > 255 ? 255 : s;
            } else /* LA;16B -> RGBA: the high byte */
                v = in[4 * x];
            out[3 * x] = out[3 * x + 1] = out[3 * x + 2] = (uint8_t)v;
        }
        return;
    }
    /* RGB or RGBA, 8 or 16 bits: alpha dropped, 16-bit samples by their high byte */
    int bytes = d->depth / 8, n = d->ctype == PNG_COLOR_TYPE_RGB ? 3 : 4;
    for (int x = 0; x < w; x++)
        for (int c = 0; c < 3; c++) out[3 * x + c] = in[(x * n + c) * bytes];
}

/* Header, bounds, then every row. libpng errors longjmp out; other errors return a status. */
static sana_status decode_pixels(decode *d)
{
    png_structp p = d->p;
    png_read_info(p, d->info);
    png_uint_32 w = png_get_image_width(p, d->info), h = png_get_image_height(p, d->info);
    if (w > SANA_IMAGE_MAX_SIDE || h > SANA_IMAGE_MAX_SIDE || (int64_t)w * h > SANA_IMAGE_MAX_PIXELS)
        return sana_err(SANA_ERR_UNSUPPORTED,
                        "%s: image of %ux%u pixels is too large (at most %d pixels a side and %lld in all)",
                        d->name, (unsigned)w, (unsigned)h, SANA_IMAGE_MAX_SIDE,
                        (long long)SANA_IMAGE_MAX_PIXELS);
    d->w = (int)w;
    d->h = (int)h;
    d->depth = png_get_bit_depth(p, d->info);
    d->ctype = png_get_color_type(p, d->info);
    if (d->ctype == PNG_COLOR_TYPE_PALETTE) {
        png_colorp pal = NULL;
        int npal = 0;
        memset(d->pal, 0, sizeof d->pal); /* indices past PLTE: black, as in Pillow */
        if (png_get_PLTE(p, d->info, &pal, &npal) & PNG_INFO_PLTE)
            for (int i = 0; i < npal && i < 256; i++) {
                d->pal[i][0] = pal[i].red;
                d->pal[i][1] = pal[i].green;
                d->pal[i][2] = pal[i].blue;
            }
    }
    if (d->depth < 8) png_set_packing(p);
    int passes = png_set_interlace_handling(p);
    png_read_update_info(p, d->info);
    size_t rowbytes = png_get_rowbytes(p, d->info);
    d->rgb = malloc((size_t)w * h * 3);
    d->raw = malloc(passes > 1 ? rowbytes * h : rowbytes);
    if (passes > 1) d->rows = malloc(sizeof *d->rows * h);
    if (!d->rgb || !d->raw || (passes > 1 && !d->rows))
        return sana_err(SANA_ERR_NOMEM, "%s: out of memory for a %ux%u image", d->name, (unsigned)w,
                        (unsigned)h);
    if (passes > 1) {
        for (png_uint_32 y = 0; y < h; y++) d->rows[y] = d->raw + y * rowbytes;
        png_read_image(p, d->rows);
        for (png_uint_32 y = 0; y < h; y++) row_to_rgb(d, d->rgb + (size_t)y * w * 3, d->rows[y]);
    } else {
        for (png_uint_32 y = 0; y < h; y++) {
            png_read_row(p, d->raw, NULL);
            row_to_rgb(d, d->rgb + (size_t)y * w * 3, d->raw);
        }
    }
    return SANA_OK;
}

/* Hex text of an ImageMagick "Raw profile type exif" to its orientation: Pillow joins the lines
 * from the fourth on and reads them with bytes.fromhex (whitespace ignored); bad hex: none. */
static int raw_profile_orientation(const char *text, size_t len)
{
    size_t i = 0;
    for (int nl = 0; nl < 3 && i < len; i++)
        if (text[i] == '\n') nl++;
    uint8_t *buf = malloc(len / 2 + 1);
    if (!buf) return 0;
    size_t n = 0;
    int hi = -1, bad = 0;
    for (; i < len && !bad; i++) {
        char c = text[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (v < 0) {
            bad = !(c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f') || hi >= 0;
            continue;
        }
        if (hi < 0) hi = v;
        else {
            buf[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    int o = bad || hi >= 0 ? 0 : sana_exif_orientation(buf, n);
    free(buf);
    return o;
}

/* ImageOps.exif_transpose's orientation: the last eXIf chunk, else the last "Raw profile type
 * exif" text; when that has no Orientation tag, the last XMP text. */
static int find_orientation(decode *d)
{
    png_unknown_chunkp u = NULL;
    int nu = png_get_unknown_chunks(d->p, d->info, &u);
    int have_exif = 0, o = 0;
    for (int i = 0; i < nu; i++)
        if (memcmp(u[i].name, "eXIf", 5) == 0) {
            have_exif = 1;
            /* Pillow stores "Exif\0\0" + the chunk and strips at most two such prefixes: a chunk
             * with two of its own is left with one, not a TIFF header (Pillow raises; we ignore) */
            const uint8_t *q = u[i].data;
            size_t n = u[i].size;
            int two = n >= 12 && memcmp(q, "Exif\0\0", 6) == 0 && memcmp(q + 6, "Exif\0\0", 6) == 0;
            o = two ? 0 : sana_exif_orientation(q, n);
        }
    png_textp t = NULL;
    int nt = png_get_text(d->p, d->info, &t, NULL);
    const png_text *raw = NULL, *xmp = NULL;
    for (int i = 0; i < nt; i++) {
        if (strcmp(t[i].key, "Raw profile type exif") == 0) raw = &t[i];
        if (strcmp(t[i].key, "XML:com.adobe.xmp") == 0) xmp = &t[i];
    }
    if (!have_exif && raw)
        o = raw_profile_orientation(raw->text,
                                    raw->compression >= PNG_ITXT_COMPRESSION_NONE ? raw->itxt_length : raw->text_length);
    if (o == 0 && xmp)
        o = sana_xmp_orientation(xmp->text,
                                 xmp->compression >= PNG_ITXT_COMPRESSION_NONE ? xmp->itxt_length : xmp->text_length);
    return o;
}

/* The libpng part of a decode: every libpng error longjmps back to a setjmp here. */
static sana_status decode_run(decode *d)
{
    if (setjmp(d->r.jb)) return sana_err(SANA_ERR_FORMAT, "%s: broken PNG file: %s", d->name, d->r.msg);
    png_set_read_fn(d->p, &d->r, on_read);
    png_set_sig_bytes(d->p, 8);
    /* our own bounds apply (decode_pixels), with their own message; libpng's default limit of a
     * million pixels a side would call a large header broken */
    png_set_user_limits(d->p, 0x7fffffff, 0x7fffffff);
    /* Bounds eXIf (kept as an unknown chunk) and any decompressed text or profile; larger ones are
     * dropped with a warning. The declared length of text chunks is bounded by sana_png_visible_end. */
    png_set_chunk_malloc_max(d->p, SANA_PNG_CHUNK_MAX);
    /* eXIf as raw bytes: libpng discards an eXIf with an "Exif\0\0" prefix, Pillow reads it */
    static const png_byte exif_name[5] = {'e', 'X', 'I', 'f', '\0'};
    png_set_keep_unknown_chunks(d->p, PNG_HANDLE_CHUNK_ALWAYS, exif_name, 1);
    sana_status st = decode_pixels(d);
    if (st != SANA_OK) return st;
    /* The chunks after the image (late eXIf, text). Pillow stops quietly at a damaged tail. */
    if (setjmp(d->r.jb) == 0) png_read_end(d->p, d->info);
    d->orientation = find_orientation(d);
    return SANA_OK;
}

static int mem_header(void *ctx, uint64_t pos, uint8_t h[8])
{
    memcpy(h, (const uint8_t *)ctx + pos, 8); /* pos + 8 <= size: sana_png_visible_end checks */
    return 0;
}

static sana_status decode_png(decode *d)
{
    uint8_t sig[8];
    if (src_read(&d->r, sig, 8) != 8 || png_sig_cmp(sig, 0, 8) != 0)
        return sana_err(SANA_ERR_FORMAT, "%s: not a PNG file", d->name);
    d->r.size = (size_t)sana_png_visible_end(mem_header, (void *)d->r.data, d->r.size);
    d->p = png_create_read_struct(PNG_LIBPNG_VER_STRING, &d->r, on_error, on_warning);
    d->info = d->p ? png_create_info_struct(d->p) : NULL;
    if (!d->info) {
        if (d->p) png_destroy_read_struct(&d->p, NULL, NULL);
        return sana_err(SANA_ERR_NOMEM, "%s: cannot create a PNG reader", d->name);
    }
    sana_status st = decode_run(d);
    png_destroy_read_struct(&d->p, &d->info, NULL);
    free(d->raw);
    free(d->rows);
    d->raw = NULL;
    d->rows = NULL;
    if (st == SANA_OK) {
        st = sana_image_orient(&d->rgb, &d->w, &d->h, d->orientation);
        if (st != SANA_OK) sana_err_prefix(st, "%s", d->name);
    }
    if (st != SANA_OK) {
        free(d->rgb);
        d->rgb = NULL;
    }
    return st;
}

static sana_status finish(decode *d, sana_status st, uint8_t **rgb, int *width, int *height)
{
    *rgb = st == SANA_OK ? d->rgb : NULL;
    if (width) *width = st == SANA_OK ? d->w : 0;
    if (height) *height = st == SANA_OK ? d->h : 0;
    free(d);
    return st;
}

sana_status sana_image_load_png(const char *path, uint8_t **rgb, int *width, int *height)
{
    *rgb = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) return sana_err(SANA_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(fp), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(fp);
        return sana_err(SANA_ERR_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)sb.st_size > SANA_IMAGE_MAX_FILE) {
        fclose(fp);
        return sana_err(SANA_ERR_UNSUPPORTED, "%s: file of %lld bytes is too large for an image (at most %lld)", path,
                        (long long)sb.st_size, (long long)SANA_IMAGE_MAX_FILE);
    }
    size_t n = (size_t)sb.st_size;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) {
        fclose(fp);
        return sana_err(SANA_ERR_NOMEM, "%s: out of memory for %zu bytes", path, n);
    }
    size_t got = fread(buf, 1, n, fp);
    int err = ferror(fp);
    fclose(fp);
    if (err) {
        free(buf);
        return sana_err(SANA_ERR_IO, "%s: read error", path);
    }
    sana_status st = sana_image_load_png_mem(buf, got, path, rgb, width, height);
    free(buf);
    return st;
}

sana_status sana_image_load_png_mem(const void *data, size_t size, const char *name, uint8_t **rgb,
                                    int *width, int *height)
{
    *rgb = NULL;
    decode *d = calloc(1, sizeof *d);
    if (!d) return sana_err(SANA_ERR_NOMEM, "%s: out of memory", name);
    d->name = name;
    d->r.data = data;
    d->r.size = size;
    return finish(d, decode_png(d), rgb, width, height);
}
