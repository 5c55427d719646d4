"""Targets for agent training in bulk: crops from the sharded photo dataset, and procedural ones.

:class:`TargetShards` reads a folder of ``shard_*.npz`` files written by
``scripts/make_targets.py`` (``images`` uint8 (N, 128, 128, 3), ``source`` int32 (N,)) into one
in-memory array and draws random sub-crops of it, resized to the canvas: thousands of different
photo targets per second without decoding a file. :func:`procedural_targets` draws synthetic
ones (gradients and flat shapes), a cheap mix-in that teaches an agent edges and flat regions.

>>> shards = TargetShards("data/targets/train")
>>> batch = shards.sample(np.random.default_rng(0), 256, 64)     # uint8 (256, 64, 64, 3)
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from painters.images import resize

#: Sub-crop side as a fraction of the stored crop (more variety without losing the content).
MIN_SUBCROP = 0.7


def shard_files(folder: str | os.PathLike) -> list[Path]:
    """The ``*.npz`` shards directly in ``folder``, sorted (temp files of a running build
    excluded)."""
    p = Path(folder).expanduser()
    return sorted(f for f in p.glob("*.npz") if f.is_file() and not f.name.startswith("."))


def is_shard_folder(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a folder holding target shards (``*.npz``)."""
    p = Path(path).expanduser()
    return p.is_dir() and bool(shard_files(p))


class TargetShards:
    """All crops of a shard folder in memory, and random targets drawn from them.

    Args:
        folder: a folder of ``*.npz`` shards, e.g. ``data/targets/train``.

    Attributes:
        images: uint8 (N, S, S, 3), every stored crop.
        source: int32 (N,), each crop's source index in the dataset's ``manifest.json``.
    """

    def __init__(self, folder: str | os.PathLike) -> None:
        files = shard_files(folder)
        if not files:
            raise FileNotFoundError(
                f"no .npz target shards in {folder}; build them with scripts/make_targets.py"
            )
        # Two passes: sizes first (the small ``source`` arrays), then each shard's images copied
        # into one preallocated array, so peak memory stays near the dataset's size.
        counts, shape = [], None
        for f in files:
            with np.load(f, allow_pickle=False) as z:
                if "images" not in z.files or "source" not in z.files:
                    raise ValueError(f"{f} lacks 'images'/'source' arrays; not a target shard")
                counts.append(len(z["source"]))
        self.folder = Path(folder)
        self.images = np.empty((0,), np.uint8)
        self.source = np.empty(sum(counts), np.int32)
        at = 0
        for f, n in zip(files, counts, strict=True):
            with np.load(f, allow_pickle=False) as z:
                im = z["images"]
                if im.dtype != np.uint8 or im.ndim != 4 or im.shape[3] != 3 or len(im) != n:
                    raise ValueError(f"{f}: images must be uint8 (N, S, S, 3), got {im.shape}")
                if shape is None:
                    shape = im.shape[1:]
                    self.images = np.empty((sum(counts), *shape), np.uint8)
                elif im.shape[1:] != shape:
                    raise ValueError(f"shards in {folder} hold crops of different sizes; rebuild")
                self.images[at : at + n] = im
                self.source[at : at + n] = z["source"]
                at += n

    def __len__(self) -> int:
        return len(self.images)

    def sample(self, rng: np.random.Generator, n: int, size: int) -> np.ndarray:
        """``n`` targets, uint8 (n, size, size, 3): a random stored crop each, sub-cropped to
        70-100 % of its side at a random place, mirrored half the time, resized to ``size``.

        Draws a fixed amount from ``rng`` per call (same seed, same targets).
        """
        n, size = int(n), int(size)
        idx = rng.integers(len(self.images), size=n)
        u = rng.random((n, 4))
        s = self.images.shape[1]
        sides = np.maximum(1, np.rint((MIN_SUBCROP + (1 - MIN_SUBCROP) * u[:, 0]) * s)).astype(int)
        ys = (u[:, 1] * (s - sides + 1)).astype(int)
        xs = (u[:, 2] * (s - sides + 1)).astype(int)
        out = np.empty((n, size, size, 3), np.uint8)
        for k in range(n):
            y, x, side = ys[k], xs[k], sides[k]
            crop = self.images[idx[k], y : y + side, x : x + side]
            if u[k, 3] < 0.5:
                crop = crop[:, ::-1]
            out[k] = resize(crop, size, size)
        return out


def _gradient(rng: np.random.Generator, size: int) -> np.ndarray:
    """A float32 (size, size, 3) linear or radial gradient between two random colours."""
    c0, c1 = rng.random(3).astype(np.float32), rng.random(3).astype(np.float32)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / max(size - 1, 1)
    if rng.random() < 0.5:  # linear, at a random angle
        a = rng.uniform(0, 2 * np.pi)
        t = (xx - 0.5) * np.cos(a) + (yy - 0.5) * np.sin(a)
        t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    else:  # radial, from a random centre
        cx, cy, r = rng.random(), rng.random(), rng.uniform(0.3, 1.2)
        t = np.clip(np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2) / r, 0, 1)
    return c0 + (c1 - c0) * t[..., None]


def procedural_targets(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """``n`` synthetic targets, uint8 (n, size, size, 3): a flat or gradient background with
    0-6 flat-coloured ellipses, rectangles and polygons (anti-aliased). Deterministic in ``rng``.
    """
    n, size = int(n), int(size)
    out = np.empty((n, size, size, 3), np.uint8)
    sub = 4  # fractional-pixel precision for the anti-aliased cv2 shapes
    scale = size * (1 << sub)
    for k in range(n):
        if rng.random() < 0.3:
            canvas = np.empty((size, size, 3), np.float32)
            canvas[:] = rng.random(3)
        else:
            canvas = _gradient(rng, size)
        img = np.clip(canvas * 255 + 0.5, 0, 255).astype(np.uint8)
        for _ in range(int(rng.integers(0, 7))):
            colour = tuple(int(c) for c in rng.integers(0, 256, 3))
            kind = rng.integers(3)
            cx, cy = rng.random(2)
            r = rng.uniform(0.05, 0.45, 2)
            if kind == 0:
                cv2.ellipse(img, (int(cx * scale), int(cy * scale)),
                            (max(1, int(r[0] * scale)), max(1, int(r[1] * scale))),
                            float(rng.uniform(0, 180)), 0, 360, colour, -1, cv2.LINE_AA,
                            sub)  # fmt: skip
            else:
                m = 4 if kind == 1 else int(rng.integers(3, 7))
                if kind == 1:  # a rotated rectangle
                    a = rng.uniform(0, np.pi)
                    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * r
                    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
                    pts = corners @ rot.T + [cx, cy]
                else:  # a polygon with vertices around a centre, sorted by angle
                    ang = np.sort(rng.uniform(0, 2 * np.pi, m))
                    rad = rng.uniform(0.3, 1.0, m)[:, None] * r
                    pts = np.stack([np.cos(ang), np.sin(ang)], 1) * rad + [cx, cy]
                poly = np.rint(pts * scale).astype(np.int32).reshape(-1, 1, 2)
                cv2.fillPoly(img, [poly], colour, cv2.LINE_AA, sub)
        out[k] = img
    return out
