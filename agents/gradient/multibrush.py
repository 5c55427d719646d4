"""Gradient painting with several brushes: which brush each stroke uses.

The optimiser paints in progressive groups (coarse to fine). With a
:class:`painters.brushes.MultiBrushPainter` of K brushes, each group of each tile is painted K
times from the same start, once with every brush's painter, and keeps the brush whose canvas is
closer to the target (:func:`pick_brush`): a greedy choice per group, so the painting is never
worse than painting that group with either brush alone on the same canvas. A relaxed choice
(softmax weights over the brushes, made hard at the end) from a random start was measured worse
than the dry brush alone (docs/BRUSHES.md). The joint refinement then moves all strokes with
their brushes fixed (:class:`AssignedBrushes`), and the real-brush fit renders each stroke with
its own MyPaint brush (:func:`agents.gradient.real_brush.mixed_alphas`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from painters.brushes import MultiBrushPainter


def is_multi(painter: nn.Module) -> bool:
    """True for a :class:`MultiBrushPainter` of two or more brushes."""
    return isinstance(painter, MultiBrushPainter) and len(painter) > 1


class AssignedBrushes(nn.Module):
    """``painter`` with a fixed brush per stroke: ``forward(actions)`` for the flattened (B·n,
    12) actions draws row i with brush ``brush_index.reshape(-1)[i]``."""

    def __init__(self, painter: MultiBrushPainter, brush_index: torch.Tensor) -> None:
        super().__init__()
        self.painter = painter
        self.size = painter.size
        self.register_buffer("index", brush_index.reshape(-1).long(), persistent=False)

    def forward(self, actions: torch.Tensor) -> torch.Tensor:
        if len(actions) != len(self.index):
            raise ValueError(f"{len(actions)} strokes for {len(self.index)} assigned brushes")
        return self.painter(actions, self.index)


def pick_brush(
    losses: Sequence[torch.Tensor],
) -> torch.Tensor:
    """Per batch item, the index of the brush with the lowest loss (ties: the first)."""
    return torch.stack([loss.detach().reshape(-1) for loss in losses], 1).argmin(1)
