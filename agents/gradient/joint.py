"""Joint refinement of every stroke of a painting on the whole canvas
(:func:`refine_jointly`), with each stroke kept in its 64 px window.

Why: a painting made tile by tile, or by an agent level by level, has strokes that overlap
across tiles and levels; only the whole canvas tells a stroke what it covers. The strokes are
drawn by the painter in their windows and placed on the canvas (:class:`PlacedStrokes`), so
the optimiser (:func:`agents.gradient.optimiser._optimise`), the brush re-choice of a painting
of several brushes (:class:`agents.gradient.multibrush.Reassigner`) and the straight-through
real brush work on it unchanged. It holds every stroke's layer at the canvas's size:
``strokes × width × height`` is bounded by the caller.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from agents.gradient.config import TILE, Callback, GradientConfig, Loss
from agents.gradient.losses import make_loss
from agents.gradient.multibrush import (
    REASSIGN_EVERY,
    REASSIGN_UNTIL,
    AssignedBrushes,
    Reassigner,
    is_multi,
)
from agents.gradient.optimiser import _optimise
from agents.gradient.parametrisation import StrokeParams
from agents.gradient.real_brush import canvas_alphas, real_renderer
from agents.gradient.tiles import to_global
from painters import actions as A

#: Steps between two renders of the real brushes' coverage in :func:`refine_jointly`.
REAL_EVERY = 10


class PlacedStrokes(nn.Module):
    """``painter`` with every stroke placed on the whole canvas: ``forward(actions (N, 12))``
    draws row i in its 64 px window at ``windows[i]`` (x, y) of a ``width`` × ``height``
    canvas: (N, 4, height, width), zero outside the window. Differentiable like the painter."""

    def __init__(self, painter: nn.Module, windows: np.ndarray, width: int, height: int) -> None:
        super().__init__()
        wins = np.asarray(windows, np.int64).reshape(-1, 2)
        self.painter, self.width, self.height, self.n = painter, int(width), int(height), len(wins)
        self.size = TILE
        keys = sorted({(int(x), int(y)) for x, y in wins.tolist()})
        self.pads = [(x, width - TILE - x, y, height - TILE - y) for x, y in keys]
        rows = [np.flatnonzero((wins[:, 0] == x) & (wins[:, 1] == y)) for x, y in keys]
        self.rows = [torch.from_numpy(r) for r in rows]
        order = np.concatenate(rows) if rows else np.zeros(0, np.int64)
        self.inverse = torch.from_numpy(np.argsort(order))

    def forward(self, actions: torch.Tensor) -> torch.Tensor:
        if len(actions) != self.n:
            raise ValueError(f"{len(actions)} strokes for {self.n} windows")
        strokes = self.painter(actions)
        if len(self.pads) == 1:
            return F.pad(strokes, self.pads[0])
        dev = strokes.device
        parts = [
            F.pad(strokes[r.to(dev)], pad) for r, pad in zip(self.rows, self.pads, strict=True)
        ]
        return torch.cat(parts)[self.inverse.to(dev)]


class PlacedBrushes:
    """The brushes of a :class:`painters.brushes.MultiBrushPainter` as whole-canvas painters
    (one :class:`PlacedStrokes` each), for :func:`agents.gradient.multibrush.reassign`."""

    def __init__(self, painter: nn.Module, windows: np.ndarray, width: int, height: int) -> None:
        self.painters = [PlacedStrokes(p, windows, width, height) for p in painter.painters]
        self.brushes = list(painter.brushes)

    def __len__(self) -> int:
        return len(self.painters)


def refine_jointly(
    painter: nn.Module,
    local: np.ndarray,
    windows: np.ndarray,
    target: torch.Tensor,
    *,
    background: Sequence[int] = (255, 255, 255),
    brush_index: np.ndarray | None = None,
    config: GradientConfig | None = None,
    steps: int = 120,
    lr: float = 0.05,
    loss_fn: Loss | None = None,
    real_seed: int | None = None,
    real_scale: float = 1.0,
    real_every: int | None = None,
    callback: Callback | None = None,
) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    """Adam (cosine ``lr`` → ``lr``/10) on all strokes of a painting at once: ``local``
    (N, 12) actions in their 64 px ``windows`` (N, 2) of the canvas of ``target`` (3, H, W),
    laid in order over ``background``; the loss is ``loss_fn`` (default MSE) on the whole
    canvas. Returns (refined local actions (N, 12) in [0, 1], each stroke's brush index (N,),
    the final neural canvas (3, H, W)).

    With a :class:`painters.brushes.MultiBrushPainter` of several brushes (stroke i starting
    with ``brush_index[i]``, default the first brush), strokes move to the brush that lowers the
    loss most every :data:`REASSIGN_EVERY` steps until :data:`REASSIGN_UNTIL` of them, as in
    gradient painting (:mod:`agents.gradient.multibrush`).

    ``real_seed``: also paint for the real MyPaint brush (each stroke's own; ``config.brush``
    with one painter) of the re-render with that seed: the loss adds ``config.real_weight`` ×
    the loss of the canvas drawn with the real brushes' coverage (straight-through: the
    painter's gradient), each stroke rendered alone on the whole canvas at ``real_scale`` × its
    size (:func:`agents.gradient.real_brush.canvas_alphas`), every ``real_every`` steps.
    Without libmypaint that term is left out.
    """
    cfg = config or GradientConfig()
    h, w = target.shape[-2:]
    n = len(local)
    dev = target.device
    multi = is_multi(painter)
    index = np.zeros(n, np.int64) if brush_index is None else np.asarray(brush_index, np.int64)
    if index.shape != (n,):
        raise ValueError(f"brush_index needs one brush per stroke ({n}), got {index.shape}")
    if n == 0:
        bg = torch.tensor(background, dtype=torch.float32, device=dev).view(3, 1, 1) / 255.0
        return np.zeros((0, A.ACTION_DIM), np.float32), index, bg.expand(3, h, w).clone()
    tgt = target.detach().float()[None]
    base = torch.tensor(background, dtype=torch.float32, device=dev).view(1, 3, 1, 1) / 255.0
    base = base.expand_as(tgt).contiguous()
    params = StrokeParams(cfg)
    acts = torch.from_numpy(np.ascontiguousarray(local, np.float32)).to(dev)[None]
    logits = params.encode(acts.clamp(0.0, 1.0))
    hook, assigned = None, None
    if multi:
        assigned = AssignedBrushes(painter, torch.from_numpy(index).to(dev))
        draw = PlacedStrokes(assigned, windows, w, h)
        hook = Reassigner(assigned, params, base, tgt, None, REASSIGN_EVERY,
                          int(steps * REASSIGN_UNTIL), brushes=PlacedBrushes(painter, windows, w, h))  # fmt: skip
    else:
        draw = PlacedStrokes(painter, windows, w, h)
    real = None
    names = list(painter.brushes) if multi else [cfg.brush]
    # without libmypaint (warned) the neural canvas alone
    if real_seed is not None and all(
        real_renderer(TILE, b, int(real_seed)) is not None for b in names
    ):
        wins = np.asarray(windows, np.int64)

        def real(a: torch.Tensor) -> torch.Tensor:
            idx = assigned.index.cpu().numpy() if assigned is not None else index
            g = to_global(np.clip(a[0].detach().cpu().numpy(), 0.0, 1.0), wins, w, h)
            return canvas_alphas(names, idx, g, w, h, real_scale, int(real_seed))[None]

    info = {"stage": "refine", "phase": "refine", "total": int(steps)}
    logits, canvas = _optimise(
        draw, base, tgt, logits, loss_fn or make_loss(cfg.loss), int(steps), lr, callback, info,
        max(1, cfg.snapshot_every), real, cfg.real_weight, max(1, int(real_every or REAL_EVERY)),
        params=params, hook=hook,
    )  # fmt: skip
    with torch.no_grad():
        out = params.decode(logits)[0].clamp(0.0, 1.0).cpu().numpy().astype(np.float32)
    final = assigned.index.cpu().numpy().copy() if assigned is not None else index
    return out, final, canvas[0]
