"""Benchmark metrics (numpy/scipy only) and the export/load round trip of a model file (PyTorch; skipped without it)."""

import json

import numpy as np
import pytest

from tools.cartoon import make_clip
from tools.quality.bench import crossfade, score
from tools.quality.metrics import colour_centroids, psnr, ssim


def test_psnr_ssim_identity_and_order():
    c = make_clip(3)
    a = c.frames[5]
    assert psnr(a, a) == 99.0 and ssim(a, a) == pytest.approx(1.0)
    near, far = c.frames[6], c.frames[12]
    assert psnr(a, near) > psnr(a, far)
    assert ssim(a, near) > ssim(a, far)


def test_colour_centroids_match_truth_on_true_frames():
    for seed in (0, 1, 2):
        c = make_clip(seed)
        for t in (0, 8, 15):
            cen = colour_centroids(c.frames[t], c.colours, c.background)
            for k in range(len(c.colours)):
                if c.area[k, t] >= 40:
                    assert np.linalg.norm(cen[k] - c.centroid[k, t]) < 2.0


def test_truth_scores_perfectly_and_crossfade_does_not():
    c = make_clip(4)
    p, s, e, miss, vis = score(c, c.frames)
    # Colour segmentation has a small floor (anti-aliased slivers next to an occluder).
    assert min(p) == 99.0 and min(s) > 0.999 and np.median(e) < 1.0 and np.mean(e) < 2.0 and miss == 0 and vis > 0
    p2, _, e2, miss2, _ = score(c, crossfade(c))
    assert np.mean(p2) < 40 and (np.mean(e2) > np.mean(e) or miss2 > 0)


def test_export_roundtrip_keeps_keys_config_and_buffers(tmp_path):
    torch = pytest.importorskip("torch", reason="the export round trip needs PyTorch (tools/train)")
    pytest.importorskip("safetensors", reason="the export round trip needs safetensors")
    from tools.train import small_config
    from tools.train.export import export_model, read_model_meta
    from tools.train.make_fixture import load_model
    from tools.train.tcnet.model import LatentVisualDiffusion

    cfg = small_config.model_config()
    m = LatentVisualDiffusion(cfg)
    (path,) = export_model(m, cfg, str(tmp_path))
    meta = read_model_meta(path)
    assert meta["name"] and meta["description"]
    for k in ("model_config", "open_clip_arch", "H", "W", "T", "ddim_steps", "ddim_eta", "unconditional_guidance_scale",
              "guidance_rescale", "timestep_spacing", "frame_stride"):
        assert k in meta
    for k in ("unet_config", "first_stage_config", "cond_stage_config", "img_cond_stage_config", "image_proj_stage_config"):
        assert k in meta["model_config"]["params"]
    loaded, cfg2, stored = load_model(path)
    assert set(stored) == set(m.state_dict())
    assert stored["alphas_cumprod"].dtype == torch.float32 and float(stored["alphas_cumprod"][-1]) == 0.0
    assert stored["model.diffusion_model.input_blocks.0.0.weight"].dtype == torch.float16
    assert json.dumps(cfg2, sort_keys=True) == json.dumps(cfg, sort_keys=True)
