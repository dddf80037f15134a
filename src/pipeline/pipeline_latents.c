/* src/pipeline/pipeline_latents.c -- the size of a generation and its initial latents (diffusers v0.35.2):
 *   binning: the asked height x width (any size in range) -> the nearest bin of the table chosen by the
 *   transformer's sample_size (classify_height_width_bin, binning.h); without binning the asked size must
 *   be a multiple of 32;
 *   prepare_latents: randn([n, C, H/32, W/32]) from torch.Generator("cpu").manual_seed(seed), or the
 *   given latents; Sprint: times the scheduler's sigma_data.
 */
#include "pipeline/pipeline_impl.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/binning.h"

sana_status sana_gen_size(const sana_pipeline *p, const sana_generate_params *g, int *height, int *width, int *gh,
                          int *gw)
{
    const sana_dit_config *dc = p->c->dc;
    sana_status st;
    *height = g->height ? g->height : sana_pipeline_default_size(p);
    *width = g->width ? g->width : sana_pipeline_default_size(p);
    /* with binning any size in range: diffusers' check_inputs asks the bin for multiples of 32 */
    if ((st = sana_check_size(*height, *width, g->use_resolution_binning)) != SANA_OK) return st;
    *gh = *height;
    *gw = *width;
    if (g->use_resolution_binning) {
        int nb = 0;
        const sana_bin *tab = NULL;
        if (sana_kind_sprint(p->kind)) {
            /* SanaSprint(Img2Img)Pipeline only bins with sample_size 32 (ASPECT_RATIO_1024_BIN) */
            if (dc->sample_size == 32) tab = sana_bin_table(32, &nb);
            else sana_err(SANA_ERR_UNSUPPORTED, "resolution binning of %s needs sample_size 32, "
                          "not %lld (turn binning off)", sana_kind_class[p->kind], (long long)dc->sample_size);
        } else {
            tab = sana_bin_table((int)dc->sample_size, &nb);
        }
        if (!tab) return SANA_ERR_UNSUPPORTED;
        sana_bin_classify(tab, nb, *height, *width, gh, gw);
        assert(*gh % SANA_SIZE_MULTIPLE == 0 && *gw % SANA_SIZE_MULTIPLE == 0); /* every bin of the tables is */
    }
    return SANA_OK;
}

int sana_latent_shape(const sana_pipeline *p, const sana_generate_params *g, int64_t shape[4])
{
    int h, w, gh, gw;
    sana_status st = sana_gen_size(p, g, &h, &w, &gh, &gw);
    if (st != SANA_OK) return st;
    shape[0] = g->num_images_per_prompt;
    shape[1] = p->c->dc->in_channels;
    shape[2] = gh / p->c->vae_scale;
    shape[3] = gw / p->c->vae_scale;
    return SANA_OK;
}

/* prepare_latents: the generator of the seed (also the sampler's noise), then the latents. */
sana_status sana_gen_prepare_latents(sana_gen *s)
{
    s->rng = sana_rng_new(s->g->seed);
    if (!s->rng) return sana_err(SANA_ERR_NOMEM, "out of memory");
    if (s->img2img) return sana_gen_img2img_latents(s); /* the init image, encoded and noised */
    if (s->g->latents) memcpy(s->lat, s->g->latents, sizeof(float) * (size_t)s->nlat);
    else sana_randn(s->rng, s->lat, s->nlat); /* randn_tensor: one torch.randn of the whole shape */
    if (s->sprint) {
        float sd = (float)sana_sampler_sigma_data(s->smp); /* latents * scheduler.config.sigma_data */
        for (int64_t i = 0; i < s->nlat; i++) s->lat[i] = s->lat[i] * sd;
    }
    return SANA_OK;
}
