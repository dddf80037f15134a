#!/usr/bin/env python3
"""golden/make_tiny_pipeline.py -- tiny SANA pipeline folders in the published diffusers layout.

Each folder is what `huggingface-cli download Efficient-Large-Model/Sana_..._diffusers` gives, only
with tiny random weights: model_index.json, transformer/, vae/, scheduler/, text_encoder/, tokenizer/,
written by diffusers' `save_pretrained` (text encoder and tokenizer through transformers).

  golden/ckpt/sana-tiny         SanaPipeline: SanaTransformer2DModel (sample_size 16, so the 512 px
                                aspect-ratio bins), AutoencoderDC (6 levels: 32x), Gemma2Model,
                                GemmaTokenizerFast, DPMSolverMultistepScheduler as in
                                Sana_600M_512px_diffusers (Flow-DPM-Solver). Also the bundled demo
                                checkpoint of `make demo`, and the one SanaPAGPipeline runs on
                                (diffusers builds a PAG pipeline from the same components).
                                With fp16 variant files beside the float32 ones.
  golden/ckpt/sana-tiny-sprint  SanaSprintPipeline: transformer with guidance_embeds and
                                qk_norm="rms_norm_across_heads" (sample_size 32: 1024 px bins),
                                SCMScheduler as in Sana_Sprint_1.6B_1024px_diffusers.

Deterministic: fixed seeds; the tokenizer is trained by golden/make_tokenizer.py on the corpus below.
"""
import json
import os
import shutil
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_tokenizer import make_tokenizer  # noqa: E402

CKPT = os.path.join(HERE, "ckpt")

# The default complex_human_instruction of SanaPipeline.__call__ is part of every default
# generation, so the tokenizer learns its words; the prompts of the goldens and of the demo too.
CORPUS = """Given a user prompt, generate an 'Enhanced prompt' that provides detailed visual descriptions suitable for image generation. Evaluate the level of detail in the user prompt:
- If the prompt is simple, focus on adding specifics about colors, shapes, sizes, textures, and spatial relationships to create vivid and concrete scenes.
- If the prompt is already detailed, refine and enhance the existing details slightly without overcomplicating.
Here are examples of how to transform or refine prompts:
- User Prompt: A cat sleeping -> Enhanced: A small, fluffy white cat curled up in a round shape, sleeping peacefully on a warm sunny windowsill, surrounded by pots of blooming red flowers.
- User Prompt: A busy city street -> Enhanced: A bustling city street scene at dusk, featuring glowing street lamps, a diverse crowd of people in colorful clothing, and a double-decker bus passing by towering glass skyscrapers.
Please generate only the enhanced description for the prompt below and avoid including any additional commentary or evaluations:
User Prompt:
a red fox in the snow, watercolor
an astronaut riding a horse on the moon
a cup of coffee on a wooden table, morning light
a lighthouse on a cliff at sunset, oil painting
blurry, low quality, distorted
a small robot reading a book in a library
"""

TEXT_HIDDEN = 32

# Sana_600M_512px_diffusers/scheduler/scheduler_config.json (Flow-DPM-Solver), values as published.
DPM_CONFIG = dict(
    algorithm_type="dpmsolver++", beta_end=0.02, beta_schedule="linear", beta_start=0.0001,
    dynamic_thresholding_ratio=0.995, euler_at_final=False, final_sigmas_type="zero", flow_shift=3.0,
    lambda_min_clipped=-float("inf"), lower_order_final=True, num_train_timesteps=1000,
    prediction_type="flow_prediction", rescale_betas_zero_snr=False, sample_max_value=1.0, solver_order=2,
    solver_type="midpoint", steps_offset=0, thresholding=False, timestep_spacing="linspace",
    trained_betas=None, use_beta_sigmas=False, use_exponential_sigmas=False, use_flow_sigmas=True,
    use_karras_sigmas=False, use_lu_lambdas=False, variance_type=None)

# Sana_Sprint_1.6B_1024px_diffusers/scheduler/scheduler_config.json.
SCM_CONFIG = dict(num_train_timesteps=1000, prediction_type="trigflow", sigma_data=0.5)


def text_parts(tok_dir, seed):
    from transformers import Gemma2Config, Gemma2Model, GemmaTokenizerFast
    tok = GemmaTokenizerFast.from_pretrained(tok_dir)
    torch.manual_seed(seed)
    cfg = Gemma2Config(vocab_size=len(tok), hidden_size=TEXT_HIDDEN, intermediate_size=64, num_hidden_layers=2,
                       num_attention_heads=2, num_key_value_heads=1, head_dim=16, max_position_embeddings=8192,
                       query_pre_attn_scalar=16, pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
                       eos_token_id=tok.eos_token_id)
    cfg._attn_implementation = "eager"
    te = Gemma2Model(cfg).eval()
    # the published Sana text encoders are Gemma2Model saved from a float32/bf16 model; we keep float32
    return tok, te


