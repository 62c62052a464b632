"""Reading and writing parity fixtures: safetensors with a JSON `fixture` metadata entry."""

from __future__ import annotations

import json
import os

import torch
from safetensors import safe_open


def shared_parity_dir() -> str | None:
    """<repo>/../shared/parity or $TCGRAPH_SHARED/parity; None when absent (a fresh clone)."""
    env = os.environ.get("TCGRAPH_SHARED")
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for base in ([env] if env else []) + [os.path.join(repo, "..", "shared")]:
        d = os.path.join(base, "parity")
        if os.path.isdir(d):
            return os.path.normpath(d)
    return None


class Fixture:
    def __init__(self, path: str):
        self.path = path
        with safe_open(path, "pt") as f:
            self.meta = json.loads(f.metadata()["fixture"])
            self.tensors = {k: f.get_tensor(k) for k in f.keys()}
        self.weight_tensors = self.tensors
        if "weights_file" in self.meta:
            # Fixtures of trained models reference their weights file instead of copying it.
            wpath = os.path.join(os.path.dirname(os.path.abspath(path)), self.meta["weights_file"])
            if not os.path.exists(wpath):
                raise FileNotFoundError(f"{path}: weights_file {self.meta['weights_file']!r} not found at {wpath}")
            with safe_open(wpath, "pt") as f:
                self.weight_tensors = {k: f.get_tensor(k).float() if f.get_tensor(k).dtype == torch.float16 else f.get_tensor(k) for k in f.keys()}

    @property
    def name(self):
        return self.meta["fixture"]

    @property
    def config(self):
        return self.meta["config"]

    def weights(self, prefix: str = "") -> dict:
        src = self.weight_tensors
        keys = self.meta.get("weight_keys") or [k for k in src if not k.startswith(("input.", "output.", "aux."))]
        return {k[len(prefix):]: src[k] for k in keys if k.startswith(prefix) and k in src}

    def input(self, k):
        return self.tensors[f"input.{k}"]

    def expected(self):
        return {k: v for k, v in self.tensors.items() if k.startswith("output.")}


def load_into(module: torch.nn.Module, weights: dict, allowed_missing=()) -> list[str]:
    """Load by checkpoint key. Every fixture weight must land in the module (no silent drops);
    module keys absent from the fixture must be ones the computation never reads."""
    own = module.state_dict()
    unexpected = sorted(set(weights) - set(own))
    if unexpected:
        raise KeyError(f"fixture keys with no place in the module: {unexpected[:8]} (+{max(0, len(unexpected) - 8)})")
    bad = [k for k in weights if tuple(weights[k].shape) != tuple(own[k].shape)]
    if bad:
        raise ValueError("shape mismatch: " + ", ".join(f"{k} fixture {tuple(weights[k].shape)} vs module {tuple(own[k].shape)}" for k in bad[:6]))
    missing = sorted(set(own) - set(weights))
    unexplained = [k for k in missing if not any(k.startswith(a) or k == a for a in allowed_missing)]
    if unexplained:
        raise KeyError(f"module keys the fixture does not provide: {unexplained[:8]} (+{max(0, len(unexplained) - 8)})")
    module.load_state_dict({**own, **{k: v.to(own[k].dtype) for k, v in weights.items()}})
    return missing


def compare(name: str, actual: torch.Tensor, expected: torch.Tensor, tol: dict | None):
    """(max_abs, rel_l2, passed) by the fixtures' rule; integer tensors must match exactly."""
    if tuple(actual.shape) != tuple(expected.shape):
        return float("inf"), float("inf"), False
    if not expected.dtype.is_floating_point:
        diff = (actual.long() - expected.long()).abs()
        m = float(diff.max()) if diff.numel() else 0.0
        allowed = float(tol["max_abs_err"]) if tol else 0.0
        return m, 0.0, m <= allowed
    a, e = actual.double(), expected.double()
    m = float((a - e).abs().max())
    r = float((a - e).norm() / e.norm().clamp_min(1e-30))
    if tol is None:
        return m, r, None
    return m, r, m <= tol["max_abs_err"] and r <= tol["rel_l2_err"]


def tolerance_for(expected: torch.Tensor, factor: float, rel: float, f64: dict | None = None) -> dict:
    """The fixtures' tolerance rule: factor·max(1, max|x|), rel-L2 `rel`, never below 10× f32-vs-f64."""
    tol = {"max_abs_err": factor * max(1.0, float(expected.abs().max())), "rel_l2_err": rel}
    if f64:
        tol["max_abs_err"] = max(tol["max_abs_err"], 10 * f64["max_abs_err_f32_vs_f64"])
        tol["rel_l2_err"] = max(tol["rel_l2_err"], 10 * f64["rel_l2_f32_vs_f64"])
    return tol
