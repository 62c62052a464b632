"""Writes sketch_sampling_small.safetensors: sketch-guided DDIM on the bundled small model
(models/tcgraph-tiny: its UNet and its sketch ControlNet), computed by tools/train/tcnet — the
PyTorch port whose UNet, ControlNet and DDIM check_parity.py proves against the official fixtures
(c), (g), (i), (j) — wired as the community reference's apply_model: per branch, the ControlNet on
the noisy latent alone with that branch's context repeated per frame, the hint embedding computed
once, every residual times control_scale. For SketchGuidanceTests.swift; the weights are not
duplicated (the test reads the model files).

Inputs are random contexts and keyframe latents, the sparse hints of
examples/cartoon_1000007_sketches at bisection level 2, and recorded noise.

    python3 Tests/TCModelsTests/SketchFixtures/make_sketch_sampling_fixture.py   # from the repo root
"""
import json
import os
import sys

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.getcwd())
from tools.train.export import read_model_meta  # noqa: E402
from tools.train.make_fixture import load_model  # noqa: E402
from tools.train.tcnet.controlnet import ControlNet  # noqa: E402
from tools.train.tcnet.model import DDIMSampler  # noqa: E402

MODEL = "models/tcgraph-tiny/tcgraph-tiny.safetensors"
CONTROL = "models/tcgraph-tiny/tcgraph-tiny-sketch.safetensors"
SKETCHES = "examples/cartoon_1000007_sketches/sketch.{:04d}.png"
PATTERN = [0, 3, 7, 11, 15]
STEPS, SCALE, FS = 3, 0.6, 10
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sketch_sampling_small.safetensors")


def main():
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    model, cfg, _ = load_model(MODEL)
    meta = read_model_meta(CONTROL)
    net = ControlNet(meta["control_stage_config"]["params"]).eval()
    net.load_state_dict({k: v.float() for k, v in load_file(CONTROL).items()})

    T, h, w, d = int(cfg["T"]), int(cfg["H"]) // 8, int(cfg["W"]) // 8, net.time_embed[0].in_features
    ctx_dim = model.unet.input_blocks[1][1].transformer_blocks[0].attn2.to_k.in_features
    g = torch.Generator().manual_seed(20240719)
    context = torch.randn(1, 77 + 16 * T, ctx_dim, generator=g)
    uncond = torch.randn(1, 77 + 16 * T, ctx_dim, generator=g)
    concat = torch.zeros(1, 4, T, h, w)
    concat[:, :, 0], concat[:, :, -1] = torch.randn(1, 4, h, w, generator=g), torch.randn(1, 4, h, w, generator=g)
    hint_u8 = np.zeros((T, 8 * h, 8 * w), dtype=np.uint8)
    for f in PATTERN:
        hint_u8[f] = 255 - np.asarray(Image.open(SKETCHES.format(f)).convert("L"))
    hint = torch.from_numpy(hint_u8).float()[:, None] / 255.0
    noise = {"x_T": torch.randn(1, 4, T, h, w, generator=g)}
    noise.update({f"step{i}": torch.randn(1, 4, T, h, w, generator=g) for i in range(STEPS)})

    guided = net.input_hint_block(hint, None, None, 1)
    fs = torch.full((1,), FS, dtype=torch.long)
    contexts = {"cond": context, "uncond": uncond}

    @torch.no_grad()
    def model_fn(x, t, branch):
        res = net(x[0].transpose(0, 1), hint, t.repeat(T), contexts[branch].repeat(T, 1, 1), guided_hint=guided)
        return model.unet(torch.cat([x, concat], dim=1), t, contexts[branch], fs, control=[r * SCALE for r in res])

    buffers = {k: getattr(model, k) for k in ("alphas_cumprod", "sqrt_alphas_cumprod", "sqrt_one_minus_alphas_cumprod", "scale_arr")}
    sampler = DDIMSampler(buffers, STEPS, cfg["ddim_eta"], cfg["timestep_spacing"], True)
    rec = {}
    with torch.no_grad():
        samples = sampler.sample(model_fn, noise["x_T"], [noise[f"step{i}"] for i in range(STEPS)],
                                 cfg["unconditional_guidance_scale"], cfg["guidance_rescale"], rec)
    tensors = {"input.context": context, "input.uncond_context": uncond, "input.c_concat": concat,
               "input.hint_uint8": torch.from_numpy(hint_u8), "output.samples": samples.clone()}
    tensors.update({f"input.noise.{k}": v for k, v in noise.items()})
    tensors.update({f"output.{k}": v.contiguous() for k, v in rec.items() if k.endswith(("v_cond", "v_uncond", "x_prev"))})
    config = {"model": MODEL, "control": CONTROL, "steps": STEPS, "control_scale": SCALE, "fs": FS, "pattern": PATTERN,
              "eta": cfg["ddim_eta"], "cfg": cfg["unconditional_guidance_scale"], "guidance_rescale": cfg["guidance_rescale"],
              "timestep_spacing": cfg["timestep_spacing"], "branches": "separate batch-1 calls, conditional first"}
    save_file(tensors, OUT, metadata={"sketch_sampling": json.dumps(config)})


if __name__ == "__main__":
    main()
