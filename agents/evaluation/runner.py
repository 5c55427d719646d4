"""Paint every image with every method, each in ``Painting-v0`` itself (neural renderer, 64 px,
white canvas, the env's own target resize), so every method is scored on the same canvas.

Gradient paintings are optimised outside the env and then replayed stroke by stroke, which also
yields their distance-versus-strokes curve. The flat baselines (the mean colour, 8 × 8 and
16 × 16 grids of flat cells) paint no strokes: they are the levels every method is read against.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.evaluation.scoring import BASELINES, Run, make_run, mse

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def list_images(folder: str | os.PathLike) -> list[Path]:
    """The jpg/png images in ``folder`` (sorted, not recursive)."""
    p = Path(folder)
    if not p.is_dir():
        raise FileNotFoundError(f"no image folder at {p}; pass --images DIR with .jpg/.png files")
    files = sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"no .jpg/.png images in {p}")
    return files


def _env(image: Path, **kwargs: Any):
    from agents.rl.building import make_env

    kwargs.setdefault("renderer", "neural")
    return make_env(target=str(image), **kwargs)


def _play(
    image: Path, strokes: int, act: Callable[[Any], np.ndarray], seed: int, **env_kwargs: Any
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, float]], float]:
    """Run an episode of ``strokes`` strokes: (target, final canvas, curve, seconds)."""
    env = _env(image, **{**env_kwargs, "max_strokes": strokes})
    k = int(env_kwargs.get("strokes_per_step", 1))
    try:
        obs, _ = env.reset(seed=seed)
        target = np.asarray(obs["target"]).copy()
        curve: list[tuple[int, float]] = [(0, mse(np.asarray(obs["canvas"]), target))]
        elapsed = 0.0
        done = False
        while not done:
            t_act = time.perf_counter()
            obs, _, terminated, truncated, _ = env.step(act(obs))
            elapsed += time.perf_counter() - t_act
            curve.append((curve[-1][0] + k, mse(np.asarray(obs["canvas"]), target)))
            done = terminated or truncated
        return target, np.asarray(obs["canvas"]).copy(), curve, elapsed
    finally:
        env.close()


def _replay(
    image: Path, actions: np.ndarray, seed: int
) -> tuple[np.ndarray, list[tuple[int, float]]]:
    """Lay stroke actions in [0, 1] one by one in the env: (final canvas, curve)."""
    from painters.actions import to_env_action

    it = iter(actions)
    _, canvas, curve, _ = _play(image, len(actions), lambda _obs: to_env_action(next(it)), seed)
    return canvas, curve


def _target64(image: Path, seed: int) -> np.ndarray:
    env = _env(image, max_strokes=1)
    try:
        obs, _ = env.reset(seed=seed)
        return np.asarray(obs["target"]).copy()
    finally:
        env.close()


def paint_random(image: Path, strokes: int, seed: int = 0) -> Run:
    """Uniform random strokes (the env's action space), seeded per image."""
    rng = np.random.default_rng(seed)

    def act(_obs: Any) -> np.ndarray:
        return rng.uniform(-1.0, 1.0, 12).astype(np.float32)

    target, canvas, curve, secs = _play(image, strokes, act, seed)
    return make_run(image, "random", target, canvas, curve, secs, strokes)


def paint_agent(image: Path, strokes: int, model: Any, label: str, seed: int = 0) -> Run:
    """A trained agent, deterministic, in its own env kwargs with ``max_strokes = strokes``.

    The step observation is the fraction of ``max_strokes`` painted, so an agent is at its best
    at the budget it was trained with (``model.env_kwargs["max_strokes"]``). A planning agent
    (``plan_steps > 0``) plans as loaded; its stroke renders count every planning render.
    """
    kw = dict(model.env_kwargs)
    k = int(kw.get("strokes_per_step", 1))
    if strokes % k:
        raise ValueError(
            f"{label} paints {k} strokes per step; choose --strokes as a multiple of {k}"
        )

    def act(obs: Any) -> np.ndarray:
        return model.predict(obs, deterministic=True)[0]

    target, canvas, curve, secs = _play(image, strokes, act, seed, **kw)
    # a planning agent renders each stroke once per planning step and once more to compare
    plans = int(getattr(model, "plan_steps", 0) or 0)
    renders = strokes * (plans + 1 if plans else 1)
    return make_run(image, label, target, canvas, curve, secs, renders)


def gradient_stroke_renders(config: Any, strokes: int) -> int:
    """Painter stroke renders of a 64 px gradient painting: each step of a group renders that
    group's strokes (the groups add up to ``strokes``), each refinement or palette step all."""
    return strokes * (config.steps_per_group() + config.refine() + config.snap_steps())


def paint_gradient(image: Path, strokes: int, seed: int = 0, painter: Any = None) -> Run:
    """Gradient painting (``agents.gradient.paint_images``, default config with ``strokes``
    strokes) on the env's 64 px target, then replayed through the env for scoring."""
    from agents.gradient import GradientConfig, paint_images
    from painters.loading import load_painter

    painter = painter or load_painter("default")
    target = _target64(image, seed)
    cfg = GradientConfig(strokes=strokes, seed=seed)
    t0 = time.perf_counter()
    painting = paint_images(painter, [target], cfg)[0]
    secs = time.perf_counter() - t0
    canvas, curve = _replay(image, np.clip(painting.actions, 0.0, 1.0), seed)
    renders = gradient_stroke_renders(cfg, strokes)
    return make_run(image, "gradient", target, canvas, curve, secs, renders)


def paint_baseline(image: Path, name: str, strokes: int, seed: int = 0) -> Run:
    """A flat baseline (see :data:`BASELINES`) of the env's 64 px target, painted in no strokes:
    its curve goes from the white canvas (0) to its level (``strokes``), and the plot draws it
    as that level, the line the stroke methods are read against."""
    from agents.evaluation.baselines import flat_grid, mean_colour

    target = _target64(image, seed)
    cells = BASELINES[name]
    t0 = time.perf_counter()
    canvas = mean_colour(target) if cells == 1 else flat_grid(target, cells)
    secs = time.perf_counter() - t0
    curve = [(0, mse(np.full_like(target, 255), target)), (strokes, mse(canvas, target))]
    return make_run(image, name, target, canvas, curve, secs, 0)


def evaluate(
    methods: Sequence[str],
    images: Sequence[str | os.PathLike],
    strokes: int,
    *,
    seed: int = 0,
    device: str = "cpu",
    progress: bool = False,
    baselines: bool = True,
) -> list[Run]:
    """Paint every image with every method; returns one :class:`Run` per (image, method).

    ``baselines``: also score the flat baselines (:data:`BASELINES`: the mean colour, 8 × 8 and
    16 × 16 grids of flat cells) on every image, after the methods, so every method is read
    against them."""
    if strokes < 1:
        raise ValueError(f"--strokes must be at least 1, got {strokes}")
    painters_for: dict[str, Callable[[Path], Run]] = {}
    for spec in methods:
        spec = spec.strip()
        if spec == "random":
            painters_for[spec] = lambda im: paint_random(im, strokes, seed)
        elif spec == "gradient":
            painters_for[spec] = lambda im: paint_gradient(im, strokes, seed)
        elif spec.startswith("agent:"):
            from agents.rl.loading import load_agent

            path = spec.split(":", 1)[1] or "default"
            model = load_agent(path, device=device)
            label = f"agent:{path}"
            painters_for[label] = lambda im, m=model, lb=label: paint_agent(
                im, strokes, m, lb, seed
            )
        else:
            raise ValueError(f"unknown method {spec!r}; use random, gradient or agent:PATH")
    if baselines:
        for name in BASELINES:
            painters_for[name] = lambda im, n=name: paint_baseline(im, n, strokes, seed)
    runs: list[Run] = []
    for image in images:
        for name, fn in painters_for.items():
            if progress:
                print(f"{Path(image).name}: {name}", flush=True)
            with torch.no_grad() if name != "gradient" else nullcontext():
                runs.append(fn(Path(image)))
    return runs
