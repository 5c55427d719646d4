"""Model-based training of an SB3 policy through the differentiable painting env.

Why: ``Painting-v0``'s dynamics are known and differentiable — the neural painter draws the
strokes and "over" lays them on the canvas — so the policy can be trained the way Learning to
Paint trains its actor with a differentiable renderer: roll the episode out in torch, take the
distance to the target after every step as the loss, and backpropagate through the painter and
the compositing into the policy's weights. One gradient step uses whole episodes of many envs,
so a CPU trains a target-conditioned painter in minutes, where model-free SAC on the same budget
learns a target-blind "average painting" (see the README's agent table).

The trained weights live in an ordinary Stable-Baselines3 model (its actor for SAC/TD3, its
policy mean for PPO), so ``model.save`` / ``agents.load_agent`` / ``model.predict`` work as for
any SB3 agent, and model-free training can continue from it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from tqdm.auto import tqdm

from painters.actions import ACTION_DIM, from_env_action_torch
from painters.compositing import blank_canvas, over_sequence
from painters.distances import get_distance
from painters.loading import load_painter
from painters.schedule import cosine_lr
from painting_env.observation import encode_observation_torch
from painting_env.targets import TargetSet


def policy_actions(model: BaseAlgorithm, obs: dict[str, torch.Tensor]) -> torch.Tensor:
    """Deterministic actions in [-1, 1] of an SB3 policy, differentiable w.r.t. its weights."""
    policy = model.policy
    if hasattr(policy, "actor") and policy.actor is not None:  # SAC, TD3
        actor = policy.actor
        try:
            return actor(obs, deterministic=True)
        except TypeError:  # TD3's actor has no ``deterministic`` argument
            return actor(obs)
    # PPO / A2C: the mean of the Gaussian, clipped like SB3 does at predict time
    features = policy.extract_features(obs, policy.pi_features_extractor)
    latent_pi = policy.mlp_extractor.forward_actor(features)
    return torch.tanh(policy.action_net(latent_pi))


def _trainable(model: BaseAlgorithm) -> list[torch.nn.Parameter]:
    policy = model.policy
    if hasattr(policy, "actor") and policy.actor is not None:
        return list(policy.actor.parameters())
    return [p for n, p in policy.named_parameters() if not n.startswith(("value_net", "vf_"))]


def _observation(
    model: BaseAlgorithm, canvas: torch.Tensor, targets: torch.Tensor, frac: float
) -> dict[str, torch.Tensor]:
    """The env's observation as the policy sees it (uint8-valued floats, layout of its space)."""
    chw = model.observation_space["canvas"].shape[0] == 3
    return encode_observation_torch(canvas, targets, frac, "dict", channel_first=chw)


