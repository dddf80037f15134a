/* sana.h -- the public C API of libsana.
 *
 * libsana is a portable C implementation of the SANA text-to-image family
 * (linear-attention diffusion transformer, DC-AE autoencoder, Gemma-2 text
 * encoder, flow-matching samplers), numerically conformant with diffusers.
 *
 * A pipeline is loaded once from a diffusers folder (model_index.json and its
 * component folders, as downloaded from the Hub) and then generates any number
 * of images. The semantics of sana_generate are those of diffusers v0.35.2
 * SanaPipeline.__call__, SanaPAGPipeline.__call__, SanaSprintPipeline.__call__ or
 * SanaSprintImg2ImgPipeline.__call__ or SanaControlNetPipeline.__call__, chosen by the pipeline's kind.
 * See doc/pipeline.md.
 *
 * Errors: functions return 0 (SANA_OK) on success or a non-zero sana_status and set a message that
 * names the file and the problem, read with sana_last_error() (thread-local, valid
 * until the next failing call on the thread). Nothing is printed and nothing exits;
 * strings and arrays the library returns are malloc'd and released with free().
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

/* What a call returns: 0 on success, else the kind of failure (the message says which file and what). */
typedef enum {
    SANA_OK = 0,
    SANA_ERR_IO,          /* 1: a file could not be opened, read, mapped or written */
    SANA_ERR_FORMAT,      /* 2: a file is broken or holds something we cannot read */
    SANA_ERR_UNSUPPORTED, /* 3: a valid value that libsana does not implement */
    SANA_ERR_ARG,         /* 4: a bad argument from the caller (size, option, prompt) */
    SANA_ERR_NOMEM,       /* 5: out of memory */
    SANA_ERR_MISSING      /* 6: a tensor, key or file that must be there is not */
} sana_status;

/* The library version ("0.1.0"). */
SANA_API const char *sana_version(void);
/* The message of the last failed call on this thread ("" when none). */
SANA_API const char *sana_last_error(void);
/* A short name of a status ("I/O error", "format error", ...). */
SANA_API const char *sana_status_name(sana_status st);

/* 1 when the NUL-terminated s is valid UTF-8 (no overlong forms, no surrogates, at most U+10FFFF):
 * what prompts must be. */
SANA_API int sana_utf8_valid(const char *s);

typedef struct sana_pipeline sana_pipeline;

typedef enum {
    SANA_PIPELINE_T2I = 0, /* SanaPipeline */
    SANA_PIPELINE_PAG,     /* SanaPAGPipeline (perturbed-attention guidance) */
    SANA_PIPELINE_SPRINT,  /* SanaSprintPipeline (SCM, guidance embedding) */
    SANA_PIPELINE_SPRINT_IMG2IMG, /* SanaSprintImg2ImgPipeline (SCM from a noised init image) */
    SANA_PIPELINE_CONTROLNET /* SanaControlNetPipeline (a SanaControlNetModel and a control image) */
} sana_pipeline_kind;

#define SANA_MAX_LORA 16 /* LoRA files of one load */

typedef struct {
    const char *variant; /* NULL (float32 files), "fp16" or "bf16": the *.VARIANT.safetensors files */
    int low_memory;      /* 1: load the text encoder only while encoding and release it afterwards */
    const char *backend; /* NULL: the default backend (sana_backend_default_name(), "cpu"); else a name
                            sana_backend_list() gives ("ref": the reference operators) */
    int threads;         /* threads the backend computes with; <= 0: every core (or OMP_NUM_THREADS when
                            set). OpenMP's thread count is the process's: the last load sets it */
    const char *quantize; /* NULL: weights as in the files; "int8" or "q4": the matrices of the transformer
                             and the text encoder quantized at load; per component:
                             "text_encoder=int8,transformer=q4" (doc/quantization.md) */
    const char *const *lora; /* nlora LoRA files of the transformer, "FILE" or "FILE:SCALE" (scale 1 by
                                default), merged into its weights at load (before quantize), as
                                diffusers' load_lora_weights + set_adapters(weights) (doc/pipeline.md) */
    int nlora;
    const char *controlnet; /* NULL: a SanaControlNetPipeline folder's controlnet/; else a SanaControlNetModel
                               folder (config.json + weights), which makes a SanaPipeline folder a
                               SanaControlNetPipeline, as SanaControlNetPipeline.from_pretrained(DIR,
                               controlnet=SanaControlNetModel.from_pretrained(CN)) does */
} sana_load_options;

