/* src/models/dit.h -- SanaTransformer2DModel (diffusers v0.35.2), the linear DiT of SANA.
 *
 * Loads a diffusers `transformer/` folder (config.json + diffusion_pytorch_model[.VARIANT].safetensors,
 * single file or sharded with an index) and runs its forward pass through the backend table.
 * Weights are memory-mapped in their file dtype (fp32, fp16 or bf16) and prepared once at load by
 * the backend (prepare_weight: converted or packed for speed, src/models/weights.h); ref keeps them
 * as mapped and converts the rows it needs to float32 inside each operator (sana_wt_rows_f32). Activations live in one arena allocated through the backend
 * for a (B, H, W, L) shape and reused while the shape repeats. See doc/dit.md.
 */
#ifndef SANA_DIT_H
#define SANA_DIT_H

#include <stddef.h>
#include <stdint.h>
#include "core/status.h"
#include "backend/backend.h"
#include "core/quant.h"
#include "models/weights.h"

/* qk_norm values of SanaTransformer2DModel that libsana implements. */
typedef enum {
    SANA_QK_NORM_NONE = 0,           /* null (Sana 1.0) */
    SANA_QK_NORM_RMS_ACROSS_HEADS    /* "rms_norm_across_heads" (Sana 1.5, Sprint) */
} sana_qk_norm;

/* Every argument of SanaTransformer2DModel.__init__, with diffusers' defaults. */
typedef struct {
    int64_t in_channels;               /* 32 */
    int64_t out_channels;              /* 32 (null in config.json: in_channels) */
    int64_t num_attention_heads;       /* 70 */
    int64_t attention_head_dim;        /* 32 */
    int64_t num_layers;                /* 20 */
    int64_t num_cross_attention_heads; /* 20 (null is not supported: diffusers cannot build it either) */
    int64_t cross_attention_head_dim;  /* 112 */
    int64_t cross_attention_dim;       /* 2240 (must equal num_attention_heads * attention_head_dim) */
    int64_t caption_channels;          /* 2304 */
    double mlp_ratio;                  /* 2.5 */
    double dropout;                    /* 0.0 (inference: no effect) */
    int attention_bias;                /* false: bias of the self-attention q, k, v */
    int64_t sample_size;               /* 32 */
    int64_t patch_size;                /* 1 */
    int norm_elementwise_affine;       /* false: affine of the blocks' norm2 */
    double norm_eps;                   /* 1e-6 */
    int has_interpolation_scale;       /* 0: interpolation_scale None (no position embedding) */
    double interpolation_scale;        /* meaningful when has_interpolation_scale */
    int guidance_embeds;               /* false (Sprint: true) */
    double guidance_embeds_scale;      /* 0.1: the pipeline multiplies guidance by it */
    sana_qk_norm qk_norm;              /* null */
    double timestep_scale;             /* 1.0: the pipeline multiplies timesteps by it */
} sana_dit_config;

typedef struct sana_dit sana_dit;

/* Fill c with diffusers' defaults. */
void sana_dit_config_default(sana_dit_config *c);
/* Defaults, then the values of config.json; a wrong type or unsupported value is an error naming the key. */
sana_status sana_dit_config_load(sana_dit_config *c, const char *config_json_path);

/*
 * Load transformer_dir/config.json and its weights (variant NULL, "fp16" or "bf16":
 * diffusion_pytorch_model.<variant>.safetensors). Every tensor is checked by name and shape;
 * a missing or mis-shaped tensor is an error naming it. be: the backend that runs the ops
 * (NULL: ref). The model keeps be and the mapped files until sana_dit_free.
 */
sana_status sana_dit_load(sana_dit **out, const char *transformer_dir, const char *variant,
                          const sana_backend *be);
/* The same, with the matrices (attention projections, GLUMBConv's 1x1 convolutions, the time and
 * output projections) quantized at load to quant (SANA_Q8, SANA_Q4; SANA_F32: none). */
sana_status sana_dit_load_q(sana_dit **out, const char *transformer_dir, const char *variant, const sana_backend *be,
                            sana_quant quant);
/* The same with LoRA adapters (models/lora.h) merged into the weights they target, before
 * quantization (lora NULL: none; an adapter module that matches no weight is an error), and the
 * backend's prepare_weight flags (SANA_PREP_MAPPED for --low-memory, or 0). */
typedef struct sana_lora sana_lora; /* models/lora.h */
sana_status sana_dit_load_lora(sana_dit **out, const char *transformer_dir, const char *variant,
                               const sana_backend *be, sana_quant quant, sana_lora *lora, unsigned prep);
/* The same, noting every weight it reads (for `sana convert`): sana_dit_weights lists them. */
sana_status sana_dit_load_recorded(sana_dit **out, const char *transformer_dir, const char *variant,
                                   const sana_backend *be, sana_quant quant);
