"""Stable-Baselines3 adapter: the batched :class:`PaintingVectorEnv` as an SB3 ``VecEnv``.

SB3 would otherwise wrap N Python env copies in a ``DummyVecEnv`` and call the painter N times
per step; this adapter lets it train on the one batched env directly. The vector env already
autoresets in the same step (SB3's convention), so the adapter only translates: ``dones =
terminated | truncated``, one info dict per env with ``terminal_observation`` and
``TimeLimit.truncated`` on episode end, and reset infos in ``reset_infos``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import VecEnv, VecMonitor
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvStepReturn

from painting_env.vector_env import PaintingVectorEnv


class PaintingSB3VecEnv(VecEnv):
    """SB3 view of a :class:`PaintingVectorEnv`.

    The sub-envs share one configuration and have no separate Python objects, so
    :meth:`get_attr` reads the vector env's attribute once and repeats it per index,
    :meth:`set_attr` sets it for all envs (a subset of indices is an error), and
    :meth:`env_method` calls the vector env's method once and repeats its result per index.
    ``seed(s)`` makes the next reset seed env i with ``s + i``, like SB3's ``DummyVecEnv``.
    """

    def __init__(self, venv: PaintingVectorEnv) -> None:
        if not isinstance(venv, PaintingVectorEnv):
            raise TypeError(f"expected a PaintingVectorEnv, got {type(venv).__name__}")
        self.venv = venv
        self._actions: np.ndarray | None = None
        super().__init__(venv.num_envs, venv.single_observation_space, venv.single_action_space)

    def reset(self):
        seeds = None if all(s is None for s in self._seeds) else list(self._seeds)
        obs, info = self.venv.reset(seed=seeds)
        self.reset_infos = [{"distance": float(d)} for d in info["distance"]]
        self._reset_seeds()
        self._reset_options()
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions)

    def step_wait(self) -> VecEnvStepReturn:
        if self._actions is None:
            raise RuntimeError("call step_async(actions) before step_wait()")
        obs, rewards, terminated, truncated, info = self.venv.step(self._actions)
        self._actions = None
        dones = terminated | truncated
        distance = info["distance"]
        infos: list[dict[str, Any]] = [{"distance": float(d)} for d in distance]
        for i in np.flatnonzero(dones):
            infos[i] = {
                "distance": float(info["final_info"]["distance"][i]),
                "terminal_observation": info["final_obs"][i],
                "TimeLimit.truncated": bool(truncated[i] and not terminated[i]),
            }
            self.reset_infos[i] = {"distance": float(distance[i])}
        return obs, rewards.astype(np.float32), dones, infos

    def close(self) -> None:
        self.venv.close()

    def get_images(self) -> Sequence[np.ndarray | None]:
        frames = self.venv.render()
        return list(frames) if frames is not None else [None] * self.num_envs

    def _indices(self, indices: VecEnvIndices) -> list[int]:
        return list(self._get_indices(indices))

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        value = getattr(self.venv, attr_name)
        return [value for _ in self._indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        if sorted(self._indices(indices)) != list(range(self.num_envs)):
            raise ValueError("the batched painting env shares attributes: set_attr on all envs")
        setattr(self.venv, attr_name, value)

    def env_method(
        self, method_name: str, *method_args, indices: VecEnvIndices = None, **method_kwargs
    ) -> list[Any]:
        result = getattr(self.venv, method_name)(*method_args, **method_kwargs)
        return [result for _ in self._indices(indices)]

    def env_is_wrapped(
        self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None
    ) -> list[bool]:
        return [False for _ in self._indices(indices)]


def make_sb3_vec_env(
    num_envs: int = 8,
    seed: int | None = 0,
    device: str = "cpu",
    *,
    monitor: bool = True,
    **env_kwargs: Any,
) -> VecEnv:
    """An SB3 ``VecEnv`` over one batched :class:`PaintingVectorEnv`.

    ``env_kwargs`` are :class:`painting_env.env.PaintingEnv`'s keyword arguments. The first
    reset seeds env i with ``seed + i``. With ``monitor`` (default) the env is wrapped in SB3's
    ``VecMonitor`` so episode returns and lengths reach the logger.
    """
    venv = PaintingVectorEnv(num_envs, device=device, **env_kwargs)
    env: VecEnv = PaintingSB3VecEnv(venv)
    if seed is not None:
        env.seed(seed)
    if monitor:
        env = VecMonitor(env)
    return env
