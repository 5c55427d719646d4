"""The VAE painter: Nakano's conditional VAE (*Neural Painters*, arXiv 1904.08410).

An encoder q(z | stroke, action) sees the real alpha map and its action; the decoder
p(stroke | action, z) draws the alpha map. The latent carries what the action does not fix
(the brush's random texture), so at inference the latent sits at its prior mean, z = 0, and the
painter draws the expected-looking stroke deterministically. Colour comes from the action.

ELBO with a Gaussian likelihood whose variance is the brush's own noise: two renders of one
action differ by MSE ≈ floor (0.002) on white, so each render's variance around the mean stroke
is floor / 2. Using that σ² (on the composited pixels) makes the reconstruction term the
fidelity metric in nats, and the KL term cannot be traded against a made-up scale.
"""

from __future__ import annotations

import torch
from torch import nn

from painters.models.base import NeuralPainter, register_painter
from painters.models.supervised import (
    NOISE_FLOOR,
    AlphaDecoder,
    PixelLossMixin,
    composite_mse,
    target_alpha,
    white_weight,
)


class Encoder(nn.Module):
    """(alpha (B, 1, 64, 64), action (B, 12)) → (mean, log-variance) of z, each (B, latent)."""

    def __init__(self, channels: int = 16, latent_dim: int = 16) -> None:
        super().__init__()
        c = channels
        self.conv = nn.Sequential(
            nn.Conv2d(1, c, 4, 2, 1), nn.SiLU(),  # 32
            nn.Conv2d(c, 2 * c, 4, 2, 1), nn.SiLU(),  # 16
            nn.Conv2d(2 * c, 4 * c, 4, 2, 1), nn.SiLU(),  # 8
            nn.Conv2d(4 * c, 4 * c, 4, 2, 1), nn.SiLU(),  # 4
        )  # fmt: skip
        self.fc = nn.Sequential(
            nn.Linear(4 * c * 16 + 12, 128), nn.SiLU(), nn.Linear(128, 2 * latent_dim)
        )
        nn.init.zeros_(self.fc[-1].weight)
        nn.init.zeros_(self.fc[-1].bias)

    def forward(self, alpha: torch.Tensor, actions: torch.Tensor):
        h = torch.cat([self.conv(alpha).flatten(1), actions], 1)
        mu, logvar = self.fc(h).chunk(2, dim=1)
        return mu, logvar.clamp(-10.0, 5.0)


@register_painter
class VAEPainter(PixelLossMixin, NeuralPainter):
    """Conditional VAE painter (see module docstring).

    Args:
        size: stroke side in px.
        hidden: decoder MLP width.
        base_channels: decoder channels at 8×8.
        latent_dim: dimensions of z.
        encoder_channels: encoder width.
        kl_weight: β of the ELBO (1.0 is the true ELBO).
    """

    kind = "vae"
    default_lr = 5e-4

    def __init__(
        self,
        size: int = 64,
        hidden: int = 256,
        base_channels: int = 64,
        latent_dim: int = 16,
        encoder_channels: int = 16,
        kl_weight: float = 1.0,
    ) -> None:
        super().__init__(
            size=size,
            hidden=hidden,
            base_channels=base_channels,
            latent_dim=latent_dim,
            encoder_channels=encoder_channels,
            kl_weight=kl_weight,
        )
        self.size, self.latent_dim, self.kl_weight = size, latent_dim, kl_weight
        self.encoder = Encoder(encoder_channels, latent_dim)
        self.decoder = AlphaDecoder(12 + latent_dim, hidden, base_channels, size)

    def alpha(self, actions: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        """Alpha map for latent ``z`` (default: the prior mean 0, the deterministic painter)."""
        actions = actions.float()
        if z is None:
            z = actions.new_zeros(actions.shape[0], self.latent_dim)
        return torch.sigmoid(self.decoder(torch.cat([actions, z], 1)))

    def forward(self, actions: torch.Tensor) -> torch.Tensor:
        actions = actions.float()
        return self.rgba_from_alpha(actions, self.alpha(actions))

    def training_loss(
        self, actions: torch.Tensor, strokes: torch.Tensor, phase: str = "main"
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Negative ELBO per pixel: composited squared error / (2σ²) + β·KL / pixels."""
        actions = actions.float()
        y = target_alpha(strokes)
        mu, logvar = self.encoder(y * white_weight(actions).sqrt(), actions)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        p = self.alpha(actions, z)
        mse = composite_mse(p, y, actions)
        sigma2 = NOISE_FLOOR / 2
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(1).mean()
        pixels = y.shape[-1] * y.shape[-2]
        loss = mse / (2 * sigma2) + self.kl_weight * kl / pixels
        return loss, {
            "loss": float(loss.detach()),
            "kl": float(kl.detach()),
            "recon_ratio": float(mse.detach()) / NOISE_FLOOR,
        }
