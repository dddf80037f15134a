/* src/pipeline/pipeline_decode.c -- the end of SanaPipeline.__call__ (diffusers v0.35.2):
 * latents / vae.config.scaling_factor -> AutoencoderDC.decode (tiled when asked) -> resize_and_crop_tensor
 * back to the asked size (when binned) -> image_processor.postprocess: (x/2 + 0.5).clamp(0, 1) ->
 * round(x * 255) as uint8. Also sana_decode (`sana decode`).
 */
#include "pipeline/pipeline_impl.h"

#include <stdlib.h>

#include "pipeline/binning.h"

/* Decode latents [B, C, h, w] into float images [B, 3, H, W] in [-1, 1] (not postprocessed). */
static sana_status decode_float(comps *c, const float *lat, int64_t B, int64_t h, int64_t w, int tiled, float **img,
                                int64_t *H, int64_t *W)
{
    const sana_dcae_config *vc = sana_dcae_get_config(c->vae);
    int64_t C = vc->latent_channels, n = B * C * h * w;
    sana_dcae_decoded_size(c->vae, h, w, H, W);
    float *z = malloc(sizeof(float) * (size_t)n);
    float *x = malloc(sizeof(float) * (size_t)(B * vc->in_channels * *H * *W));
    if (!z || !x) {
        free(z);
        free(x);
        return sana_err(SANA_ERR_NOMEM, "out of memory for a %lldx%lld image", (long long)*W, (long long)*H);
    }
    /* diffusers: latents / self.vae.config.scaling_factor (float32 tensor / Python float) */
    float sf = (float)vc->scaling_factor;
    for (int64_t i = 0; i < n; i++) z[i] = lat[i] / sf;
    sana_status st = sana_dcae_decode(c->vae, x, z, B, h, w, tiled);
    free(z);
    if (st != SANA_OK) {
        free(x);
        return st;
    }
    *img = x;
    return SANA_OK;
}

int sana_decode(sana_pipeline *p, const float *latents, int B, int C, int h, int w, int tiled, uint8_t **images,
                int *H, int *W)
{
    *images = NULL;
    comps *c = p->c;
    const sana_dcae_config *vc = sana_dcae_get_config(c->vae);
    if (C != vc->latent_channels || B < 1 || h < 1 || w < 1 || B > SANA_MAX_IMAGES ||
        (int64_t)h * c->vae_scale > SANA_MAX_SIZE || (int64_t)w * c->vae_scale > SANA_MAX_SIZE)
        return sana_err(SANA_ERR_ARG, "latents of shape [%d, %d, %d, %d] do not fit this VAE ([B, %lld, h, w])", B, C,
                        h, w, (long long)vc->latent_channels);
    float *x = NULL;
    int64_t IH, IW;
    sana_status st = decode_float(c, latents, B, h, w, tiled, &x, &IH, &IW);
    if (st != SANA_OK) return st;
    uint8_t *u = malloc((size_t)(B * IH * IW * 3));
    if (!u) {
        free(x);
        return sana_err(SANA_ERR_NOMEM, "out of memory");
    }
    sana_postprocess_u8(u, x, B, vc->in_channels, IH, IW);
    free(x);
    *images = u;
    *H = (int)IH;
    *W = (int)IW;
    return SANA_OK;
}

/* resize_and_crop_tensor of the float images [nimg, ic, IH, IW] back to the asked size (*img replaced). */
static sana_status resize_back(const sana_gen *s, int64_t ic, float **img, int64_t *IH, int64_t *IW)
{
    float *r = malloc(sizeof(float) * (size_t)(s->nimg * ic * s->height * s->width));
    if (!r) return sana_err(SANA_ERR_NOMEM, "out of memory");
    sana_status st = sana_resize_and_crop(r, *img, s->nimg, ic, *IH, *IW, s->height, s->width);
    free(*img);
    *img = r;
    if (st != SANA_OK) return st;
    *IH = s->height;
    *IW = s->width;
    return SANA_OK;
}

sana_status sana_gen_decode(sana_gen *s, sana_result *out)
{
    double t0 = sana_gen_now();
    float *img = NULL;
    int64_t IH, IW;
    sana_status st = decode_float(s->c, out->latents, s->nimg, s->h, s->w, s->g->tiled_decode, &img, &IH, &IW);
    if (st != SANA_OK) return st;
    const int64_t ic = sana_dcae_get_config(s->c->vae)->in_channels;
    if (s->g->use_resolution_binning && (IH != s->height || IW != s->width))
        st = resize_back(s, ic, &img, &IH, &IW);
    if (st == SANA_OK && !(out->images = malloc((size_t)(s->nimg * IH * IW * 3))))
        st = sana_err(SANA_ERR_NOMEM, "out of memory");
    if (st == SANA_OK) {
        sana_postprocess_u8(out->images, img, s->nimg, ic, IH, IW);
        out->height = (int)IH;
        out->width = (int)IW;
        sana_gen_report(s, SANA_PHASE_DECODE, 0, 0, t0);
    }
    free(img);
    return st;
}
