/* sana.h -- the public C API of libsana.
 *
 * libsana is a portable C implementation of the SANA text-to-image family
 * (linear-attention diffusion transformer, DC-AE autoencoder, Gemma-2 text
 * encoder, flow-matching samplers), numerically conformant with diffusers.
 *
 * A pipeline is loaded once from a diffusers folder (model_index.json and its
 * component folders, as downloaded from the Hub) and then generates any number
 * of images. The semantics of sana_generate are those of diffusers v0.35.2
 * SanaPipeline.__call__, SanaPAGPipeline.__call__ or SanaSprintPipeline.__call__,
 * chosen by the pipeline's kind. See doc/pipeline.md.
 *
 * Errors: functions return 0 on success or a non-zero status (the values of
 * sana_status in status.h: 1 I/O, 2 format, 3 unsupported, 4 argument,
 * 5 out of memory, 6 missing) and set a message, read with sana_last_error().
 * Nothing is printed and nothing exits.
 */
#ifndef SANA_H
#define SANA_H

#include <stdint.h>

/* Functions of the public API; the library is built with hidden visibility and exports these only. */
#if defined(__GNUC__) && __GNUC__ >= 4
#define SANA_API __attribute__((visibility("default")))
#else
#define SANA_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The library version ("0.1.0"). */
SANA_API const char *sana_version(void);
/* The message of the last failed call on this thread ("" when none). */
SANA_API const char *sana_last_error(void);

/* 1 when the NUL-terminated s is valid UTF-8 (no overlong forms, no surrogates, at most U+10FFFF):
 * what prompts must be. */
SANA_API int sana_utf8_valid(const char *s);

typedef struct sana_pipeline sana_pipeline;

typedef enum {
    SANA_PIPELINE_T2I = 0, /* SanaPipeline */
    SANA_PIPELINE_PAG,     /* SanaPAGPipeline (perturbed-attention guidance) */
    SANA_PIPELINE_SPRINT   /* SanaSprintPipeline (SCM, guidance embedding) */
} sana_pipeline_kind;

typedef struct {
    const char *variant; /* NULL (float32 files), "fp16" or "bf16": the *.VARIANT.safetensors files */
    int low_memory;      /* 1: load the text encoder only while encoding and release it afterwards */
} sana_load_options;

/* Load a pipeline folder. The kind comes from model_index.json's "_class_name"
 * (SanaPipeline, SanaPAGPipeline, SanaSprintPipeline); anything else is an error.
 * opt may be NULL (float32, keep everything loaded). */
SANA_API int sana_pipeline_load(sana_pipeline **out, const char *dir, const sana_load_options *opt);
/* A pipeline of another kind over the same loaded components (nothing is reloaded), as
 * diffusers' SanaPAGPipeline(**pipe.components): T2I <-> PAG. Sprint needs its own checkpoint. */
SANA_API int sana_pipeline_derive(sana_pipeline **out, sana_pipeline *from, sana_pipeline_kind kind);
/* Release a pipeline; components are freed with the last pipeline that shares them. */
SANA_API void sana_pipeline_free(sana_pipeline *p);

SANA_API sana_pipeline_kind sana_pipeline_get_kind(const sana_pipeline *p);
/* "SanaPipeline", "SanaPAGPipeline" or "SanaSprintPipeline". */
SANA_API const char *sana_pipeline_class_name(const sana_pipeline *p);
/* The folder the pipeline was loaded from. */
SANA_API const char *sana_pipeline_dir(const sana_pipeline *p);
/* The sampler named by the checkpoint's scheduler config: "dpm", "euler" or "scm". */
SANA_API const char *sana_pipeline_sampler(const sana_pipeline *p);
/* transformer sample_size * vae scale factor: the default height and width. */
SANA_API int sana_pipeline_default_size(const sana_pipeline *p);

/* Phases reported to a progress callback. */
typedef enum {
    SANA_PHASE_ENCODE = 0, /* text encoding done (seconds: its time) */
    SANA_PHASE_STEP,       /* one denoising step done (step 1..nsteps) */
    SANA_PHASE_DECODE      /* VAE decode and postprocess done */
} sana_phase;

typedef struct {
    sana_phase phase;
    int step, nsteps;   /* SANA_PHASE_STEP: 1-based step and total */
    double seconds;     /* wall time of this phase or step */
    double elapsed;     /* wall time since the generation started */
} sana_progress;

typedef void (*sana_progress_fn)(void *user, const sana_progress *p);

