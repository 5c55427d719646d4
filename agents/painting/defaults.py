"""What ``neural-paint`` does when an option is left out: the method (:func:`default_method`),
the agent's planning steps (:func:`auto_plan_steps`); the grid follows the stroke count
(:func:`agents.gradient.auto_grid`).

Why: the default painting is the agent's (measured in docs/SEAMS.md: 2,000 strokes on a 256 px
canvas in about 12 CPU seconds), but some options only mean something to gradient descent (a
palette, stroke-size bounds, a loss, optimisation steps or groups). A command that gives one of
them without ``--method`` asks for gradient painting, and gets it, instead of an error.
"""

from __future__ import annotations

from typing import Any

DEFAULT_METHOD = "agent"
#: Planning budget of ``--method agent`` by default: strokes × planning steps per stroke.
PLAN_BUDGET = 4096
#: Options (argparse destinations) only gradient descent uses: giving one without --method
#: selects --method gradient.
GRADIENT_OPTIONS = ("palette", "min_stroke_size", "max_stroke_size", "steps", "perceptual_weights")


def default_method(args: Any, groups_default: int = 5, loss_default: str = "mse") -> str:
    """``args.method`` if given, else ``"gradient"`` when a gradient-only option is set (see
    :data:`GRADIENT_OPTIONS`, or ``--groups`` / ``--loss`` away from their defaults), else
    :data:`DEFAULT_METHOD`."""
    if getattr(args, "method", None):
        return str(args.method)
    if any(getattr(args, name, None) is not None for name in GRADIENT_OPTIONS):
        return "gradient"
    if getattr(args, "groups", groups_default) != groups_default:
        return "gradient"
    if getattr(args, "loss", loss_default) != loss_default:
        return "gradient"
    return DEFAULT_METHOD


def auto_plan_steps(model: Any, strokes: int, budget: int = PLAN_BUDGET) -> int:
    """Planning steps per agent step for a painting of ``strokes`` strokes when
    ``--plan-steps`` is left out: the agent's own ``plan_steps`` (0 for agents that do not
    plan), cut so that strokes × steps stays within ``budget``. Planning costs about one
    forward and backward pass of the painter per stroke and step, so the budget bounds its time:
    the default agent plans all its 32 steps up to 128 strokes, 16 at 256 and 2 at 2,000."""
    own = int(getattr(model, "plan_steps", 0) or 0)
    return max(0, min(own, int(budget) // max(1, int(strokes))))
