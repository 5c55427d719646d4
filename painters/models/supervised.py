"""The supervised painter: structure + learned texture trained with the composited pixel MSE.

Learning to Paint's renderer is a deterministic network trained to minimise pixel error. The
plain action → deconvolution version of it needs GPU-days and collapsed here on a CPU
(see docs/painters.md); this one is a :class:`~painters.models.textured.TexturedPainter`
without noise: the frozen structured painter's alpha plus a small U-Net residual in logit
space, trained with the metric itself (MSE after compositing on white ÷ the noise floor). Its
residual starts at 0, so it starts where the structured painter is (ratio ≈ 0.54) and learns
the corrections a smooth dab model cannot make. Being a mean predictor it is smooth: the best
it can score is 0.5, with no texture.

This module also holds the pixel-loss helpers every kind and the trainer share.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from painters.models.base import register_painter
from painters.models.textured import TexturedPainter

#: Noise floor of dry_brush at 64 px (MSE between two seeds, composited on white). Losses are
#: divided by it so that a loss of 1.0 reads as "fidelity ratio ≈ 1".
NOISE_FLOOR = 0.002


def white_weight(actions: torch.Tensor) -> torch.Tensor:
    """Per-stroke weight (B, 1, 1, 1) = mean over channels of (1 − colour)².

    On white, a pixel is ``1 − α(1 − c)``, so the composited MSE between two alpha maps of the
    same colour is exactly ``mean((α₁ − α₂)²) · mean_ch (1 − c)²``: weighting the alpha MSE by
    this makes the training loss the fidelity metric itself.
    """
    return (1.0 - actions[:, 6:9]).pow(2).mean(1).view(-1, 1, 1, 1)


def composite_mse(
    alpha: torch.Tensor, target_alpha: torch.Tensor, actions: torch.Tensor
) -> torch.Tensor:
    """Mean composited-on-white MSE of predicted vs target alpha (B, 1, H, W), a scalar."""
    return ((alpha - target_alpha).pow(2) * white_weight(actions)).mean()


def target_alpha(strokes: torch.Tensor) -> torch.Tensor:
    """Alpha (B, 1, H, W) of straight-alpha RGBA strokes (B, 4, H, W)."""
    return strokes[:, 3:4].float()


class PixelLossMixin:
    """The one-phase training protocol shared by kinds trained with a single loss.

    The trainer asks a painter for its ``phases`` (names of optimiser steps per batch), the
    parameters each phase updates (:meth:`phase_parameters`) and the loss of a phase
    (:meth:`training_loss`). One-phase kinds just inherit this.
    """

    phases: ClassVar[tuple[str, ...]] = ("main",)
    default_lr: ClassVar[float] = 1e-3

    def phase_parameters(self, phase: str) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]  # type: ignore[attr-defined]


@register_painter
class SupervisedPainter(PixelLossMixin, TexturedPainter):
    """Deterministic structure + texture painter trained with the composited pixel loss.

    ``sample``, ``generator`` and ``noise`` are accepted and ignored (it has no noise).
    See :class:`~painters.models.textured.TexturedPainter` for the arguments.
    """

    kind = "supervised"
    default_lr = 1e-3

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("noise_channels", 0)
        if kwargs["noise_channels"] != 0:
            raise ValueError("the supervised painter is deterministic: noise_channels must be 0")
        super().__init__(**kwargs)

    def phase_parameters(self, phase: str) -> list[nn.Parameter]:
        return self.trainable_parameters()

    def training_loss(
        self, actions: torch.Tensor, strokes: torch.Tensor, phase: str = "main"
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Composited-on-white MSE ÷ noise floor (the fidelity ratio of the batch)."""
        actions = actions.float()
        with torch.no_grad():
            base = self.structure_alpha(actions)
        p = self.alpha_from(actions, base, None)
        mse = composite_mse(p, target_alpha(strokes), actions)
        loss = mse / NOISE_FLOOR
        return loss, {"loss": float(loss.detach()), "ratio_est": float(loss.detach())}
