"""Writes the 12-frame bouncing-ball sequence ball.0001.png … ball.0012.png (160×100 RGB, 8-bit)
that graphs/png_to_exr.yaml reads. Flat cartoon colours with a dark outline; only the standard
library is needed (zlib + struct), so the files can be regenerated anywhere."""
import math
import struct
import zlib
from pathlib import Path

W, H, FRAMES = 160, 100, 12
SKY, GROUND, BALL, LINE = (250, 236, 205), (120, 170, 90), (225, 70, 60), (40, 30, 30)


def png(path, rows):
    raw = b"".join(b"\x00" + bytes(v for px in row for v in px) for row in rows)
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, 8, 2, 0, 0, 0))
                           + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


for f in range(FRAMES):
    t = f / (FRAMES - 1)
    cx = 20 + 120 * t
    bounce = abs(math.cos(math.pi * 1.5 * t))
    ground = 82
    r = 12
    squash = 1 + 0.35 * max(0.0, 0.25 - bounce) * 4     # flatten near the ground
    rx, ry = r * squash, r / squash
    cy = ground - ry - 50 * bounce
    rows = []
    for y in range(H):
        row = []
        for x in range(W):
            d = ((x + 0.5 - cx) / rx) ** 2 + ((y + 0.5 - cy) / ry) ** 2
            if d <= 1.0:
                row.append(LINE if d > 0.72 else BALL)
            elif y >= ground:
                row.append(LINE if y == ground else GROUND)
            else:
                row.append(SKY)
        rows.append(row)
    png(Path(__file__).with_name(f"ball.{f + 1:04d}.png"), rows)