/* Complex human instruction (CHI): the default list of diffusers, a custom list, or none. */
typedef enum { SANA_CHI_DEFAULT = 0, SANA_CHI_CUSTOM, SANA_CHI_NONE } sana_chi_mode;

/* The arguments of __call__. sana_generate_params_default() fills diffusers' defaults for the
 * pipeline's kind; change what you need. */
typedef struct {
    const char *prompt;            /* UTF-8; required unless prompt_embeds is given */
    const char *negative_prompt;   /* "" (not used by Sprint, nor without CFG) */
    int num_inference_steps;       /* 20 (Sprint: 2) */
    double guidance_scale;         /* 4.5; CFG runs when > 1 (Sprint: embedded guidance) */
    int num_images_per_prompt;     /* 1 */
    int height, width;             /* 0: sana_pipeline_default_size(); multiples of 32 */
    int use_resolution_binning;    /* 1 */
    int max_sequence_length;       /* 300 */
    sana_chi_mode chi_mode;        /* SANA_CHI_DEFAULT */
    const char *const *chi;        /* SANA_CHI_CUSTOM: the lines (joined with "\n" as diffusers does) */
    int nchi;
    uint64_t seed;                 /* torch.Generator("cpu").manual_seed(seed) */
    /* Initial latents [num_images_per_prompt, C, h, w] at the generated (binned) size, or NULL. */
    const float *latents;
    int64_t latents_numel;
    /* Prompt embeddings given by the caller: [L, D] and mask [L] (1/0) of one prompt, or NULL. */
    const float *prompt_embeds;
    const float *prompt_attention_mask;
    int prompt_embeds_len;         /* L */
    int prompt_embeds_dim;         /* D: must be the transformer's caption_channels */
    /* PAG (SANA_PIPELINE_PAG) */
    double pag_scale;              /* 3.0 */
    double pag_adaptive_scale;     /* 0.0 */
    const char *pag_applied_layers; /* NULL: "transformer_blocks.0"; a comma-separated list of patterns */
    /* Sprint (SANA_PIPELINE_SPRINT) */
    double max_timesteps;          /* 1.57080 */
    int intermediate_unset;        /* 1: intermediate_timesteps=None (needed for steps != 2) */
    double intermediate_timesteps; /* 1.3 */
    /* Sampler */
    const char *scheduler;         /* NULL: the checkpoint's; "dpm", "euler", "scm" */
    double flow_shift;             /* 0: the checkpoint's */
    /* Output */
    int output_latent;             /* 1: stop before VAE decode (images stays NULL) */
    int tiled_decode;              /* 1: AutoencoderDC tiled decode (enable_tiling) */
    sana_progress_fn progress;     /* NULL or a callback */
    void *progress_user;
} sana_generate_params;

SANA_API void sana_generate_params_default(sana_generate_params *g, const sana_pipeline *p);

typedef struct {
    int batch;                /* images: num_images_per_prompt */
    int height, width;        /* of the images (the asked size) */
    uint8_t *images;          /* [batch, height, width, 3] RGB; NULL for output_latent */
    int lat_channels, lat_height, lat_width; /* of the final latents (the generated size / 32) */
    float *latents;           /* [batch, C, h, w]: the input of VAE decode, before / scaling_factor */
    int gen_height, gen_width; /* the size generated at (binned) */
} sana_result;

SANA_API int sana_generate(sana_pipeline *p, const sana_generate_params *g, sana_result *out);
/* The shape [num_images, C, h, w] of the latents of a generation with these arguments (after
 * binning): what sana_generate_params.latents must hold. Checks the size arguments. */
SANA_API int sana_latent_shape(const sana_pipeline *p, const sana_generate_params *g, int64_t shape[4]);
SANA_API void sana_result_free(sana_result *r);

/* encode_prompt of one prompt: embeds [L, D] and mask [L] (1/0), malloc'd; L = max_sequence_length.
 * chi_mode/chi/nchi as in sana_generate_params. */
SANA_API int sana_encode(sana_pipeline *p, const char *prompt, sana_chi_mode chi_mode, const char *const *chi,
                int nchi, int max_sequence_length, float **embeds, float **mask, int *L, int *D);

/* VAE decode + postprocess of latents [B, C, h, w] (as output_latent gives them) to uint8 RGB
 * images [B, H, W, 3]; *H, *W receive the image size. */
SANA_API int sana_decode(sana_pipeline *p, const float *latents, int B, int C, int h, int w, int tiled,
                uint8_t **images, int *H, int *W);

#ifdef __cplusplus
}
#endif
#endif
