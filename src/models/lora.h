/* src/models/lora.h -- LoRA adapters merged into a model's weights at load (`sana generate --lora`).
 *
 * W' = W + sum over adapters of  user_scale * alpha / r * B A   (B [out, r], A [r, in]; for a 1x1
 * convolution the same with trailing 1x1), what diffusers computes when SanaPipeline.load_lora_weights
 * and set_adapters(weights) run the adapters, and what fuse_lora stores. Merged before quantization.
 *
 * Files (safetensors), the names people have:
 *   diffusers   "transformer.<module>.lora_A.weight" / ".lora_B.weight" (save_lora_weights; with the
 *               "lora_adapter_metadata" of its LoraConfig: lora_alpha, r, alpha_pattern, use_rslora)
 *   PEFT        "<module>.lora_A.weight", or "base_model.model.<module>.lora_A.weight"
 *   kohya       "lora_transformer_<module, dots as _>.lora_down.weight" / ".lora_up.weight" / ".alpha"
 *               (also "lora_unet_"); not a format diffusers loads for Sana
 * alpha: the metadata's (alpha_pattern first), a kohya ".alpha", else as diffusers' get_peft_kwargs
 * does without metadata: the rank of the first lora_B (in name order) for every module.
 */
#ifndef SANA_MODEL_LORA_H
#define SANA_MODEL_LORA_H

#include "core/status.h"
#include "core/weight.h"

typedef struct sana_lora sana_lora; /* also declared in models/dit.h (C11 allows the repeat) */

/* Open the adapters "FILE" or "FILE:SCALE" (scale default 1). Every tensor must be understood:
 * a text-encoder LoRA, DoRA, LoRA biases or a lone lora_A are errors naming the file and key. */
sana_status sana_lora_open(sana_lora **out, const char *const *specs, int n);
void sana_lora_free(sana_lora *l);

/*
 * The merged weight of the model tensor `key` ("transformer_blocks.0.attn1.to_q.weight"), whose
 * file tensor is w ([out, in] or [out, in, 1, 1]): *merged = float32 W + deltas (malloc'd), or NULL
 * when no adapter targets it. A shape that disagrees is an error naming the adapter file and key.
 */
sana_status sana_lora_merge(sana_lora *l, const char *key, const sana_wt *w, float **merged);

/* After the model has loaded: an adapter tensor that matched no weight is an error naming it. */
sana_status sana_lora_check_used(const sana_lora *l, const char *model_desc);

#endif
