/* src/pipeline/pipeline_impl.h -- what the files of src/pipeline/pipeline_*.c share (not installed).
 *
 * sana_generate (pipeline_generate.c) runs the phases of SanaPipeline.__call__ (diffusers v0.35.2),
 * each in its own file, over one sana_gen that holds the generation's state:
 *   pipeline_load.c      model_index.json and its components (comps), shared by derived pipelines;
 *   pipeline_generate.c  check_inputs, the buffers, and the driver sana_generate;
 *   pipeline_encode.c    encode_prompt of the prompt and, with CFG, the negative prompt (+ sana_encode);
 *   pipeline_latents.c   binning of the size, prepare_latents (randn or given; Sprint: * sigma_data);
 *   pipeline_img2img.c   SanaSprintImg2ImgPipeline: strength, get_timesteps, the init image encoded and noised;
 *   pipeline_control.c   SanaControlNetPipeline: the control image prepared and VAE-encoded;
 *   pipeline_step.c      the sampler, and one denoising step with its guidance (CFG, PAG, Sprint, ControlNet);
 *   pipeline_decode.c    latents / scaling_factor -> DC-AE -> resize back -> uint8 (+ sana_decode).
 */
#ifndef SANA_PIPELINE_IMPL_H
#define SANA_PIPELINE_IMPL_H

#include <stdint.h>

#include "backend/backend.h"
#include "models/controlnet.h"
#include "models/dcae.h"
#include "models/dit.h"
#include "pipeline/encode_prompt.h"
#include "pipeline/pipeline.h"
#include "sampler/rng.h"
#include "sampler/sampler.h"
#include "text/tokenizer.h"

/* ------------------------------------------------------------------ components (pipeline_load.c) */

/* What model_index.json names, loaded once and shared by the pipelines derived from each other. */
typedef struct {
    int refs;
    char *dir, *variant;
    int low_memory;
    sana_quant te_quant, dit_quant; /* quantized at load (SANA_F32: not) */
    const char *const *lora;        /* the load options' LoRA files (only during load) */
    int nlora;
    const sana_backend *be;
    sana_model_index mi;
    char *sched_path;        /* DIR/scheduler/scheduler_config.json */
    char sched_kind[8];      /* "dpm", "euler", "scm" */
    double sched_shift;      /* flow_shift (dpm) or shift (euler) of the checkpoint; 0 for scm */
    sana_dit *dit;
    const sana_dit_config *dc;
    sana_dcae *vae;
    sana_controlnet *cn;     /* SanaControlNetPipeline: its SanaControlNetModel, else NULL */
    char *cn_dir;            /* the folder it was loaded from */
    sana_text_encoder *te;   /* NULL while released (low_memory) */
    size_t te_bytes;         /* prepared bytes of the text encoder's weights, at its last load */
    /* The negative prompt's embeddings [neg_L, D] and mask while it repeats (same text, same length):
     * encode_prompt of the same text gives the same bits, so it runs once (kept across low_memory). */
    char *neg_text;
    int64_t neg_L, neg_D;
    float *neg_embeds, *neg_mask;
    int neg_reused;          /* generations that took them from here (tests) */
    sana_tokenizer *tok;     /* for `sana tokenize`, loaded on demand */
    int64_t vae_scale;       /* 2 ** (len(encoder_block_out_channels) - 1) */
} comps;

struct sana_pipeline {
    comps *c;
    sana_pipeline_kind kind;
};

/* "SanaPipeline", "SanaPAGPipeline", "SanaSprintPipeline", "SanaSprintImg2ImgPipeline",
 * "SanaControlNetPipeline", indexed by sana_pipeline_kind. */
#define SANA_NKINDS 5
extern const char *const sana_kind_class[SANA_NKINDS];

/* The kinds that run SCMScheduler with the guidance embedding (SanaSprintPipeline and its img2img). */
static inline int sana_kind_sprint(sana_pipeline_kind k)
{
    return k == SANA_PIPELINE_SPRINT || k == SANA_PIPELINE_SPRINT_IMG2IMG;
}

/* The load option quantize ("int8", "q4", "none", or "text_encoder=TYPE,transformer=TYPE") into the
 * two components' types (SANA_F32: not quantized). */
