"""Cuts ../cartoon_1000007/sketch_strip.png (the clip's 16 line-art frames, white on black, as
tools/cartoon draws them) into one PNG per frame, inverted to black lines on white paper as an
animator would draw them: the input of graphs/interp_sketch.yaml and graphs/colorize.yaml.

    python3 generate.py   # in this folder
"""
import os

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    strip = np.array(Image.open(os.path.join(HERE, "..", "cartoon_1000007", "sketch_strip.png")).convert("L"))
    frames = 16
    width = strip.shape[1] // frames
    for f in range(frames):
        drawing = 255 - strip[:, f * width:(f + 1) * width]
        Image.fromarray(drawing).save(os.path.join(HERE, f"sketch.{f:04d}.png"), optimize=True)


if __name__ == "__main__":
    main()
