#!/usr/bin/env python3
"""golden/dump_gemma2.py -- goldens of the Gemma-2 text encoder (transformers' Gemma2Model).

Writes
  golden/ckpt/text-gemma2-f32/   Gemma2Model.save_pretrained, float32, sharded, keys without prefix,
                                 and the same weights as the sharded variant "fp16"
  golden/ckpt/text-gemma2-bf16/  Gemma2ForCausalLM.save_pretrained, bfloat16, sharded, keys "model.*"
  golden/text/gemma2-forward.safetensors   last hidden state of both checkpoints, batch 2 with
                                           right padding of different lengths, sdpa and eager
  golden/text/gemma2-ops.safetensors       the single operators (embedding, (1+w) RMSNorm, RoPE,
                                           softcapped GQA attention, GeGLU)

The tiny config makes every feature run: 4 layers (sliding, full, sliding, full), a sliding window
(5) smaller than the sequence (12), 4 query heads over 2 kv heads, query_pre_attn_scalar (24) !=
head_dim (16), and a small attn_logit_softcapping (4.0) with weights large enough that the cap bends
the logits. The reference is PyTorch float32 on CPU: the bf16 checkpoint is loaded with
torch_dtype=float32 (weights upcast exactly).

Run from the repository root:  python3 golden/dump_gemma2.py
"""
import copy
import json
import math
import os
import shutil
import sys

import torch
from common import metadata  # noqa: E402
from safetensors.torch import save_file
from transformers import Gemma2Config, Gemma2Model, Gemma2ForCausalLM

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "golden", "text")
CKPT = os.path.join(ROOT, "golden", "ckpt")

CONFIG = dict(
    vocab_size=96,
    hidden_size=64,
    intermediate_size=96,
    num_hidden_layers=4,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=16,
    query_pre_attn_scalar=24,
    sliding_window=5,
    attn_logit_softcapping=4.0,
    final_logit_softcapping=30.0,
    rope_theta=10000.0,
    rms_norm_eps=1e-6,
    max_position_embeddings=256,
    pad_token_id=0,
    bos_token_id=2,
    eos_token_id=1,
)


def meta(extra=None):
    return metadata("golden/dump_gemma2.py", CONFIG, extra)