/* The compiled backends, i = 0, 1, ...: *name and *description (one line) of backend i; returns 1,
 * or 0 when there is no backend i. "ref" (the reference operators, the oracle) is first. */
SANA_API int sana_backend_list(int i, const char **name, const char **description);
/* The backend a pipeline loads with when the options name none ("cpu" where it is built). */
SANA_API const char *sana_backend_default_name(void);

/* Load a pipeline folder. The kind comes from model_index.json's "_class_name"
 * (SanaPipeline, SanaPAGPipeline, SanaSprintPipeline, SanaSprintImg2ImgPipeline, SanaControlNetPipeline),
 * or is SanaControlNetPipeline when opt->controlnet names a ControlNet; anything else is an error.
 * opt may be NULL (float32, keep everything loaded). */
SANA_API int sana_pipeline_load(sana_pipeline **out, const char *dir, const sana_load_options *opt);
/* `sana convert`: write the pipeline folder in as a new folder out whose transformer and text encoder
 * are quantized as opt->quantize says (required; opt->variant: the weight files read), the other
 * components copied. out must not exist; nothing is left there on failure. 0, or a
 * sana_status with sana_last_error(). doc/quantization.md: the file layout. */
SANA_API int sana_pipeline_convert(const char *in, const char *out, const sana_load_options *opt);
/* A pipeline of another kind over the same loaded components (nothing is reloaded), as
 * diffusers' SanaPAGPipeline(**pipe.components): T2I <-> PAG, SPRINT <-> SPRINT_IMG2IMG (the
 * same five components: SanaSprintImg2ImgPipeline(**sprint.components)), and ControlNet -> T2I / PAG
 * (the ControlNet is not used there). A Sprint kind and a T2I/PAG kind cannot be made from each other
 * (SCM scheduler and guidance embedding); ControlNet needs a pipeline that has a ControlNet. */
SANA_API int sana_pipeline_derive(sana_pipeline **out, sana_pipeline *from, sana_pipeline_kind kind);
/* Release a pipeline; components are freed with the last pipeline that shares them. */
SANA_API void sana_pipeline_free(sana_pipeline *p);

SANA_API sana_pipeline_kind sana_pipeline_get_kind(const sana_pipeline *p);
/* "SanaPipeline", "SanaPAGPipeline", "SanaSprintPipeline", "SanaSprintImg2ImgPipeline" or
 * "SanaControlNetPipeline". */
SANA_API const char *sana_pipeline_class_name(const sana_pipeline *p);
/* The folder the pipeline was loaded from. */
SANA_API const char *sana_pipeline_dir(const sana_pipeline *p);
/* The sampler named by the checkpoint's scheduler config: "dpm", "euler" or "scm". */
SANA_API const char *sana_pipeline_sampler(const sana_pipeline *p);
/* transformer sample_size * vae scale factor: the default height and width. */
SANA_API int sana_pipeline_default_size(const sana_pipeline *p);
/* The backend the pipeline runs on ("cpu", "ref"). */
SANA_API const char *sana_pipeline_backend_name(const sana_pipeline *p);
/* Bytes of memory the backend took when it prepared (converted, packed) the weights of a component
 * at load: "transformer", "vae", "text_encoder" (the last load of it, with low_memory) or "controlnet";
 * NULL: all of them. 0 when the weights are used as mapped from the files (ref), or for another name. */
