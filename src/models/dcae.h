/* src/models/dcae.h -- the deep-compression autoencoder of SANA (diffusers v0.35.2 AutoencoderDC).
 *
 * Loads a diffusers AutoencoderDC folder (config.json + diffusion_pytorch_model[.VARIANT]
 * .safetensors) and runs its decoder and encoder through the backend table, plain or tiled
 * the way diffusers' enable_tiling() does. Weight names are the checkpoint keys
 * ("decoder.up_blocks.3.1.attn.to_qkv_multiscale.0.proj_in.weight", ...). See doc/dcae.md.
 *
 * Scaling: the model does not apply scaling_factor. As in diffusers, a pipeline divides the
 * latents by it before sana_dcae_decode and multiplies encoder outputs by it.
 */
#ifndef SANA_DCAE_H
#define SANA_DCAE_H

#include <stddef.h>
#include <stdint.h>
#include "core/status.h"
#include "backend/backend.h"
#include "io/safetensors.h"

#define SANA_DCAE_MAX_STAGES 8   /* entries of *_block_out_channels */
#define SANA_DCAE_MAX_SCALES 4   /* kernel sizes of one stage's qkv multiscales */

typedef enum { SANA_DCAE_RESBLOCK = 0, SANA_DCAE_EFFICIENTVIT } sana_dcae_block_type;
typedef enum { SANA_DCAE_NORM_RMS = 0, SANA_DCAE_NORM_BATCH } sana_dcae_norm_type;
/* diffusers activations.get_activation: "swish"/"silu", "relu", "gelu" (exact), "mish" (case-insensitive). */
typedef enum { SANA_DCAE_ACT_SILU = 0, SANA_DCAE_ACT_RELU, SANA_DCAE_ACT_GELU, SANA_DCAE_ACT_MISH } sana_dcae_act;

/*
 * Every AutoencoderDC.__init__ field, with diffusers' defaults (sana_dcae_config_default).
 * Per-stage fields that diffusers accepts as a string or a list are stored per stage.
 */
typedef struct {
    int64_t in_channels;                   /* 3 */
    int64_t latent_channels;               /* 32 */
    int64_t attention_head_dim;            /* 32 */
    int n_encoder_stages;                  /* len(encoder_block_out_channels): 6 */
    int n_decoder_stages;                  /* len(decoder_block_out_channels): 6 */
    sana_dcae_block_type encoder_block_types[SANA_DCAE_MAX_STAGES];  /* "ResBlock" */
    sana_dcae_block_type decoder_block_types[SANA_DCAE_MAX_STAGES];  /* "ResBlock" */
    int64_t encoder_block_out_channels[SANA_DCAE_MAX_STAGES];        /* 128 256 512 512 1024 1024 */
    int64_t decoder_block_out_channels[SANA_DCAE_MAX_STAGES];        /* 128 256 512 512 1024 1024 */
    int64_t encoder_layers_per_block[SANA_DCAE_MAX_STAGES];          /* 2 2 2 3 3 3 */
    int64_t decoder_layers_per_block[SANA_DCAE_MAX_STAGES];          /* 3 3 3 3 3 3 */
    int encoder_n_scales[SANA_DCAE_MAX_STAGES];                      /* () () () (5,) (5,) (5,) */
    int64_t encoder_qkv_multiscales[SANA_DCAE_MAX_STAGES][SANA_DCAE_MAX_SCALES];
    int decoder_n_scales[SANA_DCAE_MAX_STAGES];                      /* () () () (5,) (5,) (5,) */
    int64_t decoder_qkv_multiscales[SANA_DCAE_MAX_STAGES][SANA_DCAE_MAX_SCALES];
    /* upsample_block_type: "pixel_shuffle" (default); diffusers interpolates iff it == "interpolate" */
    int upsample_interpolate;              /* 0 */
    /* downsample_block_type: "pixel_unshuffle" (default); anything else (e.g. "Conv") is a stride-2 conv */
    int downsample_pixel_unshuffle;        /* 1 */
    sana_dcae_norm_type decoder_norm_types[SANA_DCAE_MAX_STAGES];    /* "rms_norm" */
    sana_dcae_act decoder_act_fns[SANA_DCAE_MAX_STAGES];             /* "silu" */
    int encoder_out_shortcut;              /* true */
    int decoder_in_shortcut;               /* true */
    sana_dcae_act decoder_conv_act_fn;     /* "relu" */
    double scaling_factor;                 /* 1.0 */
    /* Derived: 2 ** (len(encoder_block_out_channels) - 1), as AutoencoderDC.__init__ sets it. */
    int64_t spatial_compression_ratio;
} sana_dcae_config;

typedef struct sana_dcae sana_dcae;

/* The defaults of AutoencoderDC.__init__. */
void sana_dcae_config_default(sana_dcae_config *c);
/* Defaults, then every key of config.json (unknown keys are ignored, as diffusers does). */
sana_status sana_dcae_config_load(sana_dcae_config *c, const char *config_json_path);

