"""Gradient painting with several brushes: which brush each stroke uses.

The optimiser paints in progressive groups (coarse to fine). With a
:class:`painters.brushes.MultiBrushPainter` of K brushes every stroke of a group starts with
the first brush (:class:`AssignedBrushes`) and is optimised exactly as with one brush, the same
steps; every :data:`REASSIGN_EVERY` steps, until :data:`REASSIGN_UNTIL` of them, each stroke is
moved to the brush that lowers the loss most with the others as they are (:func:`swap_losses`:
exact, in closed form, each brush in its best colour), moves whose footprints overlap one
already made waiting for the next check (:func:`reassign`). The joint refinement of all strokes
does the same. With a real seed every group and the refinement also paint for the real brushes
(straight-through: each stroke's MyPaint coverage at the re-render's scale forward, the
painter's gradient backward, :func:`agents.gradient.real_brush.mixed_alphas`), and the
real-brush fit renders each stroke with its own MyPaint brush. Why not painting each group once
per brush and keeping the better, or a relaxed (softmax) choice: see docs/BRUSHES.md.
"""

from __future__ import annotations

import torch
from torch import nn

from painters import actions as A
from painters.brushes import MultiBrushPainter


def is_multi(painter: nn.Module) -> bool:
    """True for a :class:`MultiBrushPainter` of two or more brushes."""
    return isinstance(painter, MultiBrushPainter) and len(painter) > 1


#: Steps between two re-choices of the strokes' brushes while a group (or the refinement) is
#: optimised, and the share of its steps after which the brushes stay fixed.
REASSIGN_EVERY = 5
REASSIGN_UNTIL = 0.75


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


def _layers(base: torch.Tensor, alpha: torch.Tensor, colour: torch.Tensor):
    """For strokes laid in order over ``base`` (B, 3, H, W) with alphas (B, n, H, W) and flat
    colours (B, n, 3): the canvas under each stroke (B, n, 3, H, W), the transmittance of the
    strokes above each one (B, n, 1, H, W) and the final canvas (B, 3, H, W)."""
    under = []
    c = base
    for i in range(alpha.shape[1]):
        under.append(c)
        a = alpha[:, i, None]
        c = c * (1.0 - a) + a * colour[:, i, :, None, None]
    keep = 1.0 - alpha
    rev = torch.flip(keep, [1])
    above = torch.flip(
        torch.cumprod(torch.cat([torch.ones_like(rev[:, :1]), rev[:, :-1]], 1), 1), [1]
    )
    return torch.stack(under, 1), above[:, :, None], c