SANA_API int64_t sana_pipeline_weight_bytes(const sana_pipeline *p, const char *component);

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
    int height, width;             /* 0: sana_pipeline_default_size(); up to SANA_MAX_SIZE; with
                                      binning from 1 (the image is resized to it), without binning
                                      multiples of SANA_SIZE_MULTIPLE from SANA_MIN_SIZE */
    int use_resolution_binning;    /* 1 */
    int max_sequence_length;       /* 300 */
    sana_chi_mode chi_mode;        /* SANA_CHI_DEFAULT */
    const char *const *chi;        /* SANA_CHI_CUSTOM: the lines (joined with "\n" as diffusers does) */
    int nchi;
    uint64_t seed;                 /* torch.Generator("cpu").manual_seed(seed) */
    /* Initial latents [num_images_per_prompt, C, h, w] at the generated (binned) size, or NULL (Sprint:
     * multiplied by sigma_data; Sprint img2img: used as they are, the image not encoded, as diffusers). */
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
    int tiled_decode;              /* 1: AutoencoderDC enable_tiling(): tiled decode, and the tiled
                                      encode of the init image (SANA_PIPELINE_SPRINT_IMG2IMG) */
    sana_progress_fn progress;     /* NULL or a callback */
    void *progress_user;
    /* Image to image (SANA_PIPELINE_SPRINT_IMG2IMG; added after the fields above, which keep their
     * offsets). The init image as diffusers.utils.load_image gives it (sana_image_read_png): 8-bit RGB
     * [image_height, image_width, 3]; required by that kind, refused by the others. It is resized
     * (PIL Lanczos) to the generated size (after binning), encoded by the VAE and noised to the first
     * timestep that strength keeps. */
    const uint8_t *image;
    int image_width, image_height;
    double strength;               /* 0.6; in [0, 1]: the share of the steps that run (get_timesteps) */
    /* ControlNet (SANA_PIPELINE_CONTROLNET; after the fields above, too): the control image as diffusers.utils.load_image gives it
     * (sana_image_read_png), [control_image_height, control_image_width, 3] RGB; resized (PIL Lanczos) to
     * the generated size, VAE-encoded and * scaling_factor, as SanaControlNetPipeline.prepare_image */
    const uint8_t *control_image;
    int control_image_width, control_image_height;
    double controlnet_conditioning_scale; /* 1.0: the ControlNet's samples are multiplied by it */
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

/* ------------------------------------------------------------------ limits */

/* Limits of height and width (pixels). diffusers only asks for multiples of 32 (check_inputs of
 * pipeline_sana.py), of the size it generates at: with resolution binning that is the bin, so any asked
 * size is accepted (the image is resized back to it); without binning the asked size. The bounds keep
 * sizes far from integer overflow and above the largest published model (4096 px). */
#define SANA_MIN_SIZE 32 /* without binning (the smallest multiple); with binning any size >= 1 */
#define SANA_MAX_SIZE 16384
#define SANA_SIZE_MULTIPLE 32
/* The largest num_images_per_prompt (and batch of latents given to sana_decode). */
#define SANA_MAX_IMAGES 64

/* ------------------------------------------------------------------ threads */

/* Threads of the default backend (OpenMP, and OpenBLAS when the library was built with it) for the
 * whole process. n <= 0 leaves the default (every core, or OMP_NUM_THREADS). A pipeline sets its own
 * backend's threads at load (sana_load_options.threads). */
SANA_API void sana_threads_set(int n);

/* ------------------------------------------------------------------ tensor files */

/* Tensors of safetensors files (what `sana encode` and latent output write, what --latents and
 * --prompt-embeds read). */
#define SANA_TENSOR_MAX_DIMS 8

typedef enum {
    SANA_TENSOR_F32 = 0, /* float32 ("F32") */
    SANA_TENSOR_I64      /* int64 ("I64"), e.g. an attention mask as transformers returns it */
} sana_tensor_type;

/* One tensor to write: data holds prod(shape) elements of type, row-major. */
typedef struct {
    const char *name;
    sana_tensor_type type;
    int ndim;
    int64_t shape[SANA_TENSOR_MAX_DIMS];
    const void *data;
} sana_tensor;

/* The tensor NAME of the safetensors file PATH as float32 (any numeric dtype is converted).
 * *data (malloc'd, free() it) receives the values, *ndim and shape[0 .. *ndim-1] the shape.
 * Errors: the file cannot be opened or is not a valid safetensors file; it has no tensor NAME
 * (the message says "PATH: no tensor "NAME""). */
SANA_API int sana_tensor_read_f32(const char *path, const char *name, float **data, int *ndim,
                                  int64_t shape[SANA_TENSOR_MAX_DIMS]);

