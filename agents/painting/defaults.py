"""What ``neural-paint`` does when an option is left out: the method (:func:`default_method`);
the grid follows the stroke count (:func:`agents.gradient.auto_grid`).

Why: the default painting is the agent's (measured in docs/SEAMS.md: 2,000 strokes on a 256 px
canvas in about 12 CPU seconds), but some options only mean something to gradient descent (a
palette, stroke-size bounds, a loss, optimisation steps or groups). A command that gives one of
them without ``--method`` asks for gradient painting, and gets it, instead of an error.
"""

from __future__ import annotations

from typing import Any

DEFAULT_METHOD = "agent"
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
