"""Images for the target dataset (re-exported by :mod:`painting_env.target_data`, whose docstring
explains the dataset): the :class:`Source` record, decoding and shrinking, the filters that drop
icons, near-uniform and duplicate images, stamp-on-photo composites and random square crops.

Split from :mod:`painting_env.target_data` to keep modules small; import from there."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from painters.images import resize, upright

CROP_SIZE = 128
#: Decoded sources are shrunk to this shorter side first (crops never need more detail).
MAX_SHORT_SIDE = 1024
#: Photos smaller than this (shorter side) are icons or thumbnails: skipped.
MIN_PHOTO_SIDE = 240
#: Standard deviation (of [0, 1] grey at 64 px) below which an image is near-uniform: skipped.
MIN_STD = 0.04
#: Crops flatter than this (grey standard deviation, [0, 1]) are redrawn (a few tries).
MIN_CROP_STD = 0.03


@dataclass
class Source:
    """One source image: how to decode it and where it came from (for the manifest).

    ``group``: sources of one group are split together (a stamp composite shares its background
    photo's group, so no background is seen in both splits). ``kind``: ``photo`` (written whole to
    ``val_photos`` when in val) or ``composite``.
    """

    name: str
    load: Callable[[], np.ndarray]
    meta: dict = field(default_factory=dict)
    group: str = ""
    kind: str = "photo"
    crops: int = 0

    def __post_init__(self) -> None:
        self.group = self.group or self.name


# ---------------------------------------------------------------------------------- decoding


def decode_rgb(data: bytes | Path, *, alpha: bool = False) -> np.ndarray:
    """Decode image bytes or a file to uint8 RGB (or RGBA with ``alpha``); PIL handles webp."""
    from PIL import Image

    raw = data.read_bytes() if isinstance(data, Path) else data
    with Image.open(io.BytesIO(raw)) as im:
        im.load()
        im = upright(im)
        if alpha:
            return np.asarray(im.convert("RGBA"))
        if im.mode in ("RGBA", "LA", "P", "PA"):  # flatten transparency onto white
            rgba = im.convert("RGBA")
            bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            return np.asarray(Image.alpha_composite(bg, rgba).convert("RGB"))
        return np.asarray(im.convert("RGB"))


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) from the file header (no decode); (0, 0) if unreadable."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return im.size
    except OSError:
        return (0, 0)


def shrink(image: np.ndarray, short_side: int = MAX_SHORT_SIDE) -> np.ndarray:
    """Area-downscale so the shorter side is at most ``short_side``."""
    h, w = image.shape[:2]
    if min(h, w) <= short_side:
        return np.ascontiguousarray(image)
    f = short_side / min(h, w)
    return resize(image, max(1, round(w * f)), max(1, round(h * f)))


def content_std(image: np.ndarray) -> float:
    """Grey-level standard deviation at 64 px: low means near-uniform (no content to paint)."""
    small = cv2.resize(image[..., :3], (64, 64), interpolation=cv2.INTER_AREA)
    return float(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).std() / 255.0)


def image_hash(image: np.ndarray) -> int:
    """64-bit difference hash (squashed to 9x8 grey): equal for resized copies of one image."""
    g = cv2.cvtColor(cv2.resize(image[..., :3], (9, 8), interpolation=cv2.INTER_AREA),
                     cv2.COLOR_RGB2GRAY).astype(np.int16)  # fmt: skip
    bits = (g[:, 1:] > g[:, :-1]).ravel()
    return int(sum(1 << i for i, b in enumerate(bits) if b))


# --------------------------------------------------------------------------------- composites


def composite(background: np.ndarray, stamps: Sequence[np.ndarray], seed: int) -> np.ndarray:
    """Lay RGBA ``stamps`` on a square crop of ``background`` (uint8 RGB) at random sizes (35-80 %
    of the side) and places: an object on a scene, like many everyday photos."""
    rng = np.random.default_rng(seed)
    h, w = background.shape[:2]
    side = min(h, w)
    y0, x0 = int(rng.integers(h - side + 1)), int(rng.integers(w - side + 1))
    canvas = resize(background[y0 : y0 + side, x0 : x0 + side], 512, 512).astype(np.float32)
    for stamp in stamps:
        sh, sw = stamp.shape[:2]
        f = rng.uniform(0.35, 0.8) * 512 / max(sh, sw)
        nw, nh = max(1, round(sw * f)), max(1, round(sh * f))
        s = resize(stamp, nw, nh).astype(np.float32)
        if rng.random() < 0.5:
            s = s[:, ::-1]
        y, x = int(rng.integers(512 - nh + 1)), int(rng.integers(512 - nw + 1))
        a = s[..., 3:4] / 255.0
        region = canvas[y : y + nh, x : x + nw]
        canvas[y : y + nh, x : x + nw] = region * (1 - a) + s[..., :3] * a
    return np.clip(canvas + 0.5, 0, 255).astype(np.uint8)


# ------------------------------------------------------------------------------------ crops


def random_crops(
    image: np.ndarray, n: int, rng: np.random.Generator, *, size: int = CROP_SIZE,
    min_frac: float = 0.15, min_side: int = 48, min_std: float = MIN_CROP_STD, tries: int = 8,
) -> np.ndarray:  # fmt: skip
    """``n`` random square crops (side log-uniform from ``min_frac`` to 100 % of the shorter side,
    at least ``min_side`` px), resized to ``size`` by :func:`painters.images.resize` (the env's
    resampler), half of them mirrored. uint8 (n, s, s, 3).

    A crop whose grey standard deviation is below ``min_std`` (a patch of smooth sky or of a
    gradient wallpaper: nothing to paint) is redrawn, up to ``tries`` times, then kept.
    """
    h, w = image.shape[:2]
    short = min(h, w)
    lo = min(short, max(min_side, min_frac * short))
    out = np.empty((n, size, size, 3), np.uint8)
    for k in range(n):
        for _ in range(max(1, tries)):
            u, fx, fy, flip = rng.random(4)
            side = max(1, min(short, round(lo * (short / lo) ** u)))
            y0, x0 = int(fy * (h - side + 1)), int(fx * (w - side + 1))
            crop = image[y0 : y0 + side, x0 : x0 + side]
            crop = resize(crop, size, size)
            if cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).std() >= min_std * 255:
                break
        out[k] = crop[:, ::-1] if flip < 0.5 else crop
    return out
