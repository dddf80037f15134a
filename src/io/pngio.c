/* src/io/pngio.c -- PNG writer and reader over libpng; see pngio.h. */
#define _POSIX_C_SOURCE 200809L
#include "io/pngio.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* libpng reports errors through a callback that must not return: keep the
 * message and longjmp back to the caller's setjmp. */
typedef struct {
    jmp_buf jb;
    char msg[256];
} png_err_ctx;

static void on_png_error(png_structp p, png_const_charp msg)
{
    png_err_ctx *e = (png_err_ctx *)png_get_error_ptr(p);
    snprintf(e->msg, sizeof e->msg, "%s", msg);
    longjmp(e->jb, 1);
}

static void on_png_warning(png_structp p, png_const_charp msg)
{
    (void)p;
    (void)msg; /* warnings (e.g. a stray chunk) do not stop a read or write */
}

/* The temporary file of the write in progress (one at a time per process), for
 * sana_png_abort_cleanup from a signal handler. */
static char pending_tmp[4096];
static volatile sig_atomic_t pending_set;

void sana_png_abort_cleanup(void)
{
    if (pending_set) unlink(pending_tmp);
}

static int is_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80) return 0;
    return 1;
}

/* The pixel and text part of a write, on an open FILE. Returns SANA_OK or an error with a message. */
static sana_status write_stream(FILE *fp, const char *path, const uint8_t *rgb, int width, int height,
                                const char *parameters)
{
    png_err_ctx e;
    e.msg[0] = 0;
    png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, &e, on_png_error, on_png_warning);
    if (!p) return sana_err(SANA_ERR_NOMEM, "%s: cannot create a PNG writer", path);
    png_infop info = png_create_info_struct(p);
    png_bytep *rows = NULL;
    if (!info) {
        png_destroy_write_struct(&p, NULL);
        return sana_err(SANA_ERR_NOMEM, "%s: cannot create a PNG writer", path);
    }
    rows = malloc(sizeof *rows * (size_t)height);
    if (!rows) {
        png_destroy_write_struct(&p, &info);
        return sana_err(SANA_ERR_NOMEM, "%s: out of memory", path);
    }
    for (int y = 0; y < height; y++) rows[y] = (png_bytep)(rgb + (size_t)y * (size_t)width * 3);
    /* volatile: modified between setjmp and a possible longjmp */
    png_bytep *volatile vrows = rows;
    if (setjmp(e.jb)) {
        free(vrows);
        png_destroy_write_struct(&p, &info);
        return sana_err(SANA_ERR_IO, "%s: cannot write PNG: %s", path, e.msg);
    }
    png_init_io(p, fp);
    png_set_IHDR(p, info, (png_uint_32)width, (png_uint_32)height, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (parameters) {
        png_text t;
        memset(&t, 0, sizeof t);
        t.key = (png_charp) "parameters";
        t.text = (png_charp)parameters;
        if (is_ascii(parameters)) {
            t.compression = PNG_TEXT_COMPRESSION_NONE; /* tEXt */
            t.text_length = strlen(parameters);
        } else {
            t.compression = PNG_ITXT_COMPRESSION_NONE; /* iTXt, UTF-8 */
            t.itxt_length = strlen(parameters);
            t.lang = (png_charp) "";
            t.lang_key = (png_charp) "";
        }
        png_set_text(p, info, &t, 1);
    }
    png_write_info(p, info);
    png_write_image(p, vrows);
    png_write_end(p, info);
    free(vrows);
    png_destroy_write_struct(&p, &info);
    return SANA_OK;
}

