"""A painting as a product: its strokes as files (npz, JSON) and as SVG, in one namespace
(the pieces live in :mod:`painters.painting`, :mod:`painters.svg` and :mod:`painters.gif`; to
draw a painting at any size use :func:`painters.render`).

>>> p = Painting(actions, width=96, height=64)
>>> p.save_npz("out/strokes.npz"); p.save_json("out/strokes.json"); save_svg(p, "out/painting.svg")
>>> image = painters.render(load_strokes("out/strokes.npz"), "mypaint", width=768, height=512)
"""

from __future__ import annotations

from painters.gif import GIF_FRAMES, GIF_SIDE, FrameRecorder
from painters.painting import (
    DEFAULT_LONGEST_SIDE,
    FORMAT,
    FORMAT_VERSION,
    Painting,
    StrokesError,
    load_strokes,
    stroke_radius,
)
from painters.renderers.base import DEFAULT_BRUSH
from painters.svg import (
    SVG_INK_0,
    SVG_INK_P,
    SVG_SPEED,
    SVG_WIDTH_0,
    SVG_WIDTH_P,
    save_svg,
    svg_stroke_style,
    to_svg,
)

__all__ = [
    "DEFAULT_BRUSH",
    "DEFAULT_LONGEST_SIDE",
    "FORMAT",
    "FORMAT_VERSION",
    "GIF_FRAMES",
    "GIF_SIDE",
    "SVG_INK_0",
    "SVG_INK_P",
    "SVG_SPEED",
    "SVG_WIDTH_0",
    "SVG_WIDTH_P",
    "FrameRecorder",
    "Painting",
    "StrokesError",
    "load_strokes",
    "save_svg",
    "stroke_radius",
    "svg_stroke_style",
    "to_svg",
]
