"""Losses of the gradient painter, from a spec such as ``"mse+0.5*ssim"``."""

from __future__ import annotations

import math

import torch

from agents.gradient.config import Loss
from painters.distances import get_distance


def make_loss(spec: str = "mse", *, perceptual: torch.nn.Module | None = None) -> Loss:
    """A loss from a spec: names from ``painters.distances`` or ``perceptual``, mixed with ``+``
    and optional weights: ``"mse"``, ``"mse+0.5*ssim"``, ``"mse+0.1*perceptual"``.

    ``perceptual`` is the feature-loss module (``agents.gradient.perceptual.PerceptualLoss``) to use for
    the ``perceptual`` term; it is required when the spec names it.
    """
    terms: list[tuple[float, Loss]] = []
    for part in str(spec).replace(" ", "").split("+"):
        if not part:
            raise ValueError(f"empty term in loss {spec!r}; write e.g. 'mse+0.5*ssim'")
        weight, _, name = part.rpartition("*")
        try:
            w = float(weight) if weight else 1.0
        except ValueError:
            raise ValueError(
                f"bad weight {weight!r} in loss {spec!r}; write e.g. '0.5*ssim'"
            ) from None
        if not math.isfinite(w) or w <= 0:
            raise ValueError(
                f"weight {weight!r} in loss {spec!r} must be a positive finite number (a "
                "negative one paints away from the target); write e.g. '0.5*ssim'"
            )
        if name == "perceptual":
            if perceptual is None:
                raise ValueError(
                    "loss 'perceptual' needs VGG weights: pass --perceptual-weights PATH"
                )
            terms.append((w, perceptual))
        else:
            terms.append((w, get_distance(name)))

    def loss(canvas: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return sum(w * f(canvas, target) for w, f in terms)

    return loss
