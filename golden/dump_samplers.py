#!/usr/bin/env python3
"""Dump the sampler and RNG goldens of libsana from diffusers / torch (CPU, float32).

golden/sampler/rng.safetensors
    torch.randn(size, generator=torch.Generator("cpu").manual_seed(seed)) for several seeds and
    shapes, and sequences of calls on one generator (the cached Box-Muller value of small draws).
golden/sampler/samplers.safetensors
    For each case: the scheduler's timesteps and sigmas after set_timesteps, then a run of `step`
    calls fed with synthetic model outputs  model_output_k = a_k * sample_k + b_k * base  (float32
    torch ops, a_k/b_k exact binary fractions, base a fixed randn tensor), every intermediate sample
    stored. Initial samples come from torch.randn with the case's generator, which is then passed to
    step() (as SanaPipeline and SanaSprintPipeline do); stochastic Euler draws from torch's global
    generator, seeded with torch.manual_seed(global_seed). SCM cases run the SanaSprintPipeline loop
    (TrigFlow conversions around the model) and store its intermediate tensors too.

The case list (config, options, shapes, seeds) is in the metadata under "cases" (JSON).
Run unchanged:  python3 golden/dump_samplers.py
"""
import json
import os

import diffusers
import numpy as np
import torch
from diffusers import DPMSolverMultistepScheduler, FlowMatchEulerDiscreteScheduler, SCMScheduler
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sampler")
META = {
    "script": "golden/dump_samplers.py",
    "diffusers": diffusers.__version__,
    "torch": torch.__version__,
    "numpy": np.__version__,
}

# SANA 1.0/1.5 scheduler_config.json as published (Efficient-Large-Model/Sana_1600M_1024px_diffusers).
SANA_DPM = {
    "algorithm_type": "dpmsolver++", "beta_end": 0.02, "beta_schedule": "linear", "beta_start": 0.0001,
    "dynamic_thresholding_ratio": 0.995, "euler_at_final": False, "final_sigmas_type": "zero",
    "flow_shift": 3.0, "lambda_min_clipped": float("-inf"), "lower_order_final": True,
    "num_train_timesteps": 1000, "prediction_type": "flow_prediction", "rescale_betas_zero_snr": False,
    "sample_max_value": 1.0, "solver_order": 2, "solver_type": "midpoint", "steps_offset": 0,
    "thresholding": False, "timestep_spacing": "linspace", "trained_betas": None, "use_beta_sigmas": False,
    "use_exponential_sigmas": False, "use_flow_sigmas": True, "use_karras_sigmas": False,
    "use_lu_lambdas": False, "variance_type": None,
}


def rng_goldens():
    t = {}
    cases = []
    shapes = [(1, 32, 32, 32), (2, 32, 16, 16), (1,), (5,), (15,), (16,), (17,), (31,), (33,), (100,),
              (1, 4, 7, 9), (2, 3, 5, 7)]
    for seed in (0, 1, 42, 2024, 123456789, 2**32 + 5):
        for shp in shapes:
            if seed not in (0, 42) and len(shp) == 4 and shp[1] == 32:
                continue  # the two big shapes for two seeds only (size budget)
            g = torch.Generator("cpu").manual_seed(seed)
            name = f"randn_s{seed}_" + "x".join(map(str, shp))
            t[name] = torch.randn(shp, generator=g, dtype=torch.float32)
            cases.append({"name": name, "seed": seed, "sizes": [int(np.prod(shp))]})
    # Several draws from one generator: small draws use and leave the cached normal.
    for seed, sizes in ((7, [3, 5, 20, 1, 2, 16, 1]), (99, [1, 1, 1, 17, 3]), (5, [2, 300, 9, 15])):
        g = torch.Generator("cpu").manual_seed(seed)
        name = f"seq_s{seed}"
        t[name] = torch.cat([torch.randn(n, generator=g) for n in sizes])
        cases.append({"name": name, "seed": seed, "sizes": sizes})
    # randn_tensor with a list of generators: one [1, ...] draw per generator.
    gens = [torch.Generator("cpu").manual_seed(s) for s in (11, 12)]
    from diffusers.utils.torch_utils import randn_tensor
    t["list_gen_11_12"] = randn_tensor((2, 4, 5, 5), generator=gens, device=torch.device("cpu"),
                                       dtype=torch.float32)
    cases.append({"name": "list_gen_11_12", "seeds_per_image": [11, 12], "sizes": [100, 100]})
    # One generator over a batch equals one randn over the whole shape (diffusers randn_tensor).
    g = torch.Generator("cpu").manual_seed(3)
    t["batch_s3_2x4x5x5"] = randn_tensor((2, 4, 5, 5), generator=g, device=torch.device("cpu"),
                                         dtype=torch.float32)
    cases.append({"name": "batch_s3_2x4x5x5", "seed": 3, "sizes": [200]})
    meta = dict(META, cases=json.dumps(cases), module="torch.Generator('cpu') / torch.randn")
    save_file({k: v.contiguous() for k, v in t.items()}, os.path.join(OUT, "rng.safetensors"), metadata=meta)


