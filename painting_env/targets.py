"""Target images for the painting env: where they come from and how each episode picks one.

A :class:`TargetSet` turns any of the accepted sources (a path, an (H, W, 3) uint8 array, a
folder searched recursively for jpg/png, a list of these, or the bundled samples) into a list
of decoded RGB images, and :meth:`TargetSet.sample` draws one target per episode with the env's
own ``np_random``, so the same seed always gives the same target. Collections are randomly
cropped (square crops) and flipped (training variety); a single target is prepared once by
:func:`painters.images.prepare_target`, the preparation ``neural-paint`` uses too: the largest
centred square of the image (a non-square photo is cropped, never squashed), area-averaged to
the canvas (bicubic when the image is smaller). Every resize goes through
:func:`painters.images.resize`, the project's one resampler (docs/TARGETS.md).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from painters.images import load_image, prepare_target, resize

SAMPLES_DIR = Path(__file__).parent / "samples"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
#: Decoded images are kept in memory when there are at most this many (else decoded per use).
EAGER_LIMIT = 512
#: Smallest crop side, as a fraction of the image's shorter side (random crops only).
MIN_CROP = 0.6

TargetSource = str | os.PathLike | np.ndarray | Sequence["str | os.PathLike | np.ndarray"] | None


def bundled_targets() -> list[Path]:
    """The sample images shipped with the package (the default targets)."""
    return sorted(p for p in SAMPLES_DIR.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def _check_array(image: np.ndarray, what: str = "target array") -> np.ndarray:
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(
            f"{what} must be uint8 with shape (H, W, 3) (RGB), got {image.dtype} "
            f"{tuple(image.shape)}; convert with np.asarray(PIL.Image.open(p).convert('RGB'))"
        )
    if min(image.shape[:2]) < 1:
        raise ValueError(f"{what} is empty: shape {tuple(image.shape)}")
    return np.ascontiguousarray(image)


def _expand(source, out: list) -> None:
    """Flatten a source into ``out``: Paths of image files and uint8 arrays."""
    if isinstance(source, np.ndarray):
        if source.ndim == 4:  # a stack of images
            out.extend(_check_array(im) for im in source)
        else:
            out.append(_check_array(source))
        return
    if isinstance(source, str | os.PathLike):
        p = Path(source).expanduser()
        if p.is_dir() and any(p.glob("*.npz")):  # crops from scripts/make_targets.py
            from painting_env.target_shards import TargetShards

            out.extend(TargetShards(p).images)
            return
        if p.is_dir():
            files = sorted(
                f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES
            )
            if not files:
                raise ValueError(
                    f"no .jpg/.jpeg/.png images under folder {p}; add some or pass a file"
                )
            out.extend(files)
        elif p.is_file():
            out.append(p)
        else:
            raise FileNotFoundError(f"target image not found: {p}; pass an existing file or folder")
        return
    if isinstance(source, Sequence):
        if len(source) == 0:
            raise ValueError("the list of targets is empty; give at least one image")
        for item in source:
            _expand(item, out)
        return
    raise TypeError(
        f"unsupported target source of type {type(source).__name__}; give a path, a folder, "
        "an (H, W, 3) uint8 array or a list of these"
    )


def _shrink(image: np.ndarray, side: int) -> np.ndarray:
    """Downscale so the shorter side is at most ``side`` (keeps memory and resize cost low)."""
    h, w = image.shape[:2]
    s = min(h, w)
    if s <= side:
        return image
    f = side / s
    return resize(image, max(1, round(w * f)), max(1, round(h * f)))


class TargetSet:
    """Images an env paints, and the rule for drawing one per episode.

    Args:
        source: a path, a folder (recursive jpg/png), an (H, W, 3) uint8 array, a list of these,
            or ``None`` / ``"bundled"`` for the package's sample images.
        size: side of the square canvas the target is resized to.
        random_crop: random square crop (60–100 % of the shorter side) and horizontal flip per
            episode. ``None`` means: on for collections of several images, off for one image.
            Off: every image is its :func:`painters.images.prepare_target` at ``size`` (centred
            square crop, resized once).
    """

    def __init__(
        self, source: TargetSource = None, size: int = 64, *, random_crop: bool | None = None
    ) -> None:
        if source is None or (isinstance(source, str) and source == "bundled"):
            source = bundled_targets()
            if not source:
                raise FileNotFoundError(f"no bundled sample images in {SAMPLES_DIR}; reinstall")
        items: list[Path | np.ndarray] = []
        _expand(source, items)
        self.size = int(size)
        self.random_crop = len(items) > 1 if random_crop is None else bool(random_crop)
        #: Decoded images are shrunk to this shorter side: enough detail for any crop.
        self._keep = max(4 * self.size, 64)
        self._items = items
        self._cache: dict[int, np.ndarray] = {}
        if len(items) <= EAGER_LIMIT:  # decode now, so a corrupt file fails at construction
            for i in range(len(items)):
                self._image(i)

    def __len__(self) -> int:
        return len(self._items)

    def _image(self, i: int) -> np.ndarray:
        if i in self._cache:
            return self._cache[i]
        item = self._items[i]
        image = item if isinstance(item, np.ndarray) else load_image(item)
        if self.random_crop:  # crops need detail, not the whole photo
            image = _shrink(image, self._keep)
        else:  # the target never changes: prepared once, as neural-paint prepares it
            image = prepare_target(image, self.size, self.size)
        if len(self._items) <= EAGER_LIMIT:
            self._cache[i] = image
        return image

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """One target, uint8 (size, size, 3), drawn with ``rng`` (deterministic under its seed).

        The number of draws from ``rng`` is fixed (index, scale, x, y, flip) whether or not
        cropping is on, so sub-envs and single envs stay in step.
        """
        i = int(rng.integers(len(self._items)))
        scale, fx, fy, flip = rng.random(4)
        image = self._image(i)
        if not self.random_crop:
            return image.copy()
        h, w = image.shape[:2]
        side = max(1, round((MIN_CROP + (1.0 - MIN_CROP) * scale) * min(h, w)))
        y0 = int(fy * (h - side + 1))
        x0 = int(fx * (w - side + 1))
        crop = image[y0 : y0 + side, x0 : x0 + side]
        if flip < 0.5:
            crop = crop[:, ::-1]
        return resize(crop, self.size, self.size)
