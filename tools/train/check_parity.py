"""Prove tools/train/tcnet computes what the official code computes: run every parity fixture in
../shared/parity (or $TCGRAPH_SHARED/parity, or the files given) through our modules, loaded by the
fixtures' checkpoint keys, and compare every output with the fixture's tolerance.

    python -m tools.train.check_parity [FIXTURE.safetensors ...]

Exit status 0 when every output passes, 1 on any failure, 0 with a SKIP line when no fixtures exist.
"""

from __future__ import annotations

import glob
import os
import sys
import warnings

import torch

from .fixture_io import Fixture, compare, load_into, shared_parity_dir
from .tcnet.clip import ImageEmbedder, TextEncoder, clip_preprocess, tokenize
from .tcnet.controlnet import ControlNet
from .tcnet.model import DDIMSampler, LatentVisualDiffusion, ddim_timesteps, interpolate, keyframe_video, schedule_buffers
from .tcnet.resampler import Resampler
from .tcnet.unet import UNetModel
from .tcnet.vae import AutoencoderKLDualref

UNUSED_TEXT = ("text_projection", "logit_scale")


def run_vae_encode(f: Fixture):
    p = f.config["first_stage_config"]["params"]
    vae = AutoencoderKLDualref(p)
    load_into(vae, f.weights("first_stage_model."), ("decoder.", "post_quant_conv."))
    moments, hidden = vae.encode(f.input("x"))
    mean, logvar, std = vae.posterior(moments)
    s = f.config.get("scale_factor", 0.18215)
    out = {"moments": moments, "mean": mean, "logvar": logvar, "std": std,
           "z": s * (mean + std * f.input("posterior_noise")), "z_mode": s * mean}
    out.update({f"hidden_states.{i}": h for i, h in enumerate(hidden)})
    return out


def run_vae_decode(f: Fixture):
    vae = AutoencoderKLDualref(f.config["first_stage_config"]["params"])
    load_into(vae, f.weights("first_stage_model."), ("encoder.", "quant_conv.", "post_quant_conv."))
    refs = [f.input(f"ref_context.{i}") for i in range(5)]
    z = f.input("z")
    s = f.config.get("scale_factor", 0.18215)
    b, c, T, h, w = z.shape
    zd = (z / s).transpose(1, 2).reshape(b * T, c, h, w)
    return {"frames": vae.decode(zd, refs, timesteps=f.config.get("T", T))}


def _unet(f: Fixture):
    unet = UNetModel(f.config["unet_config"]["params"])
    load_into(unet, f.weights("model.diffusion_model."))
    return unet


def run_unet_step(f: Fixture):
    unet = _unet(f)
    dbg = {}
    v = unet(f.input("xc"), f.input("timesteps"), f.input("context"), f.input("fs"), debug=dbg)
    return {"v": v, **{f"debug.{k}": t for k, t in dbg.items()}}


def run_unet_controlled(f: Fixture):
    unet = _unet(f)
    s = f.input("control_scale").float()
    control = [f.input(f"control.{i}") * s for i in range(13)]
    dbg = {}
    args = (f.input("xc"), f.input("timesteps"), f.input("context"), f.input("fs"))
    v = unet(*args, control=control, debug=dbg)
    out = {"v": v, "v_plain": unet(*args)}
    out.update({f"debug.{k}": t for k, t in dbg.items() if k.startswith(("middle_block", "output_blocks"))})
    return out


def run_resampler(f: Fixture):
    r = Resampler(f.config["image_proj_stage_config"]["params"])
    load_into(r, f.weights("image_proj_model."))
    return {"tokens": r(f.input("x"))}


def run_clip_vision(f: Fixture):
    arch = f.config["open_clip_arch"][f.config["img_cond_stage_config"]["params"]["arch"]]
    e = ImageEmbedder(arch)
    load_into(e, f.weights("embedder."), ("model.visual.ln_post", "model.visual.proj"))
    x = f.input("image")
    return {"preprocessed": clip_preprocess(x, e.image_size), "tokens": e(x)}


