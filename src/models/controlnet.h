/* src/models/controlnet.h -- SanaControlNetModel (diffusers v0.35.2, models/controlnets/controlnet_sana.py).
 *
 * A copy of the transformer's trunk (patch_embed, time_embed = AdaLayerNormSingle, caption_projection,
 * caption_norm, num_layers SanaTransformerBlocks; no output head) with two kinds of linears that
 * diffusers zero-initialises: input_block (D -> D) and one controlnet_blocks.<i> (D -> D) per block.
 * Forward, as SanaControlNetModel.forward:
 *
 *   hs = patch_embed(x) + input_block(patch_embed(cond))     (the same patch_embed, position table included)
 *   for i in blocks: hs = transformer_blocks[i](hs, ...);  sample[i] = controlnet_blocks[i](hs) * scale
 *
 * and the transformer adds sample[k] after its block k + 1 (sana_dit_forward_controlnet, dit.h).
 * The blocks run the transformer's code (dit.c, through dit_impl.h) on the backend table.
 * Loaded from its own folder (config.json + diffusion_pytorch_model[.VARIANT].safetensors, as
 * save_pretrained writes it): a pipeline folder's controlnet/, or any folder. doc/pipeline.md.
 */
#ifndef SANA_CONTROLNET_H
#define SANA_CONTROLNET_H

#include <stddef.h>
#include <stdint.h>

#include "backend/backend.h"
#include "core/status.h"
#include "io/safetensors.h"
#include "models/dit.h"

typedef struct sana_controlnet sana_controlnet;

/* The arguments of SanaControlNetModel.__init__ in a sana_dit_config: the transformer's defaults except
 * num_layers 7; guidance_embeds, qk_norm and timestep_scale are not ControlNet arguments (they stay off). */
void sana_controlnet_config_default(sana_dit_config *c);
/* Defaults, then config.json; "_class_name" must be SanaControlNetModel when present; a wrong type or an
 * unsupported value is an error naming the file and the key. */
sana_status sana_controlnet_config_load(sana_dit_config *c, const char *config_json_path);

/* Load dir/config.json and its weights (variant NULL, "fp16", "bf16"). A missing or mis-shaped tensor is
 * an error naming it and the folder. be: the backend (NULL: ref). */
sana_status sana_controlnet_load(sana_controlnet **out, const char *dir, const char *variant,
                                 const sana_backend *be);
/* The same with the backend's prepare_weight flags (SANA_PREP_MAPPED for --low-memory, or 0). */
sana_status sana_controlnet_load_prep(sana_controlnet **out, const char *dir, const char *variant,
                                      const sana_backend *be, unsigned prep);
const sana_dit_config *sana_controlnet_get_config(const sana_controlnet *cn);
/* Memory the backend's prepare_weight took for the ControlNet's weights. */
size_t sana_controlnet_weight_bytes(const sana_controlnet *cn);
/* The mapped safetensors set of the ControlNet (for sana_st_set_release_pages). */
const sana_st_set *sana_controlnet_tensors(const sana_controlnet *cn);
void sana_controlnet_free(sana_controlnet *cn);
/* Give back the trunk's activation arena (sana_dit_release_activations), as the pipeline does after the loop. */
void sana_controlnet_release_activations(sana_controlnet *cn);

/*
 * SanaControlNetModel.forward(x, enc, timestep, controlnet_cond=cond, conditioning_scale=scale,
 * encoder_attention_mask=enc_mask). Host buffers:
 *   samples:  [num_layers, B, N, D] out (N = (H/p)(W/p), D inner dim), each block's sample times scale
 *             (in float32, as `sample * conditioning_scale`)
 *   x, cond:  [B, in_channels, H, W] (cond: the VAE latents of the control image, times scaling_factor)
 *   timestep: [B] as the pipeline passes it (SanaControlNetPipeline: t, not scaled)
 *   enc:      [B, L, caption_channels], enc_mask [B, L] (1 / 0) or NULL
 */
sana_status sana_controlnet_forward(sana_controlnet *cn, float *samples, const float *x, const float *cond,
                                    int64_t B, int64_t H, int64_t W, const float *timestep, const float *enc,
                                    const float *enc_mask, int64_t L, double conditioning_scale);

#endif
