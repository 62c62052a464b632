"""Export trained weights as safetensors under the real checkpoint keys, with the model config in
the `__metadata__` entry `tcgraph_model` (the structure of the parity fixtures' `config`)."""

from __future__ import annotations

import json
import os

import torch
from safetensors.torch import save_file

SCHEDULE_BUFFERS = (
    "betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod", "sqrt_one_minus_alphas_cumprod",
    "log_one_minus_alphas_cumprod", "sqrt_recip_alphas_cumprod", "sqrt_recipm1_alphas_cumprod", "posterior_variance",
    "posterior_log_variance_clipped", "posterior_mean_coef1", "posterior_mean_coef2", "scale_arr",
)

MODEL_FILE = "tcgraph-tiny.safetensors"
CONTROL_FILE = "tcgraph-tiny-sketch.safetensors"

DESCRIPTION = (
    "Small ToonCrafter (same architecture and checkpoint keys, reduced sizes) trained by tools/train on "
    "procedural cartoon clips from tools/cartoon: 64x128 pixels, 16 frames. Weights f16, schedule buffers f32."
)
CONTROL_DESCRIPTION = (
    "Sketch ControlNet (SD-2.1 layout, hint_channels 1, bare sketch_encoder keys) for tcgraph-tiny, trained on the "
    "generator's line art (white lines on black, sparse frames all-zero)."
)


def _write(tensors: dict, meta: dict, path: str) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = path + ".tmp"
    save_file(tensors, tmp, metadata={"tcgraph_model": json.dumps(meta), "format": "pt"})
    os.replace(tmp, path)


def export_model(model, cfg: dict, out_dir: str, name: str = "tcgraph-tiny") -> list[str]:
    tensors = {}
    for k, v in model.state_dict().items():
        v = v.detach().contiguous()
        tensors[k] = v.float() if k in SCHEDULE_BUFFERS else v.half()
    path = os.path.join(out_dir, MODEL_FILE)
    _write(tensors, {"name": name, "description": DESCRIPTION, **cfg}, path)
    return [path]


def export_control(net, control_cfg: dict, out_dir: str, name: str = "tcgraph-tiny-sketch") -> list[str]:
    tensors = {k: v.detach().contiguous().half() for k, v in net.state_dict().items()}
    path = os.path.join(out_dir, CONTROL_FILE)
    _write(tensors, {"name": name, "description": CONTROL_DESCRIPTION, **control_cfg}, path)
    return [path]


def read_model_meta(path: str) -> dict:
    from safetensors import safe_open

    with safe_open(path, "pt") as f:
        return json.loads(f.metadata()["tcgraph_model"])
