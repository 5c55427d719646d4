#!/usr/bin/env python
"""Agents against flat-colour baselines on photos they never saw (the README's agent table).

    python benchmarks/bench_agents.py --agents default,sac-model-free [--gradient] \\
        [--images data/targets/val_photos] [--json out/bench_agents.json]

Each photo is the target of one ``Painting-v0(target=photo, **model.env_kwargs, max_strokes=N)``
episode (its centred square resized to the agent's canvas, as the env prepares a single target:
:func:`painters.images.prepare_target`); the agent acts with
``model.predict(obs, deterministic=True)``, so a planning agent (``plan_steps > 0``) plans as
loaded; ``--actor-only`` adds a row for its actor alone. Baselines on the 64 px target: white
canvas, mean colour, 8×8 and 16×16 flat grids, and optionally gradient painting with the same
strokes at 64 px. Prints a markdown table: mean MSE (pixels in [0, 1]) and its ratio to the 8×8 grid. Agents
whose canvas is not 64 px are scored at their own size against their own target.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_IMAGES = ROOT / "data/targets/val_photos"


def mse(a: np.ndarray, b: np.ndarray) -> float:
    """Mean squared error of two uint8 images, pixels scaled to [0, 1]."""
    return float(np.mean((a.astype(np.float64) / 255 - b.astype(np.float64) / 255) ** 2))


def list_photos(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    if not files:
        raise FileNotFoundError(f"no .png/.jpg photos in {folder}")
    return files


def run_agent(model, photo: np.ndarray, strokes: int, seed: int) -> tuple[float, int]:
    """One episode on ``photo``; returns (MSE of the final canvas vs the env's target, size)."""
    import gymnasium

    import painting_env  # noqa: F401 - registers Painting-v0

    kwargs = {**getattr(model, "env_kwargs", {}), "max_strokes": strokes}
    kwargs.pop("targets", None)
    env = gymnasium.make("Painting-v0", target=photo, **kwargs)
    obs, _ = env.reset(seed=seed)
    done = False
    while not done:
        action, _ = model.predict(obs, deterministic=True)
        obs, _, terminated, truncated, _ = env.step(action)
        done = terminated or truncated
    core = env.unwrapped.core
    canvas = (env.unwrapped.canvas[0].permute(1, 2, 0).clamp(0, 1) * 255 + 0.5).byte().numpy()
    target = core.target_u8[0]
    env.close()
    return mse(canvas, target), int(target.shape[0])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--agents", default="default,sac-model-free",
                   help="comma-separated load_agent names or paths ('' for none)")  # fmt: skip
    p.add_argument("--images", default=str(DEFAULT_IMAGES), help="folder of photos")
    p.add_argument("--strokes", type=int, default=64, help="strokes per episode")
    p.add_argument("--gradient", action="store_true", help="add gradient painting (64 px)")
    p.add_argument("--actor-only", action="store_true",
                   help="also score planning agents (plan_steps > 0) with their actor alone")  # fmt: skip
    p.add_argument("--limit", type=int, default=0, help="use only the first N photos (0: all)")
    p.add_argument("--seed", type=int, default=0, help="same seed -> same numbers")
    p.add_argument("--json", default=None, help="also write the results here")
    a = p.parse_args(argv)

    import torch

    from agents.evaluation.baselines import flat_grid, mean_colour
    from painters.io import atomic_write_text
    from painting_env.targets import TargetSet, load_image

    torch.set_num_threads(1)
    try:
        files = list_photos(Path(a.images))
    except (FileNotFoundError, NotADirectoryError) as e:
        print(f"bench_agents.py: error: {e}; build them with scripts/make_targets.py or pass "
              "--images", file=sys.stderr)  # fmt: skip
        return 2
    if a.limit:
        files = files[: a.limit]
    photos = [load_image(f) for f in files]
    # The 64 px targets exactly as Painting-v0 makes them from a single photo.
    targets = [TargetSet(ph, 64).sample(np.random.default_rng(0)) for ph in photos]
    rows: dict[str, dict] = {}

    def add(name: str, values: list[float], seconds: float, size: int = 64) -> None:
        rows[name] = {"mse": float(np.mean(values)), "per_image": values,
                      "seconds_per_image": seconds / len(values), "size": size}  # fmt: skip

    white = np.full_like(targets[0], 255)
    add("white canvas", [mse(white, t) for t in targets], 0.0)
    add("mean colour", [mse(mean_colour(t), t) for t in targets], 0.0)
    add("8×8 grid", [mse(flat_grid(t, 8), t) for t in targets], 0.0)
    add("16×16 grid", [mse(flat_grid(t, 16), t) for t in targets], 0.0)
    if a.gradient:
        import painters
        from agents import GradientConfig, paint_images

        painter = painters.load_painter("default")
        cfg = GradientConfig(strokes=a.strokes, seed=a.seed)
        vals, t0 = [], time.perf_counter()
        for t in targets:
            vals.append(mse(paint_images(painter, [t], cfg)[0].canvas, t))
        add(f"gradient painting ({a.strokes} strokes)", vals, time.perf_counter() - t0)
    from agents import load_agent

    for name in [n for n in a.agents.split(",") if n.strip()]:
        try:
            model = load_agent(name)
        except (FileNotFoundError, ValueError, OSError) as e:
            print(f"bench_agents.py: skipping agent {name}: {e}", file=sys.stderr)
            continue
        plans = getattr(model, "plan_steps", 0)
        variants = [plans, 0] if a.actor_only and plans else [plans]
        for steps in variants:
            if plans:
                model.plan_steps = steps
            how = f", planning {steps} steps" if steps else (", actor alone" if plans else "")
            vals, size, t0 = [], 64, time.perf_counter()
            for ph in photos:
                m, size = run_agent(model, ph, a.strokes, a.seed)
                vals.append(m)
            label = f"agent {name} ({a.strokes} strokes{how})"
            add(label, vals, time.perf_counter() - t0, size)
    grid = rows["8×8 grid"]["mse"]
    print(f"{len(files)} photos from {a.images}, MSE on [0, 1] pixels, 64 px unless noted\n")
    print("| method | mean MSE | vs 8×8 grid | s / image |")
    print("|---|---:|---:|---:|")
    for name, r in rows.items():
        label = name if r["size"] == 64 else f"{name} [{r['size']} px]"
        print(f"| {label} | {r['mse']:.4f} | {r['mse'] / grid:.2f}× | "
              f"{r['seconds_per_image']:.2f} |")  # fmt: skip
    if a.json:
        out = {"images": [str(f) for f in files], "strokes": a.strokes, "seed": a.seed,
               "rows": rows}  # fmt: skip
        atomic_write_text(a.json, json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
