"""Tiles: any canvas of at least 64 px per side is painted as 64 px windows (the painter's).

Where tiles go (:func:`tile_windows`), which can be painted at once (:func:`window_classes`), how
many strokes each gets (:func:`window_weights`, :func:`allocate`), the passes of a painting
(:func:`plan_passes`), and the map from window-local actions to the whole canvas
(:func:`to_global`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import torch

from agents.gradient.config import TILE, GradientConfig
from agents.gradient.parametrisation import _blur
from painters import actions as A


def canvas_size(width: int, height: int, grid: int = 1) -> tuple[int, int]:
    """Working canvas (W, H) for an image of ``width`` × ``height`` px: the shorter side is
    ``grid`` tiles (64·grid px), the longer one keeps the aspect ratio (rounded to a pixel), so a
    3:2 photo becomes 96 × 64 with ``grid=1`` and 192 × 128 with ``grid=2``. No crop, no
    distortion beyond half a pixel of rounding."""
    if width < 1 or height < 1:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    if grid < 1:
        raise ValueError(f"grid must be at least 1, got {grid}")
    short = TILE * int(grid)
    if width >= height:
        return max(short, round(short * width / height)), short
    return short, max(short, round(short * height / width))


def auto_grid(strokes: int) -> int:
    """The ``--grid`` for a painting of ``strokes`` strokes when none is given: about one 64 px
    tile per 125 strokes, rounded down (1 up to 499 strokes, 2 from 500, 3 from 1,125, 4 from
    2,000, 5 from 3,125; at most 8). Paintings of a few hundred strokes keep their single tile
    (what ``--grid`` defaulted to before); the default 2,000 strokes get the 256 px canvas
    measured in docs/SEAMS.md."""
    return int(min(8, max(1, math.isqrt(max(1, int(strokes)) // 125))))


def _axis_positions(length: int) -> list[int]:
    """Left edges of ``ceil(length/64)`` tiles evenly spread over ``length`` px (overlapping
    where ``length`` is not a multiple of 64)."""
    n = math.ceil(length / TILE)
    if n == 1:
        return [0]
    return [round(i * (length - TILE) / (n - 1)) for i in range(n)]


def tile_windows(width: int, height: int, shifted: bool = False) -> list[tuple[int, int]]:
    """(left, top) of the 64 px tiles covering a canvas, row by row; ``shifted`` gives the
    tiles over the seams between neighbouring tiles, which hide them: centred on each junction
    (midway in each direction that has several tiles), then, so that every boundary line is
    covered to the canvas edge, the tiles at the canvas's borders centred on the boundaries that
    reach them (their half-tile ends are no junction tile's). Sides need not be multiples of
    64: tiles then overlap."""
    if width < TILE or height < TILE:
        raise ValueError(f"canvas sides must be at least {TILE} px, got {width}x{height}")
    xs, ys = _axis_positions(width), _axis_positions(height)
    if not shifted:
        return [(x, y) for y in ys for x in xs]
    if len(xs) == 1 and len(ys) == 1:
        return []
    mx = [(a + b) // 2 for a, b in zip(xs[:-1], xs[1:], strict=True)]
    my = [(a + b) // 2 for a, b in zip(ys[:-1], ys[1:], strict=True)]
    if not mx or not my:  # one row or one column of tiles: the junction tiles span the lines
        return [(x, y) for y in my or ys for x in mx or xs]
    out = [(x, y) for y in my for x in mx]
    out += [(x, y) for y in sorted({ys[0], ys[-1]}) for x in mx]
    out += [(x, y) for y in my for x in sorted({xs[0], xs[-1]})]
    return out


def window_classes(windows: Sequence[tuple[int, int]]) -> list[list[int]]:
    """Split windows (in order) into classes of non-overlapping 64 px windows, greedily.

    Why: the tiles of a class are painted at once as one batch, each on a crop of the same
    canvas; overlapping tiles are painted one class after the other, each on the canvas the
    previous class left, so the canvas always equals the strokes laid in order."""
    classes: list[list[int]] = []
    for i, (x, y) in enumerate(windows):
        for cls in classes:
            if all(abs(x - windows[j][0]) >= TILE or abs(y - windows[j][1]) >= TILE for j in cls):
                cls.append(i)
                break
        else:
            classes.append([i])
    return classes


def allocate(total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` strokes in proportion to ``weights`` (largest remainders; ties go to the
    earlier item), so the counts add up to exactly ``total``."""
    w = np.maximum(np.asarray(weights, np.float64), 0.0)
    if len(w) == 0:
        return []
    w = np.ones_like(w) if w.sum() <= 0 else w
    share = total * w / w.sum()
    counts = np.floor(share).astype(np.int64)
    rest = int(total - counts.sum())
    order = sorted(range(len(w)), key=lambda i: (-(share[i] - counts[i]), i))
    for i in order[:rest]:
        counts[i] += 1
    return counts.tolist()


def window_weights(
    canvas: torch.Tensor, target: torch.Tensor, windows: Sequence[tuple[int, int]]
) -> torch.Tensor:
    """How many strokes each window deserves, (B, n_windows): the area it owns (pixels covered
    by k windows count 1/k to each) weighted by 1 + the target's detail + the current error,
    each relative to its image mean, so busy or badly painted parts get more strokes."""
    b, _, h, w = target.shape
    err = _blur((canvas - target).pow(2).sum(1, keepdim=True), 9)[:, 0]
    detail = _blur((target - _blur(target, 5)).abs().sum(1, keepdim=True), 9)[:, 0]
    score = 1.0 + err / (err.mean((1, 2), keepdim=True) + 1e-8)
    score = score + detail / (detail.mean((1, 2), keepdim=True) + 1e-8)
    cover = torch.zeros(h, w, dtype=score.dtype)
    for x, y in windows:
        cover[y : y + TILE, x : x + TILE] += 1
    owned = score / cover.clamp(min=1).to(score)
    return torch.stack([owned[:, y : y + TILE, x : x + TILE].sum((1, 2)) for x, y in windows], 1)


def to_global(local: np.ndarray, windows: np.ndarray, width: int, height: int) -> np.ndarray:
    """Map window-local actions (fractions of a 64 px window at ``windows`` (N, 2)) to fractions
    of the whole ``width`` × ``height`` canvas. Sizes stay: the brush radius follows
    ``stroke_scale = 64 / min(width, height)`` at re-render time."""
    g = np.array(local, dtype=np.float64, copy=True)
    win = np.asarray(windows, dtype=np.float64)
    for ix, iy in ((A.CONTROL_X, A.CONTROL_Y), (A.END_X, A.END_Y), (A.START_X, A.START_Y)):
        g[:, ix] = (win[:, 0] + g[:, ix] * TILE) / width
        g[:, iy] = (win[:, 1] + g[:, iy] * TILE) / height
    return np.clip(g, 0.0, 1.0).astype(np.float32)


def _crops(images: torch.Tensor, jobs: list[tuple[int, int, int]]) -> torch.Tensor:
    return torch.stack([images[b, :, y : y + TILE, x : x + TILE] for b, x, y in jobs])


def plan_passes(
    config: GradientConfig, width: int, height: int
) -> list[tuple[list[tuple[int, int]], GradientConfig]]:
    """The passes that paint a ``width`` × ``height`` canvas: (tile windows, config) each, the
    config's ``strokes`` being the pass's total over its windows (all passes add up to
    ``config.strokes``).

    One tile: a single pass. Several: the coarse half of the groups on the tiles, the fine half
    on the tiles, then a pass on tiles over the seams (``seam_fraction`` of the strokes, fine
    brushes, optimised to hide the tile boundaries: :mod:`agents.gradient.seams`).
    """
    cfg = scaled_steps(config)
    tiles = tile_windows(width, height)
    if len(tiles) == 1 or len(cfg.group_sizes()) < 2:
        return [(tiles, cfg)]
    seams = tile_windows(width, height, shifted=True)
    n_seam = round(cfg.seam_fraction * cfg.strokes) if seams else 0
    groups = cfg.group_sizes(cfg.strokes - n_seam)
    half = max(1, len(groups) // 2)
    n_coarse = sum(groups[:half])
    mid = cfg.coarse_size + (cfg.fine_size - cfg.coarse_size) * half / max(1, len(groups) - 1)
    passes = [(tiles, replace(cfg, strokes=n_coarse, groups=half, fine_size=mid))]
    n_fine = cfg.strokes - n_seam - n_coarse
    if n_fine > 0:
        rest = replace(cfg, strokes=n_fine, groups=len(groups) - half)
        passes.append((tiles, replace(rest, coarse_size=mid)))
    if n_seam > 0:  # last, so nothing painted after it cuts the tiles again
        seam = replace(cfg, strokes=n_seam, groups=1, coarse_size=cfg.fine_size)
        if config.steps is None:  # default steps: the seam pass gets enough to hide the seams
            seam = replace(seam, steps=max(SEAM_STEPS[0], seam.steps_per_group()))
        if config.refine_steps is None:
            seam = replace(seam, refine_steps=max(SEAM_STEPS[1], seam.refine()))
        passes.append((seams, seam))
    return passes


#: Optimisation and refinement steps of the seam pass at least, when the steps are the defaults:
#: the 12 and 6 of a 2,000-stroke painting left its seams showing (docs/SEAMS.md).
SEAM_STEPS = (30, 10)
#: Strokes above which the default steps shrink (:func:`scaled_steps`).
STEP_STROKES = 400
#: Strokes optimised in one batch at most (tiles of a class are split into batches of at most
#: this many strokes): memory is ~0.4 MB per stroke in a batch, so ~200 MB, whatever the size of
#: the painting; the time is the same as one big batch.
MAX_BATCH_STROKES = 512


def scaled_steps(config: GradientConfig) -> GradientConfig:
    """``config`` with its default steps (``steps`` / ``refine_steps`` left at ``None``) scaled
    down for a large painting: 60 steps per group and 30 of refinement up to
    :data:`STEP_STROKES` strokes, then in proportion to ``STEP_STROKES / strokes`` (at least 10
    and 5), so the work (strokes × steps) stops growing with the stroke count: 2,000 strokes get
    12 and 6 steps and paint in under a minute. Explicit steps are kept."""
    cfg = config
    if cfg.strokes <= STEP_STROKES or (cfg.steps is not None and cfg.refine_steps is not None):
        return cfg
    f = STEP_STROKES / cfg.strokes
    steps = cfg.steps if cfg.steps is not None else max(10, round(60 * f))
    refine = cfg.refine_steps if cfg.refine_steps is not None else max(5, round(30 * f))
    return replace(cfg, steps=steps, refine_steps=refine)


def batches(jobs: Sequence, counts: Sequence[int]) -> list[list[int]]:
    """Indices of ``jobs`` (one tile each, ``counts`` strokes each, optimised as one batch padded
    to the largest count) split in order into batches of at most :data:`MAX_BATCH_STROKES`
    padded strokes."""
    out: list[list[int]] = []
    cur: list[int] = []
    for i in range(len(jobs)):
        n = max([counts[j] for j in cur] + [counts[i]])
        if cur and n * (len(cur) + 1) > MAX_BATCH_STROKES:
            out.append(cur)
            cur = []
        cur.append(i)
    return out + ([cur] if cur else [])


def total_steps(
    config: GradientConfig, width: int = TILE, height: int = TILE, brushes: int = 1
) -> int:
    """Optimisation steps :func:`paint_images` will take for one image without counts (for
    progress bars; an upper bound when there are fewer strokes than tiles or groups, or when
    busy tiles get more strokes and split a class into more batches). ``brushes``: each group
    is painted once per brush."""
    total = 0
    for windows, c in plan_passes(config, width, height):
        per = brushes * len(c.group_sizes()) * c.steps_per_group() + c.refine() + c.snap_steps()
        for cls in window_classes(windows):
            n = -(-c.strokes // len(windows))
            total += per * len(batches(cls, [n] * len(cls)))
    return total


def window_alphas(
    alphas: torch.Tensor, windows: np.ndarray, width: int, height: int
) -> torch.Tensor:
    """Place per-stroke 64 px coverage maps (N, 64, 64) at their windows on the whole canvas:
    (N, H, W), zero outside each window."""
    out = alphas.new_zeros(len(alphas), height, width)
    for i, (x, y) in enumerate(np.asarray(windows).tolist()):
        out[i, y : y + TILE, x : x + TILE] = alphas[i]
    return out
