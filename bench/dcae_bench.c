/* bench/dcae_bench.c -- decode (and optionally encode) with an AutoencoderDC folder, printing
 * the time and the peak resident memory. Not a test: bench/dcae_real.sh runs it on a random
 * checkpoint of the real dc-ae-f32c32-sana-1.0 config.
 *
 *   dcae_bench VAE_DIR [h w [B [tiled [OUT.safetensors]]]]
 *
 * h w: latent size (default 16 16 -> 512 x 512); OUT: write the latent "z" and the image "img"
 * there (bench/dcae_real.sh compares them with diffusers when DCAE_COMPARE=1).
 */
#include "models/dcae.h"
#include "io/safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double peak_rss_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0; /* Linux: KiB */
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s VAE_DIR [h w [B [tiled [OUT.safetensors]]]]\n", argv[0]);
        return 2;
    }
    int64_t h = argc > 3 ? atoll(argv[2]) : 16, w = argc > 3 ? atoll(argv[3]) : 16;
    int64_t B = argc > 4 ? atoll(argv[4]) : 1;
    int tiled = argc > 5 ? atoi(argv[5]) : 0;
    double t0 = now();
    sana_dcae *m;
    if (sana_dcae_load(&m, argv[1], NULL, NULL) != SANA_OK) {
        fprintf(stderr, "dcae_bench: %s\n", sana_errmsg());
        return 1;
    }
    const sana_dcae_config *c = sana_dcae_get_config(m);
    int64_t H, W, nz = B * c->latent_channels * h * w;
    sana_dcae_decoded_size(m, h, w, &H, &W);
    printf("loaded %s in %.2f s (peak RSS %.0f MiB)\n", argv[1], now() - t0, peak_rss_mib());
    float *z = malloc((size_t)nz * sizeof(float)), *img = malloc((size_t)(B * c->in_channels * H * W) * sizeof(float));
    uint64_t s = 42;
    for (int64_t i = 0; i < nz; i++) { /* uniform in [-2, 2) from a 64-bit LCG */
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        z[i] = (float)((double)(s >> 11) / 9007199254740992.0 * 4.0 - 2.0);
    }
    t0 = now();
    sana_status st = sana_dcae_decode(m, img, z, B, h, w, tiled);
    double dt = now() - t0;
    if (st != SANA_OK) {
        fprintf(stderr, "dcae_bench: decode: %s\n", sana_errmsg());
        return 1;
    }
    double mn = img[0], mx = img[0];
    for (int64_t i = 0; i < B * c->in_channels * H * W; i++) {
        if (img[i] < mn) mn = img[i];
        if (img[i] > mx) mx = img[i];
    }
    printf("decode %lldx%lldx%lldx%lld -> %lldx%lldx%lldx%lld%s: %.2f s, peak RSS %.0f MiB, output in [%.3g, %.3g]\n",
           (long long)B, (long long)c->latent_channels, (long long)h, (long long)w, (long long)B,
           (long long)c->in_channels, (long long)H, (long long)W, tiled ? " (tiled)" : "", dt, peak_rss_mib(), mn, mx);
    int rc = 0;
    if (argc > 6) {
        sana_st_write_tensor t[2] = {
            {"z", SANA_F32, 4, {B, c->latent_channels, h, w}, z},
            {"img", SANA_F32, 4, {B, c->in_channels, H, W}, img},
        };
        if (sana_st_write(argv[6], t, 2, NULL, 0) != SANA_OK) {
            fprintf(stderr, "dcae_bench: %s\n", sana_errmsg());
            rc = 1;
        }
    }
    free(z);
    free(img);
    sana_dcae_free(m);
    return rc;
}