@torch.no_grad()
def swap_losses(
    painter: MultiBrushPainter,
    actions: torch.Tensor,
    brush_index: torch.Tensor,
    base: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """What each stroke would cost with each brush, all other strokes as they are.

    ``actions`` (B, n, 12) laid over ``base`` (B, 3, H, W), stroke i with brush
    ``brush_index[b, i]``. Returns (losses (B, n, K), colours (B, n, K, 3)): the canvas's MSE
    to ``target`` when stroke i alone is drawn with brush k in the colour that is best for it
    there (least squares, clipped to [0, 1]), and that colour. Every brush, the stroke's own
    included, gets its best colour, so the losses compare brushes, not colours.

    ``painter`` may be any object with ``painters`` (one module per brush, each drawing all the
    flattened (B·n, 12) actions at once: 64 px windows, or whole canvases as
    :class:`agents.gradient.joint.PlacedBrushes` draws them) and ``len()``.
    """
    losses, colours, _ = _swap(painter, actions, brush_index, base, target, mask)
    return losses, colours


def _swap(painter, actions, brush_index, base, target, mask):
    """:func:`swap_losses` plus every stroke's coverage with every brush (B, n, K, H, W)."""
    b, n, _ = actions.shape
    k_all = len(painter)
    flat = actions.reshape(b * n, -1)
    alphas = torch.stack([p(flat)[:, 3] for p in painter.painters], 1)  # (B·n, K, H, W)
    alphas = alphas.view(b, n, k_all, *alphas.shape[-2:])
    if mask is not None:
        alphas = alphas * mask[:, :, None, None, None]
    own = alphas.gather(2, brush_index.view(b, n, 1, 1, 1).expand(-1, -1, 1, *alphas.shape[-2:]))
    own = own[:, :, 0]
    colour = actions[..., A.RED : A.BLUE + 1]
    under, above, final = _layers(base, own, colour)
    # the canvas with stroke i taken out: final − above·(its layer − what was under it)
    layer = under * (1.0 - own[:, :, None]) + own[:, :, None] * colour[..., None, None]
    without = final[:, None] - above * (layer - under)  # (B, n, 3, H, W)
    tgt = target[:, None]
    losses, colours = [], []
    for k in range(k_all):
        u = above * alphas[:, :, k, None]  # the new stroke's weight in the final canvas
        rest = without - u * under
        best = (u * (tgt - rest)).sum((-2, -1)) / (u * u).sum((-2, -1)).clamp_min(1e-8)
        best = best.clamp(0.0, 1.0)  # (B, n, 3)
        canvas = rest + u * best[..., None, None]
        losses.append((canvas - tgt).pow(2).mean((2, 3, 4)))
        colours.append(best)
    return torch.stack(losses, 2), torch.stack(colours, 2), alphas


@torch.no_grad()
def reassign(
    painter: MultiBrushPainter,
    actions: torch.Tensor,
    brush_index: torch.Tensor,
    base: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor | None = None,
    threshold: float = 0.02,
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Move strokes to the brush that lowers the loss most (:func:`swap_losses`), greedily,
    biggest gain first, only strokes whose footprints (coverage > ``threshold`` with the old
    or the new brush) do not overlap another moved stroke's: each move's gain was measured with
    the others fixed. Returns (new brush_index, new actions (colours refitted for moved
    strokes), number of moves)."""
    losses, colours, alphas = _swap(painter, actions, brush_index, base, target, mask)
    current = losses.gather(2, brush_index[..., None])[..., 0]
    best_loss, best = losses.min(2)
    gain = current - best_loss
    index = brush_index.clone()
    acts = actions.clone()
    moves = 0
    for bi in range(len(actions)):
        cand = torch.nonzero((best[bi] != index[bi]) & (gain[bi] > 0)).flatten()
        if not len(cand):
            continue
        cand = cand[gain[bi, cand].argsort(descending=True)]
        strokes = alphas[bi, cand]  # (c, K, H, W)
        taken = torch.zeros(target.shape[-2:], dtype=torch.bool, device=target.device)
        for j, i in enumerate(cand.tolist()):
            foot = (strokes[j, index[bi, i]] > threshold) | (strokes[j, best[bi, i]] > threshold)
            if (foot & taken).any():
                continue
            taken |= foot
            index[bi, i] = best[bi, i]
            acts[bi, i, A.RED : A.BLUE + 1] = colours[bi, i, best[bi, i]]
            moves += 1
    return index, acts, moves


class Reassigner:
    """The hook of :func:`agents.gradient.optimiser._optimise` that re-chooses brushes while
    strokes are optimised: at steps ``0, every, 2·every, ...`` before ``until`` it moves
    strokes to the brush that lowers the loss (:func:`reassign`), writing the new brushes into
    ``assigned`` and the refitted colours into the parameters. ``brushes``: what draws each
    brush for the checks (default ``assigned.painter``; whole canvases in a joint refinement,
    :class:`agents.gradient.joint.PlacedBrushes`)."""

    def __init__(
        self,
        assigned: AssignedBrushes,
        params,
        base,
        target,
        mask,
        every: int,
        until: int,
        brushes=None,
    ) -> None:
        self.assigned, self.params = assigned, params
        self.brushes = assigned.painter if brushes is None else brushes
        self.base, self.target, self.mask = base, target, mask
        self.every, self.until = max(1, every), until
        self.moves = 0

    def __call__(self, step: int, logits: torch.Tensor) -> None:
        if step % self.every or step >= self.until:
            return
        with torch.no_grad():
            acts = self.params.decode(logits)
            b, n = acts.shape[:2]
            index = self.assigned.index.view(b, n)
            new, moved_acts, moves = reassign(
                self.brushes, acts, index, self.base, self.target, self.mask
            )
            if not moves:
                return
            changed = new != index
            logits[changed] = self.params.encode(moved_acts)[changed]
            self.assigned.index.copy_(new.reshape(-1))
            self.moves += moves
