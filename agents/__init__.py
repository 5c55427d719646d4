"""agents: ways to paint a target with strokes.

>>> from agents import GradientConfig, paint_images
>>> painting = paint_images(painters.load_painter("default"), [target_uint8_64px])[0]
"""

from agents.gradient import (
    GradientConfig,
    Painting,
    make_loss,
    optimise_strokes,
    paint_images,
    refine_colours,
)

__all__ = [
    "GradientConfig",
    "Painting",
    "make_loss",
    "optimise_strokes",
    "paint_images",
    "refine_colours",
]
