"""The VAE painter: structure + texture decoded from a spatial latent, a conditional VAE.

After Nakano's *Neural Painters* (arXiv 1904.08410), whose VAE painter decodes the stroke from
a latent. Here the decoder is a :class:`~painters.models.textured.TexturedPainter`: the frozen
structured painter's alpha plus a U-Net residual that reads the latent z as noise planes. z is
a small spatial map (default 2 × 32 × 32), because what the action leaves open is *where* the
brush's grain falls, and a spatial latent can say that cheaply. The encoder q(z | stroke,
action) sees the real alpha and the structured alpha. As in the GAN, the first latent plane also
enters through an explicit texture path (blurred into blobs of the brush's grain, times a
learned amplitude map; ``modulation``), which gives the decoder a direct way to place grain.

Loss: negative ELBO per pixel with a Gaussian likelihood on alpha whose variance is the brush's
own (two renders of one action differ by alpha MSE ≈ 0.006, so each render varies by ≈ 0.003
around the mean stroke): the reconstruction term cannot be traded against a made-up scale.

``painter(actions)`` decodes z ~ N(0, I) (a sample); ``sample=False`` decodes the prior mean
z = 0 (deterministic, the painter's best single estimate).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from painters.models.base import register_painter
from painters.models.supervised import (
    NOISE_FLOOR,
    PixelLossMixin,
    composite_mse,
    target_alpha,
)
from painters.models.textured import TexturedPainter, laplacian


class Encoder(nn.Module):
    """(real alpha, structured alpha) (B, 2, H, W) → mean and log-variance of z (B, C, s, s)."""

    def __init__(self, size: int, latent_channels: int, latent_size: int, channels: int) -> None:
        super().__init__()
        steps = int(round(math.log2(size // 2 // latent_size)))
        if (size // 2) >> steps != latent_size or size % 2:
            raise ValueError(f"noise_size must be size / 2^k (k ≥ 1), got {latent_size}")
        layers: list[nn.Module] = [nn.Conv2d(8, channels, 3, padding=1), nn.LeakyReLU(0.2)]
        for _ in range(steps):
            layers += [nn.Conv2d(channels, channels, 3, stride=2, padding=1), nn.LeakyReLU(0.2)]
        layers += [nn.Conv2d(channels, channels, 3, padding=1), nn.LeakyReLU(0.2)]
        self.net = nn.Sequential(*layers)
        self.head = nn.Conv2d(channels, 2 * latent_channels, 3, padding=1)
        # start at the prior: mean 0, variance 1 (KL 0)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, alpha: torch.Tensor, base: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.net(F.pixel_unshuffle(torch.cat([alpha, base], 1), 2))
        mu, logvar = self.head(h).chunk(2, dim=1)
        return mu, logvar.clamp(-10.0, 5.0)


@register_painter
class VAEPainter(PixelLossMixin, TexturedPainter):
    """Conditional VAE texture painter (see module docstring).

    Args (beyond :class:`~painters.models.textured.TexturedPainter`'s; ``noise_channels`` and
    ``noise_size`` are the latent's):
        encoder_channels: width of the encoder.
        kl_weight: β of the ELBO (1.0 is the true ELBO).
        alpha_var: variance of the Gaussian likelihood on alpha (the brush's own, ≈ 0.003).
    """

    kind = "vae"
    stochastic: ClassVar[bool] = True
    default_lr = 1e-3

    def __init__(
        self,
        noise_channels: int = 2,
        noise_size: int = 32,
        encoder_channels: int = 16,
        kl_weight: float = 1.0,
        alpha_var: float = 0.003,
        **kwargs: Any,
    ) -> None:
        if noise_channels < 1:
            raise ValueError("the VAE painter needs a latent: noise_channels must be ≥ 1")
        kwargs.setdefault("modulation", 0.5)
        super().__init__(
            noise_channels=noise_channels,
            noise_size=noise_size,
            encoder_channels=encoder_channels,
            kl_weight=kl_weight,
            alpha_var=alpha_var,
            **kwargs,
        )
        self.kl_weight, self.alpha_var = kl_weight, alpha_var
        self.encoder = Encoder(self.size, noise_channels, noise_size, encoder_channels)

    def phase_parameters(self, phase: str) -> list[nn.Parameter]:
        return self.trainable_parameters()

    def training_loss(
        self, actions: torch.Tensor, strokes: torch.Tensor, phase: str = "main"
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Negative ELBO per pixel: squared alpha error / (2σ²) + β·KL / pixels."""
        actions = actions.float()
        y = target_alpha(strokes)
        with torch.no_grad():
            base = self.structure_alpha(actions)
        mu, logvar = self.encoder(y, base)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        p = self.alpha_from(actions, base, z)
        recon = (p - y).pow(2).mean() / (2 * self.alpha_var)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum((1, 2, 3)).mean()
        pixels = y.shape[-1] * y.shape[-2]
        loss = recon + self.kl_weight * kl / pixels
        with torch.no_grad():
            ratio = composite_mse(p, y, actions) / NOISE_FLOOR
            tex = laplacian(p).pow(2).mean() / laplacian(y).pow(2).mean().clamp(min=1e-12)
        return loss, {
            "loss": float(loss.detach()),
            "kl": float(kl.detach()),
            "recon_ratio": float(ratio),
            "recon_texture": float(tex),
        }
