"""Procedural cartoon clips: flat-coloured shapes with dark outlines moving along non-linear paths.

Everything is a deterministic function of the seed. A clip is rendered at `supersample`x the output
size with PIL and box-filtered down, so edges are anti-aliased like drawn cartoons.

Per frame the renderer produces, in one pass over the same z-ordered draw list:
  * the colour frame (uint8 RGB),
  * the line art (uint8, white lines on black: the outlines that stay visible after occlusion),
  * a fill-id map (0 = background, k = fill of shape k, 255 = outline), whose per-shape means are
    the ground-truth visible centroids used by the quality benchmark.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw

OUTLINE = (24, 20, 28)
OUTLINE_ID = 255

# Named flat colours for moving shapes (caption word, RGB). Saturated and far apart in RGB so the
# benchmark can segment them by nearest colour.
SHAPE_COLOURS = [
    ("red", (220, 40, 40)),
    ("orange", (245, 140, 20)),
    ("yellow", (250, 215, 30)),
    ("green", (40, 170, 60)),
    ("blue", (40, 90, 220)),
    ("purple", (140, 60, 190)),
    ("pink", (245, 120, 190)),
    ("brown", (130, 80, 40)),
    ("white", (250, 250, 250)),
    ("teal", (20, 160, 160)),
]

# (caption phrase, sky colour, ground colour or None)
BACKGROUNDS = [
    ("in a blue sky", (150, 200, 245), None),
    ("over green grass", (165, 210, 240), (110, 185, 90)),
    ("on a sandy beach", (175, 215, 245), (235, 210, 150)),
    ("in a grey room", (190, 190, 195), (150, 140, 135)),
    ("at sunset", (250, 190, 140), (120, 90, 110)),
    ("on a cream page", (245, 235, 210), None),
]


@dataclass
class Shape:
    """One drawable: a list of closed polygons (or open polylines for limbs) at a given frame."""

    kind: str
    colour_name: str
    colour: tuple
    motion: str
    caption: str
    draw: object = field(repr=False)  # draw(t) -> list of ("poly"|"line", points, width)
    centre: object = field(repr=False)  # centre(t) -> (x, y) of the shape's body, in pixels


@dataclass
class Clip:
    seed: int
    caption: str
    frames: np.ndarray  # (T, H, W, 3) uint8
    sketch: np.ndarray  # (T, H, W) uint8, white lines on black
    ids: np.ndarray  # (T, H, W) uint8 fill ids
    colours: list  # RGB per shape id 1..K
    names: list  # caption noun phrase per shape
    path: np.ndarray  # (K, T, 2) geometric body centre (x, y) in pixels
    centroid: np.ndarray  # (K, T, 2) visible fill centroid (x, y), NaN when hidden
    area: np.ndarray  # (K, T) visible fill pixel count
    background: tuple = ()

    @property
    def T(self):
        return self.frames.shape[0]


def _ellipse(cx, cy, rx, ry, angle, n=40):
    a = np.linspace(0, 2 * math.pi, n, endpoint=False)
    x, y = rx * np.cos(a), ry * np.sin(a)
    return _rotate(x, y, angle, cx, cy)


def _rotate(x, y, angle, cx, cy):
    c, s = math.cos(angle), math.sin(angle)
    return list(zip(cx + c * x - s * y, cy + s * x + c * y))


def _regular(cx, cy, r, k, angle, sx=1.0, sy=1.0, star=False):
    n = 2 * k if star else k
    a = np.arange(n) * 2 * math.pi / n - math.pi / 2
    rad = np.where(np.arange(n) % 2 == 1, 0.45 * r, r) if star else np.full(n, r)
    return _rotate(rad * np.cos(a) * sx, rad * np.sin(a) * sy, angle, cx, cy)


def _ease(t, kind):
    if kind == "inout":
        return 0.5 - 0.5 * math.cos(math.pi * t)
    if kind == "in":
        return t * t
    if kind == "out":
        return 1 - (1 - t) ** 2
    return t


class _Builder:
    """Draws shape parameters from one RNG; all sizes scale with the frame height."""

    def __init__(self, rng, H, W, ground_y):
        self.rng, self.H, self.W, self.ground_y = rng, H, W, ground_y

    def u(self, a, b):
        return float(self.rng.uniform(a, b))

    def endpoints(self, r):
        W, H, rng = self.W, self.H, self.rng
        left = rng.random() < 0.5
        x0, x1 = self.u(r + 2, 0.35 * W), self.u(0.65 * W, W - r - 2)
        if not left:
            x0, x1 = x1, x0
        y0, y1 = self.u(r + 2, self.ground_y - r - 2), self.u(r + 2, self.ground_y - r - 2)
        return x0, y0, x1, y1, ("to the right" if x1 > x0 else "to the left")

    def arc(self, name, colour, kind):
        H = self.H
        r = self.u(0.11, 0.17) * H
        x0, y0, x1, y1, direction = self.endpoints(r)
        lift = self.u(0.25, 0.45) * H
        ease = self.rng.choice(["inout", "in", "out"])
        spin = self.u(-1.5, 1.5) * math.pi if kind != "ball" else 0.0
        sides = {"square": 4, "triangle": 3, "star": 5, "pentagon": 5}.get(kind, 0)

        def centre(t):
            e = _ease(t, ease)
            x = x0 + (x1 - x0) * e
            y = y0 + (y1 - y0) * e - lift * 4 * e * (1 - e)
            return x, max(r + 1, y)

        def draw(t):
            cx, cy = centre(t)
            if kind == "ball":
                return [("poly", _ellipse(cx, cy, r, r, 0.0), 0)]
            return [("poly", _regular(cx, cy, r * 1.15, sides, spin * t, star=kind == "star"), 0)]

        verb = "flies in an arc" if kind == "ball" else "tumbles in an arc"
        return Shape(kind, name, colour, "arc", f"a {name} {kind} {verb} {direction}", draw, centre)

    def bounce(self, name, colour, kind):
        H, W = self.H, self.W
        r = self.u(0.11, 0.16) * H
        floor = self.ground_y - 1
        x0, _, x1, _, direction = self.endpoints(r)
        hops = int(self.rng.integers(1, 3))
        peak = self.u(0.35, 0.6) * H
        phase = self.u(0.0, 0.3)
        sides = {"square": 4, "triangle": 3}.get(kind, 0)

        def height_speed(t):
            p = (t * hops + phase) % 1.0
            h = peak * 4 * p * (1 - p)
            v = peak * 4 * (1 - 2 * p)
            return h, abs(v) / peak

        def squash(t):
            h, speed = height_speed(t)
            # Squash on contact, stretch along the motion when fast (classic squash and stretch).
            if h < 0.5 * r:
                k = 0.35 * (1 - h / (0.5 * r))
                return 1 + k, 1 - k
            k = 0.12 * min(speed, 4) / 4
            return 1 - k, 1 + k

        def centre(t):
            h, _ = height_speed(t)
            sx, sy = squash(t)
            return x0 + (x1 - x0) * t, floor - h - r * sy

        def draw(t):
            cx, cy = centre(t)
            sx, sy = squash(t)
            if kind == "ball":
                return [("poly", _ellipse(cx, cy, r * sx, r * sy, 0.0), 0)]
            return [("poly", _regular(cx, cy, r * 1.15, sides, 0.0, sx, sy), 0)]

        return Shape(kind, name, colour, "bounce", f"a {name} {kind} bounces {direction}", draw, centre)

    def spin(self, name, colour, kind):
        H = self.H
        r = self.u(0.13, 0.19) * H
        x0, y0, x1, y1, direction = self.endpoints(r)
        turns = self.u(0.4, 1.0) * (1 if self.rng.random() < 0.5 else -1)
        sides = {"square": 4, "triangle": 3, "star": 5, "pentagon": 5}[kind]
        wobble = self.u(0.1, 0.25) * H

        def centre(t):
            e = _ease(t, "inout")
            return x0 + (x1 - x0) * e, y0 + (y1 - y0) * e + wobble * math.sin(2 * math.pi * t)

        def draw(t):
            cx, cy = centre(t)
            return [("poly", _regular(cx, cy, r * 1.1, sides, 2 * math.pi * turns * t, star=kind == "star"), 0)]

        return Shape(kind, name, colour, "spin", f"a {name} {kind} spins {direction}", draw, centre)

    def walker(self, name, colour):
        H, W = self.H, self.W
        s = self.u(0.5, 0.62) * H  # figure height
        feet = self.ground_y - 1
        right = self.rng.random() < 0.5
        x0 = self.u(0.15, 0.35) * W
        x1 = x0 + self.u(0.3, 0.45) * W
        if not right:
            x0, x1 = W - x0, W - x1
        steps = self.u(1.5, 2.5)
        limb = max(1.0, 0.09 * s)

        def pose(t):
            x = x0 + (x1 - x0) * t
            ph = 2 * math.pi * steps * t
            bob = 0.04 * s * abs(math.sin(ph))
            hip = (x, feet - 0.45 * s - bob)
            neck = (x, feet - 0.8 * s - bob)
            return x, ph, bob, hip, neck

        def centre(t):
            x, _, bob, _, _ = pose(t)
            return x, feet - 0.6 * s - bob

        def draw(t):
            x, ph, bob, hip, neck = pose(t)
            leg, arm = 0.45 * s, 0.32 * s
            parts = []
            for sign in (1, -1):
                a = 0.5 * sign * math.sin(ph)
                knee = (hip[0] + 0.5 * leg * math.sin(a), hip[1] + 0.5 * leg * math.cos(a))
                foot = (knee[0] + 0.5 * leg * math.sin(a - 0.3 * max(0, sign * math.cos(ph))), feet)
                parts.append(("line", [hip, knee, foot], limb))
                b = -0.6 * sign * math.sin(ph)
                hand = (neck[0] + arm * math.sin(b), neck[1] + 0.05 * s + arm * math.cos(b))
                parts.append(("line", [(neck[0], neck[1] + 0.05 * s), hand], limb))
            body = [(x - 0.12 * s, neck[1]), (x + 0.12 * s, neck[1]), (x + 0.1 * s, hip[1]), (x - 0.1 * s, hip[1])]
            parts.append(("poly", body, 0))
            parts.append(("poly", _ellipse(x, neck[1] - 0.11 * s, 0.11 * s, 0.11 * s, 0.0, 24), 0))
            return parts

        direction = "to the right" if x1 > x0 else "to the left"
        return Shape("figure", name, colour, "walk", f"a {name} figure walks {direction}", draw, centre)

    def occluder(self, name, colour):
        """A static foreground object that moving shapes pass behind (occlusion, dis-occlusion)."""
        H, W = self.H, self.W
        kind = self.rng.choice(["wall", "bush"])
        cx = self.u(0.4, 0.6) * W
        w, h = self.u(0.12, 0.2) * W, self.u(0.45, 0.75) * H
        top = self.ground_y - h

        def centre(t):
            return cx, top + h / 2

        def draw(t):
            if kind == "wall":
                return [("poly", [(cx - w / 2, top), (cx + w / 2, top), (cx + w / 2, self.ground_y + 2), (cx - w / 2, self.ground_y + 2)], 0)]
            return [("poly", _ellipse(cx, top + h / 2, w / 2, h / 2, 0.0), 0)]

        return Shape(kind, name, colour, "static", f"behind a {name} {kind}", draw, centre)


def make_clip(seed: int, H: int = 64, W: int = 128, T: int = 16, supersample: int = 4) -> Clip:
    rng = np.random.default_rng([seed, 20240611])
    bg_name, sky, ground = BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))]
    ground_y = H * (rng.uniform(0.78, 0.88) if ground is not None else 1.02)
    b = _Builder(rng, H, W, ground_y)

    palette = [c for c in SHAPE_COLOURS if _dist(c[1], sky) > 90 and (ground is None or _dist(c[1], ground) > 90)]
    order = rng.permutation(len(palette))
    n_movers = int(rng.choice([1, 2, 2, 3]))
    movers = []
    for k in range(n_movers):
        name, colour = palette[order[k]]
        m = rng.choice(["arc", "bounce", "spin", "walk"], p=[0.3, 0.3, 0.25, 0.15])
        if m == "walk" and any(s.motion == "walk" for s in movers):
            m = "bounce"
        if m == "arc":
            movers.append(b.arc(name, colour, str(rng.choice(["ball", "square", "triangle", "star"]))))
        elif m == "bounce":
            movers.append(b.bounce(name, colour, str(rng.choice(["ball", "ball", "square"]))))
        elif m == "spin":
            movers.append(b.spin(name, colour, str(rng.choice(["square", "triangle", "star", "pentagon"]))))
        else:
            movers.append(b.walker(name, colour))
    shapes = list(movers)
    # Movers overlap each other in z-order; a static occluder in front hides and reveals them.
    occ = None
    if rng.random() < 0.4:
        name, colour = palette[order[n_movers]]
        occ = b.occluder(name, colour)
        shapes.append(occ)

    caption = " and ".join(_article(s.caption) for s in movers)
    caption += f" {_article(occ.caption)}" if occ is not None else ""
    caption += f" {bg_name}"

    ss = supersample
    times = [i / (T - 1) for i in range(T)] if T > 1 else [0.0]
    frames = np.zeros((T, H, W, 3), np.uint8)
    sketch = np.zeros((T, H, W), np.uint8)
    ids = np.zeros((T, H, W), np.uint8)
    for i, t in enumerate(times):
        frames[i], sketch[i], ids[i] = _render(shapes, t, H, W, ss, sky, ground, ground_y)

    K = len(shapes)
    path = np.array([[s.centre(t) for t in times] for s in shapes], np.float32)
    ys, xs = np.mgrid[0:H, 0:W]
    centroid = np.full((K, T, 2), np.nan, np.float32)
    area = np.zeros((K, T), np.int32)
    for k in range(K):
        for i in range(T):
            m = ids[i] == k + 1
            area[k, i] = int(m.sum())
            if area[k, i] > 0:
                centroid[k, i] = (xs[m].mean(), ys[m].mean())
    return Clip(seed, caption, frames, sketch, ids, [s.colour for s in shapes],
                [f"{s.colour_name} {s.kind}" for s in shapes], path, centroid, area, (sky, ground))


def _article(text):
    """'a orange ball' -> 'an orange ball' (the caption templates always write 'a')."""
    return re.sub(r"\ba ([aeiou])", r"an \1", text)


def _dist(a, b):
    return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))


def _render(shapes, t, H, W, ss, sky, ground, ground_y):
    size = (W * ss, H * ss)
    img = Image.new("RGB", size, sky)
    lines = Image.new("L", size, 0)
    ids = Image.new("L", size, 0)
    di, dl, dd = ImageDraw.Draw(img), ImageDraw.Draw(lines), ImageDraw.Draw(ids)
    ow = max(1, round(0.028 * H * ss))  # outline width, about 1.8 px at 64 px height
    if ground is not None:
        gy = ground_y * ss
        di.rectangle([0, gy, size[0], size[1]], fill=ground)
        di.line([(0, gy), (size[0], gy)], fill=OUTLINE, width=ow)
        dl.line([(0, gy), (size[0], gy)], fill=255, width=ow)
        dd.line([(0, gy), (size[0], gy)], fill=OUTLINE_ID, width=ow)
    for k, s in enumerate(shapes, start=1):
        for kind, pts, width in s.draw(t):
            p = [(x * ss, y * ss) for x, y in pts]
            if kind == "poly":
                di.polygon(p, fill=s.colour, outline=OUTLINE, width=ow)
                dl.polygon(p, fill=0, outline=255, width=ow)
                dd.polygon(p, fill=k)
                dd.polygon(p, outline=OUTLINE_ID, width=ow)
            else:
                w = round(width * ss)
                for d, fill_c, out_c in ((di, s.colour, OUTLINE), (dl, 0, 255), (dd, k, OUTLINE_ID)):
                    _thick_line(d, p, w, ow, fill_c, out_c)
    frame = np.asarray(img.resize((W, H), Image.BOX))
    sk = np.asarray(lines.resize((W, H), Image.BOX))
    idm = np.asarray(ids)[ss // 2::ss, ss // 2::ss]
    return frame, sk, idm


def _thick_line(d, p, w, ow, fill, outline):
    """A limb: an outlined thick polyline with round joints (outline first, then the fill on top)."""
    for width, colour in ((w + 2 * ow, outline), (w, fill)):
        d.line(p, fill=colour, width=width, joint="curve")
        for x, y in (p[0], p[-1]):
            d.ellipse([x - width / 2, y - width / 2, x + width / 2, y + width / 2], fill=colour)