def vae_part(seed):
    from diffusers import AutoencoderDC
    torch.manual_seed(seed)
    vae = AutoencoderDC(
        in_channels=3, latent_channels=4, attention_head_dim=8,
        encoder_block_types=["ResBlock", "ResBlock", "ResBlock", "EfficientViTBlock", "EfficientViTBlock",
                             "EfficientViTBlock"],
        decoder_block_types=["ResBlock", "ResBlock", "ResBlock", "EfficientViTBlock", "EfficientViTBlock",
                             "EfficientViTBlock"],
        encoder_block_out_channels=[4, 8, 8, 8, 16, 16], decoder_block_out_channels=[4, 8, 8, 8, 16, 16],
        encoder_layers_per_block=[1, 1, 1, 1, 1, 1], decoder_layers_per_block=[1, 1, 1, 1, 1, 1],
        encoder_qkv_multiscales=[[], [], [], [5], [5], [5]], decoder_qkv_multiscales=[[], [], [], [5], [5], [5]],
        upsample_block_type="interpolate", downsample_block_type="Conv", decoder_norm_types="rms_norm",
        decoder_act_fns="silu", scaling_factor=0.41407).eval()
    # Random decoders give images far outside [-1, 1] that postprocess clamps to 0 and 255; scale
    # the last convolution so most pixels land inside, where rounding to uint8 is a real test.
    with torch.no_grad():
        z = torch.randn(1, 4, 4, 4)
        img = vae.decode(z).sample
        s = 0.6 / float(img.std())
        vae.decoder.conv_out.weight.mul_(s)
        vae.decoder.conv_out.bias.mul_(s)
    return vae


def transformer_part(seed, sample_size, sprint):
    from diffusers import SanaTransformer2DModel
    torch.manual_seed(seed)
    kw = dict(in_channels=4, out_channels=4, num_attention_heads=2, attention_head_dim=16, num_layers=2,
              num_cross_attention_heads=2, cross_attention_head_dim=16, cross_attention_dim=32,
              caption_channels=TEXT_HIDDEN, mlp_ratio=2.5, dropout=0.0, attention_bias=False,
              sample_size=sample_size, patch_size=1, norm_elementwise_affine=False, norm_eps=1e-6,
              interpolation_scale=None)
    if sprint:
        kw.update(guidance_embeds=True, guidance_embeds_scale=0.1, qk_norm="rms_norm_across_heads",
                  timestep_scale=1.0)
    m = SanaTransformer2DModel(**kw).eval()
    # diffusers initialises scale_shift_table with randn / sqrt(hidden); the rest is PyTorch's default
    # init. Larger output projections make the model output matter next to the latents.
    with torch.no_grad():
        m.proj_out.weight.mul_(4.0)
    return m


def make_all():
    from diffusers import (DPMSolverMultistepScheduler, SCMScheduler, SanaPipeline, SanaSprintPipeline)
    tok_dir = os.path.join(CKPT, "_tokenizer_build")
    if os.path.exists(tok_dir):
        shutil.rmtree(tok_dir)
    make_tokenizer(tok_dir, CORPUS, vocab_size=420)
    tok, te = text_parts(tok_dir, 1)
    vae = vae_part(2)

    out = os.path.join(CKPT, "sana-tiny")
    if os.path.exists(out):
        shutil.rmtree(out)
    pipe = SanaPipeline(tokenizer=tok, text_encoder=te, vae=vae, transformer=transformer_part(3, 16, False),
                        scheduler=DPMSolverMultistepScheduler(**DPM_CONFIG))
    # the fp16 variant files beside the float32 ones, as the published checkpoints have them
    # (diffusion_pytorch_model.fp16.safetensors, model.fp16.safetensors); float32 saved last so
    # that the configs say float32
    import copy
    copy.deepcopy(pipe).to(torch.float16).save_pretrained(out, variant="fp16")
    pipe.save_pretrained(out)

    out = os.path.join(CKPT, "sana-tiny-sprint")
    if os.path.exists(out):
        shutil.rmtree(out)
    pipe = SanaSprintPipeline(tokenizer=tok, text_encoder=te, vae=vae, transformer=transformer_part(4, 32, True),
                              scheduler=SCMScheduler(**SCM_CONFIG))
    pipe.save_pretrained(out)
    shutil.rmtree(tok_dir)


if __name__ == "__main__":
    make_all()
    for name in ("sana-tiny", "sana-tiny-sprint"):
        d = os.path.join(CKPT, name)
        total = 0
        for root, _, files in os.walk(d):
            for f in files:
                total += os.path.getsize(os.path.join(root, f))
        print(f"{d}: {total / 1e6:.2f} MB")