/*
 * Load VAE_DIR/config.json and VAE_DIR/diffusion_pytorch_model[.VARIANT].safetensors (or its
 * sharded index); variant NULL, "fp16" or "bf16". Weights are memory-mapped in their file
 * dtype and prepared once by be, the backend that runs the ops (NULL: ref; it keeps them as mapped).
 */
sana_status sana_dcae_load(sana_dcae **out, const char *vae_dir, const char *variant, const sana_backend *be);
const sana_dcae_config *sana_dcae_get_config(const sana_dcae *m);
void sana_dcae_free(sana_dcae *m);
/* Memory the backend's prepare_weight took for this model's weights (0: they stay as mapped). */
size_t sana_dcae_weight_bytes(const sana_dcae *m);
/* The mapped safetensors set of the model (for sana_st_set_release_pages). */
const sana_st_set *sana_dcae_tensors(const sana_dcae *m);

/* Image size the decoder makes from an h x w latent (h * r, w * r; r = 32 for the real models). */
void sana_dcae_decoded_size(const sana_dcae *m, int64_t h, int64_t w, int64_t *H, int64_t *W);

/*
 * Decode. z: [B, latent_channels, h, w] (host memory, already divided by scaling_factor, as
 * the pipeline does); img: [B, in_channels, H, W] from sana_dcae_decoded_size, in the [-1, 1]
 * range but not clamped (diffusers' decode().sample).
 * tiled = 0: one pass (AutoencoderDC.decode without tiling);
 * tiled = 1: AutoencoderDC.decode after enable_tiling() with its defaults: when h or w exceeds
 *            512 / ratio, latent tiles of 512/ratio at a stride of 448/ratio, decoded one at a
 *            time and blended linearly over 64 pixels (only two tile rows are kept in memory).
 */
sana_status sana_dcae_decode(sana_dcae *m, float *img, const float *z, int64_t B, int64_t h, int64_t w, int tiled);

/*
 * Encode. img: [B, in_channels, H, W] host memory; z: [B, latent_channels, H / r, W / r]
 * (r = spatial_compression_ratio, integer division), NOT multiplied by scaling_factor.
 * tiled = 0: H and W must be multiples of r (as the encoder's shortcuts require);
 * tiled = 1: enable_tiling() behaviour: when H or W exceeds 512, tiles of 512 at a stride of
 *            448, zero-padded to a multiple of r, blended over 512/r - 448/r latent rows/columns.
 */
sana_status sana_dcae_encode(sana_dcae *m, float *z, const float *img, int64_t B, int64_t H, int64_t W, int tiled);

/* ------------------------------------------------------------------ blocks (tests, tools)
 * One block of the model on its own, loaded from any safetensors set under a key prefix
 * ("" or "name." style: prefix + "conv1.weight"). */
typedef enum {
    SANA_DCAE_L_RESBLOCK = 0,   /* ResBlock(cin, cout, norm, act) */
    SANA_DCAE_L_EFFICIENTVIT,   /* EfficientViTBlock(cin, attention_head_dim, qkv_multiscales, norm) */
    SANA_DCAE_L_MSLA,           /* SanaMultiscaleLinearAttention(cin, cin, head_dim, residual=True) */
    SANA_DCAE_L_GLUMBCONV,      /* GLUMBConv(cin, cin, expand 4, norm "rms_norm", residual) */
    SANA_DCAE_L_UP,             /* DCUpBlock2d(cin, cout, interpolate, shortcut) */
    SANA_DCAE_L_DOWN            /* DCDownBlock2d(cin, cout, downsample, shortcut) */
} sana_dcae_layer_kind;

typedef struct {
    sana_dcae_layer_kind kind;
    int64_t cin, cout;          /* cout: ResBlock, Up, Down (others: cout = cin) */
    sana_dcae_norm_type norm;   /* ResBlock, EfficientViT / MSLA norm_out */
    sana_dcae_act act;          /* ResBlock */
    int64_t head_dim;           /* EfficientViT / MSLA */
    int n_scales;
    int64_t scales[SANA_DCAE_MAX_SCALES];
    int resample;               /* Up: interpolate (else pixel_shuffle); Down: pixel_unshuffle (else stride-2 conv) */
    int shortcut;               /* Up, Down */
} sana_dcae_layer_desc;

typedef struct sana_dcae_layer sana_dcae_layer;

/* Load a layer alone; be (NULL: ref) prepares its weights, released by sana_dcae_layer_free. */
sana_status sana_dcae_layer_load(sana_dcae_layer **out, const sana_dcae_layer_desc *d, const sana_st_set *s,
                                 const char *prefix, const sana_backend *be);
/* Output shape of the layer for an input of cin x H x W. */
void sana_dcae_layer_out_shape(const sana_dcae_layer *L, int64_t H, int64_t W, int64_t *C, int64_t *Ho, int64_t *Wo);
/* y = layer(x), host buffers: x [B, cin, H, W], y per sana_dcae_layer_out_shape. */
sana_status sana_dcae_layer_forward(const sana_backend *be, const sana_dcae_layer *L, float *y, const float *x,
                                    int64_t B, int64_t H, int64_t W);
void sana_dcae_layer_free(sana_dcae_layer *L);

#endif
