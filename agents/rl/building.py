"""What training and loading an SB3 agent share: the algorithms, the env factories and the
policy keyword arguments built from a hyperparameter file."""

from __future__ import annotations

import copy
from typing import Any

import gymnasium as gym
import torch
from stable_baselines3 import PPO, SAC, TD3
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecEnv, VecMonitor, is_vecenv_wrapped

from agents.rl.features import PaintingCNN
from agents.rl.zoo_format import parse_policy_kwargs

ENV_ID = "Painting-v0"
ALGOS: dict[str, type[BaseAlgorithm]] = {"sac": SAC, "td3": TD3, "ppo": PPO}


def make_vec_env(n_envs: int, seed: int = 0, device: str = "cpu", **env_kwargs: Any) -> VecEnv:
    """An SB3 VecEnv over Painting-v0: the batched torch env through painting_env's adapter when
    it is available, else N single envs (DummyVecEnv). Wrapped in VecMonitor for episode stats.
    """
    import painting_env  # noqa: F401  (registers Painting-v0)

    try:
        from painting_env.sb3 import make_sb3_vec_env
    except ImportError:
        make_sb3_vec_env = None
    if make_sb3_vec_env is not None:
        venv = make_sb3_vec_env(n_envs, seed=seed, device=device, **env_kwargs)
    else:
        from stable_baselines3.common.env_util import make_vec_env as sb3_make_vec_env

        venv = sb3_make_vec_env(ENV_ID, n_envs=n_envs, seed=seed, env_kwargs=env_kwargs)
    if not is_vecenv_wrapped(venv, VecMonitor) and not _has_monitor(venv):
        venv = VecMonitor(venv)
    return venv


def _has_monitor(venv: VecEnv) -> bool:
    try:
        from stable_baselines3.common.monitor import Monitor

        return bool(venv.env_is_wrapped(Monitor)[0])
    except Exception:
        return False


def make_env(**env_kwargs: Any) -> gym.Env:
    """One Painting-v0 env (for previews and evaluation)."""
    import painting_env  # noqa: F401

    return gym.make(ENV_ID, **env_kwargs)


def _extractors() -> dict[str, type]:
    from agents.rl.features import PaintingGridMLP
    from agents.rl.spatial import SpatialPainter

    return {
        "PaintingCNN": PaintingCNN,
        "PaintingGridMLP": PaintingGridMLP,
        "SpatialPainter": SpatialPainter,
    }


def policy_kwargs_for(hp: dict[str, Any]) -> dict[str, Any]:
    """SB3 ``policy_kwargs`` from the YAML's: a painting features extractor (named by
    ``features_extractor_class``, default ``PaintingCNN``), which scales pixels itself."""
    policy_kwargs = copy.deepcopy(parse_policy_kwargs(hp.get("policy_kwargs")))
    if isinstance(policy_kwargs.get("activation_fn"), str):
        policy_kwargs["activation_fn"] = getattr(torch.nn, policy_kwargs["activation_fn"])
    if isinstance(policy_kwargs.get("optimizer_class"), str):
        policy_kwargs["optimizer_class"] = getattr(torch.optim, policy_kwargs["optimizer_class"])
    name = policy_kwargs.get("features_extractor_class", "PaintingCNN")
    extractors = _extractors()
    if name not in extractors:
        raise ValueError(
            f"unknown features_extractor_class {name!r}; choose one of {', '.join(extractors)}"
        )
    policy_kwargs["features_extractor_class"] = extractors[name]
    policy_kwargs["normalize_images"] = False
    fe = dict(policy_kwargs.get("features_extractor_kwargs") or {})
    for key in ("cnn_channels", "channels", "blocks"):
        if key in fe:
            fe[key] = tuple(fe[key])
    policy_kwargs["features_extractor_kwargs"] = fe
    return policy_kwargs
