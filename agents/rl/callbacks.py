"""Training callbacks: episode distances, image grids in TensorBoard, a tqdm progress bar.

Why custom ones: SB3's scalars say how much reward an agent collects, not what it paints. The
distance callback logs the number users care about (the final canvas-to-target distance and
how much of the starting distance is gone); the image callback shows the painting itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import Image

#: Loggers that cannot store images; the image is recorded for TensorBoard only.
NON_IMAGE_FORMATS = ("stdout", "log", "json", "csv")


def _pad_to_width(row: np.ndarray, width: int, fill: int = 255) -> np.ndarray:
    if row.shape[1] >= width:
        return row
    pad = np.full((row.shape[0], width - row.shape[1], 3), fill, dtype=np.uint8)
    return np.concatenate([row, pad], axis=1)


def painting_grid(
    target: np.ndarray,
    frames: list[np.ndarray],
    *,
    max_frames: int = 10,
    scale: int = 2,
    gap: int = 2,
) -> np.ndarray:
    """One uint8 HWC picture: top row target | final canvas, bottom row the stroke-by-stroke strip.

    ``frames`` are the canvases after each step (uint8 (H, W, 3)); at most ``max_frames`` evenly
    spaced ones (always including the last) go into the strip. ``scale`` enlarges pixels so
    64 px canvases stay readable in TensorBoard.
    """
    if not frames:
        raise ValueError("painting_grid needs at least one canvas frame")
    idx = np.unique(
        np.linspace(0, len(frames) - 1, min(max_frames, len(frames))).round().astype(int)
    )
    h = target.shape[0]
    sep = np.full((h, gap, 3), 255, dtype=np.uint8)

    def hstack(images: list[np.ndarray]) -> np.ndarray:
        parts: list[np.ndarray] = []
        for i, im in enumerate(images):
            if i:
                parts.append(sep)
            parts.append(im)
        return np.concatenate(parts, axis=1)

    top = hstack([target, frames[-1]])
    strip = hstack([frames[i] for i in idx])
    width = max(top.shape[1], strip.shape[1])
    rows = [
        _pad_to_width(top, width),
        np.full((gap, width, 3), 255, np.uint8),
        _pad_to_width(strip, width),
    ]
    grid = np.concatenate(rows, axis=0)
    if scale > 1:
        grid = grid.repeat(scale, axis=0).repeat(scale, axis=1)
    return np.ascontiguousarray(grid)


def run_episode(
    env: gym.Env, policy: Callable[[Any], np.ndarray], *, seed: int | None = None
) -> tuple[np.ndarray, list[np.ndarray], list[float]]:
    """Paint one episode: returns (target, canvases after each step, distances after each step).

    ``policy`` maps an observation to an env action (a trained model's deterministic
    ``predict`` or a random sampler), so training previews and evaluation share this loop.
    """
    obs, info = env.reset(seed=seed)
    target = np.asarray(obs["target"]).copy()
    frames: list[np.ndarray] = []
    distances: list[float] = []
    done = False
    while not done:
        obs, _, terminated, truncated, info = env.step(policy(obs))
        frames.append(np.asarray(obs["canvas"]).copy())
        distances.append(float(info["distance"]))
        done = terminated or truncated
    return target, frames, distances


class EpisodeDistanceCallback(BaseCallback):
    """Logs ``painting/final_distance`` and ``painting/distance_ratio`` (final ÷ initial).

    The initial distance is recovered from the reward identity (rewards sum to initial − final),
    so this works on any vector env whose ``info["distance"]`` holds the current distance.
    ``reward_scale`` undoes a reward scaling wrapper.
    """

    def __init__(self, reward_scale: float = 1.0, verbose: int = 0) -> None:
        super().__init__(verbose)
        self.reward_scale = float(reward_scale)

    def _init_callback(self) -> None:
        self._returns = np.zeros(self.training_env.num_envs, dtype=np.float64)

    def _on_step(self) -> bool:
        rewards = np.asarray(self.locals["rewards"], dtype=np.float64) / self.reward_scale
        self._returns += rewards
        for i, done in enumerate(np.asarray(self.locals["dones"])):
            if not done:
                continue
            info = self.locals["infos"][i]
            if "distance" in info:
                final = float(info["distance"])
                initial = final + self._returns[i]
                self.logger.record_mean("painting/final_distance", final)
                if initial > 0:
                    self.logger.record_mean("painting/distance_ratio", final / initial)
            self._returns[i] = 0.0
        return True


class ImageGridCallback(BaseCallback):
    """Every ``freq`` env steps (and once at the end) paints one episode on ``env`` with the
    current deterministic policy and logs the grid (target | canvas | stroke strip) as
    ``images/painting`` in TensorBoard.

    Args:
        env: a single (non-vector) painting env, ideally on held-out targets.
        freq: env steps (summed over the vector env) between two grids.
        seed: reset seed, so successive grids show the same target and are comparable.
    """

    def __init__(self, env: gym.Env, freq: int = 10_000, seed: int = 0, verbose: int = 0) -> None:
        super().__init__(verbose)
        if freq <= 0:
            raise ValueError(f"image freq must be a positive number of steps, got {freq}")
        self.env, self.freq, self.seed = env, int(freq), seed
        self._next = self.freq
        self.n_logged = 0

    def _init_callback(self) -> None:
        self._next = (self.num_timesteps // self.freq + 1) * self.freq

    def log_grid(self) -> None:
        """Paint one episode now and write its grid to TensorBoard (dumped immediately)."""

        def act(obs: Any) -> np.ndarray:
            return self.model.predict(obs, deterministic=True)[0]

        target, frames, distances = run_episode(self.env, act, seed=self.seed)
        grid = painting_grid(target, frames)
        self.logger.record("images/painting", Image(grid, "HWC"), exclude=NON_IMAGE_FORMATS)
        self.logger.record("painting/preview_distance", distances[-1])
        self.logger.dump(self.num_timesteps)
        self.n_logged += 1

    def _on_step(self) -> bool:
        if self.num_timesteps >= self._next:
            self.log_grid()
            self._next = (self.num_timesteps // self.freq + 1) * self.freq
        return True

    def _on_training_end(self) -> None:
        self.log_grid()


class ProgressBarCallback(BaseCallback):
    """A tqdm bar over env steps (SB3's own bar needs ``rich``, which is not a dependency)."""

    def __init__(self, total_timesteps: int) -> None:
        super().__init__()
        self.total = int(total_timesteps)
        self.bar = None

    def _on_training_start(self) -> None:
        from tqdm.auto import tqdm

        # SB3 steps all envs at once (and on-policy algorithms whole rollouts), so it runs the
        # steps rounded up to a multiple of that (3,008 for 3,000 on 8 envs): the bar's total
        n = max(1, int(getattr(self.training_env, "num_envs", 1) or 1))
        n *= max(1, int(getattr(self.model, "n_steps", 1) or 1))
        total = -(-self.total // n) * n
        self.bar = tqdm(total=total, initial=0, unit="step", dynamic_ncols=True)
        self._start = self.num_timesteps

    def _on_step(self) -> bool:
        if self.bar is not None:
            self.bar.update(self.num_timesteps - self._start - self.bar.n)
        return True

    def _on_training_end(self) -> None:
        if self.bar is not None:
            self.bar.close()
