"""``Painting-v0``'s step as differentiable torch functions.

:class:`painting_env.core.PaintingCore` lays its strokes with the same "over" in place and
without gradients (its fast path); agents that learn *through* the painter
(``agents.rl.through_painter``) call these functions on tensors that carry gradients and build
their observations with the env's own encoder
(:func:`painting_env.observation.encode_observation_torch`), so a training rollout paints and
sees what the env paints and shows for the same actions (tests check both).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from painters.actions import ACTION_DIM, from_env_action_torch
from painters.compositing import over_colour_sequence, over_sequence


def lay_strokes(canvas: torch.Tensor, strokes: torch.Tensor) -> torch.Tensor:
    """One env step's compositing: canvas (B, 3, S, S), strokes (B, k, 4, S, S) straight-alpha
    RGBA, laid over the canvas in order."""
    return over_sequence(canvas, strokes)


def paint_step(
    source: Callable[[torch.Tensor, np.ndarray], torch.Tensor],
    canvas: torch.Tensor,
    action: torch.Tensor,
    indices: np.ndarray | None = None,
) -> torch.Tensor:
    """One env step, differentiable through a neural stroke ``source`` (the env's
    :class:`painting_env.core.StrokeSource`, or any ``(strokes (M, 12), indices (M,)) →
    (M, 4, S, S)`` callable): env actions (B, 12·k) in [-1, 1] (clipped to the edge, as the env
    does) → the new canvas (B, 3, S, S). ``indices`` seed stochastic painters' texture.

    With gradients and a painter whose colour is the action's (the source's ``alpha_only``),
    the step lays the painter's alpha maps and the actions' colours
    (:func:`painters.compositing.over_colour_sequence`): the same canvas and gradients as
    RGBA strokes, without building them."""
    b, _, s, _ = canvas.shape
    strokes = from_env_action_torch(action).reshape(-1, ACTION_DIM)
    if indices is None:
        indices = np.zeros(len(strokes), np.int64)
    painter = getattr(source, "painter", None)
    if (
        torch.is_grad_enabled()
        and getattr(source, "alpha_only", False)
        and hasattr(painter, "alpha")
    ):
        # the painter's colour is the action's: lay alpha maps and colours, no RGBA strokes
        strokes = strokes.float()  # as the painter's RGBA strokes are, also under autocast
        alpha = painter.alpha(strokes)
        k = len(strokes) // b
        return over_colour_sequence(canvas, strokes[:, 6:9].view(b, k, 3), alpha.view(b, k, s, s))
    rgba = source(strokes, indices)
    return lay_strokes(canvas, rgba.view(b, -1, 4, s, s))
