"""Image files in and out: load a target as uint8 RGB, write PNGs atomically.

Why a module of its own: every script (paint, render, benchmarks) needs the same two promises:
an unreadable image is a one-line error before anything is written, and a PNG on disk is
either complete or absent (temp file in the same folder, then ``os.replace``). The loader is
:func:`painters.images.load_image`, the one the env uses too, so a file is the same target
everywhere.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from painters.images import ImageError, load_image
from painters.io import atomic_write

__all__ = ["ImageError", "center_square", "load_image", "resize", "save_png"]


def center_square(image: np.ndarray) -> np.ndarray:
    """The largest centred square crop: square canvases must not distort the photo."""
    h, w = image.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    return image[top : top + s, left : left + s]


def resize(image: np.ndarray, width: int, height: int | None = None) -> np.ndarray:
    """Resize uint8 RGB with area averaging when shrinking (no aliasing), bicubic otherwise."""
    height = width if height is None else height
    h, w = image.shape[:2]
    if (w, h) == (width, height):
        return image.copy()
    shrink = width < w and height < h
    resample = Image.Resampling.BOX if shrink else Image.Resampling.BICUBIC
    return np.array(Image.fromarray(image).resize((width, height), resample), dtype=np.uint8)


def save_png(image: np.ndarray, path: str | os.PathLike) -> Path:
    """Write uint8 RGB/RGBA (H, W, C) to ``path`` atomically (temp file + ``os.replace``)."""
    path = Path(path)
    arr = np.asarray(image)
    if arr.dtype != np.uint8 or arr.ndim not in (2, 3):
        raise ValueError(f"save_png needs a uint8 (H, W[, C]) array, got {arr.dtype} {arr.shape}")
    return atomic_write(path, lambda f: Image.fromarray(arr).save(f, format="PNG"))
