"""Where does interpolation quality go? Stage-by-stage ceilings of a trained model on held-out clips.

    python -m tools.train.diagnose [--model FILE] [--clips 8] [--json FILE] [vae] [unet] [sampler]

vae      the autoencoder alone: every frame of the true clip encoded (posterior sample with the
         model's std, as the pipeline does), decoded by the dual-reference decoder with the
         references of frames 0 and T-1, with and without the middle-frame re-decode. Its in-between
         scores are the ceiling of the whole pipeline (a perfect UNet returns these latents).
         Also: the keyframe latents blended linearly (the 0-step pipeline) and the pixel cross-fade.
unet     the denoiser alone: x0 error of one UNet call per timestep band on the in-between latent
         frames (cond, uncond, CFG+rescale as the sampler combines them), relative to the variance of
         the true in-between latents, next to two trivial predictors (zeros; keyframe blend).
sampler  the full pipeline for sampler settings (steps, CFG, guidance rescale, fs, eta): latent
         error of the samples against the true latents and the frame scores of their decodes.

Scores are the quality benchmark's (tools/quality/bench.py): PSNR/SSIM over the in-betweens,
trajectory error (px) and misses of the moving shapes.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys

import numpy as np
import torch

from tools.cartoon import make_clip, split_seeds
from tools.quality.bench import crossfade, score

from .make_fixture import load_model
from .tcnet.clip import tokenize
from .tcnet.model import DDIMSampler, decode, decode_video, interpolate, keyframe_video, to_uint8

BANDS = ((0, 100), (100, 300), (300, 500), (500, 700), (700, 900), (900, 1000))


class Scores:
    """Accumulates bench.score over clips → the bench's summary row."""

    def __init__(self):
        self.ps, self.ss, self.err, self.miss, self.vis = [], [], [], 0, 0

    def add(self, clip, frames):
        p, s, e, m, v = score(clip, frames)
        self.ps += p
        self.ss += s
        self.err += e
        self.miss += m
        self.vis += v

    def row(self):
        return {"psnr_db": round(float(np.mean(self.ps)), 2), "ssim": round(float(np.mean(self.ss)), 4),
                "traj_err_px": round(float(np.mean(self.err)), 2) if self.err else None,
                "traj_miss_rate": round(self.miss / max(1, self.vis), 3)}


def psnr_frames(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2, axis=(1, 2, 3))
    return 10 * np.log10(255.0**2 / np.maximum(mse, 1e-10))


@torch.no_grad()
def true_latents(model, clip, noise_seed=123):
    """All T frames of the clip → (z (1,4,T,h,w) scaled, posterior sample as the pipeline; refs of frames 0, T-1)."""
    x = torch.from_numpy(clip.frames).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    moments, hidden = model.first_stage_model.encode(x)
    mean, _, std = model.first_stage_model.posterior(moments)
    g = torch.Generator().manual_seed(noise_seed)
    z = model.scale_factor * (mean + std * torch.randn(mean.shape, generator=g))
    refs = [torch.stack([h[0], h[-1]], dim=1)[None] for h in hidden]
    return z.transpose(0, 1)[None], refs


@torch.no_grad()
def diagnose_vae(model, clips):
    rows = {"vae_true_latents_redecode": Scores(), "vae_true_latents_plain": Scores(), "latent_blend_0steps": Scores(), "crossfade": Scores()}
    key_psnr, mid_psnr = [], []
    for clip in clips:
        z, refs = true_latents(model, clip)
        T = clip.T
        video, _ = decode_video(model, z, refs)
        frames = to_uint8(video[0]).numpy()
        rows["vae_true_latents_redecode"].add(clip, frames)
        per = psnr_frames(frames, clip.frames)
        key_psnr += [per[0], per[-1]]
        mid_psnr += list(per[1:-1])
        rows["vae_true_latents_plain"].add(clip, to_uint8(decode(model, z, refs)[0]).numpy())
        w = torch.linspace(0, 1, T).view(1, 1, T, 1, 1)
        blend = (1 - w) * z[:, :, :1] + w * z[:, :, -1:]
        rows["latent_blend_0steps"].add(clip, to_uint8(decode_video(model, blend, refs)[0][0]).numpy())
        rows["crossfade"].add(clip, crossfade(clip))
    out = {k: v.row() for k, v in rows.items()}
    out["vae_keyframe_psnr_db"] = round(float(np.mean(key_psnr)), 2)
    out["vae_inbetween_psnr_db"] = round(float(np.mean(mid_psnr)), 2)
    return out


@torch.no_grad()
def contexts(model, clip):
    H, W = clip.frames.shape[1:3]
    x0 = torch.from_numpy(clip.frames[:1]).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    cond = torch.cat([model.cond_stage_model(tokenize([clip.caption])), model.image_proj_model(model.embedder(x0))], dim=1)
    unc = torch.cat([model.cond_stage_model(tokenize([""])), model.image_proj_model(model.embedder(torch.zeros(1, 3, H, W)))], dim=1)
    return cond, unc