sana_status sana_pipeline_parse_quantize(sana_quant *te_quant, sana_quant *dit_quant, const char *spec);
/* Load the tokenizer and the Gemma-2 encoder when they are not loaded (low_memory releases them). */
sana_status sana_comps_load_text_encoder(comps *c);
/* low_memory: release the text encoder after encoding. */
void sana_comps_release_text_encoder(comps *c);

/* ------------------------------------------------------------------ one generation */

/* The state of one sana_generate call, filled phase by phase. Buffers of the batch are
 * [Bm, ...] with Bm = ncopy * nimg rows ordered [copy][image]; lat and noise are [nimg, C, h, w]. */
typedef struct {
    sana_pipeline *p;
    comps *c;
    const sana_dit_config *dc;
    const sana_generate_params *g;
    int sprint;                 /* SanaSprintPipeline or SanaSprintImg2ImgPipeline */
    int img2img;                /* SanaSprintImg2ImgPipeline */
    int first_step;             /* img2img: t_start of get_timesteps, the first step that runs; else 0 */
    int control;                /* SanaControlNetPipeline */
    int do_cfg, do_pag;         /* classifier-free guidance; PAGMixin.do_perturbed_attention_guidance */
    double t_start;             /* for the progress callback */
    int height, width;          /* the asked size (defaults filled) */
    int gh, gw;                 /* the generated size (binned) */
    int npag, *pag_layers;      /* PAG: the resolved block indices */
    sana_sampler_opts sopt;     /* Sprint: the SCM timesteps */
    int64_t nimg;               /* num_images_per_prompt */
    int64_t C, h, w, nlat;      /* latent channels, latent height and width, nimg * C * h * w */
    int64_t cout;               /* transformer out_channels */
    int64_t L, D;               /* tokens and width of the prompt embeddings */
    int ncopy;                  /* copies of the batch: 1, CFG 2, PAG 2, CFG + PAG 3 */
    int64_t Bm;                 /* ncopy * nimg */
    float *lat, *xin, *noise, *enc, *mask, *tstep, *guid, *pred;
    float *cond;                /* ControlNet: [Bm, C, h, w] the control image's latents, one copy per row */
    float *cn_samples;          /* ControlNet: [num_layers, Bm, h * w, D] its block samples of a step */
    sana_sampler *smp;
    sana_rng *rng;
} sana_gen;

/* pipeline_generate.c: seconds of a monotonic clock, and the progress callback of a phase. */
double sana_gen_now(void);
void sana_gen_report(const sana_gen *s, sana_phase ph, int step, int nsteps, double t_phase);

/* pipeline_latents.c: the asked size (defaults filled) and the generated size (binned). */
sana_status sana_gen_size(const sana_pipeline *p, const sana_generate_params *g, int *height, int *width, int *gh,
                          int *gw);
/* pipeline_latents.c: the initial latents (randn of the generator, or the given ones). */
sana_status sana_gen_prepare_latents(sana_gen *s);

/* pipeline_img2img.c: check_inputs of SanaSprintImg2ImgPipeline (the image, strength, and t_start from
 * get_timesteps); the sampler's begin index; the initial latents: cos(t) * encoded image * scaling_factor
 * * sigma_data + sin(t) * randn * sigma_data (or the given latents, as they are). */
sana_status sana_gen_check_img2img(sana_gen *s);
sana_status sana_gen_img2img_timesteps(sana_gen *s);
sana_status sana_gen_img2img_latents(sana_gen *s);

/* pipeline_encode.c: enc/mask rows of the batch from the prompt(s) or the given prompt_embeds. */
sana_status sana_gen_encode_prompt(sana_gen *s);

/* pipeline_control.c: the control image to s->cond (prepare_image, vae.encode, * scaling_factor); the
 * arguments checked first (sana_gen_check_control, also for the other kinds: no control image there). */
sana_status sana_gen_check_control(sana_gen *s);
sana_status sana_gen_prepare_control(sana_gen *s);

/* pipeline_step.c: the sampler and its timesteps; the guidance embedding (Sprint); one step i of
 * the loop (model, guidance, sampler step); the final latents of the loop (Sprint). */
sana_status sana_gen_prepare_timesteps(sana_gen *s);
void sana_gen_guidance_embeds(sana_gen *s);
sana_status sana_gen_step(sana_gen *s, int i);
void sana_gen_final_latents(sana_gen *s);

/* pipeline_decode.c: the images of out from out->latents (decode, resize back, postprocess). */
sana_status sana_gen_decode(sana_gen *s, sana_result *out);

#endif
