"""The one learning-rate schedule of the project: cosine decay to a floor.

Why one function: the gradient painter, the painter trainer and the through-painter agent all
decay their learning rate the same way; one definition keeps the three in step.
"""

from __future__ import annotations

import math


def cosine_lr(base: float, step: float, total: float = 1.0, floor: float = 0.1) -> float:
    """``base`` decayed along half a cosine from 1 to ``floor`` (a fraction of ``base``) as
    ``step`` goes from 0 to ``total`` (clipped at ``total``)."""
    return base * (floor + (1.0 - floor) * 0.5 * (1 + math.cos(math.pi * min(step, total) / total)))
