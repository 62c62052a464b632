"""Interpolation quality on held-out generated clips with ground truth.

    python -m tools.quality.bench prepare --out DIR [--clips 12]
        writes DIR/cartoon_<seed>/{key_a.png,key_b.png,prompt.txt,clip.json} for external runners, e.g.
        tcgraph run graphs/interp.yaml --set first=DIR/cartoon_S/key_a.png --set last=…/key_b.png \\
                                       --set prompt="$(cat …/prompt.txt)" --set out=OUT/cartoon_S
    python -m tools.quality.bench run [--clips 12] [--steps 50] [--model FILE] [--control FILE]
                                      [--frames NAME=OUT ...] [--tcgraph BIN] [--json FILE]

Methods: crossfade (linear blend of the keyframes), model (our PyTorch pipeline, the reference's
inference), model_0steps (the same pipeline with the DDIM loop skipped: keyframe latents blended
linearly, decoded by the dual-reference decoder with the middle-frame fix), model_sketch (with the
sketch ControlNet on line art at frames {0,3,7,11,15}; needs --control), and any number of frame
folders from another implementation (--frames swift=OUT reads OUT/cartoon_<seed>/*.png, 16 sorted
frames), and tcgraph_cli (--tcgraph BIN: the Swift CLI itself, `BIN run graphs/interp.yaml` on the
clip's keyframe PNGs and caption with --steps and the bundled model, one thread per run: what a user
gets). Scores cover the in-betweens only (frames 1..T-2): PSNR, SSIM, and the trajectory error
of every moving shape (centroid by colour segmentation vs the true visible centroid, in pixels;
frames where the true shape is visible but no pixel of its colour is found count as misses).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image

from tools.cartoon import make_clip, split_seeds
from tools.cartoon.io import write_keyframe_pair

from .metrics import colour_centroids, psnr, ssim


def crossfade(clip):
    a, b = clip.frames[0].astype(np.float64), clip.frames[-1].astype(np.float64)
    T = clip.T
    return np.stack([np.round((1 - i / (T - 1)) * a + i / (T - 1) * b) for i in range(T)]).astype(np.uint8)


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
    _WORKER["a"] = a
    if a.no_model:
        _WORKER["model"] = None
        return
    import torch  # only the model rows need PyTorch; cross-fade and --frames rows score without it

    from .torch_model import TorchModel

    torch.set_num_threads(1)
    _WORKER["model"] = TorchModel(a.model, a.control if a.control and os.path.exists(a.control) else None, a.steps)


def _methods(a, model_has_control):
    methods = ["crossfade"]
    if not a.no_model:
        methods += ["model", "model_0steps"] + (["model_sketch"] if model_has_control else [])
    return methods + [x.split("=", 1)[0] for x in a.frames] + (["tcgraph_cli"] if a.tcgraph else [])


def run_cli(a, clip):
    """The user's path: keyframe PNGs and the caption through `tcgraph run graphs/interp.yaml`."""
    with tempfile.TemporaryDirectory(prefix="tcgraph-quality-") as d:
        write_keyframe_pair(clip, d)
        out = os.path.join(d, "out")
        cmd = [a.tcgraph, "run", a.graph, "--set", f"first={d}/key_a.png", "--set", f"last={d}/key_b.png",
               "--set", f"prompt={clip.caption}", "--set", f"out={out}", "--set", f"steps={a.steps}", "--set", "model=tiny", "--no-cache", "--quiet"]
        r = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "TCGRAPH_THREADS": "1"})
        if r.returncode != 0:
            raise ValueError(f"{' '.join(cmd)} exited {r.returncode}: {r.stderr.strip()}")
        return read_frames(out, clip.T)


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
        elif m == "tcgraph_cli":
            frames = run_cli(a, clip)
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
    r.add_argument("--tcgraph", default=None, metavar="BIN", help="also score the Swift CLI (e.g. .build/release/tcgraph)")
    r.add_argument("--graph", default="graphs/interp.yaml", help="the graph --tcgraph runs")
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
