"""The GAN painter: Nakano's conditional GAN (*Neural Painters*, arXiv 1904.08410).

A generator maps (action, noise) to the stroke's alpha map; an action-conditioned critic scores
(stroke, action) pairs. The real brush's texture is random given the action, and a GAN can in
principle model that randomness through its noise input; the painter, though, must be
deterministic, so inference uses the fixed noise vector 0. Colour comes from the action, as for
the other kinds, so the generator draws only alpha.

Objective: hinge loss with a spectrally normalised critic (stable, and unlike WGAN-GP needs no
double backward, which DistributedDataParallel does not support), plus Nakano's optional pixel
term (composited MSE; weight ``pixel_weight``), which anchors the generator to the mean stroke
and is what makes it reach a usable fidelity in a short CPU budget. Each batch takes
``critic_steps`` critic updates, then one generator update (the trainer reads ``phases``).
The critic lives in the module, so checkpoints hold it and training resumes; ``forward`` uses
only the generator.
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from painters.models.base import NeuralPainter, register_painter
from painters.models.supervised import (
    NOISE_FLOOR,
    AlphaDecoder,
    composite_mse,
    target_alpha,
    white_weight,
)


class Critic(nn.Module):
    """(alpha on white (B, 1, 64, 64), action (B, 12)) → score (B,). Projection conditioning:
    the action is embedded and dotted with the image features (Miyato & Koyama 2018)."""

    def __init__(self, channels: int = 32, size: int = 64) -> None:
        super().__init__()
        c = channels
        layers: list[nn.Module] = []
        cin = 1 + 12  # alpha + action broadcast as channels (cheap, strong conditioning)
        for cout in (c, 2 * c, 4 * c, 4 * c):  # 64 → 32 → 16 → 8 → 4
            layers += [spectral_norm(nn.Conv2d(cin, cout, 4, 2, 1)), nn.LeakyReLU(0.2)]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.out = spectral_norm(nn.Linear(4 * c, 1))
        self.embed = spectral_norm(nn.Linear(12, 4 * c))

    def forward(self, alpha: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        b, _, h, w = alpha.shape
        x = torch.cat([alpha, actions[:, :, None, None].expand(b, 12, h, w)], 1)
        f = self.features(x).sum((2, 3))
        return self.out(f).squeeze(1) + (self.embed(actions) * f).sum(1)


@register_painter
class GANPainter(NeuralPainter):
    """Conditional hinge GAN painter (see module docstring).

    Args:
        size: stroke side in px.
        hidden: generator MLP width.
        base_channels: generator channels at 8×8.
        noise_dim: noise dimensions fed to the generator during training (0 at inference).
        critic_channels: critic width.
        critic_steps: critic updates per generator update.
        adv_weight: weight of the adversarial term in the generator loss.
        pixel_weight: weight of the composited pixel MSE (÷ noise floor) in the generator loss.
    """

    kind = "gan"
    phases: ClassVar[tuple[str, ...]] = ("critic", "generator")
    default_lr = 2e-4

    def __init__(
        self,
        size: int = 64,
        hidden: int = 256,
        base_channels: int = 64,
        noise_dim: int = 16,
        critic_channels: int = 16,
        critic_steps: int = 1,
        adv_weight: float = 0.1,
        pixel_weight: float = 1.0,
    ) -> None:
        super().__init__(
            size=size,
            hidden=hidden,
            base_channels=base_channels,
            noise_dim=noise_dim,
            critic_channels=critic_channels,
            critic_steps=critic_steps,
            adv_weight=adv_weight,
            pixel_weight=pixel_weight,
        )
        self.size, self.noise_dim = size, noise_dim
        self.critic_steps, self.adv_weight, self.pixel_weight = (
            critic_steps,
            adv_weight,
            pixel_weight,
        )
        self.generator = AlphaDecoder(12 + noise_dim, hidden, base_channels, size)
        self.critic = Critic(critic_channels, size)

    @property
    def phase_schedule(self) -> tuple[str, ...]:
        return ("critic",) * self.critic_steps + ("generator",)

    def phase_parameters(self, phase: str) -> list[nn.Parameter]:
        part = self.critic if phase == "critic" else self.generator
        return list(part.parameters())

    def alpha(self, actions: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        """Alpha map; ``noise`` defaults to random in training mode and to 0 in eval mode."""
        actions = actions.float()
        if noise is None:
            shape = (actions.shape[0], self.noise_dim)
            noise = (
                torch.randn(shape, device=actions.device)
                if self.training
                else torch.zeros(shape, device=actions.device)
            )
        return torch.sigmoid(self.generator(torch.cat([actions, noise], 1)))

    def forward(self, actions: torch.Tensor) -> torch.Tensor:
        actions = actions.float()
        return self.rgba_from_alpha(actions, self.alpha(actions))

    def training_loss(
        self, actions: torch.Tensor, strokes: torch.Tensor, phase: str = "generator"
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Hinge critic loss (``phase="critic"``) or generator loss (adversarial + pixel)."""
        actions = actions.float()
        y = target_alpha(strokes)
        # the critic sees strokes as they look on white (alpha times colour contrast), so it
        # judges what the fidelity metric sees
        contrast = white_weight(actions).sqrt()
        if phase == "critic":
            with torch.no_grad():
                fake = self.alpha(actions)
            scores = self.critic(torch.cat([y, fake]) * contrast.repeat(2, 1, 1, 1),
                                 actions.repeat(2, 1))  # fmt: skip
            real_s, fake_s = scores.chunk(2)
            loss = F.relu(1.0 - real_s).mean() + F.relu(1.0 + fake_s).mean()
            return loss, {"critic_loss": float(loss.detach())}
        fake = self.alpha(actions)
        adv = -self.critic(fake * contrast, actions).mean()
        mse = composite_mse(fake, y, actions)
        loss = self.adv_weight * adv + self.pixel_weight * mse / NOISE_FLOOR
        return loss, {
            "loss": float(loss.detach()),
            "adv_loss": float(adv.detach()),
            "ratio_est": float(mse.detach()) / NOISE_FLOOR,
        }
