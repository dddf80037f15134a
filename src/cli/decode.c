/* src/cli/decode.c -- `sana decode -m DIR --latents FILE -o OUT.png`: VAE decode of latents (what
 * --output-type latent writes) to PNG images, numbered when there are several. */
#include <stdint.h>
#include <stdlib.h>

#include "sana.h"
#include "cli/cli.h"

static int write_images(const cli_opts *o, const uint8_t *img, int64_t B, int H, int W)
{
    for (int64_t j = 0; j < B; j++) {
        char *path = cli_numbered(o->output, (int)j + 1, B > 1);
        if (!path) return cli_fail("out of memory");
        int bad = sana_image_write_png(path, img + (size_t)j * H * W * 3, W, H, NULL) != 0;
        if (bad) cli_fail("%s", sana_last_error());
        else cli_say("write: %s (%dx%d)", path, W, H);
        free(path);
        if (bad) return 1;
    }
    return 0;
}

static int decode(const cli_opts *o, sana_pipeline *p, const float *lat, const int64_t s[4])
{
    uint8_t *img = NULL;
    int H = 0, W = 0, rc;
    double t0 = cli_now();
    if (sana_decode(p, lat, (int)s[0], (int)s[1], (int)s[2], (int)s[3], o->tiled, &img, &H, &W) != 0) {
        rc = cli_fail("%s", sana_last_error());
    } else {
        cli_say("decode: %.2f s", cli_now() - t0);
        rc = write_images(o, img, s[0], H, W);
    }
    free(img);
    return rc;
}

int cmd_decode(int argc, char **argv)
{
    cli_opts o;
    int r = cli_parse(argc, argv, CLI_DECODE, &o);
    if (r) return r;
    if (!o.latents_file) return cli_usage_fail("no latents: give --latents FILE");
    if (!o.output) o.output = "sana.png";
    if ((r = cli_prepare(&o)) != 0) return r;
    float *lat = NULL;
    int64_t s[4];
    if (cli_read_latents(o.latents_file, &lat, s)) return 1;
    if (s[0] < 1 || s[0] > SANA_MAX_IMAGES || s[2] > SANA_MAX_SIZE || s[3] > SANA_MAX_SIZE || s[1] > 4096) {
        free(lat);
        return cli_fail("%s: latents of shape [%lld, %lld, %lld, %lld] are out of range", o.latents_file,
                        (long long)s[0], (long long)s[1], (long long)s[2], (long long)s[3]);
    }
    sana_pipeline *p = NULL;
    if ((r = cli_load_pipeline(&o, &p)) == 0) r = decode(&o, p, lat, s);
    free(lat);
    sana_pipeline_free(p);
    return r;
}
