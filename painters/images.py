"""Image files in and out: the one loader of target images for the env, the painters and the
scripts, and the one PNG writer.

Why one loader: the same file must become the same target everywhere. The EXIF orientation
tag is applied (a phone photo stored sideways with "rotate 90°" in its header is painted
upright, as every viewer shows it), transparent pixels are laid on white (the canvas colour, so
what you see is what is painted), 16-bit images are scaled to 8 bits (not clipped, which would
turn them white) and grayscale is spread to RGB. An unreadable file is a one-line
:class:`ImageError` before anything is written. A PNG on disk is either complete or absent
(temp file in the same folder, then ``os.replace``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from painters.io import atomic_write

#: Pillow modes holding integers wider than 8 bits (16-bit PNG grayscale, 32-bit int).
_WIDE_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N")


class ImageError(ValueError):
    """An image file that cannot be used as a target (missing, corrupt, unsupported)."""


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Read any Pillow-readable image as uint8 RGB (H, W, 3); one-line ``ImageError`` if not.

    The EXIF orientation is applied; alpha (RGBA, LA, palette or grayscale transparency) is
    laid on white; 16-bit samples are scaled to 8 bits (``round(v / 257)``); grayscale becomes
    three equal channels.
    """
    p = Path(path)
    if not p.is_file():
        raise ImageError(f"no image file at {p}; give the path of a JPEG or PNG")
    try:
        with Image.open(p) as im:
            im.load()
            rgb = _to_rgb(upright(im))
    except Image.DecompressionBombError:
        w, h = _header_size(p)
        raise ImageError(
            f"{p} is too large: {w}x{h} px ({w * h / 1e6:.0f} Mpx, more than Pillow decodes); "
            "downscale it first"
        ) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise ImageError(
            f"cannot read image {p} (corrupt or unsupported format); give a JPEG or PNG"
        ) from None
    if rgb.ndim != 3 or min(rgb.shape[:2]) < 1:
        raise ImageError(f"{p} has no pixels; give a non-empty image")
    return np.ascontiguousarray(rgb)


def upright(im: Image.Image) -> Image.Image:
    """``im`` turned as its EXIF orientation tag says (itself when it has none)."""
    try:
        return ImageOps.exif_transpose(im) or im
    except (ValueError, TypeError, OSError, SyntaxError):  # a damaged EXIF block: as stored
        return im


def _header_size(p: Path) -> tuple[int, int]:
    """(width, height) from the header of an image Pillow refuses to open as too large."""
    limit = Image.MAX_IMAGE_PIXELS
    try:
        Image.MAX_IMAGE_PIXELS = None  # nothing is decoded: only the header is read
        with Image.open(p) as im:
            return im.size
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def _to_rgb(im: Image.Image) -> np.ndarray:
    if im.mode in _WIDE_MODES or im.mode == "F":
        a = np.asarray(im).astype(np.float64)
        if im.mode.startswith("I;16") or (im.mode == "I" and a.max(initial=0) > 255):
            a = a / 257.0
        grey = np.clip(np.rint(a), 0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    if im.mode in ("RGBA", "LA", "PA", "P", "RGBa", "La") or "transparency" in im.info:
        im = im.convert("RGBA")
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(bg, im)
    return np.array(im.convert("RGB"), dtype=np.uint8)


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
