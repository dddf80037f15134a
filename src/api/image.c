/* src/api/image.c -- PNG files for programs: write with the "parameters" text, read it back, tell a
 * PNG, clean up after a signal. Thin wrappers over io/pngio.h. */
#include "sana.h"
#include "io/pngio.h"
#include "io/image.h"

int sana_image_write_png(const char *path, const uint8_t *rgb, int width, int height, const char *parameters)
{
    return sana_png_write(path, rgb, width, height, parameters);
}

int sana_image_read_parameters(const char *path, char **parameters)
{
    *parameters = NULL;
    return sana_png_read_parameters(path, parameters);
}

int sana_image_is_png(const char *path) { return sana_png_is_png(path); }

void sana_image_abort_cleanup(void) { sana_png_abort_cleanup(); }

int sana_image_read_png(const char *path, uint8_t **rgb, int *width, int *height)
{
    *rgb = NULL;
    return sana_image_load_png(path, rgb, width, height);
}
