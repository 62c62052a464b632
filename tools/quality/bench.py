"""Interpolation quality on held-out generated clips with ground truth.

    python -m tools.quality.bench prepare --out DIR [--clips 12]
        writes DIR/cartoon_<seed>/{key_a.png,key_b.png,prompt.txt,clip.json} for external runners, e.g.
        tcgraph run graphs/interp.yaml --set first=DIR/cartoon_S/key_a.png --set last=…/key_b.png \\
                                       --set prompt="$(cat …/prompt.txt)" --set out=OUT/cartoon_S
    python -m tools.quality.bench run [--clips 12] [--steps 50] [--model FILE] [--control FILE]
                                      [--frames NAME=OUT ...] [--json FILE]

Methods: crossfade (linear blend of the keyframes), model (our PyTorch pipeline, the reference's
inference), model_0steps (the same pipeline with the DDIM loop skipped: keyframe latents blended
linearly, decoded by the dual-reference decoder with the middle-frame fix), model_sketch (with the
sketch ControlNet on line art at frames {0,3,7,11,15}; needs --control), and any number of frame
folders from another implementation (--frames swift=OUT reads OUT/cartoon_<seed>/*.png, 16 sorted
frames). Scores cover the in-betweens only (frames 1..T-2): PSNR, SSIM, and the trajectory error
of every moving shape (centroid by colour segmentation vs the true visible centroid, in pixels;
frames where the true shape is visible but no pixel of its colour is found count as misses).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time

import numpy as np
import torch
from PIL import Image

from tools.cartoon import make_clip, split_seeds
from tools.cartoon.io import write_keyframe_pair

from .metrics import colour_centroids, psnr, ssim

SKETCH_FRAMES = (0, 3, 7, 11, 15)


def crossfade(clip):
    a, b = clip.frames[0].astype(np.float64), clip.frames[-1].astype(np.float64)
    T = clip.T
    return np.stack([np.round((1 - i / (T - 1)) * a + i / (T - 1) * b) for i in range(T)]).astype(np.uint8)


class TorchModel:
    def __init__(self, model_path, control_path=None, steps=50, noise_seed=123):
        from tools.train.make_fixture import load_model

        self.model, self.cfg, _ = load_model(model_path)
        self.cfg = dict(self.cfg, ddim_steps=steps)
        self.noise_seed = noise_seed
        self.control = None
        if control_path:
            from tools.train.export import read_model_meta
            from tools.train.tcnet.controlnet import ControlNet
            from safetensors.torch import load_file

            meta = read_model_meta(control_path)
            self.control = ControlNet(meta["control_stage_config"]["params"])
            self.control.load_state_dict({k: v.float() for k, v in load_file(control_path).items()})
            self.control_scale = float(meta.get("control_scale", 1.0))

    def _noise(self, T, h, w, steps):
        g = torch.Generator().manual_seed(self.noise_seed)
        n = {"posterior": torch.randn(T, 4, h, w, generator=g), "x_T": torch.randn(1, 4, T, h, w, generator=g)}
        n.update({f"step{i}": torch.randn(1, 4, T, h, w, generator=g) for i in range(steps)})
        return n

    @torch.no_grad()
    def interpolate(self, clip, mode="model"):
        from tools.train.tcnet.clip import tokenize
        from tools.train.tcnet.model import decode_video, interpolate, keyframe_video, to_uint8

        T, H, W = self.cfg["T"], self.cfg["H"], self.cfg["W"]
        if clip.frames.shape[1:3] != (H, W) or clip.T != T:
            raise ValueError(f"clip {clip.seed} is {clip.T}x{clip.frames.shape[1]}x{clip.frames.shape[2]}, model wants {T}x{H}x{W}")
        video = keyframe_video(torch.from_numpy(clip.frames[0].copy()), torch.from_numpy(clip.frames[-1].copy()), T)
        noise = self._noise(T, H // 8, W // 8, self.cfg["ddim_steps"])
        m = self.model
        if mode == "model_0steps":
            frames = video.transpose(1, 2).reshape(T, 3, H, W)
            moments, hidden = m.first_stage_model.encode(frames)
            mean, _, std = m.first_stage_model.posterior(moments)
            z = (m.scale_factor * (mean + std * noise["posterior"])).transpose(0, 1)[None]
            refs = [torch.cat([h_[0:1], h_[-1:]], 0).transpose(0, 1)[None] for h_ in hidden]
            w = torch.linspace(0, 1, T).view(1, 1, T, 1, 1)
            samples = (1 - w) * z[:, :, :1] + w * z[:, :, -1:]
            v, _ = decode_video(m, samples, refs)
            return to_uint8(v[0]).numpy()
        control = None
        if mode == "model_sketch":
            keep = torch.zeros(T)
            keep[list(SKETCH_FRAMES)] = 1
            hint = torch.from_numpy(clip.sketch).float()[:, None] / 255.0 * keep.view(T, 1, 1, 1)
            net, s = self.control, self.control_scale
            guided = net.input_hint_block(hint, None, None, 1)  # depends on the hint only: once per video

            def control(x, t, ctx):
                res = net(x[0].transpose(0, 1), hint, t.repeat(T), ctx.repeat(T, 1, 1), guided_hint=guided)
                return [r * s for r in res]

        tokens, empty = tokenize([clip.caption]), tokenize([""])
        rec = interpolate(m, video, tokens, empty, noise, self.cfg, control=control)
        return rec["video_uint8"].numpy()


def read_frames(folder, T):
    files = sorted(glob.glob(os.path.join(folder, "*.png")))
    if len(files) != T:
        raise ValueError(f"{folder}: expected {T} PNG frames, found {len(files)}")
    return np.stack([np.asarray(Image.open(f).convert("RGB")) for f in files])


def score(clip, frames):
    """Per-clip lists over the in-betweens: psnr, ssim, trajectory errors (px), misses, visible."""
    T = clip.T
    moving = [k for k in range(len(clip.colours)) if np.ptp(clip.path[k], axis=0).max() > 1.0]
    ps, ss, errs, misses, visible = [], [], [], 0, 0
    for t in range(1, T - 1):
        f = frames[t]
        if f.shape != clip.frames[t].shape:
            raise ValueError(f"clip {clip.seed} frame {t}: shape {f.shape}, truth {clip.frames[t].shape}")
        ps.append(psnr(f, clip.frames[t]))
        ss.append(ssim(f, clip.frames[t]))
        cen = colour_centroids(f, clip.colours, clip.background)
        for k in moving:
            if clip.area[k, t] < 20:
                continue
            visible += 1
            if np.isnan(cen[k]).any():
                misses += 1
            else:
                errs.append(float(np.linalg.norm(cen[k] - clip.centroid[k, t])))
    return ps, ss, errs, misses, visible


def cmd_prepare(a):
    for s in split_seeds("heldout", a.clips):
        write_keyframe_pair(make_clip(s), os.path.join(a.out, f"cartoon_{s}"))
    print(f"wrote {a.clips} held-out keyframe pairs under {a.out}")
    return 0


_WORKER = {}


def _init_worker(a):
    torch.set_num_threads(1)
    _WORKER["a"] = a
    _WORKER["model"] = None if a.no_model else TorchModel(a.model, a.control if a.control and os.path.exists(a.control) else None, a.steps)


def _methods(a, model_has_control):
    methods = ["crossfade"]
    if not a.no_model:
        methods += ["model", "model_0steps"] + (["model_sketch"] if model_has_control else [])
    return methods + [x.split("=", 1)[0] for x in a.frames]


def _score_clip(seed):
    a, model = _WORKER["a"], _WORKER["model"]
    external = dict(x.split("=", 1) for x in a.frames)
    clip = make_clip(seed)
    out = {}
    for m in _methods(a, model is not None and model.control is not None):
        t0 = time.time()
        if m == "crossfade":
            frames = crossfade(clip)
        elif m in external:
            frames = read_frames(os.path.join(external[m], f"cartoon_{seed}"), clip.T)
        else:
            frames = model.interpolate(clip, m)
        seconds = time.time() - t0
        if a.save_frames:
            d = os.path.join(a.save_frames, m, f"cartoon_{seed}")
            os.makedirs(d, exist_ok=True)
            Image.fromarray(np.concatenate(list(frames), axis=1)).save(os.path.join(d, "strip.png"))
        out[m] = (*score(clip, frames), seconds)
    return seed, out


def cmd_run(a):
    seeds = split_seeds("heldout", a.clips)
    if a.jobs > 1:
        import multiprocessing as mproc

        with mproc.get_context("spawn").Pool(a.jobs, _init_worker, (a,)) as pool:
            results = pool.map(_score_clip, seeds, chunksize=1)
    else:
        _init_worker(a)
        results = [_score_clip(s) for s in seeds]
    methods = list(results[0][1])
    acc = {m: {"psnr": [], "ssim": [], "err": [], "miss": 0, "visible": 0, "seconds": 0.0} for m in methods}
    for seed, out in results:
        for m, (p, q, e, miss, vis, sec) in out.items():
            r = acc[m]
            r["psnr"] += p
            r["ssim"] += q
            r["err"] += e
            r["miss"] += miss
            r["visible"] += vis
            r["seconds"] += sec
        print(f"clip {seed}: " + "  ".join(f"{m} {np.mean(out[m][0]):.2f}dB" for m in methods), flush=True)
    rows = []
    for m in methods:
        r = acc[m]
        rows.append({"method": m, "psnr_db": round(float(np.mean(r["psnr"])), 2), "ssim": round(float(np.mean(r["ssim"])), 4),
                     "traj_err_px": round(float(np.mean(r["err"])), 2) if r["err"] else None,
                     "traj_miss_rate": round(r["miss"] / max(1, r["visible"]), 3), "frames": len(r["psnr"]),
                     "seconds_per_clip": round(r["seconds"] / a.clips, 2)})
    print(f"\nheld-out clips: {a.clips} (seeds from {seeds[0]}), in-betweens scored: {rows[0]['frames']}, DDIM steps {a.steps}")
    print("| method | PSNR (dB) | SSIM | trajectory error (px) | trajectory misses | s/clip |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['method']} | {r['psnr_db']:.2f} | {r['ssim']:.4f} | {r['traj_err_px']} | {r['traj_miss_rate']:.1%} | {r['seconds_per_clip']} |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"clips": a.clips, "steps": a.steps, "rows": rows}, f, indent=1)
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.quality.bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--out", required=True)
    p.add_argument("--clips", type=int, default=12)
    r = sub.add_parser("run")
    r.add_argument("--clips", type=int, default=12)
    r.add_argument("--steps", type=int, default=50)
    r.add_argument("--model", default="models/tcgraph-tiny/tcgraph-tiny.safetensors")
    r.add_argument("--control", default="models/tcgraph-tiny/tcgraph-tiny-sketch.safetensors")
    r.add_argument("--no-model", action="store_true", help="score only cross-fade and --frames folders")
    r.add_argument("--frames", action="append", default=[], metavar="NAME=DIR")
    r.add_argument("--save-frames", default=None, help="write each method's frames as strips here")
    r.add_argument("--json", default=None)
    r.add_argument("--jobs", type=int, default=2, help="worker processes (one thread each)")
    a = ap.parse_args(argv)
    try:
        return cmd_prepare(a) if a.cmd == "prepare" else cmd_run(a)
    except (ValueError, FileNotFoundError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
