/* tests/test-image.c -- image input against Pillow and diffusers (golden/dump_image.py), bit for bit:
 *   - every PNG kind of golden/image/ read as diffusers.utils.load_image reads it (convert("RGB"),
 *     exif_transpose), from the file and from memory;
 *   - PIL's Image.resize(..., LANCZOS) at downscales, upscales, one axis, identity;
 *   - VaeImageProcessor.preprocess (resize to a multiple of 32, [-1, 1] float32) and the 256 values
 *     of its normalisation;
 *   - bad input: truncated at every length, not a PNG, empty, too large by its header, zero width,
 *     a bad CRC, broken zlib data, a 1.9 GB text chunk in a tiny file, a missing file: one message
 *     naming the file, a non-zero status,
 *     nothing returned (the suite also runs this under ASan/LSan).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "golden.h"
#include "io/image.h"

/* Exact comparison of an RGB result with the golden U8 tensor `name` [h, w, 3]. */
static void check_rgb(golden *g, const char *what, const uint8_t *got, int w, int h, const char *name)
{
    const sana_st_tensor *t = golden_get(g, name);
    if (t->wt.dtype != SANA_U8 || t->wt.ndim != 3 || t->wt.shape[2] != 3) {
        golden_fail("%s: golden %s is not U8 [H, W, 3]", what, name);
        return;
    }
    if (t->wt.shape[0] != h || t->wt.shape[1] != w) {
        golden_fail("%s: size %dx%d, want %lldx%lld", what, w, h, (long long)t->wt.shape[1],
                    (long long)t->wt.shape[0]);
        return;
    }
    size_t n = (size_t)w * h * 3, bad = 0;
    const uint8_t *want = t->wt.data;
    for (size_t i = 0; i < n; i++) bad += got[i] != want[i];
    float *gf = malloc(n * sizeof *gf), *wf = malloc(n * sizeof *wf);
    for (size_t i = 0; i < n; i++) {
        gf[i] = got[i];
        wf[i] = want[i];
    }
    if (golden_compare(g, what, gf, wf, (int64_t)n, "pipeline_exact"))
        printf("      %zu of %zu values differ\n", bad, n);
    free(gf);
    free(wf);
}

static uint8_t *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(len > 0 ? (size_t)len : 1);
    *n = fread(buf, 1, (size_t)len, f);
    fclose(f);
    return buf;
}

/* Every "<case>.rgb" of the golden: the PNG read from its file and from memory. */
static void check_reads(golden *g)
{
    for (int i = 0; i < g->f->ntensors; i++) {
        const char *tn = g->f->tensors[i].name;
        size_t len = strlen(tn);
        if (len < 5 || strcmp(tn + len - 4, ".rgb") != 0 || strncmp(tn, "pre.", 4) == 0) continue;
        char name[256], path[4096], what[300];
        snprintf(name, sizeof name, "%.*s", (int)(len - 4), tn);
        snprintf(path, sizeof path, "%s/image/%s.png", golden_dir(), name);
        uint8_t *rgb = NULL;
        int w = 0, h = 0;
        if (sana_image_load_png(path, &rgb, &w, &h) != SANA_OK) {
            golden_fail("load %s: %s", name, sana_errmsg());
            continue;
        }
        snprintf(what, sizeof what, "load_image %s", name);
        check_rgb(g, what, rgb, w, h, tn);
        free(rgb);
        size_t n = 0;
        uint8_t *buf = read_all(path, &n);
        rgb = NULL;
        if (!buf || sana_image_load_png_mem(buf, n, name, &rgb, &w, &h) != SANA_OK) {
            golden_fail("load %s from memory: %s", name, sana_errmsg());
        } else {
            snprintf(what, sizeof what, "load_image %s (memory)", name);
            check_rgb(g, what, rgb, w, h, tn);
        }
        free(rgb);
        free(buf);
    }
}

