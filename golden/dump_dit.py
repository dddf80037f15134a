#!/usr/bin/env python3
"""Goldens of the dit family: diffusers SanaTransformer2DModel, its operators, tiny checkpoints.

Writes (deterministic, seeded; run from anywhere):
  golden/dit/ops.safetensors          each operator alone (inputs, weights, outputs)
  golden/dit/model_<name>.safetensors inputs, intermediates (block 0 in/out) and outputs of a tiny model
  golden/ckpt/dit-<name>/transformer/ tiny checkpoints in the published diffusers layout
                                       (dit-v1 also with fp16 and bf16 variants)

Every comparison is against diffusers 0.35.2 run in float32 on CPU. For half-precision weights
(the fp16/bf16 variants, and the mid-size checkpoint stored as bf16) diffusers is run on the
same weights upcast to float32: that is what libsana computes (weights converted to float32
inside each operator, activations in float32).
"""
import os
import sys

import torch
from common import metadata  # noqa: E402
from safetensors.torch import save_file
from diffusers import SanaTransformer2DModel
from diffusers.models.attention_processor import (
    Attention,
    SanaLinearAttnProcessor2_0,
    PAGIdentitySanaLinearAttnProcessor2_0,
)
from diffusers.models.embeddings import (
    PatchEmbed,
    PixArtAlphaTextProjection,
    TimestepEmbedding,
    Timesteps,
    get_2d_sincos_pos_embed,
)
from diffusers.models.normalization import AdaLayerNormSingle
from diffusers.models.transformers.sana_transformer import (
    GLUMBConv,
    SanaAttnProcessor2_0,
    SanaCombinedTimestepGuidanceEmbeddings,
    SanaModulatedNorm,
)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "dit")
CKPT = os.path.join(HERE, "ckpt")
SCRIPT = "golden/dump_dit.py"

torch.set_grad_enabled(False)


def meta(config):
    return metadata(SCRIPT, config)


def c(t):
    return t.detach().float().contiguous().clone()


def sd_prefixed(mod, prefix):
    return {prefix + k: c(v) for k, v in mod.state_dict().items()}


def randomize(module, gen):
    """Default init leaves norm weights at 1 and some biases tiny; perturb every parameter so that
    a wrong index or a skipped term shows."""
    for name, p in module.named_parameters():
        if name.endswith("norm_q.weight") or name.endswith("norm_k.weight") or "norm" in name.split(".")[-2:][0]:
            p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=gen))
        elif name.endswith("bias"):
            p.copy_(0.1 * torch.randn(p.shape, generator=gen))
        elif name.endswith("scale_shift_table"):
            p.copy_(0.3 * torch.randn(p.shape, generator=gen))
        else:
            fan_in = p[0].numel() if p.dim() > 1 else p.numel()
            p.copy_(torch.randn(p.shape, generator=gen) / fan_in ** 0.5)


