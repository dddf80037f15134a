#!/usr/bin/env python3
"""Goldens of the core operators: linear, LayerNorm, RMSNorm, SiLU, GELU-tanh,
ReLU, conv2d (3x3, 1x1, depthwise 3x3), float32 on CPU.

Writes golden/ops/core.safetensors[.gz]. Tensor names: <case>.<x|w|b|y>.
"""
import torch
from torch import nn
from diffusers.models.normalization import RMSNorm

from common import save

torch.manual_seed(1234)
torch.set_grad_enabled(False)
t = {}
config = {}


def rand(*shape, scale=1.0):
    return (torch.rand(*shape) * 2 - 1) * scale


def linear(name, M, K, N, bias=True, weight_dtype=torch.float32):
    m = nn.Linear(K, N, bias=bias)
    if weight_dtype != torch.float32:
        # The checkpoint holds the weight in weight_dtype; the reference runs on it upcast to float32.
        m.weight.copy_(m.weight.to(weight_dtype).float())
        if bias:
            m.bias.copy_(m.bias.to(weight_dtype).float())
    x = rand(M, K)
    t[name + ".x"] = x
    t[name + ".w"] = m.weight.to(weight_dtype)
    if bias:
        t[name + ".b"] = m.bias.to(weight_dtype)
    t[name + ".y"] = m(x)
    config[name] = {"M": M, "K": K, "N": N, "bias": bias, "weight_dtype": str(weight_dtype)}


linear("linear", 7, 33, 65)
linear("linear_nobias", 5, 48, 24, bias=False)
# mid-size: K and N past OpenBLAS's blocking sizes
linear("linear_mid", 40, 576, 320)
linear("linear_bf16", 9, 64, 40, weight_dtype=torch.bfloat16)
linear("linear_f16", 9, 64, 40, weight_dtype=torch.float16)

# LayerNorm without affine, eps 1e-6 (SANA's norm1/norm2)
ln = nn.LayerNorm(96, elementwise_affine=False, eps=1e-6)
x = rand(5, 7, 96, scale=3.0) + 0.5
t["layer_norm.x"], t["layer_norm.y"] = x, ln(x)
config["layer_norm"] = {"C": 96, "eps": 1e-6, "elementwise_affine": False}

# diffusers RMSNorm, elementwise affine, eps 1e-5
rms = RMSNorm(96, eps=1e-5, elementwise_affine=True)
rms.weight.copy_(torch.rand(96) + 0.5)
x = rand(5, 7, 96, scale=3.0)
t["rms_norm.x"], t["rms_norm.w"], t["rms_norm.y"] = x, rms.weight, rms(x)
config["rms_norm"] = {"C": 96, "eps": 1e-5, "elementwise_affine": True}

# activations over a wide range, with exact edge values
x = torch.cat([torch.linspace(-12, 12, 997), torch.tensor([0.0, -0.0, 1e-30, -1e-30, 88.0, -88.0, 30.0])])
t["act.x"] = x
t["silu.y"] = nn.SiLU()(x)
t["gelu_tanh.y"] = nn.GELU(approximate="tanh")(x)
t["relu.y"] = nn.ReLU()(x)


def conv(name, B, Cin, H, W, Cout, k, stride=1, pad=None, groups=1, bias=True):
    pad = k // 2 if pad is None else pad
    m = nn.Conv2d(Cin, Cout, k, stride=stride, padding=pad, groups=groups, bias=bias)
    x = rand(B, Cin, H, W)
    t[name + ".x"], t[name + ".w"], t[name + ".y"] = x, m.weight, m(x)
    if bias:
        t[name + ".b"] = m.bias
    config[name] = {"B": B, "Cin": Cin, "H": H, "W": W, "Cout": Cout, "k": k, "stride": stride, "pad": pad,
                    "groups": groups, "bias": bias}


conv("conv3x3", 2, 8, 9, 11, 12, 3)
conv("conv1x1", 2, 16, 6, 10, 24, 1, bias=False)
conv("conv_dw3x3", 2, 16, 7, 9, 16, 3, groups=16)
conv("conv3x3_s2", 1, 4, 10, 7, 6, 3, stride=2)
conv("conv_mid", 1, 64, 16, 16, 96, 3)

save("ops/core.safetensors", t, __file__, config)
