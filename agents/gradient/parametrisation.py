"""Strokes as unconstrained parameters, and where new strokes start.

:class:`StrokeParams` maps logits to actions in [0, 1] (stroke controls hold by construction);
:func:`init_actions` places a group's strokes where the error is largest, in the target's
colour, along its edges.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from agents.gradient.config import TILE, GradientConfig
from painters import actions as A

# Coverage assumed when correcting the initial colour for the brush's translucency.
_INIT_ALPHA = 0.6
_EPS = 0.02


def _logit(x: torch.Tensor) -> torch.Tensor:
    x = x.clamp(_EPS, 1.0 - _EPS)
    return torch.log(x) - torch.log1p(-x)


def _blur(x: torch.Tensor, k: int) -> torch.Tensor:
    return F.avg_pool2d(x, k, stride=1, padding=k // 2, count_include_pad=False)


def _edge_angles(target: torch.Tensor) -> torch.Tensor:
    """Per-pixel angle along the edges (structure tensor of the grey image), (B, H, W)."""
    grey = target.mean(1, keepdim=True)
    gx = F.pad(grey[..., :, 1:] - grey[..., :, :-1], (0, 1, 0, 0), mode="replicate")
    gy = F.pad(grey[..., 1:, :] - grey[..., :-1, :], (0, 0, 0, 1), mode="replicate")
    jxx, jyy, jxy = (_blur(v, 5) for v in (gx * gx, gy * gy, gx * gy))
    # gradient direction is 0.5·atan2(2jxy, jxx − jyy); strokes follow the edge: + 90°
    return (0.5 * torch.atan2(2 * jxy, jxx - jyy) + math.pi / 2)[:, 0]


def init_actions(
    canvas: torch.Tensor,
    target: torch.Tensor,
    n: int,
    size: float,
    generator: torch.Generator,
) -> torch.Tensor:
    """Initial actions (B, n, 12) for a new group on ``canvas``: positions sampled where the
    blurred error is largest, colour from the target there (overshooting for translucency),
    direction along the local edge, length a few brush radii."""
    b, _, h, w = target.shape
    k = max(3, int(round(math.exp(2 * size) * h / TILE)) | 1)
    err = _blur((canvas - target).pow(2).sum(1, keepdim=True), k)[:, 0]  # (B, H, W)
    weights = err.flatten(1) + 1e-8
    idx = torch.multinomial(weights, n, replacement=n > h * w, generator=generator)  # (B, n)
    ys, xs = idx // w, idx % w
    bi = torch.arange(b)[:, None]
    blurred_t = _blur(target, k)
    blurred_c = _blur(canvas, k)
    tgt = blurred_t[bi, :, ys, xs]  # (B, n, 3)
    cur = blurred_c[bi, :, ys, xs]
    colour = (tgt - (1 - _INIT_ALPHA) * cur) / _INIT_ALPHA
    colour = 0.5 * colour + 0.5 * tgt  # half-way: neighbours overlap and add coverage
    theta = _edge_angles(target)[bi, ys, xs]
    theta = theta + 0.3 * torch.randn(theta.shape, generator=generator)
    radius = math.exp(2 * size) / TILE  # canvas fraction (at the painter's scale)
    length = radius * (2.0 + 2.0 * torch.rand(theta.shape, generator=generator))
    cx, cy = (xs.float() + 0.5) / w, (ys.float() + 0.5) / h
    dx, dy = 0.5 * length * torch.cos(theta), 0.5 * length * torch.sin(theta)
    act = torch.empty(b, n, A.ACTION_DIM)
    act[..., A.PRESSURE] = 0.85
    act[..., A.ENTRY_PRESSURE] = 0.75
    act[..., A.SIZE] = size + 0.05 * torch.randn(theta.shape, generator=generator)
    act[..., A.START_X], act[..., A.START_Y] = cx - dx, cy - dy
    act[..., A.END_X], act[..., A.END_Y] = cx + dx, cy + dy
    act[..., A.CONTROL_X], act[..., A.CONTROL_Y] = cx, cy
    act[..., A.RED : A.BLUE + 1] = colour
    return act.clamp(_EPS, 1.0 - _EPS)


class StrokeParams:
    """Unconstrained parameters (B, n, 12 + K) ↔ actions (B, n, 12) in [0, 1].

    Why a parametrisation instead of clipping: Adam moves the logits freely while every action
    stays valid, and the stroke controls hold by construction: ``size = lo + (hi − lo)·σ(x)``;
    with a palette of K colours the colour is ``softmax(w) @ palette`` (K extra logits ``w``);
    with fixed ``colours`` (B, n, 3) the colour logits are ignored.
    """

    def __init__(
        self,
        config: GradientConfig,
        palette: torch.Tensor | None = None,
        colours: torch.Tensor | None = None,
    ) -> None:
        self.lo, self.hi = float(config.min_size), float(config.max_size)
        self.palette = None if colours is not None else palette
        self.colours = colours

    @property
    def extra(self) -> int:
        return 0 if self.palette is None else len(self.palette)

    def decode(self, raw: torch.Tensor) -> torch.Tensor:
        act = torch.sigmoid(raw[..., : A.ACTION_DIM])
        size = self.lo + (self.hi - self.lo) * act[..., A.SIZE : A.SIZE + 1]
        parts = [act[..., : A.SIZE], size, act[..., A.SIZE + 1 : A.RED]]
        if self.colours is not None:
            colour = self.colours.to(act)
        elif self.palette is not None:
            colour = torch.softmax(raw[..., A.ACTION_DIM :], -1) @ self.palette.to(act)
        else:
            colour = act[..., A.RED : A.BLUE + 1]
        return torch.cat([*parts, colour, act[..., A.BLUE + 1 :]], -1)

    def encode(self, actions: torch.Tensor) -> torch.Tensor:
        """Parameters whose :meth:`decode` is close to ``actions`` (colours: the nearest palette
        colour gets most of the weight)."""
        act = actions.clone()
        span = max(self.hi - self.lo, 1e-6)
        act[..., A.SIZE] = (act[..., A.SIZE] - self.lo) / span
        raw = _logit(act)
        if self.palette is None:
            return raw
        d2 = (actions[..., None, A.RED : A.BLUE + 1] - self.palette.to(act)).pow(2).sum(-1)
        return torch.cat([raw, -d2 / 0.02], -1)

    def snap(self, raw: torch.Tensor) -> torch.Tensor:
        """The palette colour with the largest weight for each stroke: (B, n, 3)."""
        assert self.palette is not None
        return self.palette.to(raw)[raw[..., A.ACTION_DIM :].argmax(-1)]
