"""painters: the stroke action, renderers (real MyPaint brush and neural painters),
compositing, distances and stroke datasets.

>>> import painters
>>> r = painters.get_renderer("mypaint", size=64, seed=0)
>>> strokes = r.render(painters.random_actions(8, rng=0))   # uint8 (8, 64, 64, 4)
>>> painter = painters.load_painter("default")               # (B, 12) -> (B, 4, 64, 64)
"""

from painters.actions import (
    ACTION_DIM,
    ACTION_NAMES,
    from_env_action,
    random_actions,
    to_env_action,
    validate_actions,
)
from painters.compositing import blank_canvas, over, over_sequence
from painters.distances import get_distance
from painters.export import Painting, load_strokes, render_painting, save_svg, to_svg
from painters.loading import load_painter, resolve_device
from painters.models import NeuralPainter
from painters.renderers import get_renderer
from painters.replay import replay

__all__ = [
    "ACTION_DIM",
    "ACTION_NAMES",
    "NeuralPainter",
    "Painting",
    "blank_canvas",
    "from_env_action",
    "get_distance",
    "get_renderer",
    "load_painter",
    "load_strokes",
    "over",
    "over_sequence",
    "random_actions",
    "render_painting",
    "replay",
    "resolve_device",
    "save_svg",
    "to_env_action",
    "to_svg",
    "validate_actions",
]
