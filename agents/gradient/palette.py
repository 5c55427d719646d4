"""Colour palettes for paintings: K colours taken from the image, or a given list.

Why: a painting meant for physical media (a robot, a plotter, a person with a few tubes of paint)
can only use the colours at hand. ``scripts/paint.py --palette 6`` picks 6 colours from the target
by k-means; ``--palette "#1d3557,#e63946,#f1faee"`` uses exactly those. The gradient painter then
keeps every stroke's colour in the palette (see ``agents.gradient.StrokeParams``).
"""

from __future__ import annotations

import re

import numpy as np

_HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")
MAX_COLOURS = 64


def parse_palette(spec: str, image: np.ndarray | None = None, seed: int = 0) -> np.ndarray:
    """A palette (K, 3) float64 RGB in [0, 1] from ``spec``: an integer K (k-means colours of
    ``image``) or comma-separated hex colours ``"#ff0000,#00ff00"``. One-line ``ValueError``
    naming the accepted forms otherwise."""
    text = str(spec).strip()
    if text.isdigit():
        k = int(text)
        if not 1 <= k <= MAX_COLOURS:
            raise ValueError(f"--palette K must be between 1 and {MAX_COLOURS}, got {k}")
        if image is None:
            raise ValueError("--palette K needs the target image to take colours from")
        return kmeans_palette(image, k, seed=seed)
    colours = []
    for part in text.split(","):
        m = _HEX.match(part.strip())
        if m is None:
            raise ValueError(
                f"bad palette colour {part.strip()!r}; give a number of colours (e.g. 8) or "
                "hex colours like '#ff0000,#00ff00'"
            )
        v = int(m.group(1), 16)
        colours.append([(v >> 16) & 255, (v >> 8) & 255, v & 255])
    if len(colours) > MAX_COLOURS:
        raise ValueError(f"a palette has at most {MAX_COLOURS} colours, got {len(colours)}")
    return np.asarray(colours, np.float64) / 255.0


def kmeans_palette(
    image: np.ndarray, k: int, seed: int = 0, iterations: int = 25, samples: int = 8192
) -> np.ndarray:
    """K representative colours of a uint8 RGB image: k-means++ on (up to ``samples``) pixels,
    seeded so the same image and seed give the same palette. Returns (k', 3) in [0, 1],
    k' ≤ k when the image has fewer distinct colours; sorted dark to light."""
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"kmeans_palette needs an RGB image (H, W, 3), got {img.shape}")
    rng = np.random.default_rng(seed)
    px = img.reshape(-1, 3).astype(np.float64) / 255.0
    if len(px) > samples:
        px = px[rng.choice(len(px), samples, replace=False)]
    k = min(int(k), len(np.unique(px, axis=0)))
    centres = [px[rng.integers(len(px))]]
    for _ in range(1, k):  # k-means++: far from the chosen centres, proportionally to d²
        d2 = ((px[:, None] - np.asarray(centres)[None]) ** 2).sum(-1).min(1)
        centres.append(px[rng.choice(len(px), p=d2 / d2.sum())])
    c = np.asarray(centres)
    for _ in range(iterations):
        label = ((px[:, None] - c[None]) ** 2).sum(-1).argmin(1)
        new = np.array([px[label == j].mean(0) if np.any(label == j) else c[j] for j in range(k)])
        if np.allclose(new, c):
            break
        c = new
    return c[np.argsort(c.sum(1), kind="stable")]


def to_hex(palette: np.ndarray) -> list[str]:
    """``#rrggbb`` strings of a palette in [0, 1] (for strokes.json and the report)."""
    rgb = np.rint(np.clip(np.asarray(palette), 0.0, 1.0) * 255).astype(int)
    return ["#{:02x}{:02x}{:02x}".format(*c) for c in rgb]