def randomize(model, seed):
    """Weights that exercise the model: linears ~ N(0, (1.5/sqrt(fan_in))^2), norm weights
    ~ N(0, 0.3^2) (the norm multiplies by 1 + w), embeddings ~ N(0, 1)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim == 2 and "embed" not in name:
                p.copy_(torch.randn(p.shape, generator=g) * (1.5 / math.sqrt(p.shape[1])))
            elif p.ndim == 2:
                p.copy_(torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) * 0.3)


def save_ckpt(model, path):
    if os.path.isdir(path):
        shutil.rmtree(path)
    model.save_pretrained(path, max_shard_size="100KB", safe_serialization=True)


def run(path, ids, mask, attn, variant=None):
    m = Gemma2Model.from_pretrained(path, torch_dtype=torch.float32, attn_implementation=attn, variant=variant)
    m.eval()
    with torch.no_grad():
        return m(input_ids=ids, attention_mask=mask).last_hidden_state.contiguous()


def dump_forward():
    cfg = Gemma2Config(**CONFIG)
    torch.manual_seed(0)
    base = Gemma2Model(cfg)
    randomize(base, 1)
    f32_dir = os.path.join(CKPT, "text-gemma2-f32")
    save_ckpt(base, f32_dir)
    # The same weights in float16 beside them, as a sharded variant (model.fp16-0000k-of-0000n.safetensors
    # + model.safetensors.index.fp16.json), the way published folders carry fp16/bf16 variants.
    # (A copy, so base stays float32; config.json is rewritten from base afterwards so it says float32.)
    copy.deepcopy(base).to(torch.float16).save_pretrained(f32_dir, variant="fp16", max_shard_size="100KB")
    base.config.save_pretrained(f32_dir)

    # Same architecture, other weights, saved as a causal LM (keys "model.*") in bfloat16.
    torch.manual_seed(0)
    lm = Gemma2ForCausalLM(cfg)
    randomize(lm.model, 2)
    lm.tie_weights()
    lm = lm.to(torch.bfloat16)
    bf16_dir = os.path.join(CKPT, "text-gemma2-bf16")
    save_ckpt(lm, bf16_dir)

    N = 12
    g = torch.Generator().manual_seed(3)
    ids = torch.randint(3, CONFIG["vocab_size"], (2, N), generator=g)
    ids[:, 0] = CONFIG["bos_token_id"]
    lengths = [N, 7]  # second row right-padded as SanaPipeline pads (padding_side="right")
    mask = torch.zeros(2, N, dtype=torch.int64)
    for b, L in enumerate(lengths):
        mask[b, :L] = 1
        ids[b, L:] = CONFIG["pad_token_id"]

    t = {"input_ids": ids, "attention_mask": mask}
    for tag, path in (("f32", f32_dir), ("bf16", bf16_dir)):
        for attn in ("sdpa", "eager"):
            t[f"out_{attn}_{tag}"] = run(path, ids, mask, attn)
    for attn in ("sdpa", "eager"):
        t[f"out_{attn}_f16"] = run(f32_dir, ids, mask, attn, variant="fp16")
    # A forward without a padding mask (sdpa then runs with is_causal / its own mask).
    t["out_sdpa_f32_nomask"] = run(f32_dir, ids[:1], None, "sdpa")
    os.makedirs(OUT, exist_ok=True)
    save_file(t, os.path.join(OUT, "gemma2-forward.safetensors"),
              metadata=meta({"lengths": json.dumps(lengths),
                             "checkpoints": "golden/ckpt/text-gemma2-f32 golden/ckpt/text-gemma2-bf16"}))
    for k, v in t.items():
        if v.is_floating_point():
            print(k, tuple(v.shape), "max|.| %.4g" % v.abs().max().item())


def dump_ops():
    from transformers.models.gemma2 import modeling_gemma2 as mg
    from transformers.integrations.sdpa_attention import sdpa_attention_forward
    from transformers.activations import ACT2FN

    cfg = Gemma2Config(**CONFIG)
    g = torch.Generator().manual_seed(10)
    t = {}
    C, N = CONFIG["hidden_size"], 12
    Hq, Hkv, D = CONFIG["num_attention_heads"], CONFIG["num_key_value_heads"], CONFIG["head_dim"]

    # Embedding scaled by sqrt(hidden) in the model dtype (Gemma2Model.forward).
    emb = torch.nn.Embedding(CONFIG["vocab_size"], C)
    with torch.no_grad():
        emb.weight.copy_(torch.randn(emb.weight.shape, generator=g))
    ids = torch.randint(0, CONFIG["vocab_size"], (N,), generator=g)
    t["embed_table"] = emb.weight.detach().clone()
    t["embed_ids"] = ids
    with torch.no_grad():
        t["embed_out"] = emb(ids) * torch.tensor(C ** 0.5, dtype=torch.float32)

    # RMSNorm with (1 + weight).
    norm = mg.Gemma2RMSNorm(C, eps=CONFIG["rms_norm_eps"])
    with torch.no_grad():
        norm.weight.copy_(torch.randn(C, generator=g) * 0.3)
    x = torch.randn(N, C, generator=g) * 3.0
    res = torch.randn(N, C, generator=g)
    t["norm_w"] = norm.weight.detach().clone()
    t["norm_x"] = x
    t["norm_res"] = res
    with torch.no_grad():
        t["norm_out"] = norm(x)
        t["norm_out_res"] = res + norm(x)

    # RoPE (default rope, position_ids = arange), applied to q [1, Hq, N, D] and k [1, Hkv, N, D].
    rot = mg.Gemma2RotaryEmbedding(cfg)
    q = torch.randn(1, Hq, N, D, generator=g)
    k = torch.randn(1, Hkv, N, D, generator=g)
    v = torch.randn(1, Hkv, N, D, generator=g)
    pos = torch.arange(N)[None]
    cos, sin = rot(q, pos)
    qr, kr = mg.apply_rotary_pos_emb(q, k, cos, sin)
    # Stored token-major as the projections produce them: [N, H, D].
    t["rope_q"] = q[0].transpose(0, 1).contiguous()
    t["rope_k"] = k[0].transpose(0, 1).contiguous()
    t["rope_q_out"] = qr[0].transpose(0, 1).contiguous()
    t["rope_k_out"] = kr[0].transpose(0, 1).contiguous()

    # Attention: GQA, scaling query_pre_attn_scalar**-0.5, softcap, causal + window + key padding.
    qa = torch.randn(1, Hq, N, D, generator=g) * 2.0
    ka = torch.randn(1, Hkv, N, D, generator=g) * 2.0
    va = torch.randn(1, Hkv, N, D, generator=g)
    L, W = 5, 3  # rows i >= 7 see no valid key in the window: the fully masked case
    keymask = torch.zeros(N, dtype=torch.bool)
    keymask[:L] = True
    i = torch.arange(N)[:, None]
    j = torch.arange(N)[None, :]
    allowed_full = (j <= i) & keymask[None, :]
    allowed_win = allowed_full & (j > i - W)

    class Mod(torch.nn.Module):
        num_key_value_groups = Hq // Hkv
        head_dim = D
        is_causal = True
    mod = Mod().eval()
    scaling = CONFIG["query_pre_attn_scalar"] ** -0.5
    minf = torch.finfo(torch.float32).min
    for tag, allowed in (("full", allowed_full), ("win", allowed_win)):
        addmask = torch.where(allowed, 0.0, minf)[None, None]
        for cap_tag, cap in (("cap", CONFIG["attn_logit_softcapping"]), ("nocap", None)):
            out, _ = mg.eager_attention_forward(mod, qa, ka, va, addmask, scaling=scaling, softcap=cap)
            t[f"attn_eager_{tag}_{cap_tag}"] = out[0].reshape(N, Hq * D).contiguous()
        out, _ = sdpa_attention_forward(mod, qa, ka, va, allowed[None, None], scaling=scaling)
        t[f"attn_sdpa_{tag}"] = out[0].reshape(N, Hq * D).contiguous()
    t["attn_q"] = qa[0].transpose(0, 1).contiguous()
    t["attn_k"] = ka[0].transpose(0, 1).contiguous()
    t["attn_v"] = va[0].transpose(0, 1).contiguous()
    t["attn_keymask"] = keymask.to(torch.int32)

    # GeGLU: gelu_pytorch_tanh(gate) * up.
    gate = torch.randn(N, CONFIG["intermediate_size"], generator=g) * 3.0
    up = torch.randn(N, CONFIG["intermediate_size"], generator=g)
    t["geglu_gate"] = gate
    t["geglu_up"] = up
    t["geglu_out"] = ACT2FN[cfg.hidden_activation](gate) * up

    os.makedirs(OUT, exist_ok=True)
    save_file(t, os.path.join(OUT, "gemma2-ops.safetensors"),
              metadata=meta({"attn_valid_keys": str(L), "attn_window": str(W)}))


# One mid-size layer so that the BLAS blocking paths run: K = 512 in down_proj, 100 tokens.
MID_CONFIG = dict(CONFIG, vocab_size=64, hidden_size=192, intermediate_size=512, num_hidden_layers=1,
                  head_dim=48, query_pre_attn_scalar=48, sliding_window=4096, attn_logit_softcapping=50.0,
                  layer_types=["full_attention"])


def dump_mid():
    cfg = Gemma2Config(**MID_CONFIG)
    torch.manual_seed(0)
    model = Gemma2Model(cfg)
    randomize(model, 4)
    path = os.path.join(CKPT, "text-gemma2-mid")
    if os.path.isdir(path):
        shutil.rmtree(path)
    model.to(torch.bfloat16).save_pretrained(path)
    N, L = 100, 83
    g = torch.Generator().manual_seed(6)
    ids = torch.randint(3, MID_CONFIG["vocab_size"], (1, N), generator=g)
    ids[:, 0] = MID_CONFIG["bos_token_id"]
    ids[:, L:] = MID_CONFIG["pad_token_id"]
    mask = torch.zeros(1, N, dtype=torch.int64)
    mask[:, :L] = 1
    t = {"input_ids": ids, "attention_mask": mask}
    for attn in ("sdpa", "eager"):
        t[f"out_{attn}"] = run(path, ids, mask, attn)
    save_file(t, os.path.join(OUT, "gemma2-forward-mid.safetensors"),
              metadata=dict(meta({"checkpoint": "golden/ckpt/text-gemma2-mid"}),
                            config=json.dumps(MID_CONFIG, sort_keys=True)))
    print("mid", {k: tuple(v.shape) for k, v in t.items()})


if __name__ == "__main__":
    dump_ops()
    dump_forward()
    dump_mid()
