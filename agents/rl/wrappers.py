"""Reward scaling for Painting-v0, as wrappers that hyperparameter files name.

The env's rewards are MSE decreases (~1e-3 per stroke); scaled to O(1), SAC's entropy bonus
and the critics' learning rate stop dwarfing them. The hyperparameter files
(``agents/hyperparams/*.yaml``) name :class:`VecScaleReward` under ``vec_env_wrapper``, which
both RL Baselines3 Zoo and ``scripts/train_agent.py`` apply to the training env::

    vec_env_wrapper:
      - agents.rl.wrappers.VecScaleReward:
          scale: 100.0

This module imports nothing heavy beyond SB3's VecEnv base, so the zoo can load it by name.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper


class VecScaleReward(VecEnvWrapper):
    """Multiplies a VecEnv's rewards by ``scale`` (observations, dones and infos unchanged;
    ``info["distance"]`` keeps the unscaled distance)."""

    def __init__(self, venv: VecEnv, scale: float = 100.0) -> None:
        if not np.isfinite(scale) or scale <= 0:
            raise ValueError(f"reward scale must be a positive number, got {scale!r}")
        super().__init__(venv)
        self.scale = float(scale)

    def reset(self):
        return self.venv.reset()

    def step_wait(self):
        obs, rewards, dones, infos = self.venv.step_wait()
        return obs, rewards * self.scale, dones, infos


class ScaleReward(gym.RewardWrapper):
    """The same scaling for one env (the zoo's ``env_wrapper`` key, or any ``gym.make`` env)."""

    def __init__(self, env: gym.Env, scale: float = 100.0) -> None:
        if not np.isfinite(scale) or scale <= 0:
            raise ValueError(f"reward scale must be a positive number, got {scale!r}")
        super().__init__(env)
        self.scale = float(scale)

    def reward(self, reward: float) -> float:
        return float(reward) * self.scale