# --------------------------------------------------------------------------- operators
def dump_ops():
    g = torch.Generator().manual_seed(1234)
    T = {}
    cfg = {}

    # Timesteps(256, flip_sin_to_cos=True, downscale_freq_shift=0)
    t = torch.tensor([0.0, 1.0, 999.0, 500.5, 0.25, 37.0])
    T["tproj.t"] = t
    T["tproj.y"] = c(Timesteps(256, flip_sin_to_cos=True, downscale_freq_shift=0)(t))

    # TimestepEmbedding (linear, SiLU, linear) and PixArtAlphaTextProjection (linear, GELU tanh, linear)
    te = TimestepEmbedding(in_channels=256, time_embed_dim=96)
    randomize(te, g)
    x = torch.randn(3, 256, generator=g)
    T.update(sd_prefixed(te, "temb."))
    T["temb.x"] = x
    T["temb.y"] = c(te(x))
    tp = PixArtAlphaTextProjection(in_features=40, hidden_size=48)
    randomize(tp, g)
    x = torch.randn(2, 7, 40, generator=g)
    T.update(sd_prefixed(tp, "cap."))
    T["cap.x"] = x
    T["cap.y"] = c(tp(x))

    # AdaLayerNormSingle (timestep embedding + SiLU + linear to 6D)
    D = 48
    ada = AdaLayerNormSingle(D)
    randomize(ada, g)
    t2 = torch.tensor([0.0, 999.0, 250.0])
    y6, emb = ada(t2, batch_size=3, hidden_dtype=torch.float32)
    T.update(sd_prefixed(ada, "ada."))
    T["ada.t"] = t2
    T["ada.y"] = c(y6)
    T["ada.emb"] = c(emb)
    # SanaCombinedTimestepGuidanceEmbeddings (Sprint)
    cg = SanaCombinedTimestepGuidanceEmbeddings(D)
    randomize(cg, g)
    gd = torch.tensor([0.45, 0.0, 0.3])
    y6, emb = cg(t2, guidance=gd, hidden_dtype=torch.float32)
    T.update(sd_prefixed(cg, "tg."))
    T["tg.t"] = t2
    T["tg.g"] = gd
    T["tg.y"] = c(y6)
    T["tg.emb"] = c(emb)

    # get_2d_sincos_pos_embed as PatchEmbed calls it: non-square grid, two interpolation scales
    for i, (h, w, Dp, base, interp) in enumerate([(6, 10, 64, 16, 1.0), (3, 5, 32, 4, 2.0), (4, 6, 1152, 32, 2.0)]):
        pe = get_2d_sincos_pos_embed(Dp, (h, w), base_size=base, interpolation_scale=interp, output_type="pt")
        T["pos%d.y" % i] = c(pe)
        cfg["pos%d" % i] = dict(h=h, w=w, D=Dp, base=base, interp=interp)

    # PatchEmbed: p=1 with sincos (interpolation_scale set), p=2 without, p=2 with (non-square 6x10)
    for i, (p, interp) in enumerate([(1, 1.0), (2, None), (2, 2.0)]):
        sample = 8
        pe = PatchEmbed(height=sample, width=sample, patch_size=p, in_channels=4, embed_dim=32,
                        interpolation_scale=interp, pos_embed_type="sincos" if interp is not None else None)
        randomize(pe, g)
        x = torch.randn(2, 4, 6, 10, generator=g)
        T.update(sd_prefixed(pe, "pe%d." % i))
        T["pe%d.x" % i] = x
        T["pe%d.y" % i] = c(pe(x))
        cfg["pe%d" % i] = dict(sample_size=sample, patch_size=p, interpolation_scale=interp, C=4, D=32)

    # Unpatchify (the reshape/permute of SanaTransformer2DModel.forward)
    B, h, w, p, C = 2, 3, 5, 2, 4
    x = torch.randn(B, h * w, p * p * C, generator=g)
    y = x.reshape(B, h, w, p, p, -1).permute(0, 5, 1, 3, 2, 4).reshape(B, -1, h * p, w * p)
    T["unpatch.x"] = x
    T["unpatch.y"] = c(y)

    # SanaModulatedNorm (final norm) and the block's modulation pieces
    Bm, N, D = 2, 15, 48
    mn = SanaModulatedNorm(D, elementwise_affine=False, eps=1e-6)
    x = torch.randn(Bm, N, D, generator=g) * 3 + 1
    temb = torch.randn(Bm, D, generator=g)
    table = torch.randn(2, D, generator=g) / D ** 0.5
    T["mnorm.x"] = x
    T["mnorm.temb"] = temb
    T["mnorm.table"] = table
    T["mnorm.y"] = c(mn(x, temb, table))
    # block modulation: scale_shift_table + timestep, LN without affine, * (1 + scale) + shift, gates
    table6 = torch.randn(6, D, generator=g) / D ** 0.5
    temb6 = torch.randn(Bm, 6 * D, generator=g)
    r = torch.randn(Bm, N, D, generator=g)
    sh, sc, gt, sh2, sc2, gt2 = (table6[None] + temb6.reshape(Bm, 6, -1)).chunk(6, dim=1)
    ln = torch.nn.LayerNorm(D, elementwise_affine=False, eps=1e-6)
    T["mod.table"] = table6
    T["mod.temb"] = temb6
    T["mod.x"] = x
    T["mod.r"] = r
    T["mod.norm1"] = c(ln(x) * (1 + sc) + sh)
    T["mod.norm2"] = c(ln(x) * (1 + sc2) + sh2)
    T["mod.res_msa"] = c(x + gt * r)
    T["mod.res_mlp"] = c(x + gt2 * r)
    lna = torch.nn.LayerNorm(D, elementwise_affine=True, eps=1e-6)
    randomize(lna, g)
    T["mod.ln_w"] = c(lna.weight)
    T["mod.ln_b"] = c(lna.bias)
    T["mod.norm2_affine"] = c(lna(x) * (1 + sc2) + sh2)

    # Self-attention: SanaLinearAttnProcessor2_0, without and with qk_norm="rms_norm_across_heads"
    def attn_dump(prefix, attn, hs, enc=None, mask_bias=None):
        cap = {}
        hooks = [attn.to_q.register_forward_hook(lambda m, a, o: cap.__setitem__("q", o)),
                 attn.to_k.register_forward_hook(lambda m, a, o: cap.__setitem__("k", o)),
                 attn.to_v.register_forward_hook(lambda m, a, o: cap.__setitem__("v", o)),
                 attn.to_out[0].register_forward_pre_hook(lambda m, a: cap.__setitem__("core", a[0]))]
        if attn.norm_q is not None:
            hooks += [attn.norm_q.register_forward_hook(lambda m, a, o: cap.__setitem__("q", o)),
                      attn.norm_k.register_forward_hook(lambda m, a, o: cap.__setitem__("k", o))]
        out = attn(hs, encoder_hidden_states=enc, attention_mask=mask_bias)
        for hk in hooks:
            hk.remove()
        T.update(sd_prefixed(attn, prefix + "."))
        T[prefix + ".x"] = hs
        if enc is not None:
            T[prefix + ".enc"] = enc
        T[prefix + ".q"] = c(cap["q"])
        T[prefix + ".k"] = c(cap["k"])
        T[prefix + ".v"] = c(cap["v"])
        T[prefix + ".core"] = c(cap["core"])
        T[prefix + ".y"] = c(out)

    Bq, Hh, Ww, heads, hd = 2, 6, 10, 4, 16
    D = heads * hd
    for name, qk in [("lattn", None), ("lattn_qk", "rms_norm_across_heads")]:
        a = Attention(query_dim=D, heads=heads, dim_head=hd, kv_heads=heads if qk else None, qk_norm=qk,
                      bias=False, cross_attention_dim=None, processor=SanaLinearAttnProcessor2_0())
        randomize(a, g)
        attn_dump(name, a, torch.randn(Bq, Hh * Ww, D, generator=g))
        cfg[name] = dict(B=Bq, N=Hh * Ww, heads=heads, head_dim=hd, qk_norm=qk)
    # Cross-attention: SanaAttnProcessor2_0, caption mask as the model turns it into a bias
    L, cheads, chd = 7, 2, 24
    for name, qk in [("xattn", None), ("xattn_qk", "rms_norm_across_heads")]:
        a = Attention(query_dim=D, qk_norm=qk, kv_heads=cheads if qk else None, cross_attention_dim=D,
                      heads=cheads, dim_head=chd, bias=True, out_bias=True, processor=SanaAttnProcessor2_0())
        randomize(a, g)
        mask = torch.tensor([[1, 1, 1, 1, 1, 0, 0], [1, 1, 0, 0, 0, 0, 0]], dtype=torch.float32)
        bias = ((1 - mask) * -10000.0).unsqueeze(1)
        T[name + ".mask"] = mask
        T[name + ".bias"] = c(bias[:, 0])
        attn_dump(name, a, torch.randn(Bq, Hh * Ww, D, generator=g), torch.randn(Bq, L, D, generator=g), bias)
        cfg[name] = dict(B=Bq, N=Hh * Ww, L=L, heads=cheads, head_dim=chd, qk_norm=qk)

    # GLUMBConv (Sana's Mix-FFN: no norm, no residual), non-square 6x10, batch 2
    ff = GLUMBConv(32, 32, 2.5, norm_type=None, residual_connection=False)
    randomize(ff, g)
    x = torch.randn(2, 32, 6, 10, generator=g)
    T.update(sd_prefixed(ff, "ff."))
    T["ff.x"] = x
    T["ff.y"] = c(ff(x))
    cfg["ff"] = dict(C=32, expand_ratio=2.5, hidden=80, H=6, W=10)
    # and with a different Cout and an odd size (conv_point bias absent as in diffusers)
    ff2 = GLUMBConv(16, 24, 3, norm_type=None, residual_connection=False)
    randomize(ff2, g)
    x = torch.randn(1, 16, 5, 7, generator=g)
    T.update(sd_prefixed(ff2, "ff2."))
    T["ff2.x"] = x
    T["ff2.y"] = c(ff2(x))
    cfg["ff2"] = dict(Cin=16, Cout=24, expand_ratio=3, hidden=48, H=5, W=7)

    os.makedirs(OUT, exist_ok=True)
    save_file({k: v.contiguous().clone() for k, v in T.items()}, os.path.join(OUT, "ops.safetensors"), metadata=meta(cfg))