def rollout(
    model: BaseAlgorithm,
    painter: torch.nn.Module,
    targets: torch.Tensor,
    *,
    max_strokes: int,
    strokes_per_step: int,
    distance: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    background: tuple[int, int, int] = (255, 255, 255),
) -> tuple[torch.Tensor, torch.Tensor]:
    """Paint a batch of targets (B, 3, S, S) in [0, 1] for one episode, differentiably.

    Returns the distances after every step, (T, B), and the final canvases.
    """
    b, _, s, _ = targets.shape
    k = strokes_per_step
    canvas = blank_canvas(b, s, background, device=targets.device)
    dists = []
    for t in range(max_strokes // k):
        obs = _observation(model, canvas, targets, t * k / max_strokes)
        act = policy_actions(model, obs)  # (B, 12k) in [-1, 1]
        strokes = painter(from_env_action_torch(act).reshape(b * k, ACTION_DIM))
        strokes = strokes.view(b, k, *strokes.shape[1:])
        canvas = over_sequence(canvas, strokes)
        dists.append(distance(canvas, targets))
    return torch.stack(dists), canvas


def sample_targets(
    target_set: TargetSet, rng: np.random.Generator, batch: int, device: torch.device
) -> torch.Tensor:
    """A batch of training targets: the env's random crops and flips, plus a random colour-
    channel permutation (more colours than four photos have, so the policy reads the target
    instead of memorising palettes)."""
    images = np.stack([target_set.sample(rng) for _ in range(batch)])
    for i in range(batch):
        if rng.random() < 0.5:
            images[i] = images[i][..., rng.permutation(3)]
    t = torch.from_numpy(images).to(device).permute(0, 3, 1, 2).float() / 255.0
    return t


@torch.no_grad()
def synthetic_targets(
    painter: torch.nn.Module, rng: np.random.Generator, batch: int, size: int, device
) -> torch.Tensor:
    """Targets painted by the painter itself: 8–64 random strokes on a random background.

    Unlimited layouts and colours, so a policy trained on a handful of photos learns to read
    any target; mixed with photo crops by ``synthetic_fraction``.
    """
    out = []
    for _ in range(batch):
        n = int(rng.integers(8, 65))
        acts = torch.from_numpy(rng.random((n, ACTION_DIM), dtype=np.float32)).to(device)
        bg = tuple(int(c) for c in rng.integers(0, 256, 3))
        canvas = blank_canvas(1, size, bg, device=device)
        canvas = over_sequence(canvas, painter(acts)[None])
        out.append(canvas[0])
    return torch.stack(out)


def train_through_painter(
    model: BaseAlgorithm,
    *,
    env_kwargs: dict[str, Any],
    steps: int,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    seed: int = 0,
    painter: str | torch.nn.Module = "default",
    time_budget: float | None = None,
    log: Callable[[int, dict[str, float]], None] | None = None,
    progress: bool = True,
    synthetic_fraction: float = 0.0,
) -> dict[str, float]:
    """Train ``model``'s policy by backpropagating the painting distance through the painter.

    The loss is the mean over the episode's steps of the distance to the target (its sum of
    rewards, up to a constant, plus the same for every prefix, which speeds up learning).
    ``env_kwargs`` are the Painting-v0 kwargs the agent will be used with (max_strokes,
    strokes_per_step, size, distance, targets/target, background). ``synthetic_fraction`` of
    each batch are targets painted by the painter itself (:func:`synthetic_targets`).
    """
    device = model.device
    size = int(env_kwargs.get("size", 64))
    k = int(env_kwargs.get("strokes_per_step", 1))
    max_strokes = int(env_kwargs.get("max_strokes", 50))
    distance = get_distance(str(env_kwargs.get("distance", "mse")))
    background = tuple(env_kwargs.get("background", (255, 255, 255)))
    source = env_kwargs.get("targets", env_kwargs.get("target"))
    target_set = TargetSet(source, size, random_crop=env_kwargs.get("random_crop", True))
    painter_module = load_painter(painter, device)
    params = _trainable(model)
    opt = torch.optim.Adam(params, lr=learning_rate)
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    model.policy.set_training_mode(True)
    t0 = time.perf_counter()
    stats: dict[str, float] = {}
    bar = tqdm(total=steps, desc="through-painter", disable=not progress)
    step = 0
    for step in range(1, steps + 1):
        lr = cosine_lr(learning_rate, step - 1, steps, floor=0.0)
        for g in opt.param_groups:
            g["lr"] = lr
        n_syn = int(round(batch_size * synthetic_fraction))
        targets = sample_targets(target_set, rng, batch_size - n_syn, device)
        if n_syn:
            syn = synthetic_targets(painter_module, rng, n_syn, size, device)
            targets = torch.cat([targets, (syn * 255.0).round() / 255.0])
        dists, _ = rollout(
            model,
            painter_module,
            targets,
            max_strokes=max_strokes,
            strokes_per_step=k,
            distance=distance,
            background=background,
        )
        loss = dists.mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        stats = {
            "loss": float(loss.detach()),
            "final_distance": float(dists[-1].detach().mean()),
            "lr": lr,
            "elapsed_s": time.perf_counter() - t0,
        }
        if log is not None:
            log(step, stats)
        bar.set_postfix(final=f"{stats['final_distance']:.4f}")
        bar.update(1)
        if time_budget is not None and time.perf_counter() - t0 > time_budget:
            break
    bar.close()
    model.policy.set_training_mode(False)
    stats["steps"] = step
    return stats
