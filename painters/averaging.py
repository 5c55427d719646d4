"""An exponential moving average (EMA) of a painter's drawing weights, kept while training.

A GAN's generator wanders around a good solution: neighbouring checkpoints of the same run
differ by many points of two-sample accuracy. The average of its recent weights is often a
better sampler than any one of them (Yazıcı et al. 2019, "The unusual effectiveness of averaging
in GAN training"; StyleGAN and BigGAN draw with such an average). Only the weights the last
phase of a step updates are averaged (the generator's, for a GAN; everything trained, for a
one-phase kind); the critics are not drawn with, so the averaged painter keeps their current
weights, which a fine-tune from it starts with.

The trainer writes the averaged painter next to the raw one (``OUT/ema``, the same
``config.json`` + ``model.safetensors`` format) and keeps the average in its training state,
so a resumed run continues it exactly.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import torch
from torch import nn


class WeightAverage:
    """EMA of ``params`` (parameters of ``painter``) with ``decay``, warmed up so the first
    updates do not hold on to the starting weights: the decay at update ``t`` (from 0) is
    ``min(decay, (1 + t) / (10 + t))``.

    Args:
        painter: the painter being trained.
        params: its parameters to average (the others are taken as they are when saving).
        decay: the EMA's decay per update, in [0, 1).
    """

    def __init__(self, painter: nn.Module, params: list[nn.Parameter], decay: float) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"the EMA decay must be in [0, 1), e.g. 0.995; got {decay}")
        ids = {id(p) for p in params}
        self.names = [n for n, p in painter.named_parameters() if id(p) in ids]
        self.decay = float(decay)
        self.updates = 0
        named = dict(painter.named_parameters())
        self.shadow = {n: named[n].detach().clone() for n in self.names}

    def update(self, painter: nn.Module) -> None:
        """Fold the painter's current weights into the average (after an optimiser step)."""
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        named = dict(painter.named_parameters())
        with torch.no_grad():
            for n in self.names:
                self.shadow[n].lerp_(named[n].detach(), 1.0 - d)
        self.updates += 1

    def state_dict(self) -> dict[str, Any]:
        """What resuming needs: the averaged tensors and the number of updates."""
        return {"updates": self.updates, "shadow": {n: t.cpu() for n, t in self.shadow.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output (names must match the painter's)."""
        shadow = state["shadow"]
        if sorted(shadow) != sorted(self.names):
            raise ValueError("the saved weight average does not fit this painter; drop --resume")
        for n in self.names:
            self.shadow[n].copy_(shadow[n])
        self.updates = int(state["updates"])

    def averaged(self, painter: nn.Module) -> nn.Module:
        """A copy of ``painter`` drawing with the averaged weights."""
        avg = copy.deepcopy(painter)
        named = dict(avg.named_parameters())
        with torch.no_grad():
            for n in self.names:
                named[n].copy_(self.shadow[n])
        return avg

    def save(self, painter: nn.Module, path: str | Path, **metadata: Any) -> Path:
        """Write the averaged painter to ``path`` (``save_pretrained``'s format)."""
        meta = {**metadata, "ema_decay": self.decay, "ema_updates": self.updates}
        return self.averaged(painter).save_pretrained(path, **meta)  # type: ignore[operator]
