"""python -m tools.cartoon {clips,examples} …  (see --help)."""

from __future__ import annotations

import argparse
import os
import sys

from . import make_clip, split_seeds
from .io import write_clip, write_keyframe_pair


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.cartoon", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("clips", help="write clips (frames, line art, clip.json) of a split")
    c.add_argument("--split", choices=["train", "heldout"], default="heldout")
    c.add_argument("--count", type=int, default=8)
    c.add_argument("--start", type=int, default=0)
    c.add_argument("--out", required=True)
    e = sub.add_parser("examples", help="write keyframe pairs for examples/")
    e.add_argument("--seeds", type=int, nargs="+", required=True)
    e.add_argument("--out", required=True)
    for q in (c, e):
        q.add_argument("--height", type=int, default=64)
        q.add_argument("--width", type=int, default=128)
        q.add_argument("--frames", type=int, default=16)
    a = p.parse_args(argv)
    if a.height < 8 or a.width < 8 or a.frames < 2:
        print(f"error: clip size {a.frames}x{a.height}x{a.width} too small (need frames>=2, height,width>=8)", file=sys.stderr)
        return 2
    if a.cmd == "clips":
        for s in split_seeds(a.split, a.count, a.start):
            clip = make_clip(s, a.height, a.width, a.frames)
            write_clip(clip, os.path.join(a.out, f"{a.split}_{s}"))
            print(f"{a.split}_{s}: {clip.caption}")
    else:
        for s in a.seeds:
            clip = make_clip(s, a.height, a.width, a.frames)
            write_keyframe_pair(clip, os.path.join(a.out, f"cartoon_{s}"))
            print(f"cartoon_{s}: {clip.caption}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
