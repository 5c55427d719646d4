"""The policy of :class:`agents.rl.through_painter.ThroughPainter`: a deterministic actor (the
spatial painting network, :class:`agents.rl.spatial.SpatialPainter`, and a linear ``mu`` layer
before the tanh) and, for the model-based critic rule, a value network V(s).

The actor's parameter names match an SB3 SAC actor built with ``net_arch=[]``
(``actor.features_extractor.*``, ``actor.mu.*``), so a SAC-packaged painting actor moves into
this policy unchanged and paints the same strokes.
"""

from __future__ import annotations

import copy
from typing import Any

import gymnasium as gym
import torch
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import Schedule
from stable_baselines3.common.utils import ConstantSchedule
from torch import nn

from agents.rl.spatial import SpatialPainter


class PaintingActor(nn.Module):
    """Observation → env action in [-1, 1]: ``tanh(mu(features_extractor(obs)))``."""

    def __init__(self, features_extractor: nn.Module, action_dim: int) -> None:
        super().__init__()
        self.features_extractor = features_extractor
        self.mu = nn.Linear(features_extractor.features_dim, action_dim)
        if features_extractor.features_dim == action_dim:
            # the extractor's output is the pre-tanh action: start as its identity
            with torch.no_grad():
                self.mu.weight.copy_(torch.eye(action_dim))
                self.mu.bias.zero_()

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        features = self.features_extractor({k: v.float() for k, v in obs.items()})
        return torch.tanh(self.mu(features))


class ValueNet(nn.Module):
    """V(s) for a painting state: a small strided CNN over canvas, target, their difference and
    the step, on the *float* canvas, so the value is differentiable in the canvas (the actor's
    gradient flows through V(s′) into the strokes it painted). The output is in units of the
    distance's scale (``scale`` times the reward)."""

    def __init__(self, channels: tuple[int, int, int] = (16, 32, 32), hidden: int = 64) -> None:
        super().__init__()
        c1, c2, c3 = (int(c) for c in channels)
        self.convs = nn.Sequential(
            nn.Conv2d(10, c1, 4, stride=2, padding=1),
            nn.GroupNorm(4, c1),
            nn.ReLU(),
            nn.Conv2d(c1, c2, 4, stride=2, padding=1),
            nn.GroupNorm(8, c2),
            nn.ReLU(),
            nn.Conv2d(c2, c3, 4, stride=2, padding=1),
            nn.ReLU(),
        )
        self.head = nn.Sequential(nn.Linear(2 * c3 + 1, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(
        self, canvas: torch.Tensor, target: torch.Tensor, step: torch.Tensor
    ) -> torch.Tensor:
        """canvas, target float (B, 3, S, S) in [0, 1], step (B, 1) → V (B,)."""
        b, _, s, _ = canvas.shape
        plane = step.reshape(b, 1, 1, 1).expand(b, 1, s, s)
        x = self.convs(torch.cat([canvas, target, target - canvas, plane], 1))
        pooled = torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3)), step.reshape(b, 1)], 1)
        return self.head(pooled).squeeze(1)


