"""Planning through the painter at decision time: the actor proposes a step's strokes, and a few
Adam steps on the strokes themselves lower the distance the step leaves, before they are
painted.

``Painting-v0``'s dynamics are the painter and "over": known and differentiable. A model-based
agent can use them twice, to learn (:class:`agents.rl.through_painter.ThroughPainter` trains its
actor through them) and to act: :func:`plan_actions` starts from the actor's action and descends
the distance after this step (the env's own step, :func:`painting_env.torch_rollout.paint_step`,
and its own distance), keeping, for each painting, the best action it met, so a planned step is
never worse than the actor's on that distance. This is model-predictive refinement with a
one-step horizon: the actor supplies where to start (an amortised guess, cheap), the painter how
to improve it (a local search the actor cannot do from one look at the canvas).

:class:`PlanningModel` is what a policy needs to plan: the env's stroke source and distance,
read from a ``Painting-v0`` env or rebuilt from the agent's ``env_kwargs``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from painters.actions import ACTION_DIM
from painting_env.torch_rollout import paint_step

#: The edge kept between a proposed action and ±1, so its pre-tanh value is finite.
_EDGE = 1e-4


@dataclass
class PlanningModel:
    """The env's painting rules a planner needs: ``source`` (the env's
    :class:`painting_env.core.StrokeSource`, differentiable) and ``distance`` ((B, 3, S, S)
    canvases and targets in [0, 1] → (B,))."""

    source: Any
    distance: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

    @classmethod
    def from_core(cls, core: Any) -> PlanningModel:
        """From a :class:`painting_env.core.PaintingCore` (``env.unwrapped.core``)."""
        if core.config.brushes:
            raise ValueError(
                "planning paints with one brush; make the env without brushes= or set "
                "model.plan_steps = 0"
            )
        if core.source.painter is None:
            raise ValueError(
                f"planning needs a differentiable renderer, the env draws with "
                f"{core.source.name!r}; use renderer='neural' or set model.plan_steps = 0"
            )
        return cls(core.source, core.distance)

    @classmethod
    def from_painter(cls, painter: torch.nn.Module, distance: str = "mse") -> PlanningModel:
        """From a neural painter drawing 64 px strokes (for example the one a painting is
        drawn with), so planning sees the strokes that will be painted."""
        from painters.distances import get_distance
        from painting_env.core import StrokeSource

        device = next(iter(painter.parameters()), torch.empty(0)).device
        source = StrokeSource(painter, int(getattr(painter, "size", 64)), device, "")
        return cls(source, get_distance(distance))

    @classmethod
    def from_env_kwargs(cls, env_kwargs: dict[str, Any], device: torch.device) -> PlanningModel:
        """From ``Painting-v0`` keyword arguments (an agent's ``env_kwargs``), without an env."""
        from painters.distances import get_distance
        from painting_env.config import make_config
        from painting_env.core import StrokeSource

        kw = {k: v for k, v in env_kwargs.items() if k not in ("target", "targets")}
        config = make_config(None, kw)
        if config.brushes:
            raise ValueError("planning paints with one brush; set model.plan_steps = 0")
        source = StrokeSource(config.renderer, config.size, device, config.brush)
        if source.painter is None:
            raise ValueError(
                f"planning needs a differentiable renderer, env_kwargs draw with "
                f"{source.name!r}; set model.plan_steps = 0"
            )
        source.painter.requires_grad_(False)
        return cls(source, get_distance(config.distance))


def plan_actions(
    model: PlanningModel,
    canvas: torch.Tensor,
    target: torch.Tensor,
    action: torch.Tensor,
    steps: int,
    lr: float = 0.05,
    strokes: int | None = None,
) -> torch.Tensor:
    """Refine one env step's actions by descending the distance after the step.

    Args:
        model: the env's stroke source and distance (:class:`PlanningModel`).
        canvas: the canvases before the step, float (B, 3, S, S) in [0, 1].
        target: the targets, float (B, 3, S, S) in [0, 1].
        action: the proposed env actions (B, 12·k) in [-1, 1] (the actor's).
        steps: Adam steps on the actions' pre-tanh values (0: return ``action``).
        lr: Adam's rate (constant: on 20 validation photos it beat a cosine decay to a tenth).
        strokes: plan for painting only each step's first ``strokes`` strokes (a painting
            that ends mid-step); the others are returned as proposed. Default: all.

    Returns:
        (B, 12·k) actions in [-1, 1]: for each painting the iterate with the lowest distance
        after the step, the proposal included.
    """
    if steps <= 0:
        return action
    width = action.shape[1]
    if strokes is not None and 0 <= strokes * ACTION_DIM < width:
        if strokes == 0:
            return action
        head = plan_actions(model, canvas, target, action[:, : strokes * ACTION_DIM], steps, lr)
        return torch.cat([head, action[:, strokes * ACTION_DIM :]], 1)
    canvas, target = canvas.detach(), target.detach()
    best = action.detach().clone()
    u = torch.atanh(best.clamp(-1 + _EDGE, 1 - _EDGE)).requires_grad_(True)
    opt = torch.optim.Adam([u], lr=lr)
    best_d = torch.full((len(best),), float("inf"), device=best.device)
    with torch.enable_grad():
        for i in range(steps + 1):
            a = torch.tanh(u)
            d = model.distance(paint_step(model.source, canvas, a), target)
            with torch.no_grad():
                better = d < best_d
                best_d = torch.where(better, d, best_d)
                best[better] = a[better]
            if i == steps:
                break
            opt.zero_grad(set_to_none=True)
            d.sum().backward()
            opt.step()
    return best


__all__ = ["PlanningModel", "plan_actions"]
