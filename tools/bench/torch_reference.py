#!/usr/bin/env python3
"""Times the official PyTorch ToonCrafter modules at the real config, for side-by-side comparison
with `tcgraph bench` (same modules, shapes, thread count; one JSON object per line, same fields).

The official code is NOT part of this repository: pass the path of a local checkout of
github.com/Doubiiu/ToonCrafter (e.g. `git clone https://github.com/Doubiiu/ToonCrafter`).
Weights are random (default initialisation) in the real layout; timings do not depend on values.

Needs: torch, omegaconf, einops, pytorch_lightning, kornia, open_clip_torch (pip). Each module runs
in its own subprocess so that its peak RSS is its own.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time
import types

MODULES = ["unet", "decode", "encode", "clip", "resampler"]


def install_shims():
    """The official code imports modules it does not use on this path (transformers' T5/CLIP text
    models, OpenCV in utils/utils.py) and calls xformers unconditionally in the decoder; xformers has no CPU build, so its one
    function is provided on top of torch's fused scaled-dot-product attention (the same maths,
    PyTorch's fastest CPU attention). The UNet then also takes its xformers-style attention path,
    as the parity fixtures' generator did."""
    import torch.nn.functional as F

    tr = types.ModuleType("transformers")
    for name in ["T5Tokenizer", "T5EncoderModel", "CLIPTokenizer", "CLIPTextModel"]:
        setattr(tr, name, None)
    sys.modules.setdefault("transformers", tr)
    try:
        import cv2  # noqa: F401
    except ImportError:
        sys.modules["cv2"] = types.ModuleType("cv2")

    xf = types.ModuleType("xformers")
    xf.__version__ = "0.0.20"
    ops = types.ModuleType("xformers.ops")

    def memory_efficient_attention(q, k, v, attn_bias=None, op=None, scale=None):
        # xformers layout (B, M, H, K) or (B, M, K); SDPA wants heads before tokens.
        if q.dim() == 3:
            return F.scaled_dot_product_attention(q, k, v, scale=scale)
        out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), scale=scale)
        return out.transpose(1, 2)

    ops.memory_efficient_attention = memory_efficient_attention
    xf.ops = ops
    sys.modules["xformers"] = xf
    sys.modules["xformers.ops"] = ops


def load_config(src):
    from omegaconf import OmegaConf
    return OmegaConf.load(os.path.join(src, "configs", "inference_512_v1.0.yaml")).model.params


def build(module, src, batch):
    """Returns (callable running one forward, description of the shapes)."""
    import torch
    cfg = load_config(src)
    T, h, w = 16, 40, 64
    g = torch.Generator().manual_seed(0)

    def randn(*shape):
        return torch.randn(*shape, generator=g)

    if module == "unet":
        from lvdm.modules.networks.openaimodel3d import UNetModel
        params = dict(cfg.unet_config.params)
        params["use_checkpoint"] = False
        net = UNetModel(**params).eval()
        x = randn(batch, 8, T, h, w)
        t = torch.full((batch,), 999, dtype=torch.long)
        ctx = randn(batch, 77 + 16 * T, 1024)
        fs = torch.full((batch,), 10, dtype=torch.long)
        return (lambda: net(x, t, context=ctx, fs=fs)), f"B={batch} x(8,{T},{h},{w}) context {77 + 16 * T} tokens"
    if module in ("decode", "encode"):
        from lvdm.models.autoencoder import AutoencoderKL_Dualref
        p = cfg.first_stage_config.params
        ae = AutoencoderKL_Dualref(ddconfig=dict(p.ddconfig), lossconfig=dict(p.lossconfig), embed_dim=p.embed_dim).eval()
        if module == "encode":
            x = randn(2, 3, 320, 512)
            return (lambda: ae.encode(x, return_hidden_states=True)), "2 frames 320x512"
        z = randn(T, 4, h, w)
        chans = [128, 256, 512, 512, 128]
        sizes = [(320, 512), (160, 256), (80, 128), (40, 64), (320, 512)]
        refs = [randn(1, c, 2, hh, ww) for c, (hh, ww) in zip(chans, sizes)]
        return (lambda: ae.decode(z, ref_context=refs, timesteps=T)), f"{T} frames 320x512"
    if module == "clip":
        from lvdm.modules.encoders.condition import FrozenOpenCLIPEmbedder, FrozenOpenCLIPImageEmbedderV2
        img = FrozenOpenCLIPImageEmbedderV2(version=None, device="cpu").eval()
        txt = FrozenOpenCLIPEmbedder(version=None, device="cpu", layer="penultimate").eval()
        image = randn(1, 3, 320, 512).clamp(-1, 1)

        def run():
            img(image)
            txt(["an anime scene"])
        return run, "vision 1x320x512 + text 1 prompt"
    if module == "resampler":
        from lvdm.modules.encoders.resampler import Resampler
        net = Resampler(**dict(cfg.image_proj_stage_config.params)).eval()
        x = randn(1, 257, 1280)
        return (lambda: net(x)), "1x257x1280"
    raise SystemExit(f"unknown module {module}")


