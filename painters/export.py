"""A painting as a product: its strokes as files (npz, JSON), as SVG, re-rendered at any size,
as a GIF. The pieces live in their own modules; this one gathers them so existing imports keep
working.

>>> p = Painting(actions, width=96, height=64)
>>> p.save_npz("out/strokes.npz"); p.save_json("out/strokes.json"); save_svg(p, "out/painting.svg")
>>> image = render_painting(load_strokes("out/strokes.npz"), "mypaint", width=768, height=512)
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
from painters.rerender import SIMPLE_MARGIN_RADII, Frames, render_painting
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
    "SIMPLE_MARGIN_RADII",
    "SVG_INK_0",
    "SVG_INK_P",
    "SVG_SPEED",
    "SVG_WIDTH_0",
    "SVG_WIDTH_P",
    "FrameRecorder",
    "Frames",
    "Painting",
    "StrokesError",
    "load_strokes",
    "render_painting",
    "save_svg",
    "stroke_radius",
    "svg_stroke_style",
    "to_svg",
]
