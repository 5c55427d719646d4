"""Image files in: the one loader of target images for the env, the painters and the scripts.

Why one loader: the same file must become the same target everywhere. Transparent pixels are
laid on white (the canvas colour, so what you see is what is painted), 16-bit images are scaled
to 8 bits (not clipped, which would turn them white) and grayscale is spread to RGB. An
unreadable file is a one-line :class:`ImageError` before anything is written.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

#: Pillow modes holding integers wider than 8 bits (16-bit PNG grayscale, 32-bit int).
_WIDE_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N")


class ImageError(ValueError):
    """An image file that cannot be used as a target (missing, corrupt, unsupported)."""


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Read any Pillow-readable image as uint8 RGB (H, W, 3); one-line ``ImageError`` if not.

    Alpha (RGBA, LA, palette or grayscale transparency) is laid on white; 16-bit samples are
    scaled to 8 bits (``round(v / 257)``); grayscale becomes three equal channels.
    """
    p = Path(path)
    if not p.is_file():
        raise ImageError(f"no image file at {p}; give the path of a JPEG or PNG")
    try:
        with Image.open(p) as im:
            im.load()
            rgb = _to_rgb(im)
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
