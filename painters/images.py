"""Image files in and out: the one loader of target images for the env, the painters and the
scripts, the one target preparation (:func:`prepare_target`: centred crop to the canvas's aspect
ratio, then the one resampler :func:`resize`), and the one PNG writer.

Why one loader: the same file must become the same target everywhere. The EXIF orientation
tag is applied (a phone photo stored sideways with "rotate 90°" in its header is painted
upright, as every viewer shows it), transparent pixels are laid on white (the canvas colour, so
what you see is what is painted), 16-bit images are scaled to 8 bits (not clipped, which would
turn them white) and grayscale is spread to RGB. An unreadable file is a one-line
:class:`ImageError` before anything is written. A PNG on disk is either complete or absent
(temp file in the same folder, then ``os.replace``).

Why one preparation: a photo given to ``Painting-v0`` and to ``neural-paint`` at the same canvas
size becomes the same target array, so scores and paintings compare; docs/TARGETS.md has the
rule and where each caller uses it.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
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


def crop_to_aspect(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """The largest centred crop of ``image`` with the aspect ratio ``width : height`` (a view).

    The kept side is rounded to whole pixels, so the crop's ratio is within half a pixel of the
    requested one; an image already in that ratio is returned whole.
    """
    if width < 1 or height < 1:
        raise ValueError(f"target size must be at least 1 x 1 px, got {width} x {height}")
    h, w = image.shape[:2]
    if w * height > h * width:  # wider than asked: trim left and right
        keep = min(w, max(1, round(h * width / height)))
        left = (w - keep) // 2
        return image[:, left : left + keep]
    keep = min(h, max(1, round(w * height / width)))  # taller (or equal): trim top and bottom
    top = (h - keep) // 2
    return image[top : top + keep]


def resize(image: np.ndarray, width: int, height: int | None = None) -> np.ndarray:
    """The one resampler: uint8 (H, W[, C]) to ``width`` x ``height`` (default square).

    Shrinking (the output no larger than the input in both directions) averages the exact area
    each output pixel covers (OpenCV ``INTER_AREA``: no aliasing, integer factors are plain box
    means); enlarging uses bicubic interpolation (``INTER_CUBIC``, saturated to 0..255). The
    aspect ratio is not kept: to turn a photo into a target use :func:`prepare_target`, which
    crops first.
    """
    height = width if height is None else height
    if width < 1 or height < 1:
        raise ValueError(f"resize needs a size of at least 1 x 1 px, got {width} x {height}")
    arr = np.ascontiguousarray(image)
    h, w = arr.shape[:2]
    if (w, h) == (width, height):
        return arr.copy()
    shrink = width <= w and height <= h
    out = cv2.resize(
        arr, (int(width), int(height)), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC
    )
    return out.reshape(int(height), int(width), *arr.shape[2:])  # cv2 drops a single channel


def prepare_target(image: np.ndarray, width: int, height: int | None = None) -> np.ndarray:
    """The target of a ``width`` x ``height`` canvas (default square) made from a photo.

    The one target preparation of the project (the env, ``neural-paint``, agent painting, the
    evaluation and the benchmarks all use it; docs/TARGETS.md): the largest centred crop in the
    canvas's aspect ratio (:func:`crop_to_aspect`: a photo is cropped, never squashed), then
    :func:`resize` (area averaging when shrinking, bicubic when enlarging). Returns contiguous
    uint8 RGB (height, width, 3); an image already at that size comes back as an equal copy.
    """
    height = width if height is None else height
    arr = np.asarray(image)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3 or min(arr.shape[:2]) < 1:
        raise ValueError(
            f"a target image must be uint8 RGB (H, W, 3), got {arr.dtype} {arr.shape}; "
            "load it with painters.images.load_image"
        )
    return resize(crop_to_aspect(arr, int(width), int(height)), int(width), int(height))


def save_png(image: np.ndarray, path: str | os.PathLike) -> Path:
    """Write uint8 RGB/RGBA (H, W, C) to ``path`` atomically (temp file + ``os.replace``)."""
    path = Path(path)
    arr = np.asarray(image)
    if arr.dtype != np.uint8 or arr.ndim not in (2, 3):
        raise ValueError(f"save_png needs a uint8 (H, W[, C]) array, got {arr.dtype} {arr.shape}")
    return atomic_write(path, lambda f: Image.fromarray(arr).save(f, format="PNG"))
