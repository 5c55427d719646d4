"""How to paint: :class:`GradientConfig`, the tile size, and the brush-size conversions.

Why its own module: every other piece of the gradient painter (parametrisation, optimiser,
tiles, real-brush fit) reads the config, and none of them should need the others to do so.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from painters.renderers.base import DEFAULT_BRUSH

TILE = 64
Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
#: Called as ``callback(event)`` with a dict: ``{"kind": "step", "loss": float, "canvas": (B, 3,
#: H, W) tensor, ...}`` after every optimisation step (canvas only every ``snapshot_every``).
Callback = Callable[[dict], None]
#: Actions (B, n, 12) → the real brush's coverage of each stroke (B, n, H, W).
RealAlphas = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class GradientConfig:
    """How to paint. Defaults: 200 strokes in 64 px in well under a minute on 2 CPU cores.

    Args:
        strokes: total strokes of each painting (split across its tiles).
        groups: number of progressive groups (coarse → fine).
        steps: optimisation steps per group (``None``: chosen from the stroke count).
        refine_steps: steps of the final joint refinement of all strokes of a tile.
        lr: Adam learning rate on the action logits at the start of each group.
        coarse_size / fine_size: brush ``size`` action of the first / last group.
        loss: distance spec, e.g. ``"mse"``, ``"l1"``, ``"mse+0.5*ssim"``, ``"perceptual"``.
        seed: fixes initial positions and orientations: same seed → same painting.
        background: canvas colour (0–255 RGB).
        seam_fraction: share of a grid's strokes painted on half-shifted tiles over the seams.
        snapshot_every: steps between canvas snapshots sent to the callback.
        real_weight: weight of the real-brush proxy loss in the final refinement (when a
            ``real_alphas`` function is given).
        group_real_weight: its weight while the groups of a painting of several brushes are
            optimised (the proxy then lays each group over the real canvas of the groups
            before it); 1, as the neural canvas, measured in docs/BRUSHES.md.
        min_size / max_size: bounds of the ``size`` action (0–1), enforced by the
            parametrisation; see :func:`size_for_fraction` for canvas fractions.
        palette: allowed stroke colours, RGB in [0, 1] (``None``: any colour).
        palette_steps: steps re-optimising the geometry after snapping to the palette
            (``None``: as many as ``refine_steps``).
        brush: MyPaint brush of the real re-render (for the real-brush fit).
        finish_steps: steps of the final joint colour fit for the neural and real canvases
            (with a real seed, no palette; 0: off).
        finish_real_weight: weight of the real canvas in that fit (the neural one has 1): high,
            because the real re-render is the product and the neural canvas the preview.
        finish_scale: the real brush paints that fit at this multiple of the painting's size
            (several brushes: also the straight-through of the groups and the refinement).
    """

    strokes: int = 200
    groups: int = 5
    steps: int | None = None
    refine_steps: int | None = None
    lr: float = 0.1
    coarse_size: float = 0.8
    fine_size: float = 0.3
    loss: str = "mse"
    seed: int = 0
    background: tuple[int, int, int] = (255, 255, 255)
    seam_fraction: float = 0.3
    snapshot_every: int = 5
    real_weight: float = 8.0
    group_real_weight: float = 1.0
    min_size: float = 0.0
    max_size: float = 1.0
    palette: tuple[tuple[float, float, float], ...] | None = None
    palette_steps: int | None = None
    brush: str = DEFAULT_BRUSH
    finish_steps: int = 100
    finish_real_weight: float = 40.0
    finish_scale: float = 1.0

    def __post_init__(self) -> None:
        if self.strokes < 1:
            raise ValueError(f"strokes must be at least 1, got {self.strokes}")
        if self.groups < 1:
            raise ValueError(f"groups must be at least 1, got {self.groups}")
        if self.steps is not None and self.steps < 0:
            raise ValueError(f"steps must be >= 0, got {self.steps}")
        if not 0.0 <= self.seam_fraction < 1.0:
            raise ValueError(f"seam_fraction must be in [0, 1), got {self.seam_fraction}")
        if not 0.0 <= self.min_size <= self.max_size <= 1.0:
            raise ValueError(
                f"stroke size bounds must satisfy 0 <= min <= max <= 1, got "
                f"min_size={self.min_size}, max_size={self.max_size}"
            )
        if self.palette is not None:
            pal = np.asarray(self.palette, dtype=np.float64)
            if pal.ndim != 2 or pal.shape[1] != 3 or len(pal) < 1:
                raise ValueError("palette must be a list of RGB colours, e.g. [(1, 0, 0), ...]")
            if not np.all(np.isfinite(pal)) or pal.min() < 0 or pal.max() > 1:
                raise ValueError("palette colours must be RGB values in [0, 1]")
            self.palette = tuple(tuple(float(c) for c in row) for row in pal)

    def size_range(self, size: float) -> float:
        """``size`` clipped into [min_size, max_size] (initial sizes of the groups)."""
        return min(max(size, self.min_size), self.max_size)

    def snap_steps(self) -> int:
        if self.palette is None:
            return 0
        return self.refine() if self.palette_steps is None else self.palette_steps

    def group_sizes(self, n: int | None = None) -> list[int]:
        """Strokes per group, coarse first: equal shares, the remainder on the last groups."""
        n = self.strokes if n is None else n
        g = max(1, min(self.groups, n))
        base, extra = divmod(n, g)
        return [base + (1 if i >= g - extra else 0) for i in range(g)]

    def steps_per_group(self, n: int | None = None) -> int:
        if self.steps is not None:
            return self.steps
        return 60

    def refine(self) -> int:
        if self.refine_steps is not None:
            return self.refine_steps
        return 30


def size_for_fraction(fraction: float, stroke_scale: float = 1.0) -> float:
    """The ``size`` action whose brush radius is ``fraction`` of the canvas's shorter side.

    MyPaint's radius is ``exp(2·size) · min(W, H) · stroke_scale / 64`` px (see
    :func:`painters.export.stroke_radius`), so size = ½·ln(64 · fraction / stroke_scale). The
    painted band is wider than the radius: about (1.4 + 4.4·pressure) radii for dry_brush.
    """
    if not fraction > 0:
        raise ValueError(f"stroke size fraction must be positive, got {fraction}")
    return 0.5 * math.log(64.0 * fraction / stroke_scale)


def fraction_for_size(size: float, stroke_scale: float = 1.0) -> float:
    """Inverse of :func:`size_for_fraction`: brush radius / shorter canvas side."""
    return math.exp(2.0 * size) * stroke_scale / 64.0
