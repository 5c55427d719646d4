"""The colours of a finished tiled painting, fitted to the target by least squares
(:func:`fit_colours`): the last step of an agent painting.

Why this works and is cheap: the neural painter draws a stroke's shape (its alpha) from the
geometry alone and fills it with the action's colour, and strokes are laid with "over". So with
every shape fixed, the canvas is *linear* in the colours::

    canvas(p) = background · T₀(p) + Σᵢ cᵢ · wᵢ(p),   wᵢ = αᵢ · Π_{j > i} (1 − αⱼ)

(``wᵢ``: how much of stroke i is still visible at pixel p after the strokes laid over it;
``T₀``: how much background is). Minimising the squared error to the target over the colours is
a linear least-squares problem, solved here with a few conjugate-gradient steps on its normal
equations (Jacobi preconditioned, a small ridge towards the current colours for strokes that are
hidden), then colours outside [0, 1] are clipped and the free ones solved again. An agent picks
its colours one step at a time, from a 64 px view of a tile, for translucent strokes that later
strokes partly cover; the fit corrects all of them at once over the whole canvas: about 0.75× the
MSE of the agent's painting, in well under a second (docs/SEAMS.md). Pixels where a stroke is
almost fully hidden (``wᵢ`` below :data:`VISIBLE`) are left out of the system (their share of
the canvas is kept at the current colours), which keeps it sparse.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from painters import actions as A
from painters.compositing import from_uint8, to_uint8

TILE = 64
#: Visible weight below which a stroke's pixel is left out of the least-squares system.
VISIBLE = 1e-2
#: Weight of the squared error jump across tile boundaries in the fit of a painting of several
#: tiles (e ↦ |e|² + weight · Σ_boundaries |e[x] − e[x − 1]|²): on the 20 validation photos at
#: 2,000 strokes, 0 / 3 / 5 / 10 / 30 gave MSE ÷ 45 × 45 grid 0.427 / 0.430 / 0.434 / 0.442 /
#: 0.468 and seam ratio 1.19 / 1.05 / 1.00 / 0.94 / 0.84 (docs/SEAMS.md).
COLOUR_JUMP_WEIGHT = 5.0
#: The same weight for an agent + gradient painting (the gradient painter's strokes, proposed by
#: the agent), whose MSE is far below the agent's, so a seam shows more: on a 3:2 held-out photo
#: (flower) 5 / 10 / 20 / 40 left seam ratios 1.11 / 1.03 / 0.95 / 0.90 at 0.156 / 0.159 / 0.163 /
#: 0.171 × the MSE of a 45 × 45 flat grid (0.191, seam ratio 1.18 before the fit;
#: docs/SEAMS.md).
REFINED_JUMP_WEIGHT = 20.0
#: Strokes drawn per painter call while collecting the shapes (bounds the memory).
CHUNK = 256


def visible_weights(
    alphas: torch.Tensor, windows: np.ndarray, width: int, height: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(w (N, 64, 64), T₀ (H, W)): how much of each stroke (alpha ``alphas`` (N, 64, 64) laid in
    order at ``windows`` (N, 2) (x, y)) is visible in the finished canvas, and how much of the
    background is."""
    trans = torch.ones(height, width, dtype=alphas.dtype, device=alphas.device)
    w = torch.empty_like(alphas)
    places = np.asarray(windows).tolist()
    for i in range(len(alphas) - 1, -1, -1):
        x, y = places[i]
        view = trans[y : y + TILE, x : x + TILE]
        torch.mul(alphas[i], view, out=w[i])
        view.sub_(w[i])
    return w, trans


def _alphas(painter: torch.nn.Module, local: torch.Tensor) -> torch.Tensor:
    out = []
    for c0 in range(0, len(local), CHUNK):
        out.append(painter(local[c0 : c0 + CHUNK])[:, 3].float())
    return torch.cat(out) if out else local.new_zeros(0, TILE, TILE)


def _cg(apply, b: torch.Tensor, x: torch.Tensor, diag: torch.Tensor, steps: int, free=None):
    """Preconditioned conjugate gradients for ``apply(x) = b`` per row of (3, N) ``x``; with
    ``free`` (3, N) 0/1, only the free entries move."""
    mask = (lambda v: v) if free is None else (lambda v: v * free)
    r = mask(b - apply(x))
    z = r / diag
    p = z.clone()
    rz = (r * z).sum(1, keepdim=True)
    for _ in range(steps):
        ap = mask(apply(p))
        a = rz / (p * ap).sum(1, keepdim=True).clamp(min=1e-20)
        x = x + a * p
        r = r - a * ap
        z = r / diag
        rz_new = (r * z).sum(1, keepdim=True)
        p = z + rz_new / rz.clamp(min=1e-30) * p
        rz = rz_new
    return x