def run_clip_text(f: Fixture):
    arch = f.config["open_clip_arch"][f.config["cond_stage_config"]["params"]["arch"]]
    t = TextEncoder(arch)
    last = len(t.model.transformer.resblocks) - 1
    load_into(t, f.weights("cond_stage_model."), tuple(f"model.{u}" for u in UNUSED_TEXT) + (f"model.transformer.resblocks.{last}.",))
    tokens = tokenize(f.meta["prompts"])
    return {"tokens": tokens, "embedding": t(f.input("tokens"))}


def _schedule_outputs(params, steps, spacing):
    sb = schedule_buffers(params)
    out = {f"schedule.{k}": sb[k] for k in ("betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod", "sqrt_one_minus_alphas_cumprod", "scale_arr")}
    smp = DDIMSampler(sb, steps, 1.0, spacing)
    out["schedule.ddim_timesteps"] = torch.from_numpy(ddim_timesteps(steps, spacing).copy())
    return out, smp


def run_ddim(f: Fixture):
    c = f.config
    unet = _unet(f)
    # The checkpoint's buffers are authoritative when stored (Q26); this fixture recomputes them.
    buffers = schedule_buffers(c["model_config_params"])
    buffers.update({k: f.tensors[k] for k in buffers if k in f.tensors})
    sampler = DDIMSampler(buffers, c["steps"], c["eta"], c["timestep_spacing"], c["model_config_params"].get("use_dynamic_rescale", False))
    cc, ctx = f.input("c_concat"), {"cond": f.input("c_crossattn"), "uncond": f.input("uc_crossattn")}
    fs = f.input("fs")
    fn = lambda x, t, br: unet(torch.cat([x, cc], dim=1), t, ctx[br], fs)
    rec = {}
    noises = [f.input(f"noise.step{i}") for i in range(c["steps"])]
    rec["samples"] = sampler.sample(fn, f.input("noise.x_T"), noises, c["unconditional_guidance_scale"], c["guidance_rescale"], rec)
    sched, _ = _schedule_outputs(c["model_config_params"], c["steps"], c["timestep_spacing"])
    rec.update(sched)
    return rec


def run_pipeline(f: Fixture):
    c = f.config
    model = LatentVisualDiffusion(c)
    last = len(model.cond_stage_model.model.transformer.resblocks) - 1
    allowed = ["log_one_minus", "sqrt_recip", "posterior_", "betas", "alphas_cumprod_prev", "first_stage_model.post_quant_conv.",
               f"cond_stage_model.model.transformer.resblocks.{last}.", "cond_stage_model.model.text_projection",
               "cond_stage_model.model.logit_scale", "embedder.model.visual.ln_post", "embedder.model.visual.proj"]
    load_into(model, f.weights(), allowed)
    T = c["T"]
    video = keyframe_video(f.input("image_first_uint8"), f.input("image_last_uint8"), T)
    noise = {"posterior": f.input("noise.posterior"), "x_T": f.input("noise.x_T")}
    noise.update({f"step{i}": f.input(f"noise.step{i}") for i in range(c["ddim_steps"])})
    rec = interpolate(model, video, f.input("prompt_tokens"), f.input("empty_prompt_tokens"), noise, c)
    sched, _ = _schedule_outputs(c["model_config"]["params"], c["ddim_steps"], c["timestep_spacing"])
    rec.update(sched)
    rec["prompt_tokens_from_text"] = tokenize([c.get("prompt", "")])
    return rec


def run_controlnet(f: Fixture):
    net = ControlNet(f.config["control_stage_config"]["params"])
    w = f.weights()
    if not w:
        w = {k: v for k, v in f.tensors.items() if not k.startswith(("input.", "output.", "aux."))}
    load_into(net, w)
    dbg = {}
    res = net(f.input("x"), f.input("hint"), f.input("timesteps"), f.input("context"), debug=dbg)
    out = {f"control.{i}": r for i, r in enumerate(res)}
    out.update({f"debug.{k}": t for k, t in dbg.items()})
    return out


RUNNERS = {
    "vae_encode": run_vae_encode,
    "vae_decode_dualref": run_vae_decode,
    "unet_step": run_unet_step,
    "unet_controlled_step": run_unet_controlled,
    "resampler": run_resampler,
    "clip_vision": run_clip_vision,
    "clip_text": run_clip_text,
    "ddim_sample": run_ddim,
    "pipeline_tiny": run_pipeline,
    "pipeline_small": run_pipeline,
    "sketch_controlnet": run_controlnet,
}