# --------------------------------------------------------------------------- whole models
TINY = {
    # Sana 1.0 style: no qk norm, patch 1, no position embedding
    "v1": dict(in_channels=4, out_channels=4, num_attention_heads=4, attention_head_dim=8, num_layers=2,
               num_cross_attention_heads=2, cross_attention_head_dim=16, cross_attention_dim=32,
               caption_channels=24, mlp_ratio=2.5, sample_size=8, patch_size=1),
    # Sana 1.5 style: qk_norm across heads; patch 2 and the sincos position embedding
    "v15": dict(in_channels=4, out_channels=4, num_attention_heads=2, attention_head_dim=16, num_layers=2,
                num_cross_attention_heads=2, cross_attention_head_dim=16, cross_attention_dim=32,
                caption_channels=24, mlp_ratio=2.5, sample_size=8, patch_size=2, interpolation_scale=1,
                qk_norm="rms_norm_across_heads", norm_elementwise_affine=True),
    # Sprint style: guidance embedding, timestep_scale, qk norm, patch 1
    "sprint": dict(in_channels=4, out_channels=4, num_attention_heads=4, attention_head_dim=8, num_layers=2,
                   num_cross_attention_heads=4, cross_attention_head_dim=8, cross_attention_dim=32,
                   caption_channels=24, mlp_ratio=2.5, sample_size=8, patch_size=1,
                   qk_norm="rms_norm_across_heads", guidance_embeds=True, guidance_embeds_scale=0.1,
                   timestep_scale=1000.0),
    # mid-size: inner dim 256 (8 heads of 32), cross dim 256, caption 2304 (so sgemm blocks for real);
    # one layer and bf16 weights to stay within the golden budget (the tiny models cover the layer loop)
    "mid": dict(in_channels=32, out_channels=32, num_attention_heads=8, attention_head_dim=32, num_layers=1,
                num_cross_attention_heads=4, cross_attention_head_dim=64, cross_attention_dim=256,
                caption_channels=2304, mlp_ratio=2.5, sample_size=32, patch_size=1),
}


