/* src/pipeline/pipeline_img2img.c -- what SanaSprintImg2ImgPipeline.__call__ (diffusers v0.35.2,
 * pipelines/sana/pipeline_sana_sprint_img2img.py) adds to SanaSprintPipeline:
 *   check_inputs    strength in [0, 1] (and an image; other kinds take none);
 *   prepare_image   VaeImageProcessor.preprocess(image, height, width) at the generated (binned) size:
 *                   PIL Lanczos resize, x / 255 * 2 - 1 (io/image.h);
 *   get_timesteps   init_timestep = min(N * strength, N), t_start = int(max(N - init_timestep, 0)): the
 *                   steps before t_start are dropped, scheduler.set_begin_index(t_start); fewer than one
 *                   step left is an error;
 *   prepare_latents image_latents = vae.encode(image).latent * scaling_factor * sigma_data (repeated for
 *                   num_images_per_prompt), noise = randn([n, C, h, w]) * sigma_data, and
 *                   latents = cos(t) * image_latents + sin(t) * noise at t = timesteps[t_start]; given
 *                   latents are used as they are (no image encoded, no sigma_data).
 * The loop and the decode are the Sprint ones (pipeline_step.c, pipeline_decode.c). Float32 throughout,
 * in diffusers' order of operations (tensor * Python float rounds the scalar to float32 first).
 */
#include "pipeline/pipeline_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/image.h"

sana_status sana_gen_check_img2img(sana_gen *s)
{
    const sana_generate_params *g = s->g;
    if (!s->img2img) {
        if (g->image)
            return sana_err(SANA_ERR_ARG, "image: a %s takes no init image (only %s does; derive one from a %s with "
                            "sana_pipeline_derive)", sana_kind_class[s->p->kind],
                            sana_kind_class[SANA_PIPELINE_SPRINT_IMG2IMG], sana_kind_class[SANA_PIPELINE_SPRINT]);
        return SANA_OK;
    }
    /* diffusers' check_inputs: "The value of strength should in [0.0, 1.0] but is ..." */
    if (!(g->strength >= 0.0 && g->strength <= 1.0))
        return sana_err(SANA_ERR_ARG, "strength must be in [0.0, 1.0], not %g", g->strength);
    if (!g->image)
        return sana_err(SANA_ERR_ARG, "image: %s needs an init image (sana_generate_params.image)",
                        sana_kind_class[SANA_PIPELINE_SPRINT_IMG2IMG]);
    if (g->image_width < 1 || g->image_height < 1 || g->image_width > SANA_IMAGE_MAX_SIDE ||
        g->image_height > SANA_IMAGE_MAX_SIDE ||
        (int64_t)g->image_width * g->image_height > SANA_IMAGE_MAX_PIXELS)
        return sana_err(SANA_ERR_ARG, "image: %dx%d pixels (width x height) is not a size the image input takes "
                        "(1 .. %d a side, at most %lld pixels)", g->image_width, g->image_height, SANA_IMAGE_MAX_SIDE,
                        (long long)SANA_IMAGE_MAX_PIXELS);
    /* get_timesteps, in Python's float arithmetic */
    const int n = g->num_inference_steps;
    double init_timestep = fmin((double)n * g->strength, (double)n);
    s->first_step = (int)fmax((double)n - init_timestep, 0.0);
    if (n - s->first_step < 1)
        return sana_err(SANA_ERR_ARG, "After adjusting the num_inference_steps by strength parameter: %g, the number "
                        "of pipeline steps is %d which is < 1 and not appropriate for this pipeline (raise strength "
                        "or num_inference_steps)", g->strength, n - s->first_step);
    return SANA_OK;
}

sana_status sana_gen_img2img_timesteps(sana_gen *s)
{
    return sana_sampler_set_begin_index(s->smp, s->first_step); /* get_timesteps: set_begin_index(t_start * order) */
}

/* prepare_image + vae.encode: the init image at the generated size, encoded: z [1, C, h, w] (not scaled). */
static sana_status encode_image(sana_gen *s, float *z)
{
    const sana_generate_params *g = s->g;
    const sana_dcae_config *vc = sana_dcae_get_config(s->c->vae);
    if (vc->in_channels != 3)
        return sana_err(SANA_ERR_UNSUPPORTED, "%s/vae: in_channels %lld; the init image is RGB (3)", s->c->dir,
                        (long long)vc->in_channels);
    const size_t npix = (size_t)s->gh * (size_t)s->gw;
    uint8_t *rgb = malloc(npix * 3);
    float *x = malloc(sizeof(float) * npix * 3);
    sana_status st = rgb && x ? SANA_OK : sana_err(SANA_ERR_NOMEM, "out of memory for a %dx%d init image", s->gw, s->gh);
    /* VaeImageProcessor.resize of a PIL image: Image.resize((width, height), LANCZOS), a copy at the same size */
    if (st == SANA_OK)
        st = sana_image_resize_lanczos(rgb, s->gw, s->gh, g->image, g->image_width, g->image_height);
    if (st == SANA_OK) {
        sana_image_to_tensor(x, rgb, s->gw, s->gh); /* [1, 3, gh, gw] in [-1, 1] */
        st = sana_dcae_encode(s->c->vae, z, x, 1, s->gh, s->gw, g->tiled_decode);
    }
    free(rgb);
    free(x);
    return st;
}

sana_status sana_gen_img2img_latents(sana_gen *s)
{
    const sana_generate_params *g = s->g;
    if (g->latents) { /* prepare_latents returns given latents as they are */
        memcpy(s->lat, g->latents, sizeof(float) * (size_t)s->nlat);
        return SANA_OK;
    }
    const int64_t per = s->C * s->h * s->w; /* one image's latents */
    float *il = malloc(sizeof(float) * (size_t)per);
    if (!il) return sana_err(SANA_ERR_NOMEM, "out of memory");
    sana_status st = encode_image(s, il);
    if (st != SANA_OK) {
        free(il);
        return st;
    }
    /* image * vae.config.scaling_factor * scheduler.config.sigma_data, left to right */
    const float sf = (float)sana_dcae_get_config(s->c->vae)->scaling_factor;
    const float sd = (float)sana_sampler_sigma_data(s->smp);
    for (int64_t k = 0; k < per; k++) il[k] = il[k] * sf * sd;
    /* noise = randn_tensor(shape, generator) * sigma_data: one draw for the whole [n, C, h, w] */
    sana_randn(s->rng, s->noise, s->nlat);
    /* latents = cos(t) * image_latents + sin(t) * noise, t = timesteps[t_start] (float32) */
    const float t = (float)sana_sampler_timestep(s->smp, s->first_step);
    const float ct = cosf(t), st_ = sinf(t);
    for (int64_t b = 0; b < s->nimg; b++) /* torch.cat([image_latents] * num_images_per_prompt) */
        for (int64_t k = 0; k < per; k++) {
            float nz = s->noise[b * per + k] * sd;
            float a = ct * il[k], c = st_ * nz;
            s->lat[b * per + k] = a + c;
        }
    free(il);
    return SANA_OK;
}
