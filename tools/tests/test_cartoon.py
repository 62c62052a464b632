"""The cartoon generator: determinism by seed, disjoint splits, and consistent outputs."""

import json
import os

import numpy as np
import pytest

from tools.cartoon import HELDOUT_BASE, make_clip, split_of, split_seeds
from tools.cartoon.__main__ import main as cli_main


def test_same_seed_same_clip():
    a, b = make_clip(1234), make_clip(1234)
    assert a.caption == b.caption
    assert np.array_equal(a.frames, b.frames)
    assert np.array_equal(a.sketch, b.sketch)
    assert np.array_equal(a.ids, b.ids)


def test_different_seeds_differ():
    a, b = make_clip(1), make_clip(2)
    assert not np.array_equal(a.frames, b.frames)


def test_splits_are_disjoint_and_follow_the_seed():
    train, held = split_seeds("train", 50), split_seeds("heldout", 50)
    assert not set(train) & set(held)
    assert all(split_of(s) == "train" for s in train)
    assert all(split_of(s) == "heldout" for s in held)
    assert held[0] == HELDOUT_BASE
    with pytest.raises(ValueError):
        split_seeds("validation", 3)


@pytest.mark.parametrize("seed", [0, 7, HELDOUT_BASE + 3])
def test_outputs_shapes_and_ranges(seed):
    c = make_clip(seed, H=64, W=128, T=16)
    assert c.frames.shape == (16, 64, 128, 3) and c.frames.dtype == np.uint8
    assert c.sketch.shape == (16, 64, 128) and c.sketch.dtype == np.uint8
    K = len(c.colours)
    assert c.path.shape == (K, 16, 2) and c.centroid.shape == (K, 16, 2)
    assert c.caption and c.caption == c.caption.strip()
    # Line art: white lines on mostly black.
    assert (c.sketch > 128).mean() < 0.3 and c.sketch.max() > 200
    # Visible centroids lie inside the frame and on pixels of the shape's own colour.
    for k in range(K):
        for t in range(16):
            if c.area[k, t] > 80:  # slivers behind an occluder are mostly outline
                x, y = c.centroid[k, t]
                assert 0 <= x < 128 and 0 <= y < 64
                m = c.ids[t] == k + 1
                mean_colour = np.median(c.frames[t][m], axis=0)
                assert np.abs(mean_colour - np.array(c.colours[k])).max() < 12


def test_shapes_move_nonlinearly_somewhere():
    # Over a handful of clips, some shape's mid-clip position is far from the straight line between
    # its endpoints (arcs, bounces): a cross-fade cannot reproduce that.
    worst = 0.0
    for seed in range(10):
        c = make_clip(seed)
        for p in c.path:
            mid = p[8]
            lin = p[0] + (p[-1] - p[0]) * 8 / 15
            worst = max(worst, float(np.linalg.norm(mid - lin)))
    assert worst > 8.0


def test_occlusion_happens():
    hidden = 0
    for seed in range(40):
        c = make_clip(seed)
        hidden += int(((c.area[:, 1:-1] < 0.5 * c.area.max(axis=1, keepdims=True)) & (c.area[:, 1:-1] >= 0)).any())
    assert hidden > 0


def test_cli_writes_clips_and_examples(tmp_path):
    assert cli_main(["clips", "--split", "heldout", "--count", "1", "--out", str(tmp_path / "c")]) == 0
    d = tmp_path / "c" / f"heldout_{HELDOUT_BASE}"
    assert (d / "frame.0015.png").exists() and (d / "sketch.0000.png").exists()
    meta = json.loads((d / "clip.json").read_text())
    assert meta["frames"] == 16 and len(meta["path"]) == len(meta["shapes"])
    assert cli_main(["examples", "--seeds", "5", "--out", str(tmp_path / "e")]) == 0
    e = tmp_path / "e" / "cartoon_5"
    for f in ("key_a.png", "key_b.png", "truth_strip.png", "prompt.txt", "clip.json"):
        assert (e / f).exists()
    assert not [f for f in os.listdir(e) if f.endswith(".tmp")]


def test_cli_rejects_bad_size(capsys):
    assert cli_main(["clips", "--out", "/nonexistent", "--frames", "1"]) == 2
    assert "too small" in capsys.readouterr().err
