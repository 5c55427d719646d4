"""Renderers: actions (N, 12) in [0, 1] → straight-alpha RGBA strokes uint8 (N, S, S, 4)."""

from __future__ import annotations

from pathlib import Path

from painters.renderers.base import DEFAULT_BRUSH, Renderer

RENDERERS = ("mypaint", "simple")


def get_renderer(
    name: str = "mypaint",
    size: int = 64,
    *,
    brush: str | Path = DEFAULT_BRUSH,
    seed: int = 0,
) -> Renderer:
    """A renderer by name: ``"mypaint"`` (the real brush, needs libmypaint) or ``"simple"``
    (OpenCV anti-aliased Bézier, no native library)."""
    if name == "mypaint":
        from painters.renderers.mypaint import MyPaintRenderer

        return MyPaintRenderer(size, brush=brush, seed=seed)
    if name == "simple":
        from painters.renderers.simple import SimpleRenderer

        return SimpleRenderer(size, seed=seed)
    raise ValueError(f"unknown renderer {name!r}; choose one of {', '.join(RENDERERS)}")


__all__ = ["RENDERERS", "Renderer", "get_renderer"]
