"""``Painting-v0``'s step and observation as differentiable torch functions.

:class:`painting_env.core.PaintingCore` lays its strokes with :func:`lay_strokes`, and the
observation it returns is :func:`observe_torch` rounded to uint8; agents that learn *through*
the painter (``agents.rl.through_painter``) call the same functions on tensors that carry
gradients, so a training rollout paints exactly what the env paints for the same actions.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from painters.actions import ACTION_DIM, from_env_action_torch
from painters.compositing import over


def lay_strokes(canvas: torch.Tensor, strokes: torch.Tensor) -> torch.Tensor:
    """One env step's compositing: canvas (B, 3, S, S), strokes (B, k, 4, S, S) straight-alpha
    RGBA, laid over the canvas in order."""
    for j in range(strokes.shape[1]):
        canvas = over(canvas, strokes[:, j])
    return canvas


def paint_step(
    source: Callable[[torch.Tensor, np.ndarray], torch.Tensor],
    canvas: torch.Tensor,
    action: torch.Tensor,
    indices: np.ndarray | None = None,
) -> torch.Tensor:
    """One env step, differentiable through a neural stroke ``source`` (the env's
    :class:`painting_env.core.StrokeSource`, or any ``(strokes (M, 12), indices (M,)) →
    (M, 4, S, S)`` callable): env actions (B, 12·k) in [-1, 1] (clipped to the edge, as the env
    does) → the new canvas (B, 3, S, S). ``indices`` seed stochastic painters' texture."""
    b, _, s, _ = canvas.shape
    strokes = from_env_action_torch(action).reshape(-1, ACTION_DIM)
    if indices is None:
        indices = np.zeros(len(strokes), np.int64)
    rgba = source(strokes, indices)
    return lay_strokes(canvas, rgba.view(b, -1, 4, s, s))


def observe_torch(
    canvas: torch.Tensor, target_u8: torch.Tensor, step_fraction: float
) -> dict[str, torch.Tensor]:
    """The env's Dict observation as channel-first float tensors: ``canvas`` rounded to 0–255
    exactly as the env's uint8 observation (round half to even; no gradient flows through the
    rounding), ``target`` (B, 3, S, S) 0–255 values, ``step`` (B, 1) the painted fraction."""
    canvas_u8 = torch.round(canvas.detach() * 255.0)
    step = torch.full((canvas.shape[0], 1), step_fraction, dtype=torch.float32)
    return {"canvas": canvas_u8, "target": target_u8, "step": step.to(canvas.device)}
