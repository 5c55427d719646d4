"""Several brushes in one painting: which painter imitates which brush, and drawing a batch of
strokes whose brushes differ, each through its own painter.

>>> mb = load_painters(["classic/dry_brush", "classic/pen"])   # a MultiBrushPainter
>>> strokes = mb(actions, brush_index)   # (B, 12), (B,) ints -> (B, 4, 64, 64), differentiable
>>> strokes = mb(actions, weights=w)     # (B, K) weights: a relaxed (soft) choice of brush

Bundled painters are found by brush name (``load_painter("classic/pen")``); any other brush
needs a painter trained for it (``neural-paint-train-painter --brush NAME --out DIR``), passed
as ``{brush: folder}``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import torch
from torch import nn

from painters.loading import BUNDLED_BRUSHES, bundled_brushes, load_painter, painter_name_for

__all__ = [
    "BUNDLED_BRUSHES",
    "MultiBrushPainter",
    "bundled_brushes",
    "load_painters",
    "painter_name_for",
    "render_brushes",
]


class MultiBrushPainter(nn.Module):
    """Painters for K brushes behind one call: ``forward(actions, brush_index)`` draws stroke i
    with painter ``brush_index[i]``; ``forward(actions, weights=w)`` mixes the K painters'
    strokes with weights (B, K) (rows summing to 1: a relaxed choice of brush that gradient
    descent can move; make it hard with ``w.argmax(1)`` at the end).

    Gradients flow to the actions (and weights), never to the frozen painters. Stochastic
    painters take their own keyword arguments through ``**kwargs`` (``noise=`` is not split
    per brush: pass deterministic painters or none).
    """

    def __init__(self, painters: Sequence[nn.Module], brushes: Sequence[str]) -> None:
        super().__init__()
        if len(painters) != len(brushes) or not painters:
            raise ValueError("give one painter per brush, at least one")
        if len(set(brushes)) != len(brushes):
            raise ValueError(f"brushes repeat: {list(brushes)}")
        sizes = {int(getattr(p, "size", 64)) for p in painters}
        if len(sizes) != 1:
            raise ValueError(f"painters draw different stroke sizes {sorted(sizes)}")
        self.painters = nn.ModuleList(painters)
        self.brushes: list[str] = [str(b) for b in brushes]
        self.size = sizes.pop()
        self.stochastic = any(getattr(p, "stochastic", False) for p in painters)

    def __len__(self) -> int:
        return len(self.brushes)

    def index_of(self, brushes: str | Sequence[str]) -> torch.Tensor:
        """Brush names → indices into :attr:`brushes` (LongTensor); unknown → ``ValueError``."""
        names = [brushes] if isinstance(brushes, str) else list(brushes)
        unknown = sorted({b for b in names if b not in self.brushes})
        if unknown:
            raise ValueError(f"brush(es) {unknown} not among this painter's {self.brushes}")
        return torch.tensor([self.brushes.index(b) for b in names], dtype=torch.long)

    def forward(
        self,
        actions: torch.Tensor,
        brush_index: torch.Tensor | Sequence[int] | int | None = None,
        *,
        weights: torch.Tensor | None = None,
        **kwargs,
    ) -> torch.Tensor:
        if weights is not None:
            if brush_index is not None:
                raise ValueError("give brush_index or weights, not both")
            if weights.shape != (len(actions), len(self)):
                raise ValueError(
                    f"weights must be (B, K) = ({len(actions)}, {len(self)}), "
                    f"got {tuple(weights.shape)}"
                )
            out = 0
            for k, p in enumerate(self.painters):
                out = out + weights[:, k, None, None, None] * p(actions, **kwargs)
            return out
        if brush_index is None:
            brush_index = 0
        idx = torch.as_tensor(brush_index, dtype=torch.long, device=actions.device)
        if idx.ndim == 0:
            idx = idx.expand(len(actions))
        if idx.shape != (len(actions),):
            raise ValueError(f"brush_index needs one entry per action, got {tuple(idx.shape)}")
        if len(idx) and (int(idx.min()) < 0 or int(idx.max()) >= len(self)):
            raise ValueError(f"brush_index out of range 0..{len(self) - 1}")
        used = torch.unique(idx).tolist()
        if len(used) == 1:  # one brush: no scatter
            return self.painters[used[0]](actions, **kwargs)
        parts = {k: self.painters[k](actions[idx == k], **kwargs) for k in used}
        first = next(iter(parts.values()))
        out = first.new_zeros((len(actions), *first.shape[1:]))
        for k, s in parts.items():
            out = out.index_put((torch.nonzero(idx == k).squeeze(1),), s)
        return out


def load_painters(
    brushes: Sequence[str] | Mapping[str, str | os.PathLike | nn.Module],
    device: str | torch.device = "cpu",
) -> MultiBrushPainter:
    """A :class:`MultiBrushPainter` for ``brushes``: a list of brush names (each finds its
    bundled painter) or ``{brush: painter}`` with a painter folder, bundled name or module."""
    if isinstance(brushes, str):
        brushes = [b.strip() for b in brushes.split(",") if b.strip()]
    items = (
        list(brushes.items())
        if isinstance(brushes, Mapping)
        else [(b, painter_name_for(b)) for b in brushes]
    )
    if not items:
        raise ValueError("give at least one brush")
    painters = [load_painter(spec, device) for _, spec in items]
    return MultiBrushPainter(painters, [b for b, _ in items])


def render_brushes(
    painter: MultiBrushPainter | Sequence[nn.Module],
    actions: torch.Tensor,
    brush_index: torch.Tensor | Sequence[int],
) -> torch.Tensor:
    """Strokes (B, 4, S, S) for ``actions`` (B, 12), stroke i drawn by painter
    ``brush_index[i]``; differentiable with respect to the actions."""
    if not isinstance(painter, MultiBrushPainter):
        painter = MultiBrushPainter(list(painter), [str(i) for i in range(len(painter))])
    return painter(actions, brush_index)
