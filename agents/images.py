"""Image files in and out: load a target as uint8 RGB, write PNGs atomically.

Why a module of its own: every script (paint, render, benchmarks) needs the same two promises:
an unreadable image is a one-line error before anything is written, and a PNG on disk is
either complete or absent (temp file in the same folder, then ``os.replace``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from painters.io import atomic_write


class ImageError(ValueError):
    """An image file that cannot be used as a target (missing, corrupt, unsupported)."""


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Read any Pillow-readable image as uint8 RGB (H, W, 3); one-line ``ImageError`` if not.

    Transparent images are laid on white, the canvas colour, so what you see is what is painted.
    """
    p = Path(path)
    if not p.is_file():
        raise ImageError(f"no image file at {p}; give the path of a JPEG or PNG")
    try:
        with Image.open(p) as im:
            im.load()
            if im.mode in ("RGBA", "LA", "P"):
                im = im.convert("RGBA")
                bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
                im = Image.alpha_composite(bg, im)
            rgb = np.array(im.convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise ImageError(
            f"cannot read {p} as an image (corrupt or unsupported format); give a JPEG or PNG"
        ) from None
    if rgb.ndim != 3 or min(rgb.shape[:2]) < 1:
        raise ImageError(f"{p} has no pixels; give a non-empty image")
    return np.ascontiguousarray(rgb)


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
