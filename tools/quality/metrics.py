"""Frame metrics: PSNR, SSIM (Wang et al., Gaussian window σ 1.5) and shape centroids by colour."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from tools.cartoon.scene import OUTLINE


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """uint8 images → dB (peak 255); identical images give +inf, capped at 99 for averaging."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 99.0 if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM over the RGB channels; 11-tap Gaussian window (σ 1.5), K1 0.01, K2 0.03, L 255."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    vals = []
    for ch in range(a.shape[-1]):
        x, y = a[..., ch].astype(np.float64), b[..., ch].astype(np.float64)
        f = lambda z: gaussian_filter(z, 1.5, truncate=3.5)
        mx, my = f(x), f(y)
        sxx, syy, sxy = f(x * x) - mx * mx, f(y * y) - my * my, f(x * y) - mx * my
        m = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
        vals.append(m.mean())
    return float(np.mean(vals))


def colour_centroids(frame: np.ndarray, shape_colours, background, max_dist=60.0, min_pixels=4) -> np.ndarray:
    """(K, 2) centroid (x, y) of the pixels whose nearest palette colour is shape k's fill colour
    (palette = shape fills, background colours, outline); NaN where fewer than `min_pixels` match."""
    palette = [np.array(c, np.float64) for c in shape_colours]
    palette += [np.array(c, np.float64) for c in background if c is not None] + [np.array(OUTLINE, np.float64)]
    px = frame.reshape(-1, 3).astype(np.float64)
    d = np.stack([np.linalg.norm(px - c, axis=1) for c in palette], axis=1)
    nearest, dist = d.argmin(axis=1), d.min(axis=1)
    H, W = frame.shape[:2]
    ys, xs = np.divmod(np.arange(H * W), W)
    out = np.full((len(shape_colours), 2), np.nan)
    for k in range(len(shape_colours)):
        m = (nearest == k) & (dist < max_dist)
        if m.sum() >= min_pixels:
            out[k] = xs[m].mean(), ys[m].mean()
    return out