static void check_resizes(golden *g)
{
    const sana_st_tensor *src = golden_get(g, "resize.src");
    int sw = (int)src->wt.shape[1], sh = (int)src->wt.shape[0];
    for (int i = 0; i < g->f->ntensors; i++) {
        int w, h;
        char tail;
        if (sscanf(g->f->tensors[i].name, "resize.%dx%d%c", &w, &h, &tail) != 2) continue;
        uint8_t *out = malloc((size_t)w * h * 3);
        char what[64];
        snprintf(what, sizeof what, "resize %dx%d -> %dx%d", sw, sh, w, h);
        if (sana_image_resize_lanczos(out, w, h, src->wt.data, sw, sh) != SANA_OK)
            golden_fail("%s: %s", what, sana_errmsg());
        else
            check_rgb(g, what, out, w, h, g->f->tensors[i].name);
        free(out);
    }
    uint8_t px[3] = {1, 2, 3}, o[3];
    if (sana_image_resize_lanczos(o, 0, 1, px, 1, 1) != SANA_ERR_ARG) golden_fail("resize to width 0 must be refused");
    if (sana_image_resize_lanczos(o, 1, 1, px, SANA_IMAGE_MAX_SIDE + 1, 1) != SANA_ERR_ARG)
        golden_fail("resize from a side over the limit must be refused");
}

/* preprocess(image, height, width) with vae_scale_factor 32: sizes rounded down, resize, to [-1, 1]. */
static void check_preprocess(golden *g)
{
    const sana_st_tensor *img = golden_get(g, "pre.rgb");
    int64_t *args = golden_i64(g, "pre.args", NULL);
    int sw = (int)img->wt.shape[1], sh = (int)img->wt.shape[0];
    int h = (int)(args[0] - args[0] % args[2]), w = (int)(args[1] - args[1] % args[2]);
    uint8_t *rs = malloc((size_t)w * h * 3);
    float *x = malloc(sizeof *x * 3 * (size_t)w * h);
    if (sana_image_resize_lanczos(rs, w, h, img->wt.data, sw, sh) != SANA_OK) {
        golden_fail("preprocess resize: %s", sana_errmsg());
    } else {
        sana_image_to_tensor(x, rs, w, h);
        golden_check(g, "preprocess [1, 3, h, w]", x, 3 * (int64_t)w * h, "pre.out", "pipeline_exact");
    }
    uint8_t lut[256 * 3];
    float y[3 * 256];
    for (int i = 0; i < 256; i++) lut[3 * i] = lut[3 * i + 1] = lut[3 * i + 2] = (uint8_t)i;
    sana_image_to_tensor(y, lut, 256, 1);
    golden_check(g, "normalize 0..255", y, 256, "norm.lut", "pipeline_exact");
    if (y[0] != -1.0f || y[255] != 1.0f) golden_fail("normalize: 0 -> %g, 255 -> %g", y[0], y[255]);
    free(args);
    free(rs);
    free(x);
}

/* ------------------------------------------------------------------ bad input */

static size_t put_chunk(uint8_t *p, const char *type, const uint8_t *data, uint32_t n)
{
    p[0] = (uint8_t)(n >> 24), p[1] = (uint8_t)(n >> 16), p[2] = (uint8_t)(n >> 8), p[3] = (uint8_t)n;
    memcpy(p + 4, type, 4);
    if (n) memcpy(p + 8, data, n);
    uint32_t c = (uint32_t)crc32(0, p + 4, n + 4);
    p[8 + n] = (uint8_t)(c >> 24), p[9 + n] = (uint8_t)(c >> 16), p[10 + n] = (uint8_t)(c >> 8),
    p[11 + n] = (uint8_t)c;
    return 12 + n;
}

/* A PNG with an IHDR of w x h (8-bit RGB), an optional chunk `extra` before the image data, and a
 * small IDAT (valid zlib, one row of 4 pixels: too short for a bigger image). */
static size_t make_png_with(uint8_t *buf, uint32_t w, uint32_t h, const char *extra, const uint8_t *data, uint32_t dn)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    memcpy(buf, sig, 8);
    uint8_t ihdr[13] = {(uint8_t)(w >> 24), (uint8_t)(w >> 16), (uint8_t)(w >> 8), (uint8_t)w,
                        (uint8_t)(h >> 24), (uint8_t)(h >> 16), (uint8_t)(h >> 8), (uint8_t)h, 8, 2, 0, 0, 0};
    size_t n = 8 + put_chunk(buf + 8, "IHDR", ihdr, 13);
    if (extra) n += put_chunk(buf + n, extra, data, dn);
    uint8_t raw[1 + 3 * 4] = {0}, z[64];
    uLongf zn = sizeof z;
    compress(z, &zn, raw, sizeof raw);
    n += put_chunk(buf + n, "IDAT", z, (uint32_t)zn);
    n += put_chunk(buf + n, "IEND", NULL, 0);
    return n;
}

