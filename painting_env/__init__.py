"""painting_env: the Gymnasium environment ``Painting-v0`` (paint a target, one stroke per step),
its batched torch vector env, and an adapter that presents the vector env to Stable-Baselines3.

>>> import gymnasium, painting_env
>>> env = gymnasium.make("Painting-v0")                       # bundled targets, neural painter
>>> envs = gymnasium.make_vec("Painting-v0", num_envs=256, vectorization_mode="vector_entry_point")
>>> from painting_env.sb3 import make_sb3_vec_env              # SB3 VecEnv over the batched env
"""

from __future__ import annotations

from gymnasium.envs.registration import register, registry

from painting_env.config import PaintingConfig
from painting_env.env import PaintingEnv
from painting_env.targets import TargetSet, bundled_targets
from painting_env.vector_env import PaintingVectorEnv

ENV_ID = "Painting-v0"

if ENV_ID not in registry:
    # No max_episode_steps: the env truncates itself after max_strokes (no double TimeLimit).
    register(
        id=ENV_ID,
        entry_point="painting_env.env:PaintingEnv",
        vector_entry_point="painting_env.vector_env:PaintingVectorEnv",
    )


def __getattr__(name: str):
    # The SB3 adapter imports stable_baselines3 (slow): load it only when asked for.
    if name in ("make_sb3_vec_env", "PaintingSB3VecEnv"):
        from painting_env import sb3

        return getattr(sb3, name)
    raise AttributeError(f"module 'painting_env' has no attribute {name!r}")


__all__ = [
    "ENV_ID",
    "PaintingConfig",
    "PaintingEnv",
    "PaintingSB3VecEnv",
    "PaintingVectorEnv",
    "TargetSet",
    "bundled_targets",
    "make_sb3_vec_env",
]
