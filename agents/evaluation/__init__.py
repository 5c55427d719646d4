"""One benchmark for every way of painting: random strokes, gradient painting, SB3 agents, and
the flat baselines every one of them is read against.

Why one package: the comparison is only honest if every method paints the same targets with
the same stroke budget and is scored the same way. :mod:`~agents.evaluation.runner` paints (in
``Painting-v0`` itself), :mod:`~agents.evaluation.scoring` scores, and
:mod:`~agents.evaluation.report` and :mod:`~agents.evaluation.plot` write the table, JSON,
curves and picture grid.

Method specs: ``random``, ``gradient``, ``agent:PATH`` (``agent:default`` = the bundled agent).
"""

from agents.evaluation.plot import PALETTE, picture_grid, plot_curves
from agents.evaluation.report import save_json, to_json, to_markdown, write_atomic
from agents.evaluation.runner import (
    IMAGE_SUFFIXES,
    evaluate,
    gradient_stroke_renders,
    list_images,
    paint_agent,
    paint_baseline,
    paint_gradient,
    paint_random,
)
from agents.evaluation.scoring import BASELINES, Run, make_run, mean_curves, summarize

__all__ = [
    "BASELINES",
    "IMAGE_SUFFIXES",
    "PALETTE",
    "Run",
    "evaluate",
    "gradient_stroke_renders",
    "list_images",
    "make_run",
    "mean_curves",
    "paint_agent",
    "paint_baseline",
    "paint_gradient",
    "paint_random",
    "picture_grid",
    "plot_curves",
    "save_json",
    "summarize",
    "to_json",
    "to_markdown",
    "write_atomic",
]
