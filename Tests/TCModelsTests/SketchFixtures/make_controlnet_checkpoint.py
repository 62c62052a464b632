"""Writes a tiny sketch ControlNet as the released `sketch_encoder.ckpt` is stored (a PyTorch zip
checkpoint, fp32 FloatStorage, bare keys wrapped in a `state_dict` entry), for the loader tests in
SketchControlNetTests.swift, plus one forward of it computed by tools/train/tcnet (whose
ControlNet check_parity.py proves against fixture (i)).

The config differs from fixture (i) on purpose (one res block per level, attention at level 0
only, an odd 5x7 latent). To keep the file under a megabyte, every tensor is a contiguous view at
its own offset into ONE shared random storage (torch.save writes a shared storage once): the
hint block's fixed widths alone would otherwise take 1.7 MB.

    python3 Tests/TCModelsTests/SketchFixtures/make_controlnet_checkpoint.py   # from the repo root
"""
import os
import sys
from collections import OrderedDict

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.getcwd())
from tools.train.tcnet.controlnet import ControlNet  # noqa: E402

CONFIG = {
    "in_channels": 4, "hint_channels": 1, "model_channels": 32, "attention_resolutions": [1],
    "num_res_blocks": 1, "channel_mult": [1, 2], "num_head_channels": 16, "context_dim": 8,
    "use_spatial_transformer": True, "use_linear_in_transformer": True, "transformer_depth": 1, "legacy": False,
}
HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(20240713)
    net = ControlNet(CONFIG).eval()
    layout = [(k, v.shape, v.numel()) for k, v in net.state_dict().items()]
    largest = max(n for _, _, n in layout)
    shared = (torch.rand(largest + 4099, generator=g) * 2 - 1) * 0.12
    views = OrderedDict()
    for i, (k, shape, n) in enumerate(layout):
        offset = (i * 4099) % (shared.numel() - n + 1)
        views[k] = shared[offset:offset + n].view(shape)
    net.load_state_dict(views, strict=True)
    torch.save({"state_dict": views, "epoch": 0}, os.path.join(HERE, "controlnet_tiny.ckpt"))

    n, h, w, length = 2, 5, 7, 11
    x = torch.randn(n, 4, h, w, generator=g)
    hint = (torch.rand(n, 1, 8 * h, 8 * w, generator=g) > 0.9).float()
    hint[1] = 0
    timesteps = torch.tensor([999, 421])
    context = torch.randn(n, length, CONFIG["context_dim"], generator=g)
    with torch.no_grad():
        residuals = net(x, hint, timesteps, context)
    tensors = {"input.x": x, "input.hint": hint, "input.timesteps": timesteps, "input.context": context}
    tensors.update({f"output.control.{i}": r.contiguous() for i, r in enumerate(residuals)})
    save_file(tensors, os.path.join(HERE, "controlnet_tiny_io.safetensors"))


if __name__ == "__main__":
    main()