/* The weight store of a model loaded by sana_dit_load_recorded (key and tensor of each weight). */
const sana_weights *sana_dit_weights(const sana_dit *m);
/* The mapped safetensors set of the model (every tensor of its files). */
const sana_st_set *sana_dit_tensors(const sana_dit *m);
const sana_dit_config *sana_dit_get_config(const sana_dit *m);
void sana_dit_free(sana_dit *m);
/* Give back the activation arena (and with it the cached caption keys/values); the next forward
 * allocates it again. The pipeline calls it after the denoising loop, so that the VAE decode's
 * buffers do not come on top of it (185 MB at 600M 512 px with CFG, most of it the caption K/V of
 * every layer). */
void sana_dit_release_activations(sana_dit *m);
/* Memory the backend's prepare_weight took for this model's weights (0: they stay as mapped). */
size_t sana_dit_weight_bytes(const sana_dit *m);

/*
 * Perturbed-attention guidance: in the listed layers (0-based block indices), batch items
 * b >= perturbed_from use identity self-attention (attn1 output = to_out(to_v(x))), as
 * diffusers' PAGIdentitySanaLinearAttnProcessor2_0 / PAGCFGIdentitySanaLinearAttnProcessor2_0
 * do for the perturbed chunk. As those processors do, the other items of a listed layer run
 * linear attention WITHOUT attn1.norm_q / norm_k (only matters for qk_norm models).
 */
typedef struct {
    int nlayers;
    const int *layers;
    int64_t perturbed_from;
} sana_dit_pag;

/*
 * One forward pass, SanaTransformer2DModel.forward(x, enc, timestep, guidance, enc_mask).
 * Host buffers (uploaded to / downloaded from the backend):
 *   out, x:   [B, C, H, W] latents (C = in_channels in, out_channels out; H, W multiples of patch_size)
 *   timestep: [B], as given to the diffusers model: SanaPipeline has already multiplied it by
 *             config.timestep_scale (the model never does; SanaPAGPipeline, SanaSprintPipeline and
 *             SanaControlNetPipeline pass it unscaled in diffusers 0.35.2)
 *   enc:      [B, L, caption_channels]
 *   enc_mask: [B, L] (1 keep / 0 pad) or NULL (no mask)
 *   guidance: [B] or NULL; required exactly when guidance_embeds (already scaled by
 *             guidance_embeds_scale, as SanaSprintPipeline does)
 *   pag:      NULL or perturbed-attention guidance (above)
 * The first call for a (B, H, W, L) shape allocates the activation arena; later calls with the
 * same shape allocate nothing.
 */
sana_status sana_dit_forward(sana_dit *m, float *out, const float *x, int64_t B, int64_t H, int64_t W,
                             const float *timestep, const float *enc, const float *enc_mask, int64_t L,
                             const float *guidance, const sana_dit_pag *pag);

/*
 * The same with the block samples of a SanaControlNetModel (models/controlnet.h), as
 * SanaTransformer2DModel.forward(..., controlnet_block_samples=...): block_samples holds nsamples
 * tensors [B, N, D] (N = (H/p)(W/p) tokens, D the inner dim; host memory, already multiplied by the
 * conditioning scale as the ControlNet returns them); sample k is added to the hidden states after
 * block k + 1, and only samples 0 .. num_layers - 2 are used. NULL / 0: no ControlNet.
 */
sana_status sana_dit_forward_controlnet(sana_dit *m, float *out, const float *x, int64_t B, int64_t H, int64_t W,
                                        const float *timestep, const float *enc, const float *enc_mask, int64_t L,
                                        const float *guidance, const sana_dit_pag *pag, const float *block_samples,
                                        int nsamples);

/* ---- inspection, for tests and debugging ---- */

/*
 * After sana_dit_forward: copy an intermediate of the last call to dst (n floats, must match):
 *   "temb"  [B, D]    embedded timestep (AdaLayerNormSingle / combined guidance embedding output 2)
 *   "temb6" [B, 6*D]  modulation input of the blocks (output 1)
 *   "enc"   [B, L, D] caption after caption_projection and caption_norm
 */
sana_status sana_dit_read(const sana_dit *m, const char *name, float *dst, int64_t n);

/*
 * Run block `layer` alone: x_out [B, N, D] is updated in place (N = (H/p)*(W/p) tokens),
 * enc [B, L, D] is the projected+normed caption, enc_mask [B, L] or NULL, temb6 [B, 6*D].
 * pag_from >= 0 applies the PAG identity processor to items b >= pag_from (-1: none).
 */
sana_status sana_dit_block_forward(sana_dit *m, int layer, float *x_out, const float *enc,
                                   const float *enc_mask, const float *temb6, int64_t B, int64_t H,
                                   int64_t W, int64_t L, int64_t pag_from);

#endif