def run_one(module, src, threads, repeats, batch, count_flops=True):
    import torch
    torch.set_num_threads(threads)
    sys.path.insert(0, src)
    install_shims()
    from torch.utils.flop_counter import FlopCounterMode
    with torch.inference_mode():
        fn, shapes = build(module, src, batch)
        t0 = time.perf_counter()
        fn()
        cold = time.perf_counter() - t0
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        flops = None
        if count_flops:
            counter = FlopCounterMode(display=False)
            with counter:
                fn()
            flops = counter.get_total_flops()
    best = min(times) if times else cold
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "module": module if not (module == "unet" and batch != 1) else f"unet_b{batch}",
        "implementation": "pytorch",
        "torch": torch.__version__,
        "threads": threads,
        "shapes": shapes,
        "seconds": best,
        "cold_seconds": cold,
        "runs": len(times),
        "flops": flops,
        "gflops_per_s": flops / best / 1e9 if flops else None,
        "peak_rss_bytes": rss,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--toon-src", required=True, help="path of a local Doubiiu/ToonCrafter checkout")
    ap.add_argument("--module", action="append", choices=MODULES, help="module(s) to time (default: all)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=1, help="timed runs after the cold run (best is reported)")
    ap.add_argument("--batch", type=int, default=1, help="UNet batch (2 = both guidance branches at once)")
    ap.add_argument("--no-flop-count", action="store_true",
                    help="skip torch's FLOP counter (one more forward: ~100 s for the UNet, ~450 s for the decoder)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    src = os.path.abspath(a.toon_src)
    if not os.path.isfile(os.path.join(src, "lvdm", "modules", "networks", "openaimodel3d.py")):
        raise SystemExit(f"{src}: not a ToonCrafter checkout (lvdm/modules/networks/openaimodel3d.py missing)")
    modules = a.module or MODULES
    if a.child:
        print(json.dumps(run_one(modules[0], src, a.threads, a.repeats, a.batch, not a.no_flop_count)), flush=True)
        return
    for m in modules:
        cmd = [sys.executable, __file__, "--toon-src", src, "--module", m, "--threads", str(a.threads),
               "--repeats", str(a.repeats), "--batch", str(a.batch), "--child"] + (["--no-flop-count"] if a.no_flop_count else [])
        env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), MKL_NUM_THREADS=str(a.threads))
        out = subprocess.run(cmd, env=env, capture_output=True, text=True)
        lines = [l for l in out.stdout.splitlines() if l.startswith("{")]
        if out.returncode != 0 or not lines:
            sys.stderr.write(out.stderr[-4000:])
            raise SystemExit(f"{m}: the PyTorch run failed (exit {out.returncode})")
        print(lines[-1], flush=True)


if __name__ == "__main__":
    main()