static size_t make_png(uint8_t *buf, uint32_t w, uint32_t h) { return make_png_with(buf, w, h, NULL, NULL, 0); }

static void write_file(const char *path, const uint8_t *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (n) fwrite(data, 1, n, f);
    fclose(f);
}

/* The file must be refused with status `want`, one line naming it, containing `needle`, nothing returned. */
static void expect_error(const char *path, sana_status want, const char *needle)
{
    uint8_t *rgb = (uint8_t *)"x";
    int w = -1, h = -1;
    sana_status st = sana_image_load_png(path, &rgb, &w, &h);
    const char *m = sana_errmsg();
    int ok = st == want && rgb == NULL && strstr(m, path) && strstr(m, needle) && !strchr(m, '\n');
    printf("%s: %-28s status %d: %s\n", ok ? "ok  " : "FAIL", strrchr(path, '/') + 1, st, m);
    if (!ok) golden_fail("%s: want status %d and a message with \"%s\"", path, want, needle);
    if (st == SANA_OK) free(rgb);
}

/* Every prefix of a good file: an error with nothing returned, or (once all rows are there, as
 * Pillow tolerates a damaged tail) the whole image. */
static void check_truncations(const char *good)
{
    size_t n = 0;
    uint8_t *buf = read_all(good, &n);
    uint8_t *ref = NULL;
    int rw, rh, fails = 0, errors = 0;
    if (!buf || sana_image_load_png_mem(buf, n, "good", &ref, &rw, &rh) != SANA_OK) {
        golden_fail("%s: cannot read the good file", good);
        free(buf);
        return;
    }
    for (size_t len = 0; len < n; len++) {
        uint8_t *copy = malloc(len ? len : 1); /* exactly len bytes, so ASan sees any overread */
        memcpy(copy, buf, len);
        uint8_t *rgb = NULL;
        int w, h;
        sana_status st = sana_image_load_png_mem(copy, len, "cut.png", &rgb, &w, &h);
        if (st == SANA_OK) {
            fails += w != rw || h != rh || memcmp(rgb, ref, (size_t)w * h * 3) != 0;
        } else {
            errors++;
            fails += rgb != NULL || st != SANA_ERR_FORMAT || !strstr(sana_errmsg(), "cut.png");
        }
        free(rgb);
        free(copy);
    }
    printf("%s: every prefix of %s (%zu): %d refused, %zu whole\n", fails ? "FAIL" : "ok  ", good, n, errors,
           n - (size_t)errors);
    if (fails || errors < (int)n / 2) golden_fail("%d truncated reads misbehaved", fails);
    free(ref);
    free(buf);
}

