"""Hiding the tiles of a tiled painting: strokes laid by gradient descent over the lines where
its 64 px working tiles meet (:func:`paint_seams`), the last step of an agent painting
(:func:`agents.painting.paint_with_agent`) and the last pass of a gradient painting
(:func:`agents.gradient.paint_images`); and where those lines are (:func:`grid_tiles`,
:func:`seam_lines`, used by :mod:`agents.evaluation.seams` to measure seams).

Why (measurements in ``docs/SEAMS.md``): a stroke lives in its 64 px window, so a tile's
strokes are cut at its edge, and neighbouring tiles painted on their own end in slightly
different tones. Large strokes make it worse (an agent's first level is large washes), fewer
optimisation steps too (a gradient painting of 2,000 strokes at 12 steps per group). Laying an
agent's finer levels half a tile off did not help, nor did refining its first level's strokes
jointly on the whole canvas. What does: strokes painted last, on 64 px windows centred on the
tile junctions, started within a few px of the boundary lines where the error is largest, and
optimised for the loss plus a small penalty on the error's jump across those lines
(:data:`JUMP_WEIGHT`), so a boundary ends up looking like any other line of the painting.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import torch

from painters.compositing import from_uint8, over, to_uint8

TILE = 64
#: Weight of the error jump across tile boundaries in the seam strokes' loss (MSE + weight ×
#: mean |e[x] − e[x − 1]| on the boundary lines): 0 left seam ratios of ~1.2, 0.05 ~1.0, 0.2
#: over-smoothed them (~0.9) at a cost in MSE (docs/SEAMS.md).
JUMP_WEIGHT = 0.05
#: The same weight in a gradient painting's last pass over the seams (``agents.gradient``), which
#: gets 30 % of the strokes and at least
#: ``agents.gradient.tiles.SEAM_STEPS`` steps: 0.05 left 1.20 (gradient) and
#: 1.33 (agent+gradient) on astronaut at 2,000 strokes, 0.2 gave 0.82 and 1.05 at a lower MSE.
GRADIENT_JUMP_WEIGHT = 0.2


def grid_tiles(width: int, height: int) -> list[tuple[int, int, int]]:
    """(left, top, side) px of the 64 px working tiles of a ``width`` × ``height`` painting."""
    from agents.gradient.tiles import tile_windows

    return [(x, y, TILE) for x, y in tile_windows(width, height)]


def seam_lines(
    tiles: Iterable[tuple[int, int, int]], width: int, height: int
) -> tuple[list[int], list[int], list[int], list[int]]:
    """(boundary columns, boundary rows, middle columns, middle rows) of a tile layout, in px of
    the painting. A boundary line ``x`` lies between pixel columns ``x − 1`` and ``x`` (a tile's
    left edge inside the canvas, or the column after its right edge); a middle line splits a tile
    in two halves. Middles that are also boundaries (of another tile) are left out."""
    bx: set[int] = set()
    by: set[int] = set()
    mx: set[int] = set()
    my: set[int] = set()
    for x, y, s in tiles:
        for edge in (x, x + s):
            if 0 < edge < width:
                bx.add(int(edge))
        for edge in (y, y + s):
            if 0 < edge < height:
                by.add(int(edge))
        mx.add(int(x + s // 2))
        my.add(int(y + s // 2))
    return sorted(bx), sorted(by), sorted(mx - bx), sorted(my - by)


def seam_strokes(strokes: int, share: float, width: int, height: int) -> int:
    """How many of ``strokes`` go over the tile boundaries of a ``width`` × ``height`` painting:
    ``share`` of them where it has several working tiles, none where it has one."""
    from agents.gradient.tiles import tile_windows

    if share <= 0 or strokes < 2 or not tile_windows(width, height, shifted=True):
        return 0
    return max(1, min(int(strokes) - 1, round(share * strokes)))


def boundary_band(width: int, height: int, radius: int = 4) -> torch.Tensor:
    """(H, W) 1 within ``radius`` px of a line where the painting's 64 px working tiles meet,
    else 0."""
    bx, by, _, _ = seam_lines(grid_tiles(width, height), width, height)
    band = torch.zeros(height, width)
    for x in bx:
        band[:, max(0, x - radius) : x + radius] = 1.0
    for y in by:
        band[max(0, y - radius) : y + radius, :] = 1.0
    return band


def paint_seams(
    painting: Any,
    target: np.ndarray,
    painter: torch.nn.Module,
    strokes: int,
    *,
    steps: int = 20,
    size: float = 0.35,
    seed: int = 0,
    radius: int = 6,
    jump_weight: float = JUMP_WEIGHT,
    callback=None,
    canvas: torch.Tensor | None = None,
):
    """Lay ``strokes`` more strokes over ``painting`` by gradient descent, on 64 px windows centred
    on the lines where its working tiles meet (:func:`agents.gradient.tile_windows` ``shifted``),
    started within ``radius`` px of those lines where the error is largest; returns the longer
    painting (exact replay as ``canvas``). ``canvas``: the painting's float canvas (3, H, W),
    when the caller has it (the uint8 one is used otherwise: then the result is its replay only
    up to rounding)."""
    from dataclasses import replace

    from agents.gradient.config import GradientConfig
    from agents.gradient.optimiser import optimise_strokes
    from agents.gradient.tiles import allocate, tile_windows, to_global, window_classes
    from painters.painting import Painting

    h, w = painting.height, painting.width
    windows = tile_windows(w, h, shifted=True)
    if strokes <= 0 or not windows:
        return painting
    dev = next(iter(painter.parameters()), torch.empty(0)).device
    tgt = from_uint8(np.asarray(target), dev)
    exact = canvas.detach().float().to(dev).clone() if canvas is not None else None
    canvas = exact.clone() if exact is not None else from_uint8(painting.canvas, dev)
    band = boundary_band(w, h, radius).to(dev)
    err = ((canvas - tgt).pow(2).sum(0) * band).cpu()
    weights = [float(err[y : y + TILE, x : x + TILE].sum()) + 1e-6 for x, y in windows]
    counts = allocate(int(strokes), weights)
    cfg = GradientConfig(strokes=1, groups=1, steps=steps, refine_steps=0, coarse_size=size,
                         fine_size=size, seed=seed)  # fmt: skip
    gen = torch.Generator().manual_seed(seed)
    new_local, new_wins = [], []
    classes = [c for c in window_classes(windows) if any(counts[i] for i in c)]
    total = steps * len(classes)

    def relay(ev: dict) -> None:
        if callback is not None:
            # the event's canvas is a batch of window crops, not the painting: left out
            callback({**ev, "canvas": None, "phase": "seams", "total": total, "advance": 1})

    for cls in classes:
        jobs = [i for i in cls if counts[i]]
        if not jobs:
            continue
        n = max(counts[i] for i in jobs)
        wins = [windows[i] for i in jobs]
        t_c, c_c = _crops(tgt, wins), _crops(canvas, wins)
        b_c = _crops(band[None], wins)[:, 0]

        loss_fn = jump_loss(wins, w, h, jump_weight) if jump_weight > 0 else None

        acts, out = optimise_strokes(
            painter, t_c, replace(cfg, strokes=n), backgrounds=c_c, n_strokes=n,
            generator=gen, counts=[counts[i] for i in jobs], init_fn=band_init(b_c),
            callback=relay, loss_fn=loss_fn,
        )  # fmt: skip
        for j, i in enumerate(jobs):
            x, y = windows[i]
            canvas[:, y : y + TILE, x : x + TILE] = out[j]
            new_local.append(acts[j, : counts[i]].cpu().numpy().astype(np.float32))
            new_wins.append(np.tile(np.array([[x, y]], np.int64), (counts[i], 1)))
    if exact is not None:  # lay the new strokes in order, as a replay does
        with torch.no_grad():
            _lay(exact, painter, np.concatenate(new_local), np.concatenate(new_wins))
        canvas = exact
    la = np.concatenate([np.asarray(painting.local_actions, np.float32), *new_local])
    wi = np.concatenate([np.asarray(painting.windows, np.int64), *new_wins])
    return Painting(
        actions=to_global(la, wi, w, h), local_actions=la, windows=wi, width=w, height=h,
        canvas=to_uint8(canvas), stroke_scale=painting.stroke_scale,
        background=painting.background, brush=painting.brush,
        info={**painting.info, "seam_strokes": int(strokes)}, history=list(painting.history),
    )  # fmt: skip


def jump_loss(windows, width: int, height: int, weight: float = JUMP_WEIGHT, base=None):
    """Per-window loss: ``base`` (default MSE) plus ``weight`` × the mean error jump across the
    tile boundaries inside each 64 px window (``windows``: (x, y) on the painting)."""
    bx, by, _, _ = seam_lines(grid_tiles(width, height), width, height)
    mx = torch.zeros(len(windows), 1, TILE, TILE - 1)
    my = torch.zeros(len(windows), 1, TILE - 1, TILE)
    for j, (x0, y0) in enumerate(windows):
        for x in bx:
            if 0 < x - x0 < TILE:
                mx[j, :, :, x - x0 - 1] = 1.0
        for y in by:
            if 0 < y - y0 < TILE:
                my[j, :, y - y0 - 1, :] = 1.0

    def loss(c: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        e = c - t
        jx = (e[..., :, 1:] - e[..., :, :-1]).abs() * mx.to(e)
        jy = (e[..., 1:, :] - e[..., :-1, :]).abs() * my.to(e)
        n = (mx.sum((1, 2, 3)) + my.sum((1, 2, 3))).to(e).clamp(min=1) * 3
        jump = (jx.sum((1, 2, 3)) + jy.sum((1, 2, 3))) / n
        first = e.pow(2).mean((1, 2, 3)) if base is None else base(c, t)
        return first + weight * jump

    return loss


def band_init(band: torch.Tensor, base=None):
    """An ``init_fn`` that starts strokes where the error is largest *within* ``band`` (B, 64,
    64), the crops of :func:`boundary_band` for a batch of windows; ``base`` is the init it
    focuses (default :func:`agents.gradient.init_actions`)."""
    from agents.gradient.parametrisation import init_actions

    base = base or init_actions

    def init(canvas, target, n, size, generator):
        focus = target + (canvas - target) * band[:, None].to(canvas)
        return base(focus, target, n, size, generator)

    return init


def _crops(image: torch.Tensor, windows) -> torch.Tensor:
    return torch.stack([image[:, y : y + TILE, x : x + TILE] for x, y in windows])


def _lay(canvas: torch.Tensor, painter, local: np.ndarray, windows: np.ndarray) -> None:
    """Draw strokes and lay them in order over ``canvas`` (3, H, W) at their windows, in place,
    with the operations of :func:`painters.replaying.replay_windows`."""
    strokes = painter(torch.from_numpy(local).to(canvas.device)).float()
    for (x, y), s in zip(windows.tolist(), strokes, strict=True):
        view = canvas[:, y : y + TILE, x : x + TILE]
        view.copy_(over(view[None], s[None])[0])