@torch.no_grad()
def diagnose_unet(model, clips, cfg, draws=4, seed=0):
    """Relative x0 error on frames 1..T-2 per timestep band (1 = as bad as predicting zeros)."""
    g = torch.Generator().manual_seed(seed)
    fs = torch.full((1,), int(cfg["frame_stride"]), dtype=torch.long)
    s, phi = cfg["unconditional_guidance_scale"], cfg["guidance_rescale"]
    acc = {b: {"cond": [], "uncond": [], "cfg": [], "blend": [], "v_mse": []} for b in BANDS}
    for clip in clips:
        z, _ = true_latents(model, clip)
        T = z.shape[2]
        cc = torch.zeros_like(z)
        cc[:, :, 0], cc[:, :, -1] = z[:, :, 0], z[:, :, -1]
        w = torch.linspace(0, 1, T).view(1, 1, T, 1, 1)
        blend = (1 - w) * z[:, :, :1] + w * z[:, :, -1:]
        ctx_c, ctx_u = contexts(model, clip)
        mid = slice(1, T - 1)
        var = float(z[:, :, mid].pow(2).mean())
        for band in BANDS:
            for _ in range(draws):
                t = torch.randint(band[0], band[1], (1,), generator=g)
                n = torch.randn(z.shape, generator=g)
                sa, s1 = model.sqrt_alphas_cumprod[t].view(-1, 1, 1, 1, 1), model.sqrt_one_minus_alphas_cumprod[t].view(-1, 1, 1, 1, 1)
                x = sa * z + s1 * n
                inp = torch.cat([x, cc], dim=1)
                vc = model.unet(inp, t, ctx_c, fs)
                vu = model.unet(inp, t, ctx_u, fs)
                v = vu + s * (vc - vu)
                if phi > 0:
                    dims = list(range(1, v.ndim))
                    v = phi * v * (vc.std(dim=dims, keepdim=True) / v.std(dim=dims, keepdim=True)) + (1 - phi) * v
                err = lambda pred: float((sa * x - s1 * pred - z)[:, :, mid].pow(2).mean()) / var
                a = acc[band]
                a["cond"].append(err(vc))
                a["uncond"].append(err(vu))
                a["cfg"].append(err(v))
                a["blend"].append(float((blend - z)[:, :, mid].pow(2).mean()) / var)
                a["v_mse"].append(float((vc - (sa * n - s1 * z)).pow(2).mean()))
    return {f"t{b[0]}-{b[1] - 1}": {k: round(float(np.mean(v)), 4) for k, v in acc[b].items()} for b in BANDS}


def sampler_settings(cfg, grid):
    out = []
    for spec in grid:
        c = copy.deepcopy(cfg)
        for kv in spec.split(","):
            k, v = kv.split("=")
            key = {"steps": "ddim_steps", "cfg": "unconditional_guidance_scale", "rescale": "guidance_rescale", "fs": "frame_stride", "eta": "ddim_eta"}[k]
            c[key] = type(c[key])(float(v)) if not isinstance(c[key], int) else int(float(v))
        out.append((spec, c))
    return out


@torch.no_grad()
def diagnose_sampler(model, clips, cfg, grid, noise_seed=123):
    res = {}
    for name, c in sampler_settings(cfg, grid):
        sc, lat = Scores(), []
        for clip in clips:
            T, H, W = clip.T, *clip.frames.shape[1:3]
            z, _ = true_latents(model, clip)
            video = keyframe_video(torch.from_numpy(clip.frames[0].copy()), torch.from_numpy(clip.frames[-1].copy()), T)
            g = torch.Generator().manual_seed(noise_seed)
            h, w = H // 8, W // 8
            noise = {"posterior": torch.randn(T, 4, h, w, generator=g), "x_T": torch.randn(1, 4, T, h, w, generator=g)}
            noise.update({f"step{i}": torch.randn(1, 4, T, h, w, generator=g) for i in range(c["ddim_steps"])})
            rec = interpolate(model, video, tokenize([clip.caption]), tokenize([""]), noise, c)
            sc.add(clip, rec["video_uint8"].numpy())
            mid = slice(1, T - 1)
            lat.append(float((rec["samples"] - z)[:, :, mid].pow(2).mean() / z[:, :, mid].pow(2).mean()))
        res[name] = {**sc.row(), "latent_rel_err": round(float(np.mean(lat)), 4)}
        print(f"  sampler {name}: {res[name]}", flush=True)
    return res


# Not 20 or 25 steps at eta 1: the reference's first DDIM step (t = 999, alpha 0 on the zero-SNR
# schedule) takes sqrt(1 - a_prev - sigma^2), which float32 rounds to -6e-8 there → NaN samples.
DEFAULT_GRID = ["steps=50", "steps=50,cfg=1", "steps=50,cfg=3", "steps=50,rescale=0", "steps=30", "steps=10",
                "steps=50,fs=5", "steps=50,fs=20", "steps=50,eta=0"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.train.diagnose", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", nargs="*", default=["vae", "unet", "sampler"], choices=["vae", "unet", "sampler"])
    ap.add_argument("--model", default="models/tcgraph-tiny/tcgraph-tiny.safetensors")
    ap.add_argument("--clips", type=int, default=8)
    ap.add_argument("--sampler-clips", type=int, default=4)
    ap.add_argument("--grid", action="append", default=None, metavar="k=v,...", help=f"sampler settings (default {DEFAULT_GRID})")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    model, cfg, _ = load_model(a.model)
    T, H, W = cfg["T"], cfg["H"], cfg["W"]
    clips = [make_clip(s, H, W, T) for s in split_seeds("heldout", a.clips)]
    out = {"model": a.model, "clips": a.clips}
    if "vae" in a.what:
        out["vae"] = diagnose_vae(model, clips)
        print(json.dumps({"vae": out["vae"]}, indent=1), flush=True)
    if "unet" in a.what:
        out["unet"] = diagnose_unet(model, clips, cfg)
        print(json.dumps({"unet": out["unet"]}, indent=1), flush=True)
    if "sampler" in a.what:
        out["sampler_clips"] = a.sampler_clips
        out["sampler"] = diagnose_sampler(model, clips[: a.sampler_clips], cfg, a.grid or DEFAULT_GRID)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
