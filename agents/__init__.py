"""agents: ways to paint a target with strokes — gradient painting through the neural painter,
and Stable-Baselines3 agents trained on ``Painting-v0``.

>>> from agents import GradientConfig, paint_images
>>> painting = paint_images(painters.load_painter("default"), [target_uint8_64px])[0]
>>> model = agents.load_agent("default")     # an SB3 ThroughPainter, with model.env_kwargs
"""

from typing import TYPE_CHECKING

from agents.gradient import (
    GradientConfig,
    Painting,
    make_loss,
    optimise_strokes,
    paint_images,
    refine_colours,
)

if TYPE_CHECKING:
    from agents.rl import ThroughPainter, load_agent, package_agent, train

#: SB3 names load on first use: importing stable-baselines3 costs ~1.5 s, which gradient
#: painting (scripts/paint.py) should not pay.
_LAZY_RL = ("ThroughPainter", "load_agent", "package_agent", "train")


def __getattr__(name: str):
    if name in _LAZY_RL:
        import agents.rl

        value = getattr(agents.rl, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'agents' has no attribute {name!r}")


__all__ = [
    "GradientConfig",
    "Painting",
    "ThroughPainter",
    "make_loss",
    "optimise_strokes",
    "paint_images",
    "load_agent",
    "package_agent",
    "refine_colours",
    "train",
]
