"""A painting as SVG: one quadratic Bézier ``<path>`` per stroke, width and opacity fitted to
the real brush so the drawing covers the same area with the same amount of paint."""

from __future__ import annotations

import os
import xml.sax.saxutils
from pathlib import Path

import numpy as np

from painters import actions as A
from painters.io import atomic_write
from painters.painting import Painting

# SVG stroke laws, fitted to classic/dry_brush (256 px canvas, straight strokes at constant
# pressure p, sizes 0.1–0.7, 3 seeds each; the ratios do not depend on size):
#   covered width (alpha > 0.03)   ≈ r · (1.42 + 4.4·p)
#   paint per px of length (∫alpha) ≈ r · (0.06 + 3.15·p)
# An SVG path of width w and opacity o lays w·o of paint, so opacity = ink / width
# (≈ 0.13 at p = 0.05, 0.45 at p = 0.5, 0.54 at p = 0.9: the brush's measured mean alpha).
# ``p`` is the mean action pressure along the stroke: 0.25·entry + 0.75·middle (the pressure
# ramps over the first and last quarter, see painters.renderers.base.pressure_profile).
# Random (fast) strokes cover ~12 % less than that slow fit (MyPaint's radius shrinks with
# speed; measured on 150 uniform random actions at 256 px): widths are scaled by SVG_SPEED, which
# leaves the opacity, and so the mean alpha where covered (0.42 SVG vs 0.43 real), unchanged.
SVG_SPEED = 0.89
SVG_WIDTH_0 = 1.42
SVG_WIDTH_P = 4.4
SVG_INK_0 = 0.06
SVG_INK_P = 3.15


def svg_stroke_style(actions) -> tuple[np.ndarray, np.ndarray]:
    """(width in brush radii, opacity) of each stroke's SVG path, from its pressures.

    See the SVG_* constants: fitted to dry_brush so the SVG covers the same area with the same
    amount of paint as the real brush."""
    a = A.validate_actions(actions)
    p = 0.25 * a[:, A.ENTRY_PRESSURE].astype(np.float64) + 0.75 * a[:, A.PRESSURE]
    width = SVG_WIDTH_0 + SVG_WIDTH_P * p
    opacity = np.clip((SVG_INK_0 + SVG_INK_P * p) / width, 0.0, 1.0)
    return SVG_SPEED * width, opacity


def to_svg(painting: Painting, width: int | None = None, height: int | None = None) -> str:
    """The painting as an SVG document: a background rect, then one ``<path>`` per stroke in
    painting order (quadratic Bézier ``M start Q P1 end``, round caps, width from size and
    pressure, colour from rgb, opacity from pressure). The viewBox is the canvas size; the
    display size defaults to the painting's aspect ratio with the longer side 512."""
    vw, vh = painting.width, painting.height
    dw, dh = painting.output_size(None, width, height)
    g = painting.geometry()
    rel_width, opacity = svg_stroke_style(painting.actions)
    # a painting that mixes brushes names each path's brush (an SVG 2 data attribute)
    per_brush = painting.brush_list() if painting.multi_brush else None
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{dw}" height="{dh}" '
        f'viewBox="0 0 {vw} {vh}">',
        f"<desc>{xml.sax.saxutils.escape(_svg_desc(painting))}</desc>",
        f'<rect x="0" y="0" width="{vw}" height="{vh}" fill="{_hex(painting.background)}"/>',
        '<g fill="none" stroke-linecap="round" stroke-linejoin="round">',
    ]
    for i, act in enumerate(painting.actions):
        s, c, e = g["start"][i], g["bezier_control"][i], g["end"][i]
        rgb = np.rint(act[A.COLOR] * 255).astype(int)
        w = rel_width[i] * g["radius"][i]
        extra = (
            "" if per_brush is None else f" data-brush={xml.sax.saxutils.quoteattr(per_brush[i])}"
        )
        lines.append(
            f'<path d="M{_f(s[0])} {_f(s[1])} Q{_f(c[0])} {_f(c[1])} {_f(e[0])} {_f(e[1])}" '
            f'stroke="{_hex(rgb)}" stroke-width="{_f(w)}" stroke-opacity="{opacity[i]:.3f}"{extra}/>'
        )
    lines += ["</g>", "</svg>", ""]
    return "\n".join(lines)


def save_svg(
    painting: Painting,
    path: str | os.PathLike,
    width: int | None = None,
    height: int | None = None,
) -> Path:
    """Write :func:`to_svg` to ``path`` atomically."""
    text = to_svg(painting, width, height)
    return atomic_write(path, lambda f: f.write(text.encode()))


def _f(x: float) -> str:
    return f"{float(x):.3f}".rstrip("0").rstrip(".") or "0"


def _hex(rgb) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(c) for c in rgb))


def _svg_desc(p: Painting) -> str:
    return (
        f"{len(p)} strokes, canvas {p.width}x{p.height}, "
        + (f"brushes {', '.join(p.brushes)}, " if p.multi_brush else f"brush {p.brush}, ")
        + f"stroke_scale {p.stroke_scale:g}; made with neural-painting"
    )
