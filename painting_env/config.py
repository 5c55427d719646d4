"""``PaintingConfig``: the settings of ``Painting-v0``, defined and checked in one place.

:class:`painting_env.env.PaintingEnv`, :class:`painting_env.vector_env.PaintingVectorEnv`
and :class:`painting_env.core.PaintingCore` all take their keyword arguments through this
dataclass, so a setting is named, defaulted, documented and validated once.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from painters.distances import DISTANCES
from painters.limits import whole_number
from painters.loading import painter_name_for
from painters.renderers.base import DEFAULT_BRUSH
from painting_env.observation import OBS_MODES
from painting_env.targets import TargetSource

DEFAULT_MAX_STROKES = 50
#: Largest canvas side in px (a 1,024 px canvas is 12 MB per env in float32).
MAX_SIZE = 1024
#: Most strokes per episode (the env keeps each episode's actions: 48 bytes a stroke a env).
MAX_STROKES = 10_000
RENDER_MODES = (None, "rgb_array")


def check_int(name: str, value: Any, low: int, high: int) -> int:
    """``value`` as an int in [low, high], else a ``ValueError`` naming the setting and limit
    (:func:`painters.limits.whole_number`: 2.5, bools and strings are refused)."""
    return whole_number(name, value, low=low, high=high)


def check_background(background: Any) -> tuple[int, int, int]:
    """An (r, g, b) triple of 0–255 whole numbers."""
    values = np.asarray(background, dtype=object).reshape(-1)
    ok = len(values) == 3 and all(
        not isinstance(v, bool) and isinstance(v, int | np.integer) and 0 <= v <= 255
        for v in values
    )
    if not ok:
        raise ValueError(
            f"background must be an (r, g, b) triple of 0–255 whole numbers, got {background!r}"
        )
    return tuple(int(v) for v in values)  # type: ignore[return-value]


def check_brushes(brushes: Any, renderer: Any) -> tuple[str, ...] | None:
    """``None``, or a tuple of distinct brush names usable with ``renderer``: any MyPaint brush
    for ``"mypaint"``, a brush with a bundled painter for ``"neural"``."""
    if brushes is None:
        return None
    if isinstance(brushes, str):
        brushes = [b.strip() for b in brushes.split(",") if b.strip()]
    names = list(brushes) if isinstance(brushes, list | tuple) else None
    if not names or not all(isinstance(b, str) and b for b in names):
        raise ValueError(f"brushes must be a non-empty list of brush names, got {brushes!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"brushes repeat: {names}; give each brush once")
    if renderer == "neural":
        for b in names:
            painter_name_for(b)  # ValueError naming the bundled brushes and the fix
    elif renderer != "mypaint":
        raise ValueError(
            f"brushes needs renderer='neural' (bundled painters) or 'mypaint', got {renderer!r}"
        )
    return tuple(names)


@dataclass(frozen=True)
class PaintingConfig:
    """Settings of ``Painting-v0`` (checked on construction; see the env's docstring).

    - ``target``: one image: a path or an (H, W, 3) uint8 RGB array; painted as its centred
      square at ``size`` px (:func:`painters.images.prepare_target`, never squashed).
    - ``targets``: a folder (searched recursively for jpg/png), a list of paths/arrays, or
      ``None`` for the bundled sample images (the default).
    - ``renderer``: ``"neural"`` (default, the bundled painter), ``"mypaint"`` (the real brush,
      needs libmypaint), ``"simple"`` (OpenCV strokes), a painter folder, or a painter module.
    - ``size``: canvas side in px, 8 to :data:`MAX_SIZE` (64).
    - ``max_strokes``: strokes per episode, up to :data:`MAX_STROKES` (default 50, rounded up
      to a multiple of ``strokes_per_step``); must be a multiple of ``strokes_per_step``.
    - ``distance``: ``"mse"`` (default), ``"l1"`` or ``"ssim"`` (1 − SSIM).
    - ``strokes_per_step``: k ≥ 1 strokes per action.
    - ``background``: canvas colour, (r, g, b) 0–255 (white).
    - ``brush``: MyPaint brush for ``renderer="mypaint"``.
    - ``brushes``: ``None`` (default: one brush, 12 values a stroke) or K ≥ 1 brush names: each
      stroke then takes 12 + K values and the largest of the last K picks its brush, drawn by
      that brush's bundled painter (``renderer="neural"``) or MyPaint brush (``"mypaint"``).
    - ``device``: torch device of the canvas and painter (``"cpu"``, ``"cuda"``, ``"auto"``).
    - ``render_mode``: ``None`` or ``"rgb_array"``.
    - ``obs_mode``: ``"dict"`` or ``"compact"`` (see :mod:`painting_env.observation`).
    - ``random_crop``: override the crop rule (on for collections, off for one image).
    """

    target: TargetSource = None
    targets: TargetSource = None
    renderer: Any = "neural"
    size: int = 64
    max_strokes: int | None = None
    distance: str = "mse"
    strokes_per_step: int = 1
    background: tuple[int, int, int] = (255, 255, 255)
    brush: str = DEFAULT_BRUSH
    brushes: tuple[str, ...] | None = None
    device: str | torch.device = "cpu"
    render_mode: str | None = None
    obs_mode: str = "dict"
    random_crop: bool | None = None

    def __post_init__(self) -> None:
        k = check_int("strokes_per_step", self.strokes_per_step, 1, MAX_STROKES)
        max_strokes = self.max_strokes
        if max_strokes is None:
            max_strokes = -(-DEFAULT_MAX_STROKES // k) * k
        max_strokes = check_int("max_strokes", max_strokes, 1, MAX_STROKES)
        if max_strokes % k:
            raise ValueError(
                f"max_strokes ({max_strokes}) must be a positive multiple of strokes_per_step ({k})"
            )
        size = check_int("size", self.size, 8, MAX_SIZE)
        if self.obs_mode not in OBS_MODES:
            raise ValueError(
                f"unknown obs_mode {self.obs_mode!r}; choose one of {', '.join(OBS_MODES)}"
            )
        if self.distance not in DISTANCES:
            raise ValueError(
                f"unknown distance {self.distance!r}; choose one of {', '.join(DISTANCES)}"
            )
        if self.render_mode not in RENDER_MODES:
            raise ValueError(f"unknown render_mode {self.render_mode!r}; use None or 'rgb_array'")
        if self.target is not None and self.targets is not None:
            raise ValueError("give either target (one image) or targets (a collection), not both")
        if self.random_crop is not None and not isinstance(self.random_crop, bool):
            raise ValueError(f"random_crop must be True, False or None, got {self.random_crop!r}")
        fixed = {
            "brushes": check_brushes(self.brushes, self.renderer),
            "strokes_per_step": k,
            "max_strokes": max_strokes,
            "size": size,
            "background": check_background(self.background),
        }
        for name, value in fixed.items():
            object.__setattr__(self, name, value)

    def replace(self, **changes: Any) -> PaintingConfig:
        """A copy with ``changes`` applied (and checked)."""
        return dataclasses.replace(self, **changes)


def make_config(config: PaintingConfig | None, kwargs: dict[str, Any]) -> PaintingConfig:
    """The envs' constructors: a ready config, or keyword arguments to build one (not both)."""
    if config is None:
        return PaintingConfig(**kwargs)
    if not isinstance(config, PaintingConfig):
        raise TypeError(f"config must be a PaintingConfig, got {type(config).__name__}")
    return config.replace(**kwargs) if kwargs else config