class ThroughPainterPolicy(BasePolicy):
    """The actor (and optional critic) of :class:`~agents.rl.through_painter.ThroughPainter`.

    Args:
        observation_space: ``Painting-v0``'s Dict space (channel-first after SB3's transpose).
        action_space: its ``Box(-1, 1, (12·k,))``.
        lr_schedule: the actor's learning rate schedule (its optimizer's initial rate).
        features_extractor_class: the actor's network (default :class:`SpatialPainter`).
        features_extractor_kwargs: its keyword arguments (``strokes_per_step`` defaults to
            the action's stroke count).
        critic: build a value network V(s) and its target copy (the model-based critic rule).
        critic_kwargs: :class:`ValueNet` keyword arguments.
        critic_learning_rate: the critic optimizer's rate.
        net_arch: accepted for SB3 compatibility; must be empty (the extractor's output is
            the pre-tanh action).
    """

    def __init__(
        self,
        observation_space: gym.spaces.Dict,
        action_space: gym.spaces.Box,
        lr_schedule: Schedule,
        features_extractor_class: type[nn.Module] = SpatialPainter,
        features_extractor_kwargs: dict[str, Any] | None = None,
        normalize_images: bool = False,
        optimizer_class: type[torch.optim.Optimizer] = torch.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
        critic: bool = False,
        critic_kwargs: dict[str, Any] | None = None,
        critic_learning_rate: float = 1e-3,
        net_arch: list[int] | None = None,
    ) -> None:
        if net_arch:
            raise ValueError("ThroughPainterPolicy needs net_arch=[] (or none)")
        kwargs = dict(features_extractor_kwargs or {})
        action_dim = int(action_space.shape[0])
        if features_extractor_class is SpatialPainter:
            kwargs.setdefault("strokes_per_step", action_dim // 12)
        super().__init__(
            observation_space,
            action_space,
            features_extractor_class,
            kwargs,
            optimizer_class=optimizer_class,
            optimizer_kwargs=optimizer_kwargs,
            normalize_images=normalize_images,
            squash_output=True,
        )
        self.use_critic = bool(critic)
        self.critic_kwargs = dict(critic_kwargs or {})
        self.critic_learning_rate = float(critic_learning_rate)
        self._build(lr_schedule)

    def _build(self, lr_schedule: Schedule) -> None:
        extractor = self.make_features_extractor()
        self.actor = PaintingActor(extractor, int(self.action_space.shape[0]))
        self.optimizer = self.optimizer_class(
            self.actor.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs
        )
        self.critic: ValueNet | None = None
        self.critic_target: ValueNet | None = None
        self.critic_optimizer: torch.optim.Optimizer | None = None
        if self.use_critic:
            self.critic = ValueNet(**self.critic_kwargs)
            self.critic_target = copy.deepcopy(self.critic)
            self.critic_target.requires_grad_(False)
            self.critic_optimizer = self.optimizer_class(
                self.critic.parameters(), lr=self.critic_learning_rate, **self.optimizer_kwargs
            )

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            lr_schedule=ConstantSchedule(float(self.optimizer.param_groups[0]["lr"])),
            features_extractor_class=self.features_extractor_class,
            features_extractor_kwargs=self.features_extractor_kwargs,
            critic=self.use_critic,
            critic_kwargs=self.critic_kwargs,
            critic_learning_rate=self.critic_learning_rate,
        )
        return data

    def forward(self, obs: dict[str, torch.Tensor], deterministic: bool = True) -> torch.Tensor:
        return self._predict(obs, deterministic)

    def _predict(self, observation: Any, deterministic: bool = True) -> torch.Tensor:
        # the policy is deterministic: the painting actor's action
        return self.actor(observation)

    def set_training_mode(self, mode: bool) -> None:
        self.actor.train(mode)
        if self.critic is not None:
            self.critic.train(mode)
        self.training = mode


def soft_update(target: nn.Module, source: nn.Module, tau: float) -> None:
    """Polyak averaging of ``target`` towards ``source``."""
    with torch.no_grad():
        for t, s in zip(target.parameters(), source.parameters(), strict=True):
            t.lerp_(s, tau)


def policy_kwargs_of(hp: dict[str, Any]) -> dict[str, Any]:
    """:class:`ThroughPainterPolicy` kwargs from a recipe's JSON-friendly ``policy_kwargs``."""
    from agents.rl.features import PaintingCNN, PaintingGridMLP
    from agents.rl.zoo_format import parse_policy_kwargs

    kw = copy.deepcopy(parse_policy_kwargs(hp.get("policy_kwargs")) or {})
    name = kw.pop("features_extractor_class", "SpatialPainter")
    extractors = {
        "PaintingCNN": PaintingCNN,
        "PaintingGridMLP": PaintingGridMLP,
        "SpatialPainter": SpatialPainter,
    }
    if name not in extractors:
        raise ValueError(
            f"unknown features_extractor_class {name!r}; choose one of {', '.join(extractors)}"
        )
    fe = dict(kw.pop("features_extractor_kwargs", None) or {})
    for key in ("channels", "blocks", "cnn_channels"):
        if key in fe:
            fe[key] = tuple(fe[key])
    unknown = set(kw) - {"net_arch", "critic_kwargs", "normalize_images"}
    if unknown:
        raise ValueError(f"policy_kwargs: unknown keys {sorted(unknown)} for through-painter")
    if kw.get("net_arch"):
        raise ValueError("policy_kwargs.net_arch must be [] for through-painter")
    kw.pop("net_arch", None)
    kw.pop("normalize_images", None)
    return {"features_extractor_class": extractors[name], "features_extractor_kwargs": fe, **kw}


__all__ = [
    "PaintingActor",
    "ThroughPainterPolicy",
    "ValueNet",
    "policy_kwargs_of",
    "soft_update",
]
