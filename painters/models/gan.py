"""The GAN painter: structure + a texture generator trained adversarially.

After Nakano's *Neural Painters* (arXiv 1904.08410), whose GAN painter maps (action, noise) to
the stroke. Here the generator is a :class:`~painters.models.textured.TexturedPainter`: the
frozen structured painter gives the stroke's geometry, and a small U-Net fed with noise planes
adds the brush's texture as a gated logit residual, plus an explicit texture path (the first
noise plane blurred into blobs of the brush's grain, times a learned amplitude map:
``modulation``), which gives texture from the first step instead of after the many steps a
U-Net needs to learn to shape white noise; ``temperature`` scales the noise when drawing. The
real brush's texture is random given the action, so a sampler — not a mean predictor — is what
looks like it: a perfect sampler scores fidelity ratio 1.0 and the brush's own texture
statistics.

Objective: hinge loss with a spectrally normalised PatchGAN critic that sees (alpha, its
Laplacian, structured alpha), i.e. judges local texture given the expected geometry; plus an
L1 term between 4×-average-pooled fake and real alpha that keeps the generator's low
frequencies (the geometry and the amount of ink) on the real stroke's, so the critic only has
texture left to argue about; and the squared log ratio of each stroke's Laplacian energy to
the real stroke's, which pulls the amount of texture to the brush's directly. Each batch takes
``critic_steps`` critic updates, then one generator update (the trainer reads
``phase_schedule``). The critic lives in the module, so
checkpoints hold it and training resumes exactly; drawing uses only the generator.

``painter(actions)`` draws a sample; ``sample=False`` draws with zero noise (deterministic).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from painters.models.base import register_painter
from painters.models.supervised import NOISE_FLOOR, composite_mse, target_alpha
from painters.models.textured import (
    GlobalCritic,
    PatchCritic,
    TexturedPainter,
    alpha_histogram,
    highpass,
    laplacian,
    lowpass,
    radial_spectrum,
)


def quantized(alpha: torch.Tensor) -> torch.Tensor:
    """Alpha rounded to 8-bit levels, with the gradient of the identity (straight-through):
    real strokes are 8-bit, so a critic shown float strokes could tell them by value alone."""
    return alpha + ((alpha * 255).round() / 255 - alpha).detach()


class HighpassCritic(GlobalCritic):
    """Whole-stroke critic built like the strict two-sample test's classifier
    (:func:`painters.evaluation.two_sample_accuracy`): :class:`GlobalCritic`'s network on alpha
    rounded to 8 bits, its Laplacian and its 3×3 high-pass, plus the structured alpha as the
    condition. :meth:`features` gives the pooled features, which the generator's
    feature-matching term compares.
    """

    def __init__(self, channels: int = 16) -> None:
        super().__init__(channels, inputs=4)

    def planes(self, alpha: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
        a = quantized(alpha)
        return torch.cat([a, 4.0 * laplacian(a), 4.0 * highpass(a), base], 1)


@register_painter
class GANPainter(TexturedPainter):
    """Conditional hinge-GAN texture painter (see module docstring).

    Args (beyond :class:`~painters.models.textured.TexturedPainter`'s):
        critic_channels: width of the PatchGAN critic.
        critic_steps: critic updates per generator update.
        adv_weight: weight of the adversarial term in the generator loss.
        lowpass_weight: weight of the L1 between 4×-pooled fake and real alpha.
        lowpass_factor: pooling factor of that term.
        texture_weight: weight of the squared log ratio of each stroke's Laplacian energy
            (fake ÷ real): a cheap, direct pull towards the brush's amount of texture, which
            the adversarial term alone finds slowly on a CPU budget; the critic decides its
            look.
        global_critic: add a second critic that judges whole strokes (features pooled by
            mean and max over the tile, like the two-sample test's classifier), beside the
            PatchGAN's local scores.
        hist_weight: weight of the L1 between the batch's soft histograms of alpha (fake and
            real, 10 bins over (0, 1]): real strokes have more saturated and fewer faint pixels
            than a smooth painter draws, a global tell a patch critic misses.
        critic_lr_scale: the critics' learning rate ÷ the generator's.
        scatter_lr_scale: the dab scatter's learning rate ÷ the texture network's (with
            ``dab_scatter``, see :class:`~painters.models.textured.TexturedPainter`).
        texture_map_weight: weight of the L1 between fake and real log Laplacian energy
            pooled over 8×8 blocks: texture where the brush puts it, not just as much.
        spectrum_weight: weight of the L1 between the log radial power spectra of the
            batch's fake and real alpha (:func:`~painters.models.textured.radial_spectrum`):
            the grain at each scale, which the Laplacian terms (one number dominated by the
            finest scale) do not pin down.
        highpass_critic: add a third critic built like the strict two-sample test's
            classifier (:class:`HighpassCritic`: 8-bit alpha, its Laplacian and 3×3 high-pass,
            pooled over the whole stroke).
        feature_match_weight: weight of the L1 between the batch means of that critic's pooled
            features on fake and real strokes (feature matching, Salimans et al. 2016): the
            generator matches the statistics such a classifier separates the classes by.
    """

    kind = "gan"
    stochastic: ClassVar[bool] = True
    phases: ClassVar[tuple[str, ...]] = ("critic", "generator")
    default_lr = 2e-4

    def __init__(
        self,
        noise_channels: int = 2,
        noise_size: int = 64,
        critic_channels: int = 16,
        critic_steps: int = 1,
        adv_weight: float = 1.0,
        lowpass_weight: float = 20.0,
        lowpass_factor: int = 4,
        texture_weight: float = 1.0,
        global_critic: bool = False,
        hist_weight: float = 0.0,
        critic_lr_scale: float = 1.0,
        scatter_lr_scale: float = 3.0,
        texture_map_weight: float = 0.0,
        spectrum_weight: float = 0.0,
        highpass_critic: bool = False,
        feature_match_weight: float = 0.0,
        **kwargs: Any,
    ) -> None:
        if noise_channels < 1:
            raise ValueError("the GAN painter needs noise: noise_channels must be ≥ 1")
        kwargs.setdefault("modulation", 0.8)
        super().__init__(
            noise_channels=noise_channels,
            noise_size=noise_size,
            critic_channels=critic_channels,
            critic_steps=critic_steps,
            adv_weight=adv_weight,
            lowpass_weight=lowpass_weight,
            lowpass_factor=lowpass_factor,
            texture_weight=texture_weight,
            global_critic=global_critic,
            hist_weight=hist_weight,
            critic_lr_scale=critic_lr_scale,
            scatter_lr_scale=scatter_lr_scale,
            texture_map_weight=texture_map_weight,
            spectrum_weight=spectrum_weight,
            highpass_critic=highpass_critic,
            feature_match_weight=feature_match_weight,
            **kwargs,
        )
        self.critic_steps, self.adv_weight = critic_steps, adv_weight
        self.lowpass_weight, self.lowpass_factor = lowpass_weight, lowpass_factor
        self.texture_weight, self.hist_weight = texture_weight, hist_weight
        self.critic = PatchCritic(critic_channels)
        self.global_critic = GlobalCritic(critic_channels) if global_critic else None
        self.critic_lr_scale = float(critic_lr_scale)
        self.scatter_lr_scale = float(scatter_lr_scale)
        self.texture_map_weight = float(texture_map_weight)
        self.spectrum_weight = float(spectrum_weight)
        if feature_match_weight > 0 and not highpass_critic:
            raise ValueError("feature_match_weight needs highpass_critic")
        self.highpass_critic = HighpassCritic(critic_channels) if highpass_critic else None
        self.feature_match_weight = float(feature_match_weight)

    @property
    def phase_schedule(self) -> tuple[str, ...]:
        return ("critic",) * self.critic_steps + ("generator",)

    def phase_parameters(self, phase: str) -> list[nn.Parameter]:
        if phase == "critic":
            params = list(self.critic.parameters())
            for critic in (self.global_critic, self.highpass_critic):
                if critic is not None:
                    params += list(critic.parameters())
            return params
        return self.texture_parameters() + self.scatter_parameters()

    def phase_param_groups(self, phase: str) -> list[dict[str, Any]]:
        """Optimiser groups of a phase, each with the factor (``lr_scale``) by which the
        trainer multiplies its learning rate: the critics ``critic_lr_scale``; the dab scatter
        ``scatter_lr_scale`` (it has few weights and far to go), the texture network 1."""
        if phase == "critic":
            return [{"params": self.phase_parameters(phase), "lr_scale": self.critic_lr_scale}]
        if self.scatter is None:
            return [{"params": self.phase_parameters(phase)}]
        return [
            {"params": self.texture_parameters()},
            {"params": self.scatter_parameters(), "lr_scale": self.scatter_lr_scale},
        ]

    def _scattered(
        self, actions: torch.Tensor, base: torch.Tensor, noise: torch.Tensor
    ) -> torch.Tensor:
        """The structure the texture is drawn on: ``base`` itself, or with ``dab_scatter`` the
        structure with its dabs scattered by ``noise``."""
        return base if self.scatter is None else self.structure_alpha(actions, noise)

    def _scores(self, alpha: torch.Tensor, base: torch.Tensor) -> list[torch.Tensor]:
        """Each critic's scores (patch map, and the global critic's one per stroke)."""
        scores = [self.critic(alpha, base)]
        for critic in (self.global_critic, self.highpass_critic):
            if critic is not None:
                scores.append(critic(alpha, base))
        return scores

    def training_loss(
        self, actions: torch.Tensor, strokes: torch.Tensor, phase: str = "generator"
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Hinge critic loss (``phase="critic"``) or generator loss (adversarial + low-pass)."""
        actions = actions.float()
        y = target_alpha(strokes)
        with torch.no_grad():
            base = self.structure_alpha(actions)
        noise = self.sample_noise(actions.shape[0], device=actions.device)
        if phase == "critic":
            with torch.no_grad():
                fake = self.alpha_from(actions, self._scattered(actions, base, noise), noise)
            loss, gap = actions.new_zeros(()), 0.0
            for scores in self._scores(torch.cat([y, fake]), base.repeat(2, 1, 1, 1)):
                real_s, fake_s = scores.chunk(2)
                loss = loss + F.relu(1.0 - real_s).mean() + F.relu(1.0 + fake_s).mean()
                gap += float((real_s.mean() - fake_s.mean()).detach())
            return loss, {"critic_loss": float(loss.detach()), "critic_gap": gap}
        fake = self.alpha_from(actions, self._scattered(actions, base, noise), noise)
        adv = -sum(scores.mean() for scores in self._scores(fake, base))
        f = self.lowpass_factor
        low = (lowpass(fake, f) - lowpass(y, f)).abs().mean()
        e_fake = laplacian(fake).pow(2).mean((1, 2, 3))
        e_real = laplacian(y).pow(2).mean((1, 2, 3))
        tex_term = (torch.log(e_fake + 1e-5) - torch.log(e_real + 1e-5)).pow(2).mean()
        loss = self.adv_weight * adv + self.lowpass_weight * low
        if self.texture_weight > 0:
            loss = loss + self.texture_weight * tex_term
        if self.texture_map_weight > 0:
            # where the texture is: log Laplacian energy in 8×8 blocks, fake vs real
            e_map = [F.avg_pool2d(laplacian(a).pow(2), 8) for a in (fake, y)]
            t_map = (torch.log(e_map[0] + 1e-4) - torch.log(e_map[1] + 1e-4)).abs().mean()
            loss = loss + self.texture_map_weight * t_map
        if self.spectrum_weight > 0:
            spec = [torch.log(radial_spectrum(a) + 1e-6) for a in (fake, y)]
            loss = loss + self.spectrum_weight * (spec[0] - spec[1]).abs().mean()
        if self.hist_weight > 0:
            hist = (alpha_histogram(fake) - alpha_histogram(y)).abs().sum() * 10
            loss = loss + self.hist_weight * hist
        fm = None
        if self.feature_match_weight > 0 and self.highpass_critic is not None:
            with torch.no_grad():
                f_real = self.highpass_critic.features(y, base).mean(0)
            fm = (self.highpass_critic.features(fake, base).mean(0) - f_real).abs().mean()
            loss = loss + self.feature_match_weight * fm
        with torch.no_grad():
            tex = e_fake.mean() / e_real.mean().clamp(min=1e-12)
            ratio = composite_mse(fake, y, actions) / NOISE_FLOOR
        return loss, {
            "loss": float(loss.detach()),
            "adv_loss": float(adv.detach()),
            "lowpass_l1": float(low.detach()),
            "ratio_est": float(ratio),
            "texture_est": float(tex),
            **({"feature_match": float(fm.detach())} if fm is not None else {}),
        }