@torch.no_grad()
def fit_colours_canvas(
    painter: torch.nn.Module,
    local_actions: np.ndarray,
    windows: np.ndarray,
    target: torch.Tensor,
    background: tuple[int, int, int],
    *,
    steps: int = 8,
    rounds: int = 1,
    ridge: float = 1e-3,
    jump_weight: float = 0.0,
) -> tuple[np.ndarray, torch.Tensor]:
    """(local actions with fitted colours, float canvas (3, H, W) they replay to): the colours of
    the strokes ``local_actions`` (N, 12) laid at ``windows`` (N, 2) over ``background`` that
    minimise the squared error to ``target`` (float (3, H, W) in [0, 1], on the painter's
    device), everything else kept. ``steps`` conjugate-gradient steps, then ``rounds`` of
    clipping to [0, 1] and solving again for the unclipped colours (``steps // 2`` each);
    ``ridge`` pulls the colours of barely visible strokes towards their current ones."""
    local = np.ascontiguousarray(local_actions, np.float32)
    n = len(local)
    _, height, width = target.shape
    dev = target.device
    bg = torch.tensor(background, dtype=torch.float32, device=dev).view(3, 1, 1) / 255.0
    la = torch.from_numpy(local).to(dev)
    if n == 0:
        return local, bg.expand(3, height, width).clone()
    alphas = _alphas(painter, la)
    w, trans = visible_weights(alphas, windows, width, height)
    places = np.asarray(windows).tolist()
    c0 = la[:, A.COLOR].T.contiguous()  # (3, N)

    def render(colours: torch.Tensor) -> torch.Tensor:
        canvas = bg * trans
        for i, (x, y) in enumerate(places):
            canvas[:, y : y + TILE, x : x + TILE] += colours[:, i, None, None] * w[i]
        return canvas

    flat = w.reshape(n, -1)
    rows, pix = (flat > VISIBLE).nonzero(as_tuple=True)
    vals = flat[rows, pix]
    win = torch.as_tensor(np.asarray(windows, np.int64), device=dev)
    cols = (win[rows, 1] + pix // TILE) * width + win[rows, 0] + pix % TILE

    def spread(colours: torch.Tensor) -> torch.Tensor:  # (3, N) -> (3, H·W), kept pixels only
        return torch.zeros(3, height * width, device=dev).index_add_(
            1, cols, colours[:, rows] * vals
        )

    def gather(image: torch.Tensor) -> torch.Tensor:  # (3, H·W) -> (3, N)
        return torch.zeros(3, n, device=dev).index_add_(1, rows, image[:, cols] * vals)

    weigh = _jump_metric(width, height, jump_weight)
    # what the kept pixels must explain: the target less the background and the hidden rest
    rest = render(c0).reshape(3, -1) - spread(c0)
    b = gather(weigh(target.reshape(3, -1) - rest)) + ridge * c0
    diag = torch.zeros(n, device=dev).index_add_(0, rows, vals * vals) + ridge

    def normal(colours: torch.Tensor) -> torch.Tensor:
        return gather(weigh(spread(colours))) + ridge * colours

    x = _cg(normal, b, c0.clone(), diag, steps)
    for _ in range(max(0, int(rounds))):
        x = x.clamp(0.0, 1.0)
        x = _cg(normal, b, x, diag, max(1, steps // 2), free=((x > 0) & (x < 1)).float())
    x = x.clamp(0.0, 1.0)
    out = local.copy()
    out[:, A.COLOR] = x.T.cpu().numpy()
    # the canvas laid stroke by stroke with the operations of painters.replaying.replay_windows
    canvas = bg.expand(3, height, width).clone()
    for i, (px, py) in enumerate(places):
        view = canvas[:, py : py + TILE, px : px + TILE]
        a = alphas[i][None]
        view.copy_(x[:, i, None, None] * a + view * (1.0 - a))
    return out, canvas


def _jump_metric(width: int, height: int, weight: float):
    """The quadratic form of the loss on an error image e (3, H·W): e ↦ e + weight · JᵀJ e, J
    the differences across the lines where the painting's 64 px working tiles meet."""
    from agents.gradient.seams import grid_tiles, seam_lines

    bx, by, _, _ = (
        seam_lines(grid_tiles(width, height), width, height) if weight > 0 else ([], [], 0, 0)
    )
    if not bx and not by:
        return lambda e: e

    def apply(e: torch.Tensor) -> torch.Tensor:
        img = e.view(3, height, width)
        out = img.clone()
        for x in bx:
            d = weight * (img[:, :, x] - img[:, :, x - 1])
            out[:, :, x] += d
            out[:, :, x - 1] -= d
        for y in by:
            d = weight * (img[:, y] - img[:, y - 1])
            out[:, y] += d
            out[:, y - 1] -= d
        return out.view(3, -1)

    return apply


def fit_colours(painting: Any, target: np.ndarray, painter: torch.nn.Module, **kwargs: Any):
    """A copy of the tiled ``painting`` (an ``agents.gradient.Painting`` with ``local_actions``
    and ``windows``) with its stroke colours fitted to ``target`` (uint8 (H, W, 3) at the
    painting's size) by :func:`fit_colours_canvas` (``kwargs``), its ``canvas`` the exact replay
    of the new strokes."""
    from dataclasses import replace

    from agents.gradient import to_global

    h, w = painting.height, painting.width
    tgt = np.asarray(target)
    if tgt.shape != (h, w, 3):
        raise ValueError(f"target must be the painting's size ({h}, {w}, 3), got {tgt.shape}")
    dev = next(iter(painter.parameters()), torch.empty(0)).device
    local, canvas = fit_colours_canvas(
        painter, painting.local_actions, painting.windows, from_uint8(tgt, dev),
        tuple(painting.background), **kwargs,
    )  # fmt: skip
    return replace(
        painting, local_actions=local, actions=to_global(local, painting.windows, w, h),
        canvas=to_uint8(canvas), info={**painting.info, "colours_fitted": True},
    )  # fmt: skip