def coeffs(k):
    """Synthetic model output coefficients of step k (exact in float32)."""
    return -0.75 + 0.0625 * (k % 5), 0.5 + 0.125 * (k % 3)


def run_case(case, t):
    kind = case["kind"]
    cfg = dict(case["config"])
    if "override_shift" in case:  # --flow-shift: from_config(config, flow_shift=X / shift=X)
        cfg["flow_shift" if kind == "dpm" else "shift"] = case["override_shift"]
    steps = case["steps"]
    opts = case.get("opts", {})
    if kind == "dpm":
        sch = DPMSolverMultistepScheduler(**cfg)
    elif kind == "euler":
        sch = FlowMatchEulerDiscreteScheduler(**cfg)
    else:
        sch = SCMScheduler(**cfg)
    kw = {}
    if "mu" in opts:
        kw["mu"] = opts["mu"]
    if "sigmas" in opts:
        kw["sigmas"] = opts["sigmas"]
    if "timesteps" in opts:
        kw["timesteps"] = opts["timesteps"]
    if kind == "scm":
        kw["max_timesteps"] = opts.get("max_timesteps", 1.57080)
        kw["intermediate_timesteps"] = opts.get("intermediate_timesteps", 1.3 if steps == 2 else None)
        sch.set_timesteps(num_inference_steps=steps, **kw)
    else:
        sch.set_timesteps(num_inference_steps=None if ("sigmas" in opts or "timesteps" in opts) else steps, **kw)
    p = case["name"] + "/"
    t[p + "timesteps"] = sch.timesteps.to(torch.float64).clone()
    if kind != "scm":
        t[p + "sigmas"] = sch.sigmas.to(torch.float32).clone()
    nrun = case.get("run", 0)
    if not nrun:
        return
    shape = tuple(case["shape"])
    g = torch.Generator("cpu").manual_seed(case["seed"])
    x = torch.randn(shape, generator=g, dtype=torch.float32)
    base = torch.randn(shape, generator=torch.Generator("cpu").manual_seed(case["seed"] + 1000))
    t[p + "x_init"] = x.clone()
    t[p + "base"] = base.clone()
    if kind == "euler" and cfg.get("stochastic_sampling"):
        torch.manual_seed(case["global_seed"])
    timesteps = sch.timesteps
    if kind == "scm":
        sch.set_begin_index(0)
        sd = sch.config.sigma_data
        x = x * sd
        t[p + "latents_init"] = x.clone()
        for i, tt in enumerate(timesteps[:-1]):
            a, b = coeffs(i)
            timestep = tt.expand(x.shape[0])
            lmi = x / sd
            scm_t = torch.sin(timestep) / (torch.cos(timestep) + torch.sin(timestep))
            e = scm_t.view(-1, 1, 1, 1)
            model_in = lmi * torch.sqrt(e**2 + (1 - e) ** 2)
            raw = model_in * a + base * b
            pred = ((1 - 2 * e) * model_in + (1 - 2 * e + 2 * e**2) * raw) / torch.sqrt(e**2 + (1 - e) ** 2)
            pred = pred.float() * sd
            x, den = sch.step(pred, timestep, x, generator=g, return_dict=False)
            t[p + f"scm_t{i}"] = scm_t.clone()
            t[p + f"model_in{i}"] = model_in.clone()
            t[p + f"pred{i}"] = pred.clone()
            t[p + f"x{i}"] = x.clone()
            t[p + f"denoised{i}"] = den.clone()
        t[p + "final"] = den / sd
        return
    for i, tt in enumerate(timesteps[:nrun]):
        a, b = coeffs(i)
        mo = x * a + base * b
        if kind == "dpm":
            x = sch.step(mo, tt, x, generator=g, return_dict=False)[0]
        else:
            x = sch.step(mo, tt, x, return_dict=False)[0]
        t[p + f"x{i}"] = x.clone()