sana_status sana_png_write(const char *path, const uint8_t *rgb, int width, int height,
                           const char *parameters)
{
    if (!path || !*path) return sana_err(SANA_ERR_ARG, "PNG output: empty file name");
    if (width <= 0 || height <= 0 || width > 1000000 || height > 1000000)
        return sana_err(SANA_ERR_ARG, "%s: bad image size %dx%d", path, width, height);
    size_t n = strlen(path);
    char *tmp = malloc(n + 16);
    if (!tmp) return sana_err(SANA_ERR_NOMEM, "%s: out of memory", path);
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp-XXXXXX", 12);
    int fd = mkstemp(tmp);
    if (fd >= 0 && n + 12 <= sizeof pending_tmp) {
        memcpy(pending_tmp, tmp, n + 12);
        pending_set = 1;
    }
    if (fd < 0) {
        sana_status st = sana_err(SANA_ERR_IO, "%s: cannot create the output file: %s", path, strerror(errno));
        free(tmp);
        return st;
    }
    FILE *fp = fdopen(fd, "wb");
    if (!fp) {
        sana_status st = sana_err(SANA_ERR_IO, "%s: cannot open the output file: %s", path, strerror(errno));
        close(fd);
        unlink(tmp);
        free(tmp);
        return st;
    }
    sana_status st = write_stream(fp, path, rgb, width, height, parameters);
    if (fflush(fp) != 0 && st == SANA_OK)
        st = sana_err(SANA_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    if (fclose(fp) != 0 && st == SANA_OK)
        st = sana_err(SANA_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    if (st == SANA_OK && rename(tmp, path) != 0)
        st = sana_err(SANA_ERR_IO, "%s: cannot rename %s into place: %s", path, tmp, strerror(errno));
    if (st != SANA_OK) unlink(tmp);
    pending_set = 0;
    free(tmp);
    return st;
}

uint64_t sana_png_visible_end(int (*header)(void *ctx, uint64_t pos, uint8_t h[8]), void *ctx, uint64_t size)
{
    uint64_t pos = 8;
    uint8_t h[8];
    while (pos + 8 <= size && header(ctx, pos, h) == 0) {
        const uint64_t len = (uint64_t)h[0] << 24 | (uint64_t)h[1] << 16 | (uint64_t)h[2] << 8 | h[3];
        if (len > 0x7fffffff) break; /* libpng refuses the length itself */
        if (pos + 12 + len > size) return (h[4] & 0x20) ? pos : size;
        if (!memcmp(h + 4, "IEND", 4)) break;
        pos += 12 + len;
    }
    return size;
}

/* The readers of this file read through lim_read, which ends the file at sana_png_visible_end. */
typedef struct {
    FILE *fp;
    long pos, limit;
} lim_io;

static int file_header(void *ctx, uint64_t pos, uint8_t h[8])
{
    FILE *fp = ctx;
    return fseek(fp, (long)pos, SEEK_SET) == 0 && fread(h, 1, 8, fp) == 8 ? 0 : -1;
}

static long visible_limit(FILE *fp)
{
    if (fseek(fp, 0, SEEK_END) != 0) return -1;
    const long size = ftell(fp);
    if (size < 0) return -1;
    const long limit = (long)sana_png_visible_end(file_header, fp, (uint64_t)size);
    return fseek(fp, 8, SEEK_SET) == 0 ? limit : -1;
}

static void lim_read(png_structp p, png_bytep data, size_t n)
{
    lim_io *io = png_get_io_ptr(p);
    if (io->pos + (long)n > io->limit || fread(data, 1, n, io->fp) != n) png_error(p, "the file ends in a chunk");
    io->pos += (long)n;
}

/* Shared by the two readers: open, check the signature, read the info (and the pixels when rgb != NULL). */
static sana_status read_png(const char *path, uint8_t **rgb, int *width, int *height, char **parameters)
{
    if (parameters) *parameters = NULL;
    if (rgb) *rgb = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) return sana_err(SANA_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char sig[8];
    if (fread(sig, 1, 8, fp) != 8 || png_sig_cmp(sig, 0, 8) != 0) {
        fclose(fp);
        return sana_err(SANA_ERR_FORMAT, "%s: not a PNG file", path);
    }
    lim_io io = {fp, 8, visible_limit(fp)};
    if (io.limit < 0 || fseek(fp, 8, SEEK_SET) != 0) {
        fclose(fp);
        return sana_err(SANA_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    }
    png_err_ctx e;
    e.msg[0] = 0;
    png_structp p = png_create_read_struct(PNG_LIBPNG_VER_STRING, &e, on_png_error, on_png_warning);
    png_infop info = p ? png_create_info_struct(p) : NULL;
    if (!info) {
        if (p) png_destroy_read_struct(&p, NULL, NULL);
        fclose(fp);
        return sana_err(SANA_ERR_NOMEM, "%s: cannot create a PNG reader", path);
    }
    uint8_t *volatile pix = NULL;
    png_bytep *volatile rows = NULL;
    char *volatile text = NULL;
    if (setjmp(e.jb)) {
        free(pix);
        free(rows);
        free(text);
        png_destroy_read_struct(&p, &info, NULL);
        fclose(fp);
        return sana_err(SANA_ERR_FORMAT, "%s: broken PNG: %s", path, e.msg);
    }
    png_set_read_fn(p, &io, lim_read);
    png_set_sig_bytes(p, 8);
    png_read_info(p, info);
    png_uint_32 w = png_get_image_width(p, info), h = png_get_image_height(p, info);
    if (rgb) {
        if ((uint64_t)w * h > (uint64_t)1 << 30) png_error(p, "image too large");
        png_set_expand(p);
        png_set_strip_16(p);
        png_set_strip_alpha(p);
        png_set_gray_to_rgb(p);
        png_set_interlace_handling(p);
        png_read_update_info(p, info);
        if (png_get_rowbytes(p, info) != (size_t)w * 3) png_error(p, "unexpected row size");
        pix = malloc((size_t)w * h * 3);
        rows = malloc(sizeof(png_bytep) * h);
        if (!pix || !rows) png_error(p, "out of memory");
        for (png_uint_32 y = 0; y < h; y++) rows[y] = (png_bytep)(pix + (size_t)y * w * 3);
        png_read_image(p, rows);
        png_read_end(p, info); /* text chunks after the image data */
    }
    if (parameters) {
        png_textp tx = NULL;
        int nt = png_get_text(p, info, &tx, NULL);
        for (int i = 0; i < nt; i++) {
            if (strcmp(tx[i].key, "parameters") != 0) continue;
            size_t len = tx[i].compression >= PNG_ITXT_COMPRESSION_NONE ? tx[i].itxt_length : tx[i].text_length;
            text = malloc(len + 1);
            if (!text) png_error(p, "out of memory");
            memcpy(text, tx[i].text, len);
            text[len] = 0;
            break;
        }
    }
    free(rows);
    png_destroy_read_struct(&p, &info, NULL);
    fclose(fp);
    if (width) *width = (int)w;
    if (height) *height = (int)h;
    if (rgb) *rgb = pix;
    if (parameters) *parameters = text;
    return SANA_OK;
}

sana_status sana_png_read(const char *path, uint8_t **rgb, int *width, int *height, char **parameters)
{
    return read_png(path, rgb, width, height, parameters);
}

sana_status sana_png_read_parameters(const char *path, char **parameters)
{
    /* tEXt chunks after IDAT are rare (libpng writes them before); reading the
     * pixels as well keeps the reader simple and also finds late chunks. */
    uint8_t *rgb = NULL;
    sana_status st = read_png(path, &rgb, NULL, NULL, parameters);
    free(rgb);
    return st;
}

int sana_png_is_png(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return 0;
    unsigned char sig[8];
    int ok = fread(sig, 1, 8, fp) == 8 && png_sig_cmp(sig, 0, 8) == 0;
    fclose(fp);
    return ok;
}