/* Write n tensors to the safetensors file PATH with string metadata (__metadata__): meta_kv holds
 * nmeta key/value pairs, keys at even indices. The file is written to a temporary name in the same
 * folder and renamed when complete: a failed write leaves no partial file. */
SANA_API int sana_tensor_write(const char *path, const sana_tensor *t, int n, const char *const *meta_kv,
                               int nmeta);

/* ------------------------------------------------------------------ images */

/* Write rgb [height, width, 3] (8-bit RGB, rows top to bottom) as a PNG file. parameters, when not
 * NULL, is stored in a text chunk "parameters" (tEXt, or iTXt for non-ASCII text), as
 * AUTOMATIC1111-style UIs read it. Written to a temporary name and renamed when complete. */
SANA_API int sana_image_write_png(const char *path, const uint8_t *rgb, int width, int height,
                                  const char *parameters);
/* A PNG file as diffusers.utils.load_image(path) gives it: EXIF orientation applied, converted to 8-bit RGB
 * (alpha dropped, 16-bit to 8, palettes looked up, as Pillow does). *rgb [*height, *width, 3] is malloc'd
 * (free() it). Errors name the file: not a PNG, truncated or corrupt, larger than 16384 a side or 64 Mpixel. */
SANA_API int sana_image_read_png(const char *path, uint8_t **rgb, int *width, int *height);
/* The "parameters" text of a PNG file, without decoding its pixels: *parameters is malloc'd
 * (free() it), or NULL when the image has none (that is not an error). */
SANA_API int sana_image_read_parameters(const char *path, char **parameters);
/* Read a PNG file as diffusers.utils.load_image(path) does (EXIF orientation applied, converted to
 * RGB as Pillow converts each PNG kind): *rgb [*height, *width, 3] 8-bit RGB, malloc'd (free() it).
 * Errors name the file: unreadable, not a PNG, truncated or corrupt, or larger than 16384 px a side or
 * 64 Mpixel (refused from the header). What sana_generate_params.image takes. */
SANA_API int sana_image_read_png(const char *path, uint8_t **rgb, int *width, int *height);
/* 1 when the file at path starts with the PNG signature, 0 otherwise (also when it cannot be read). */
SANA_API int sana_image_is_png(const char *path);
/* Remove the temporary file of a PNG write in progress, if any. Async-signal-safe: meant for a
 * program's SIGINT/SIGTERM handler, so that an interrupted run leaves no partial file. */
SANA_API void sana_image_abort_cleanup(void);

/* The A1111 name of a sampler ("dpm" -> "DPM++ 2M", "euler" -> "Euler", "scm" -> "SCM"; any other
 * string is returned as it is). */
SANA_API const char *sana_sampler_display_name(const char *sampler);
/* The "parameters" text of an image (malloc'd, free() it; NULL when out of memory), in the A1111 format:
 *     PROMPT
 *     Negative prompt: NEGATIVE                     (the line only when negative is not NULL or "")
 *     Steps: N, Sampler: S, CFG scale: G, Seed: N, Size: WxH, Model: M[, EXTRA]
 * prompt, model and extra may be NULL. */
SANA_API char *sana_parameters_format(const char *prompt, const char *negative, int steps, const char *sampler,
                                      double cfg, uint64_t seed, int width, int height, const char *model,
                                      const char *extra);

/* ------------------------------------------------------------------ text, checkpoints */

/* Token ids of UTF-8 text with the tokenizer of the pipeline folder DIR (DIR/tokenizer/tokenizer.json
 * and its tokenizer_config.json), as tokenizer(text).input_ids: special tokens added (Gemma: <bos>
 * first), no padding or truncation. No model is loaded. *ids is malloc'd (free() it), *n its length. */
SANA_API int sana_text_tokenize(const char *dir, const char *text, int32_t **ids, int *n);

/* A report of the pipeline folder DIR, what `sana info DIR` prints: the pipeline class and diffusers
 * version, what libsana runs that class as, then for each component of model_index.json its library and class, size on disk, the
 * keys of its config and, for the models, parameter counts and dtypes of each weight variant present.
 * *text is malloc'd (free() it); nothing is printed. Errors: DIR has no readable model_index.json. */
SANA_API int sana_checkpoint_describe(const char *dir, char **text);

#ifdef __cplusplus
}
#endif
#endif