def sampler_cases():
    cases = []

    def add(name, kind, cfg, steps, run=0, shape=(2, 3, 5, 7), seed=1, **extra):
        c = {"name": name, "kind": kind, "config": cfg, "steps": steps, "run": run, "shape": list(shape),
             "seed": seed}
        c.update(extra)
        cases.append(c)

    # ---- DPM (Flow-DPM-Solver)
    for n in (1, 2, 5, 20, 50):
        add(f"dpm_sana_{n}", "dpm", SANA_DPM, n, run=n if n <= 20 else 0)
    add("dpm_sana_50_run", "dpm", SANA_DPM, 50, run=50, shape=(1, 4, 4, 4), seed=5)
    cfg = dict(SANA_DPM, solver_order=3, solver_type="heun", flow_shift=4.5, final_sigmas_type="sigma_min",
               lower_order_final=False)
    for n in (5, 20):
        add(f"dpm_o3_heun_sigmamin_{n}", "dpm", cfg, n, run=n, seed=2)
    add("dpm_o3_midpoint_12", "dpm", dict(SANA_DPM, solver_order=3), 12, run=12, seed=3)
    add("dpm_o3_midpoint_20", "dpm", dict(SANA_DPM, solver_order=3), 20, run=20, seed=3)
    add("dpm_o1_5", "dpm", dict(SANA_DPM, solver_order=1), 5, run=5, seed=4)
    add("dpm_heun_10", "dpm", dict(SANA_DPM, solver_type="heun"), 10, run=10, seed=4)
    add("dpm_euler_at_final_sigmamin_8", "dpm",
        dict(SANA_DPM, euler_at_final=True, final_sigmas_type="sigma_min"), 8, run=8, seed=6)
    add("dpm_no_lof_sigmamin_6", "dpm", dict(SANA_DPM, lower_order_final=False, final_sigmas_type="sigma_min"),
        6, run=6, seed=6)
    add("dpm_scaled_linear_sigmamin_4", "dpm",
        dict(SANA_DPM, beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012,
             final_sigmas_type="sigma_min"), 4, run=4, seed=6)
    add("dpm_cos_sigmamin_4", "dpm", dict(SANA_DPM, beta_schedule="squaredcos_cap_v2", final_sigmas_type="sigma_min"),
        4, run=0)
    add("dpm_sde_5", "dpm", dict(SANA_DPM, algorithm_type="sde-dpmsolver++"), 5, run=5, seed=7)
    add("dpm_sde_20", "dpm", dict(SANA_DPM, algorithm_type="sde-dpmsolver++"), 20, run=20, seed=8)
    add("dpm_sde_heun_10", "dpm", dict(SANA_DPM, algorithm_type="sde-dpmsolver++", solver_type="heun"), 10,
        run=10, seed=9)
    add("dpm_sde_o3_16", "dpm", dict(SANA_DPM, algorithm_type="sde-dpmsolver++", solver_order=3), 16, run=16,
        seed=10, shape=(1, 4, 8, 8))
    for pred in ("epsilon", "v_prediction", "sample"):
        add(f"dpm_pred_{pred}_7", "dpm", dict(SANA_DPM, prediction_type=pred), 7, run=7, seed=11)
    add("dpm_dynamic_mu_9", "dpm", dict(SANA_DPM, use_dynamic_shifting=True), 9, run=9, seed=12,
        opts={"mu": 0.8})
    add("dpm_trailing_offset_5", "dpm", dict(SANA_DPM, timestep_spacing="trailing", steps_offset=1), 5, run=5)
    add("dpm_leading_shift1_30", "dpm", dict(SANA_DPM, timestep_spacing="leading", flow_shift=1.0), 30, run=0)
    add("dpm_override_shift_10", "dpm", dict(SANA_DPM, flow_shift=1.0), 10, run=10, seed=14, override_shift=3.5)
    add("dpm_defaults_flow_10", "dpm", {"use_flow_sigmas": True, "prediction_type": "flow_prediction"}, 10,
        run=10, seed=13)

    # ---- DPM with VP sigmas from a beta schedule (use_flow_sigmas false)
    vp = {"prediction_type": "epsilon"}
    for sp in ("linspace", "leading", "trailing"):
        for n in (1, 2, 5, 20, 50):
            add(f"dpm_vp_{sp}_{n}", "dpm", dict(vp, timestep_spacing=sp, steps_offset=1 if sp == "leading" else 0),
                n, run=0)
    add("dpm_vp_eps_linspace_20", "dpm", vp, 20, run=20, seed=40)
    sd = dict(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012)
    add("dpm_vp_sd_leading_10", "dpm", dict(vp, timestep_spacing="leading", steps_offset=1, **sd), 10, run=10,
        seed=41)
    add("dpm_vp_v_trailing_7", "dpm", dict(sd, prediction_type="v_prediction", timestep_spacing="trailing"), 7,
        run=7, seed=42)
    add("dpm_vp_trailing_13", "dpm", dict(vp, timestep_spacing="trailing"), 13, run=0)
    add("dpm_vp_cos_clip_25", "dpm", dict(vp, beta_schedule="squaredcos_cap_v2", lambda_min_clipped=-5.1), 25,
        run=0)
    add("dpm_vp_cos_clip_8", "dpm", dict(vp, beta_schedule="squaredcos_cap_v2", lambda_min_clipped=-5.1,
                                         solver_order=3), 8, run=8, seed=43)
    add("dpm_vp_custom_ts_6", "dpm", dict(vp, **sd), 6, run=6, seed=44,
        opts={"timesteps": [999, 850, 600, 301, 120, 15]})
    add("dpm_vp_flowpred_sde_sigmamin_12", "dpm",
        dict(prediction_type="flow_prediction", algorithm_type="sde-dpmsolver++", final_sigmas_type="sigma_min"),
        12, run=12, seed=45)
    tb = [float(0.0005 + 0.0004 * k) for k in range(50)]
    add("dpm_vp_trained_betas_5", "dpm", dict(vp, num_train_timesteps=50, trained_betas=tb), 5, run=5, seed=46)

    # ---- FlowMatchEulerDiscreteScheduler
    for n in (1, 2, 5, 20, 50):
        add(f"euler_shift3_{n}", "euler", {"shift": 3.0}, n, run=n if n <= 20 else 0, seed=20)
    add("euler_shift1_50_run", "euler", {}, 50, run=50, shape=(1, 4, 4, 4), seed=21)
    add("euler_override_shift_12", "euler", {"shift": 1.0}, 12, run=12, seed=29, override_shift=3.0)
    add("euler_dyn_exp_term_10", "euler",
        {"use_dynamic_shifting": True, "shift_terminal": 0.1, "base_shift": 0.5, "max_shift": 1.15}, 10, run=10,
        seed=22, opts={"mu": 0.7})
    add("euler_dyn_linear_8", "euler", {"use_dynamic_shifting": True, "time_shift_type": "linear"}, 8, run=8,
        seed=23, opts={"mu": 1.2})
    add("euler_invert_6", "euler", {"shift": 2.0, "invert_sigmas": True}, 6, run=6, seed=24)
    add("euler_custom_sigmas_6", "euler", {"shift": 3.0}, 6, run=6, seed=25,
        opts={"sigmas": [1.0, 0.85, 0.6, 0.41, 0.2, 0.05]})
    add("euler_custom_timesteps_5", "euler", {"shift": 2.5}, 5, run=5, seed=26,
        opts={"timesteps": [999.0, 800.5, 512.0, 250.25, 40.0]})
    add("euler_custom_both_4", "euler", {"shift": 1.5, "shift_terminal": 0.05}, 4, run=4, seed=27,
        opts={"sigmas": [0.97, 0.7, 0.33, 0.1], "timesteps": [970.0, 700.0, 330.0, 100.0]})
    add("euler_custom_dyn_5", "euler", {"use_dynamic_shifting": True}, 5, run=0,
        opts={"mu": 0.9, "sigmas": [1.0, 0.75, 0.5, 0.25, 0.125]})
    add("euler_stochastic_10", "euler", {"shift": 3.0, "stochastic_sampling": True}, 10, run=10, seed=28,
        global_seed=4321)

    # ---- SCMScheduler + the Sprint loop
    scm = {"num_train_timesteps": 1000, "prediction_type": "trigflow", "sigma_data": 0.5}
    add("scm_1", "scm", scm, 1, run=1, seed=30, opts={"intermediate_timesteps": None})
    add("scm_2", "scm", scm, 2, run=2, seed=31)
    add("scm_2_max_mid", "scm", scm, 2, run=2, seed=32, opts={"max_timesteps": 1.4, "intermediate_timesteps": 0.9})
    add("scm_3", "scm", scm, 3, run=3, seed=33, opts={"intermediate_timesteps": None})
    add("scm_4", "scm", dict(scm, sigma_data=0.7), 4, run=4, seed=34, opts={"intermediate_timesteps": None})
    add("scm_4_custom", "scm", scm, 3, run=3, seed=35,
        opts={"timesteps": [1.5708, 1.1, 0.45, 0.0], "max_timesteps": None, "intermediate_timesteps": None})
    add("scm_2_batch", "scm", scm, 2, run=2, seed=36, shape=(3, 4, 4, 4))
    return cases


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    rng_goldens()
    cases = sampler_cases()
    t = {}
    for c in cases:
        run_case(c, t)
    meta = dict(META, cases=json.dumps(cases),
                module="DPMSolverMultistepScheduler / FlowMatchEulerDiscreteScheduler / SCMScheduler")
    save_file({k: v.contiguous() for k, v in t.items()}, os.path.join(OUT, "samplers.safetensors"), metadata=meta)


if __name__ == "__main__":
    main()
