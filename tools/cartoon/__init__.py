"""Procedural cartoon clip generator (a tool: training data, examples, benchmark ground truth)."""

from .scene import Clip, make_clip
from .splits import HELDOUT_BASE, split_of, split_seeds

__all__ = ["Clip", "make_clip", "split_of", "split_seeds", "HELDOUT_BASE"]
