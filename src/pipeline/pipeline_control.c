/* src/pipeline/pipeline_control.c -- the control image of SanaControlNetPipeline.__call__ (diffusers v0.35.2,
 * pipelines/sana/pipeline_sana_controlnet.py, step 4 "Prepare control image"):
 *   prepare_image: PixArtImageProcessor.preprocess(image, height, width) at the generated (binned) size:
 *     PIL Lanczos resize (when the size differs), x / 255, 2x - 1 (io/image.h); repeated to the batch, and
 *     doubled with CFG (every row the same image);
 *   vae.encode(image).latent * vae.config.scaling_factor (float32).
 * The image is encoded once and its latents copied to every row of the batch (diffusers encodes each copy:
 * the same computation on the same input).
 */
#include "pipeline/pipeline_impl.h"
#include "io/image.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

sana_status sana_gen_check_control(sana_gen *s)
{
    const sana_generate_params *g = s->g;
    if (!s->control) {
        if (g->control_image)
            return sana_err(SANA_ERR_ARG, "%s: a control image was given to a %s, which has no ControlNet (a "
                            "SanaControlNetPipeline folder, or the load option controlnet, has one)", s->c->dir,
                            sana_kind_class[s->p->kind]);
        return SANA_OK;
    }
    if (!g->control_image)
        return sana_err(SANA_ERR_ARG, "%s: SanaControlNetPipeline needs a control image", s->c->dir);
    if (g->control_image_width < 1 || g->control_image_height < 1 || g->control_image_width > SANA_IMAGE_MAX_SIDE ||
        g->control_image_height > SANA_IMAGE_MAX_SIDE)
        return sana_err(SANA_ERR_ARG, "the control image is %dx%d: each side must be 1 .. %d", g->control_image_width,
                        g->control_image_height, SANA_IMAGE_MAX_SIDE);
    if (sana_dcae_get_config(s->c->vae)->in_channels != 3)
        return sana_err(SANA_ERR_UNSUPPORTED, "%s: the vae takes %lld channels; the control image is RGB", s->c->dir,
                        (long long)sana_dcae_get_config(s->c->vae)->in_channels);
    if (!isfinite(g->controlnet_conditioning_scale))
        return sana_err(SANA_ERR_ARG, "controlnet_conditioning_scale must be a finite number");
    return SANA_OK;
}

sana_status sana_gen_prepare_control(sana_gen *s)
{
    if (!s->control) return SANA_OK;
    const sana_generate_params *g = s->g;
    const int W = s->gw, H = s->gh, iw = g->control_image_width, ih = g->control_image_height;
    const int64_t nper = s->C * s->h * s->w; /* one row's latents */
    uint8_t *resized = NULL;
    const uint8_t *rgb = g->control_image;
    float *img = malloc(sizeof(float) * 3 * (size_t)H * (size_t)W);
    sana_status st = img ? SANA_OK : sana_err(SANA_ERR_NOMEM, "out of memory for the control image");
    if (st == SANA_OK && (iw != W || ih != H)) { /* VaeImageProcessor.resize: PIL Image.resize((w, h), LANCZOS) */
        resized = malloc((size_t)W * (size_t)H * 3);
        if (!resized) st = sana_err(SANA_ERR_NOMEM, "out of memory for the control image");
        else st = sana_image_resize_lanczos(resized, W, H, rgb, iw, ih);
        rgb = resized;
    }
    if (st == SANA_OK) {
        sana_image_to_tensor(img, rgb, W, H); /* pil_to_numpy, numpy_to_pt, normalize: [3, H, W] in [-1, 1] */
        st = sana_dcae_encode(s->c->vae, s->cond, img, 1, H, W, s->g->tiled_decode);
    }
    if (st == SANA_OK) {
        const float sf = (float)sana_dcae_get_config(s->c->vae)->scaling_factor;
        for (int64_t k = 0; k < nper; k++) s->cond[k] = s->cond[k] * sf;
        for (int64_t b = 1; b < s->Bm; b++) memcpy(s->cond + b * nper, s->cond, sizeof(float) * (size_t)nper);
    }
    free(resized);
    free(img);
    return st;
}
