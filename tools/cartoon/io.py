"""Writing clips to disk: PNG frames, line art, and a JSON sidecar with caption and trajectories."""

from __future__ import annotations

import json
import os
import tempfile

import numpy as np
from PIL import Image

from .scene import Clip


def save_png(path: str, array: np.ndarray) -> None:
    """Atomic PNG write (temp name + rename), so an interrupted run never leaves a partial file."""
    d = os.path.dirname(path) or "."
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".png", dir=d)
    os.close(fd)
    try:
        Image.fromarray(array).save(tmp, format="PNG")
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def save_json(path: str, obj) -> None:
    d = os.path.dirname(path) or "."
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".json", dir=d)
    with os.fdopen(fd, "w") as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)


def clip_meta(clip: Clip) -> dict:
    def nan_to_none(a):
        return [[None if np.isnan(v).any() else [round(float(v[0]), 3), round(float(v[1]), 3)] for v in row] for row in a]

    return {
        "seed": clip.seed,
        "caption": clip.caption,
        "frames": clip.T,
        "height": clip.frames.shape[1],
        "width": clip.frames.shape[2],
        "shapes": [
            {"id": k + 1, "name": clip.names[k], "colour": list(clip.colours[k])}
            for k in range(len(clip.names))
        ],
        "background": [list(c) if c is not None else None for c in clip.background],
        "path": clip.path.round(3).tolist(),
        "centroid": nan_to_none(clip.centroid),
        "area": clip.area.tolist(),
    }


def write_clip(clip: Clip, out_dir: str, sketch: bool = True) -> None:
    """out_dir/frame.0000.png …, sketch.0000.png …, clip.json."""
    for i in range(clip.T):
        save_png(os.path.join(out_dir, f"frame.{i:04d}.png"), clip.frames[i])
        if sketch:
            save_png(os.path.join(out_dir, f"sketch.{i:04d}.png"), clip.sketch[i])
    save_json(os.path.join(out_dir, "clip.json"), clip_meta(clip))


def write_keyframe_pair(clip: Clip, out_dir: str) -> None:
    """An example for the graphs: first/last keyframes, the caption, the true in-betweens as a strip."""
    save_png(os.path.join(out_dir, "key_a.png"), clip.frames[0])
    save_png(os.path.join(out_dir, "key_b.png"), clip.frames[-1])
    save_png(os.path.join(out_dir, "truth_strip.png"), np.concatenate(list(clip.frames), axis=1))
    save_png(os.path.join(out_dir, "sketch_strip.png"), np.concatenate(list(clip.sketch), axis=1))
    d = os.path.join(out_dir, "prompt.txt")
    with open(d + ".tmp", "w") as f:
        f.write(clip.caption + "\n")
    os.replace(d + ".tmp", d)
    save_json(os.path.join(out_dir, "clip.json"), clip_meta(clip))
