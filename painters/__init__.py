"""painters: the stroke action, renderers (real MyPaint brush and neural painters),
compositing, distances and stroke datasets.

>>> import painters
>>> r = painters.get_renderer("mypaint", size=64, seed=0)
>>> strokes = r.render(painters.random_actions(8, rng=0))   # uint8 (8, 64, 64, 4)
>>> painter = painters.load_painter("default")               # (B, 12) -> (B, 4, 64, 64)
>>> pens = painters.load_painters(["classic/dry_brush", "classic/pen"])  # stroke-wise brushes
>>> image = painters.render(painters.random_actions(8, rng=0), "neural")  # uint8 (64, 64, 3)

Names that need torch are imported on first use (PEP 562), so dataset workers and the real
renderer start without paying torch's import time. ``painters.render`` is the one way to draw
strokes at any size with any renderer; ``painters.replay`` is the same function under its first
name.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from painters.actions import (
    ACTION_DIM,
    ACTION_NAMES,
    from_env_action,
    random_actions,
    to_env_action,
    validate_actions,
)
from painters.renderers import get_renderer
from painters.renderers.base import DEFAULT_BRUSH

_LAZY = {
    "blank_canvas": "painters.compositing",
    "over": "painters.compositing",
    "over_sequence": "painters.compositing",
    "get_distance": "painters.distances",
    "fidelity": "painters.evaluation",
    "Painting": "painters.painting",
    "load_strokes": "painters.painting",
    "render": "painters.rendering",
    "resolve_renderer": "painters.resolving",
    "save_svg": "painters.svg",
    "to_svg": "painters.svg",
    "load_painter": "painters.loading",
    "load_painters": "painters.brushes",
    "MultiBrushPainter": "painters.brushes",
    "render_brushes": "painters.brushes",
    "bundled_brushes": "painters.loading",
    "resolve_device": "painters.loading",
    "NeuralPainter": "painters.models",
    "replay": "painters.rendering",
    "replay_windows": "painters.replaying",
}

if TYPE_CHECKING:
    from painters.brushes import MultiBrushPainter, load_painters, render_brushes
    from painters.compositing import blank_canvas, over, over_sequence
    from painters.distances import get_distance
    from painters.evaluation import fidelity
    from painters.loading import bundled_brushes, load_painter, resolve_device
    from painters.models import NeuralPainter
    from painters.painting import Painting, load_strokes
    from painters.rendering import render, replay
    from painters.replaying import replay_windows
    from painters.resolving import resolve_renderer
    from painters.svg import save_svg, to_svg


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'painters' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "ACTION_DIM",
    "ACTION_NAMES",
    "DEFAULT_BRUSH",
    "MultiBrushPainter",
    "NeuralPainter",
    "Painting",
    "blank_canvas",
    "bundled_brushes",
    "fidelity",
    "from_env_action",
    "get_distance",
    "get_renderer",
    "load_painter",
    "load_painters",
    "load_strokes",
    "over",
    "over_sequence",
    "random_actions",
    "render",
    "render_brushes",
    "replay",
    "replay_windows",
    "resolve_device",
    "resolve_renderer",
    "save_svg",
    "to_env_action",
    "to_svg",
    "validate_actions",
]
