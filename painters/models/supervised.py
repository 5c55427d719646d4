"""The supervised painter: Learning to Paint's deterministic renderer, made to train on a CPU.

An MLP turns the action into a coarse 8×8 feature map; 3×3 convolutions with PixelShuffle
upsampling grow it to the 64×64 alpha map; colour comes from the action (the real brush paints
exactly the action's colour, shared/design/NEURAL_PAINTER.md §1), so RGBA = (r, g, b, alpha).

Why it differs from the paper's network: the plain 11 M-parameter version collapsed to an
all-transparent output here (NEURAL_PAINTER.md §2). So it predicts only alpha, starts its output
bias at the mean coverage of real strokes, uses GroupNorm after each convolution, appends
coordinate channels (CoordConv) so positions need not be memorised, trains at a lower learning
rate, and weights covered pixels more at the start. :class:`AlphaDecoder` is shared with the GAN
generator and the VAE decoder so that the comparison table compares objectives, not networks.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from painters.models.base import NeuralPainter, register_painter

#: Noise floor of dry_brush at 64 px (MSE between two seeds, composited on white). Losses are
#: divided by it so that a loss of 1.0 reads as "fidelity ratio ≈ 1".
NOISE_FLOOR = 0.002
#: Mean alpha of real dry_brush strokes over the whole canvas (NEURAL_PAINTER.md §2).
MEAN_ALPHA = 0.09


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


class AlphaDecoder(nn.Module):
    """Vector (B, in_dim) → alpha logits (B, 1, 64, 64): MLP, then conv + PixelShuffle ×3.

    Args:
        in_dim: input width (12 actions, plus noise or latent dims for GAN / VAE).
        hidden: width of the MLP.
        base_channels: channels of the 8×8 map; each upsampling halves them.
        size: output side (64 → three ×2 PixelShuffle stages from 8).
    """

    def __init__(self, in_dim: int, hidden: int = 256, base_channels: int = 64, size: int = 64):
        super().__init__()
        stages = int(round(math.log2(size / 8)))
        if 8 * 2**stages != size or stages < 1:
            raise ValueError(f"AlphaDecoder needs size = 8·2^k (16, 32, 64, ...), got {size}")
        self.base_channels, self.size = base_channels, size
        self.mlp = nn.Sequential(
            nn.Linear(in_dim, hidden),
            nn.SiLU(),
            nn.Linear(hidden, hidden),
            nn.SiLU(),
            nn.Linear(hidden, base_channels * 64),
        )
        blocks = []
        c, side = base_channels, 8
        for _ in range(stages):
            out = max(4, c // 2)
            # conv to 4·out channels, then PixelShuffle(2) → out channels at twice the side
            blocks.append(
                nn.ModuleDict(
                    {
                        "conv": nn.Conv2d(c + 2, 4 * out, 3, padding=1),
                        "norm": nn.GroupNorm(min(8, out), out),
                    }
                )
            )
            c, side = out, side * 2
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Conv2d(c + 2, 1, 3, padding=1)
        nn.init.normal_(self.head.weight, std=1e-3)
        nn.init.constant_(self.head.bias, math.log(MEAN_ALPHA / (1 - MEAN_ALPHA)))

    @staticmethod
    def _coords(x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        ys = torch.linspace(0.0, 1.0, h, device=x.device, dtype=x.dtype)
        xs = torch.linspace(0.0, 1.0, w, device=x.device, dtype=x.dtype)
        grid = torch.stack(torch.meshgrid(ys, xs, indexing="ij"))
        return torch.cat([x, grid.expand(b, 2, h, w)], 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.mlp(z).view(-1, self.base_channels, 8, 8)
        for blk in self.blocks:
            x = F.pixel_shuffle(blk["conv"](self._coords(x)), 2)
            x = F.silu(blk["norm"](x))
        return self.head(self._coords(x))


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
class SupervisedPainter(PixelLossMixin, NeuralPainter):
    """Deterministic MLP + PixelShuffle renderer trained with the composited pixel loss.

    Args:
        size: stroke side in px.
        hidden: MLP width.
        base_channels: channels of the 8×8 feature map.
        cover_weight: extra loss weight on pixels the real stroke covers (α > 0), decayed to
            0 over ``cover_decay_steps`` training steps: it pulls the network away from the
            all-transparent output early and then gets out of the way of the true metric.
        cover_decay_steps: steps over which ``cover_weight`` decays linearly.
    """

    kind = "supervised"
    default_lr = 5e-4

    def __init__(
        self,
        size: int = 64,
        hidden: int = 256,
        base_channels: int = 64,
        cover_weight: float = 2.0,
        cover_decay_steps: int = 1000,
    ) -> None:
        super().__init__(
            size=size,
            hidden=hidden,
            base_channels=base_channels,
            cover_weight=cover_weight,
            cover_decay_steps=cover_decay_steps,
        )
        self.size = size
        self.cover_weight, self.cover_decay_steps = cover_weight, cover_decay_steps
        self.decoder = AlphaDecoder(12, hidden, base_channels, size)
        self.register_buffer("step", torch.zeros((), dtype=torch.long))

    def alpha(self, actions: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decoder(actions.float()))

    def forward(self, actions: torch.Tensor) -> torch.Tensor:
        actions = actions.float()
        return self.rgba_from_alpha(actions, self.alpha(actions))

    def training_loss(
        self, actions: torch.Tensor, strokes: torch.Tensor, phase: str = "main"
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Composited-on-white MSE ÷ noise floor, plus the decaying covered-pixel term."""
        y = target_alpha(strokes)
        p = self.alpha(actions)
        mse = composite_mse(p, y, actions)
        loss = mse / NOISE_FLOOR
        frac = max(0.0, 1.0 - float(self.step) / max(1, self.cover_decay_steps))
        if self.cover_weight > 0 and frac > 0:
            covered = (y > 0).float()
            extra = ((p - y).pow(2) * covered * white_weight(actions)).mean() / NOISE_FLOOR
            loss = loss + self.cover_weight * frac * extra
        if self.training:
            self.step += 1
        return loss, {"loss": float(loss.detach()), "ratio_est": float(mse.detach()) / NOISE_FLOOR}


def tiny_config(kind: str) -> dict[str, Any]:
    """Constructor kwargs of a tiny painter of each of this module family's kinds (for tests)."""
    small = {"hidden": 16, "base_channels": 8}
    if kind == "gan":
        return {**small, "noise_dim": 4, "critic_channels": 4}
    if kind == "vae":
        return {**small, "latent_dim": 4, "encoder_channels": 4}
    return small