def check(path: str, verbose=False):
    """Returns rows (fixture, output, max_abs, tol_abs, rel_l2, tol_rel, status)."""
    f = Fixture(path)
    name = f.name
    if name not in RUNNERS:
        return [(name, "-", None, None, None, None, "SKIP (no runner)")]
    torch.manual_seed(0)
    with torch.no_grad():
        got = RUNNERS[name](f)
    rows = []
    tol = f.meta.get("tolerance", {})
    for key, exp in f.expected().items():
        k = key[len("output."):]
        t = tol.get(key)
        if key == "output.video_uint8":
            t = {"max_abs_err": 1, "rel_l2_err": 0}
        if k not in got:
            if t is not None:
                rows.append((name, k, None, None, None, None, "MISSING"))
            continue
        m, r, ok = compare(k, got[k].detach(), exp, t)
        status = "info" if ok is None else ("PASS" if ok else "FAIL")
        if ok is None and not exp.dtype.is_floating_point:
            status = "PASS" if m == 0 else "FAIL"
        if ok is None and k.startswith("schedule") and exp.dtype.is_floating_point:
            # Schedule tables carry no tolerance; hold them to float32 round-off.
            ok = m <= 1e-6 * max(1.0, float(exp.abs().max())) if not k.startswith("schedule64") else m <= 1e-12
            status = "PASS" if ok else "FAIL"
        rows.append((name, k, m, t and t["max_abs_err"], r, t and t["rel_l2_err"], status))
    if "prompt_tokens_from_text" in got and "input.prompt_tokens" in f.tensors:
        eq = torch.equal(got["prompt_tokens_from_text"], f.input("prompt_tokens"))
        rows.append((name, "tokenizer(prompt)", 0.0 if eq else 1.0, 0, 0.0, 0, "PASS" if eq else "FAIL"))
    return rows


def fmt(v, spec=".2e"):
    return "-" if v is None else format(v, spec)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    verbose = "-v" in argv
    paths = [a for a in argv if a != "-v"]
    if not paths:
        d = shared_parity_dir()
        if d is None:
            print("SKIP: no parity fixtures (../shared/parity missing and TCGRAPH_SHARED unset)")
            return 0
        paths = sorted(p for p in glob.glob(os.path.join(d, "*.safetensors")) if not p.endswith("anime2sketch.safetensors"))
    warnings.filterwarnings("ignore", category=FutureWarning)
    torch.set_num_threads(1)  # a contended 2-thread OpenMP run can be ~60x slower
    fails = 0
    print(f"{'fixture':22} {'output':34} {'max_abs':>9} {'tol':>9} {'rel_l2':>9} {'tol':>9}  status")
    for p in paths:
        try:
            rows = check(p, verbose)
        except Exception as e:  # a fixture the port cannot load is a failure, reported per file
            rows = [(os.path.basename(p), "-", None, None, None, None, f"ERROR {type(e).__name__}: {e}")]
        summary = {}
        for fx, k, m, ta, r, tr, st in rows:
            summary[st] = summary.get(st, 0) + 1
            if verbose or st not in ("PASS", "info"):
                print(f"{fx:22} {k:34} {fmt(m):>9} {fmt(ta):>9} {fmt(r):>9} {fmt(tr):>9}  {st}")
        worst = max((r[4] / r[5] for r in rows if r[4] is not None and r[5]), default=0.0)
        worst_abs = max((r[2] / r[3] for r in rows if r[2] is not None and r[3]), default=0.0)
        print(f"{rows[0][0]:22} {'ALL ' + str(len(rows)) + ' outputs':34} worst max_abs/tol {worst_abs:.3f}  worst rel_l2/tol {worst:.3f}  "
              + " ".join(f"{k}={v}" for k, v in sorted(summary.items())))
        fails += sum(v for k, v in summary.items() if k not in ("PASS", "info") and not k.startswith("SKIP"))
    print(f"{'parity:'} {'FAILED' if fails else 'all outputs within tolerance'}")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