def run_model(model, x, t, enc, mask, guidance=None):
    cap = {}
    hooks = [
        model.patch_embed.register_forward_hook(lambda m, a, o: cap.__setitem__("patch", o)),
        model.time_embed.register_forward_hook(lambda m, a, o: cap.__setitem__("temb", o)),
        model.caption_norm.register_forward_hook(lambda m, a, o: cap.__setitem__("enc", o)),
        model.transformer_blocks[0].register_forward_hook(
            lambda m, a, o: cap.update(b0_x=a[0], b0_encbias=a[3], b0_out=o)),
    ]
    out = model(x, encoder_hidden_states=enc, timestep=t, guidance=guidance, encoder_attention_mask=mask,
                return_dict=False)[0]
    for hk in hooks:
        hk.remove()
    R = {
        "out": c(out),
        "patch": c(cap["patch"]),
        "temb6": c(cap["temb"][0]),
        "temb": c(cap["temb"][1]),
        "enc": c(cap["enc"]),
        "b0_x": c(cap["b0_x"]),
        "b0_out": c(cap["b0_out"]),
    }
    return R


def dump_model(name, seed):
    cfg = TINY[name]
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = SanaTransformer2DModel(**cfg).eval()
    randomize(model, g)
    folder = os.path.join(CKPT, "dit-" + name, "transformer")
    os.makedirs(folder, exist_ok=True)
    if name == "mid":
        # bf16 only: the golden is diffusers on those bf16 weights upcast to float32
        model = model.to(torch.bfloat16)
        model.save_pretrained(folder, variant="bf16")
        model = model.float()
    else:
        model.save_pretrained(folder)
    conf = dict(model.config)
    T = {}
    p = cfg["patch_size"]
    Cin = cfg["in_channels"]
    Ccap = cfg["caption_channels"]
    ts = conf["timestep_scale"]
    if name == "mid":
        cases = [("a", 2, 16, 16, 40)]
    else:
        cases = [("a", 2, 6, 10, 7), ("b", 2, 8, 8, 5)]
    for case, B, H, W, L in cases:
        x = torch.randn(B, Cin, H, W, generator=g)
        enc = torch.randn(B, L, Ccap, generator=g)
        if name == "mid":
            enc = enc.to(torch.bfloat16).float()  # stored as bf16 in the golden
        # two different caption masks (the second prompt shorter)
        mask = torch.ones(B, L)
        mask[1, L // 2:] = 0
        mask[0, L - 1:] = 0
        # timesteps at both ends, scaled as the pipeline does (SanaPipeline: t * timestep_scale)
        t = torch.tensor([0.0, 999.0][:B]) if ts == 1.0 else torch.tensor([0.0, 0.999][:B])
        t_model = t * ts
        gd = torch.tensor([4.5, 3.0][:B]) * conf["guidance_embeds_scale"] if conf["guidance_embeds"] else None
        use_mask = not (case == "b" and name == "v1")  # one case without any mask
        R = run_model(model, x, t_model, enc, mask if use_mask else None, gd)
        T[case + ".x"] = x
        T[case + ".t"] = t
        T[case + ".enc_in"] = enc.to(torch.bfloat16) if name == "mid" else enc
        if use_mask:
            T[case + ".mask"] = mask
        if gd is not None:
            T[case + ".guidance"] = gd
        T[case + ".shape"] = torch.tensor([B, H, W, L], dtype=torch.int64)
        for k, v in R.items():
            if name == "mid" and k in ("patch", "b0_x", "b0_out"):
                continue  # [2, 256, 256] float32 each: left out to stay within the golden budget
            T[case + "." + k] = v
    # fp16 / bf16 variants of the same tiny model: diffusers on the upcast weights
    if name == "v1":
        for variant, dt in [("fp16", torch.float16), ("bf16", torch.bfloat16)]:
            mv = SanaTransformer2DModel(**cfg).eval()
            mv.load_state_dict(model.state_dict())
            mv = mv.to(dt)
            mv.save_pretrained(folder, variant=variant)
            mv = mv.float()
            case, B, H, W, L = cases[0]
            mask = T["a.mask"]
            R = run_model(mv, T["a.x"], T["a.t"] * ts, T["a.enc_in"], mask)
            T[variant + ".out"] = R["out"]
    # PAG: identity self-attention for the perturbed half of the batch in one layer
    if name in ("v1", "v15"):
        layer = 1 if name == "v1" else 0
        procs = {k: v for k, v in model.attn_processors.items()}
        key = "transformer_blocks.%d.attn1.processor" % layer
        procs[key] = PAGIdentitySanaLinearAttnProcessor2_0()
        model.set_attn_processor(procs)
        R = run_model(model, T["a.x"], T["a.t"] * ts, T["a.enc_in"], T["a.mask"])
        T["pag.out"] = R["out"]
        T["pag.layer"] = torch.tensor([layer], dtype=torch.int64)
    out = {k: v.contiguous().clone() for k, v in T.items()}
    save_file(out, os.path.join(OUT, "model_%s.safetensors" % name), metadata=meta(conf))


def main():
    dump_ops()
    for i, name in enumerate(TINY):
        dump_model(name, 100 + i)
    print("wrote", OUT, "and", CKPT)


if __name__ == "__main__":
    sys.exit(main())
