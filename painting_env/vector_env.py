"""``PaintingVectorEnv``: N paintings as one torch batch, a few painter calls per step."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from painting_env.config import PaintingConfig, make_config
from painting_env.core import PaintingCore


class PaintingVectorEnv(VectorEnv):
    """N independent ``Painting-v0`` episodes stepped together.

    All canvases and targets live in one (N, 3, H, W) tensor on ``device`` and the N·k strokes
    of a step are drawn in a few painter calls, which is what makes RL on a laptop practical
    (N Python env copies would each pay the painter's fixed per-call cost).

    Spec: the same as :class:`painting_env.env.PaintingEnv` (the same keyword arguments or
    :class:`painting_env.config.PaintingConfig`, plus ``num_envs``; without a config ``device``
    defaults to ``"auto"``, CUDA when available). Each step runs the batch in chunks of at
    most :data:`painting_env.core.ROW_CHUNK` envs, so a large batch costs no more per stroke;
    on the CPU with the default painter the chunks run on ``torch.get_num_threads()`` threads
    (set it to 1 for one thread). Spaces are the single env's, batched with
    :func:`gymnasium.vector.utils.batch_space`.

    Seeding: ``reset(seed=s)`` seeds sub-env i with ``s + i`` (a list gives one seed per env),
    exactly as a :class:`PaintingEnv` reset with that seed: same targets, same canvases.

    Autoreset: ``AutoresetMode.SAME_STEP``. When a sub-env's episode ends, the step returns
    that env's *reset* observation; its last observation is in ``info["final_obs"][i]`` and its
    last info in ``info["final_info"]`` (with the ``_final_obs`` / ``_final_info`` masks, as
    Gymnasium's ``SyncVectorEnv`` does in this mode). ``info["distance"]`` is always the distance
    of the observation returned. This is also SB3's convention, so the SB3 adapter
    (:mod:`painting_env.sb3`) is a thin translation.
    """

    metadata = {"render_modes": ["rgb_array"], "autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(
        self, num_envs: int = 1, config: PaintingConfig | None = None, **kwargs: Any
    ) -> None:
        if config is None:
            kwargs.setdefault("device", "auto")
        self.config = make_config(config, kwargs)
        self.core = PaintingCore(num_envs, self.config)
        self.num_envs = self.core.batch
        self.render_mode = self.config.render_mode
        self.device = self.core.device
        self.max_strokes = self.core.max_strokes
        self.single_observation_space = self.core.observation_space()
        self.single_action_space = self.core.action_space()
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._rngs: list[np.random.Generator | None] = [None] * self.num_envs
        self._started = False

    def _seed_list(self, seed: int | Sequence[int | None] | None) -> list[int | None]:
        if seed is None:
            return [None] * self.num_envs
        if isinstance(seed, int | np.integer):
            return [int(seed) + i for i in range(self.num_envs)]
        seeds = list(seed)
        if len(seeds) != self.num_envs:
            raise ValueError(f"got {len(seeds)} seeds for {self.num_envs} envs; give one per env")
        return seeds

    def reset(
        self,
        *,
        seed: int | Sequence[int | None] | None = None,
        options: dict[str, Any] | None = None,
    ):
        """Reset every sub-env (``options`` is accepted for API compatibility and unused)."""
        super().reset(seed=seed if isinstance(seed, int | np.integer) else None)
        for i, s in enumerate(self._seed_list(seed)):
            if s is not None or self._rngs[i] is None:
                self._rngs[i], _ = seeding.np_random(s)
        self.core.reset(np.arange(self.num_envs), self._rngs)
        self._started = True
        info = {"distance": self.core.dist.copy(), "_distance": np.ones(self.num_envs, bool)}
        return self.core.observe(), info

    def step(self, actions):
        """Paint every sub-env's action in one batch; autoreset finished ones (same step)."""
        if not self._started:
            raise RuntimeError("call reset() before step()")
        rewards = self.core.step(actions)
        truncated = self.core.truncated()
        terminated = np.zeros(self.num_envs, bool)
        obs = self.core.observe()
        mask = np.ones(self.num_envs, bool)
        infos: dict[str, Any] = {"distance": self.core.dist.copy(), "_distance": mask}
        done = np.flatnonzero(truncated)
        if done.size:
            final_obs = np.full(self.num_envs, None, dtype=object)
            for i in done:
                final_obs[i] = (
                    {key: value[i] for key, value in obs.items()}
                    if isinstance(obs, dict)
                    else obs[i]
                )
            infos["final_obs"], infos["_final_obs"] = final_obs, truncated.copy()
            infos["final_info"] = {"distance": self.core.dist.copy(), "_distance": truncated.copy()}
            infos["_final_info"] = truncated.copy()
            self.core.reset(done, [self._rngs[i] for i in done])
            infos["distance"] = self.core.dist.copy()
            obs = self.core.observe()
        return obs, rewards, terminated, truncated.copy(), infos

    def render(self) -> tuple[np.ndarray, ...] | None:
        """One target | canvas frame per sub-env, uint8 (H, 2W, 3) each."""
        if self.render_mode != "rgb_array":
            return None
        return tuple(self.core.frames())

    def painting(self, index: int) -> np.ndarray:
        """Sub-env ``index``'s strokes so far, float32 (n, 12) in [0, 1]."""
        return self.core.painting(index)

    def stroke_brushes(self, index: int) -> list[str] | None:
        """Sub-env ``index``'s stroke brushes so far (``brushes`` set), else None."""
        return self.core.stroke_brushes(index)
