/* tests/test-png.c -- PNG write/read round trip, the "parameters" text chunk (tEXt and iTXt),
 * and that a failed write leaves no file behind. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "golden.h"
#include "io/pngio.h"

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static void round_trip(const char *dir, const char *params, int w, int h)
{
    char path[512];
    snprintf(path, sizeof path, "%s/rt.png", dir);
    uint8_t *img = malloc((size_t)w * h * 3);
    for (int i = 0; i < w * h * 3; i++) img[i] = (uint8_t)(i * 37 + i / 7);
    sana_status st = sana_png_write(path, img, w, h, params);
    GOLDEN_CHECK(st == SANA_OK, "write %s: %s", path, sana_errmsg());
    GOLDEN_CHECK(sana_png_is_png(path), "signature");
    uint8_t *back = NULL;
    int bw = 0, bh = 0;
    char *text = NULL;
    st = sana_png_read(path, &back, &bw, &bh, &text);
    GOLDEN_CHECK(st == SANA_OK, "read: %s", sana_errmsg());
    GOLDEN_CHECK(bw == w && bh == h, "size %dx%d, want %dx%d", bw, bh, w, h);
    GOLDEN_CHECK(back && memcmp(back, img, (size_t)w * h * 3) == 0, "pixels differ after the round trip");
    if (params)
        GOLDEN_CHECK(text && strcmp(text, params) == 0, "parameters: got \"%s\"", text ? text : "(none)");
    else
        GOLDEN_CHECK(text == NULL, "no parameters expected");
    char *t2 = NULL;
    st = sana_png_read_parameters(path, &t2);
    GOLDEN_CHECK(st == SANA_OK && ((params && t2 && !strcmp(t2, params)) || (!params && !t2)),
          "read_parameters");
    /* only the final file: no temporary left over */
    GOLDEN_CHECK(count_entries(dir) == 1, "%d entries in %s after a write, want 1", count_entries(dir), dir);
    unlink(path);
    free(img);
    free(back);
    free(text);
    free(t2);
}

int main(void)
{
    char dir[] = "/tmp/sana-test-png-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 99;
    }
    round_trip(dir, "a cat\nNegative prompt: blurry\nSteps: 20, Sampler: DPM++ 2M, CFG scale: 4.5, Seed: 42, "
                    "Size: 64x32, Model: sana-tiny", 64, 32);
    round_trip(dir, "un chat \xc3\xa9l\xc3\xa9gant \xe7\x8c\xab\nSteps: 2, Sampler: Euler, CFG scale: 1, Seed: 0, "
                    "Size: 3x5, Model: x", 3, 5);
    round_trip(dir, NULL, 1, 1);

    /* an unwritable place: a folder that does not exist, and a read-only folder */
    char path[600];
    uint8_t px[3] = {1, 2, 3};
    snprintf(path, sizeof path, "%s/no/such/dir/out.png", dir);
    sana_status st = sana_png_write(path, px, 1, 1, "p");
    GOLDEN_CHECK(st == SANA_ERR_IO, "write into a missing folder must fail with an I/O error");
    GOLDEN_CHECK(strstr(sana_errmsg(), "out.png") != NULL, "message names the file: %s", sana_errmsg());
    char ro[560];
    snprintf(ro, sizeof ro, "%s/ro", dir);
    mkdir(ro, 0500);
    snprintf(path, sizeof path, "%s/out.png", ro);
    st = sana_png_write(path, px, 1, 1, "p");
    if (geteuid() != 0) { /* root writes anywhere */
        GOLDEN_CHECK(st == SANA_ERR_IO, "write into a read-only folder must fail");
        GOLDEN_CHECK(count_entries(ro) == 0, "a failed write left %d files", count_entries(ro));
    } else {
        unlink(path);
    }
    rmdir(ro);
    /* the output name is an existing folder: rename fails, the temporary is removed */
    snprintf(path, sizeof path, "%s/isdir.png", dir);
    mkdir(path, 0700);
    st = sana_png_write(path, px, 1, 1, "p");
    GOLDEN_CHECK(st == SANA_ERR_IO, "writing over a folder must fail");
    GOLDEN_CHECK(count_entries(dir) == 1, "a failed rename left %d entries", count_entries(dir));
    rmdir(path);
    /* bad sizes */
    GOLDEN_CHECK(sana_png_write("/tmp/x.png", px, 0, 1, NULL) == SANA_ERR_ARG, "width 0");
    /* a file that is not a PNG */
    snprintf(path, sizeof path, "%s/not.png", dir);
    FILE *f = fopen(path, "wb");
    fputs("hello, this is not a png", f);
    fclose(f);
    char *t = NULL;
    st = sana_png_read_parameters(path, &t);
    GOLDEN_CHECK(st == SANA_ERR_FORMAT && t == NULL, "a text file is not a PNG");
    /* a truncated PNG */
    uint8_t img[16 * 16 * 3];
    for (int i = 0; i < (int)sizeof img; i++) img[i] = (uint8_t)(i * 13);
    char good[600];
    snprintf(good, sizeof good, "%s/good.png", dir);
    sana_png_write(good, img, 16, 16, "x");
    f = fopen(good, "rb");
    unsigned char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    f = fopen(path, "wb");
    fwrite(buf, 1, n / 2, f);
    fclose(f);
    uint8_t *pix = NULL;
    int w, h;
    st = sana_png_read(path, &pix, &w, &h, NULL);
    GOLDEN_CHECK(st == SANA_ERR_FORMAT && pix == NULL, "a truncated PNG must be a format error (got %d: %s)", st,
          sana_errmsg());
    /* a text chunk declaring 1.8 GB in a file of 60 bytes (libpng would allocate it first): the
     * reader ends the file at that chunk's header, one clear error */
    f = fopen(path, "wb");
    fwrite(buf, 1, 33, f); /* signature + IHDR */
    static const unsigned char huge[] = {0x70, 0, 0, 0, 't', 'E', 'X', 't', 'p', 'a', 'r', 'a', 'm', 's'};
    fwrite(huge, 1, sizeof huge, f);
    fclose(f);
    t = NULL;
    st = sana_png_read_parameters(path, &t);
    GOLDEN_CHECK(st == SANA_ERR_FORMAT && t == NULL && strstr(sana_errmsg(), "ends in a chunk"),
          "a text chunk past the end of the file: %d %s", st, sana_errmsg());
    unlink(path);
    unlink(good);
    rmdir(dir);
    return golden_exit();
}