static void check_bad_input(void)
{
    char dir[] = "/tmp/sana-test-image-XXXXXX", path[600], good[4096];
    if (!mkdtemp(dir)) {
        golden_fail("mkdtemp");
        return;
    }
    snprintf(good, sizeof good, "%s/image/rgb8-64x48.png", golden_dir());
    size_t n = 0;
    uint8_t *png = read_all(good, &n);
    uint8_t buf[256];

    snprintf(path, sizeof path, "%s/truncated.png", dir);
    write_file(path, png, n / 2);
    expect_error(path, SANA_ERR_FORMAT, "truncated");
    snprintf(path, sizeof path, "%s/text.png", dir);
    write_file(path, (const uint8_t *)"hello, this is not a PNG", 24);
    expect_error(path, SANA_ERR_FORMAT, "not a PNG");
    snprintf(path, sizeof path, "%s/empty.png", dir);
    write_file(path, NULL, 0);
    expect_error(path, SANA_ERR_FORMAT, "not a PNG");
    snprintf(path, sizeof path, "%s/huge.png", dir);
    write_file(path, buf, make_png(buf, 20000, 20000));
    expect_error(path, SANA_ERR_UNSUPPORTED, "too large");
    snprintf(path, sizeof path, "%s/wide.png", dir);
    write_file(path, buf, make_png(buf, SANA_IMAGE_MAX_SIDE + 1, 1));
    expect_error(path, SANA_ERR_UNSUPPORTED, "too large");
    snprintf(path, sizeof path, "%s/many-pixels.png", dir);
    write_file(path, buf, make_png(buf, 8193, 8193));
    expect_error(path, SANA_ERR_UNSUPPORTED, "too large");
    snprintf(path, sizeof path, "%s/zero-width.png", dir);
    write_file(path, buf, make_png(buf, 0, 4));
    expect_error(path, SANA_ERR_FORMAT, "IHDR");
    snprintf(path, sizeof path, "%s/short-data.png", dir);
    write_file(path, buf, make_png(buf, 4, 3)); /* 1 row of data for 3 rows */
    expect_error(path, SANA_ERR_FORMAT, "broken PNG");
    size_t m = make_png(buf, 4, 1);
    buf[8 + 8 + 5] ^= 0x40; /* a bit of the IHDR: its CRC no longer matches */
    snprintf(path, sizeof path, "%s/bad-crc.png", dir);
    write_file(path, buf, m);
    expect_error(path, SANA_ERR_FORMAT, "CRC");
    /* broken zlib data, with a correct CRC: the IDAT payload overwritten */
    m = make_png(buf, 4, 1);
    uint8_t junk[10] = {0x78, 0x9c, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    size_t k = 8 + 25;
    k += put_chunk(buf + k, "IDAT", junk, sizeof junk);
    k += put_chunk(buf + k, "IEND", NULL, 0);
    snprintf(path, sizeof path, "%s/bad-zlib.png", dir);
    write_file(path, buf, k);
    expect_error(path, SANA_ERR_FORMAT, "broken PNG");
    snprintf(path, sizeof path, "%s/no-such-file.png", dir);
    expect_error(path, SANA_ERR_IO, "cannot open");
    /* tolerated: no IEND (Pillow reads it), and an eXIf that is not TIFF (Pillow raises; we load it as is) */
    m = make_png(buf, 4, 1);
    snprintf(path, sizeof path, "%s/no-iend.png", dir);
    write_file(path, buf, m - 12);
    uint8_t *rgb = NULL;
    int w = 0, h = 0;
    if (sana_image_load_png(path, &rgb, &w, &h) != SANA_OK || w != 4 || h != 1)
        golden_fail("a PNG without IEND: %s", sana_errmsg());
    free(rgb);
    m = make_png_with(buf, 4, 1, "eXIf", (const uint8_t *)"junk", 4);
    snprintf(path, sizeof path, "%s/exif-junk.png", dir);
    write_file(path, buf, m);
    rgb = NULL;
    if (sana_image_load_png(path, &rgb, &w, &h) != SANA_OK || w != 4 || h != 1)
        golden_fail("a PNG with a non-TIFF eXIf: %s", sana_errmsg());
    free(rgb);
    /* a text chunk declaring 1.9 GB in a 60-byte file: refused as truncated, without allocating
     * it (libpng alone would); after the image data, the same chunk is a tolerated damaged tail */
    static const uint8_t big_text[] = {0x75, 0x00, 0x00, 0x54, 't', 'E', 'X', 't', 'C', 'o', 'm', 0};
    m = make_png(buf, 4, 1);
    memcpy(buf + 33, big_text, sizeof big_text);
    snprintf(path, sizeof path, "%s/big-text.png", dir);
    write_file(path, buf, 33 + sizeof big_text);
    expect_error(path, SANA_ERR_FORMAT, "truncated");
    m = make_png(buf, 4, 1) - 12;
    memcpy(buf + m, big_text, sizeof big_text);
    snprintf(path, sizeof path, "%s/big-text-tail.png", dir);
    write_file(path, buf, m + sizeof big_text);
    rgb = NULL;
    if (sana_image_load_png(path, &rgb, &w, &h) != SANA_OK || w != 4 || h != 1)
        golden_fail("a PNG with a huge text chunk after its image data: %s", sana_errmsg());
    free(rgb);
    free(png);
    check_truncations(good);
    snprintf(good, sizeof good, "%s/image/rgb8-adam7.png", golden_dir());
    check_truncations(good);
    /* clean up the temporary folder */
    const char *names[] = {"truncated", "text", "empty", "huge", "wide", "many-pixels", "zero-width",
                           "short-data", "bad-crc", "bad-zlib", "no-iend", "exif-junk", "big-text", "big-text-tail"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s.png", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

int main(void)
{
    golden *g = golden_open("image/image.safetensors");
    check_reads(g);
    check_resizes(g);
    check_preprocess(g);
    golden_close(g);
    check_bad_input();
    return golden_exit();
}
