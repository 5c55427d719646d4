"""Flat-colour baselines: what an agent must beat to be painting at all.

An agent's MSE means little alone: a canvas filled with the target's mean colour, or a grid of
flat blocks each filled with its block's mean (8×8 = 64 flat "strokes"), costs nothing and
already removes much of the white canvas's error. Benchmarks and evaluation report every agent
as a ratio to these.

>>> flat_grid(target, 8)      # 64 blocks, each its mean colour; same shape and dtype as target
"""

from __future__ import annotations

import numpy as np


def _bounds(n: int, cells: int) -> np.ndarray:
    """Start indices of ``cells`` near-equal bands over ``n`` pixels (at most one per pixel)."""
    cells = min(cells, n)
    return np.unique(np.rint(np.linspace(0, n, cells + 1)[:-1]).astype(np.int64))


def flat_grid(target: np.ndarray, cells: int) -> np.ndarray:
    """``target`` (H, W[, C]) cut into ``cells`` × ``cells`` near-equal blocks (any H, W; the
    bands differ by at most one pixel), each filled with its mean colour. Same shape and dtype
    (integer images are rounded)."""
    if int(cells) < 1:
        raise ValueError(f"cells must be >= 1, got {cells}")
    a = np.asarray(target)
    if a.ndim not in (2, 3) or min(a.shape[:2]) < 1:
        raise ValueError(f"target must be an (H, W) or (H, W, C) image, got shape {a.shape}")
    h, w = a.shape[:2]
    ys, xs = _bounds(h, int(cells)), _bounds(w, int(cells))
    x = a.astype(np.float64)
    sums = np.add.reduceat(np.add.reduceat(x, ys, axis=0), xs, axis=1)
    ny = np.diff(np.append(ys, h))
    nx = np.diff(np.append(xs, w))
    counts = (ny[:, None] * nx[None, :]).reshape(len(ys), len(xs), *([1] * (a.ndim - 2)))
    means = sums / counts
    out = np.repeat(np.repeat(means, ny, axis=0), nx, axis=1)
    if np.issubdtype(a.dtype, np.integer):
        info = np.iinfo(a.dtype)
        out = np.clip(np.rint(out), info.min, info.max)
    return out.astype(a.dtype)


def mean_colour(target: np.ndarray) -> np.ndarray:
    """``target`` filled with its mean colour (the "no strokes" baseline); same shape/dtype."""
    return flat_grid(target, 1)
