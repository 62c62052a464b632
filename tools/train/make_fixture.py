"""Write the end-to-end parity fixture of the trained small model (`pipeline_small`): our PyTorch
pipeline (proven against the official fixtures by check_parity.py) run on two generator keyframes
and a prompt with injected noise, in the file format of /work/shared/parity (like pipeline_tiny).

    python -m tools.train.make_fixture [--model models/tcgraph-tiny/tcgraph-tiny.safetensors]

The weights are not duplicated: metadata `weights_file` names the model file relative to the
fixture's own directory, with its sha256; every other convention is pipeline_tiny's.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import sys

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from tools.cartoon import HELDOUT_BASE, make_clip

from .export import read_model_meta
from .fixture_io import tolerance_for
from .tcnet.clip import tokenize
from .tcnet.model import LatentVisualDiffusion, ddim_timesteps, interpolate, keyframe_video

MODULE_OUTPUTS = ("text_emb", "uc_text_emb", "clip_tokens", "uc_clip_tokens", "img_emb", "uc_img_emb",
                  "posterior_mean", "posterior_std", "z", "c_concat", "ref_context.1", "ref_context.2", "ref_context.3")


def load_model(path: str, dtype=torch.float32):
    """Build from the file's `tcgraph_model` config and load every stored tensor by key (strict:
    the file must provide all of the module's tensors, and nothing the module lacks)."""
    meta = read_model_meta(path)
    cfg = {k: v for k, v in meta.items() if k not in ("name", "description")}
    model = LatentVisualDiffusion(cfg)
    with safe_open(path, "pt") as f:
        sd = {k: f.get_tensor(k) for k in f.keys()}
    own = model.state_dict()
    extra, missing = set(sd) - set(own), set(own) - set(sd)
    if extra or missing:
        raise KeyError(f"{path}: keys not in the model {sorted(extra)[:5]}, missing {sorted(missing)[:5]}")
    model.load_state_dict({k: v.to(own[k].dtype) for k, v in sd.items()})
    return model.to(dtype).eval(), cfg, sd


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.train.make_fixture", description=__doc__)
    ap.add_argument("--model", default="models/tcgraph-tiny/tcgraph-tiny.safetensors")
    ap.add_argument("--out", default=None, help="default: pipeline_small.safetensors next to the model")
    ap.add_argument("--clip-seed", type=int, default=HELDOUT_BASE + 5)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--noise-seed", type=int, default=123)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    out = a.out or os.path.join(os.path.dirname(a.model), "pipeline_small.safetensors")
    model, cfg, stored = load_model(a.model)
    cfg = copy.deepcopy(cfg)
    T, H, W = cfg["T"], cfg["H"], cfg["W"]
    clip = make_clip(a.clip_seed, H, W, T)
    cfg["ddim_steps"], cfg["prompt"] = a.steps, clip.caption
    first, last = torch.from_numpy(clip.frames[0].copy()), torch.from_numpy(clip.frames[-1].copy())
    prompt, empty = tokenize([clip.caption]), tokenize([""])
    g = torch.Generator().manual_seed(a.noise_seed)
    h, w = H // 8, W // 8
    noise = {"posterior": torch.randn(T, 4, h, w, generator=g), "x_T": torch.randn(1, 4, T, h, w, generator=g)}
    noise.update({f"step{i}": torch.randn(1, 4, T, h, w, generator=g) for i in range(a.steps)})

    def run(dtype):
        m = model.to(dtype)
        video = keyframe_video(first, last, T).to(dtype)
        return interpolate(m, video, prompt, empty, {k: v.to(dtype) for k, v in noise.items()}, cfg)

    rec32 = run(torch.float32)
    rec64 = run(torch.float64)
    model.float()
    keys = list(MODULE_OUTPUTS) + [f"step{i}.{p}" for i in range(a.steps) for p in ("v_cond", "v_uncond", "x_prev")] + ["samples", "decoded_middle", "video"]
    tensors, outputs, tol, f64 = {}, {}, {}, {}
    for k in keys:
        v = rec32[k].detach().float().clone().contiguous()
        d = (rec64[k].double() - v.double())
        f64[f"output.{k}"] = {"max_abs_err_f32_vs_f64": float(d.abs().max()), "rel_l2_f32_vs_f64": float(d.norm() / v.double().norm().clamp_min(1e-30))}
        sampler = k.startswith("step") or k in ("samples", "decoded_middle", "video")
        tol[f"output.{k}"] = tolerance_for(v, 1e-3 if sampler else 1e-4, 1e-4 if sampler else 1e-5, f64[f"output.{k}"])
        tensors[f"output.{k}"] = v
        outputs[f"output.{k}"] = {"shape": list(v.shape), "dtype": "float32", "max_abs": float(v.abs().max()), "std": float(v.std())}
    tensors["output.video_uint8"] = rec32["video_uint8"].clone().contiguous()
    outputs["output.video_uint8"] = {"shape": list(rec32["video_uint8"].shape), "dtype": "uint8", "desc": "clamp, (x+1)/2*255, truncate; compare with +-1"}
    sched = {f"output.schedule.{k}": stored[k].float().clone() for k in ("betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod", "sqrt_one_minus_alphas_cumprod", "scale_arr")}
    sched["output.schedule.ddim_timesteps"] = torch.from_numpy(ddim_timesteps(a.steps, cfg["timestep_spacing"]).copy())
    tensors.update(sched)
    inputs = {"input.image_first_uint8": first, "input.image_last_uint8": last, "input.prompt_tokens": prompt, "input.empty_prompt_tokens": empty}
    inputs.update({f"input.noise.{k}": v.clone().contiguous() for k, v in noise.items()})
    tensors.update(inputs)
    weights_file = os.path.relpath(os.path.abspath(a.model), os.path.dirname(os.path.abspath(out)))
    meta = {
        "format_version": 1,
        "fixture": "pipeline_small",
        "set": "tcgraph-tiny",
        "seed": a.noise_seed,
        "module": "scripts/evaluation/inference.py: load_data_prompts + image_guided_synthesis (interp), with the trained tcgraph-tiny weights",
        "official_call": "as pipeline_tiny (image_guided_synthesis(..., interp=True, text_input=True, timestep_spacing='uniform_trailing', guidance_rescale=0.7)); "
                         "computed by tools/train/tcnet (which reproduces every public official fixture, see tools/train/check_parity.py)",
        "config": cfg,
        "description": f"The trained small model end to end on generator clip {a.clip_seed} (first/last frame) with its caption as prompt.",
        "weights_file": weights_file,
        "weights_file_note": "weights are NOT stored here: load every tensor of `weights_file` (path relative to this fixture's directory) by key, "
                             "f16 weights upcast to float32, schedule buffers (float32) used as stored",
        "weights_sha256": sha256(a.model),
        "weight_keys": sorted(stored),
        "unused_weight_keys": {k: {"why": "not read by the interpolation pipeline"} for k in sorted(stored) if k.startswith(("first_stage_model.post_quant_conv", "log_one_minus", "sqrt_recip", "posterior_"))
                               or k in ("cond_stage_model.model.text_projection", "cond_stage_model.model.logit_scale", "embedder.model.visual.proj")
                               or k.startswith(("embedder.model.visual.ln_post", f"cond_stage_model.model.transformer.resblocks.{cfg['open_clip_arch'][next(iter(cfg['open_clip_arch']))]['text_cfg']['layers'] - 1}."))},
        "inputs": {k: {"shape": list(v.shape), "dtype": str(v.dtype).replace("torch.", "")} for k, v in inputs.items()},
        "outputs": outputs,
        "aux": {"clip_seed": a.clip_seed, "caption": clip.caption},
        "tolerance": tol,
        "f64_check": f64,
        "notes": [
            "Conventions exactly as pipeline_tiny (see its notes): videos = first image for frames 0..T/2-1, last image for T/2..T-1, in [-1,1]; "
            "VAE encoder on all T frames, posterior SAMPLE with input.noise.posterior; c_concat = z at frames 0 and T-1, zeros between; "
            f"CLIP image tokens of the first frame only, uncond = all-zero image and empty prompt; DDIM uniform_trailing, eta {cfg['ddim_eta']}, CFG {cfg['unconditional_guidance_scale']} (the model's own sampler settings), "
            "guidance_rescale 0.7, dynamic rescale; decode chunks of temporal_length with refs, middle-frame re-decode without latent frames 1 and T-2.",
            "ref_context.0 and .4 (full resolution) are omitted to save space, as in pipeline_tiny.",
            "f64_check re-runs the same PyTorch pipeline in float64 from the same (f16-stored) weights and noise.",
        ],
        "generator": "tools/train/make_fixture.py",
        "versions": {"torch": torch.__version__},
        "threads": 1,
        "tolerance_rule": "As /work/shared/parity: max|a-e| <= max_abs_err and ||a-e||/||e|| <= rel_l2_err; factor 1e-4 (modules) / 1e-3 (sampler, "
                          "decoder) times max(1, max|e|), rel 1e-5 / 1e-4, never below 10x the f32-vs-f64 discrepancy; video_uint8 within +-1.",
    }
    tmp = out + ".tmp"
    save_file(tensors, tmp, metadata={"fixture": json.dumps(meta)})
    os.replace(tmp, out)
    print(f"wrote {out} ({os.path.getsize(out) / 1e6:.2f} MB), weights {weights_file}, prompt {clip.caption!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
