"""Painting-v0 speed: single-env steps/s per renderer, vector-env strokes/s per batch size.

Targets on 2 CPU cores (best of 3 repeats): single env, neural renderer, 1 torch thread
≥ 5,000 steps/s; vector env (``gym.make_vec(..., vectorization_mode="vector_entry_point")``)
≥ 20,000 strokes/s at 256 envs, and at 1,024 envs ≥ 0.9x the 256-env rate; on a GPU
≥ 100,000 strokes/s at 1,024 envs. Prints a markdown table and, for the neural single env,
where a step's time goes (painter vs. the env's own work).

    python benchmarks/bench_env.py                 # all renderers, 64/256/1024 envs
    python benchmarks/bench_env.py --quick         # fewer steps (smoke run)
"""

from __future__ import annotations

import argparse
import os
import time

import gymnasium as gym
import numpy as np
import torch

import painting_env  # noqa: F401  (registers Painting-v0)
from painting_env.env import PaintingEnv

REPEATS = 3


def bench_single(renderer: str, steps: int) -> float:
    """Steps/s, best of :data:`REPEATS` runs of ``steps`` steps."""
    env = gym.make("Painting-v0", renderer=renderer, max_strokes=50)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, (steps, 12)).astype(np.float32)
    for a in actions[:10]:  # warm-up
        env.step(a)
    best = 0.0
    for _ in range(REPEATS):
        env.reset(seed=0)
        start = time.perf_counter()
        for a in actions:
            _, _, _, truncated, _ = env.step(a)
            if truncated:
                env.reset()
        best = max(best, steps / (time.perf_counter() - start))
    return best


def bench_vector(num_envs: int, device: str, steps: int) -> float:
    """Strokes/s of the registered vector env, best of :data:`REPEATS` runs."""
    envs = gym.make_vec(
        "Painting-v0", num_envs=num_envs, vectorization_mode="vector_entry_point",
        device=device, max_strokes=50,
    )  # fmt: skip
    envs.reset(seed=0)
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, (steps + 2, num_envs, 12)).astype(np.float32)
    envs.step(actions[0])
    envs.step(actions[1])
    best = 0.0
    for _ in range(REPEATS):
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for a in actions[2:]:
            envs.step(a)  # observations come back to the host every step, as in training
        if device == "cuda":
            torch.cuda.synchronize()
        best = max(best, steps * num_envs / (time.perf_counter() - start))
    return best


def breakdown(steps: int) -> dict[str, float]:
    """Microseconds per single-env step: painter call vs. the rest of the step."""
    env = PaintingEnv(max_strokes=10_000)
    env.reset(seed=0)
    a = np.random.default_rng(0).uniform(-1, 1, 12).astype(np.float32)
    x = (a[None] + 1) / 2
    painter = env.core.source.painter
    # the painter call the env makes (numpy for a single env on the CPU, else torch)
    draw = painter.paint_alpha_numpy if env.core._numpy else painter.paint_alpha
    if not env.core._numpy:
        x = torch.from_numpy(x).to(env.core.device)
    with torch.inference_mode():
        for _ in range(10):
            draw(x)
        t = time.perf_counter()
        for _ in range(steps):
            draw(x)
        p = (time.perf_counter() - t) / steps * 1e6
    t = time.perf_counter()
    for _ in range(steps):
        env.step(a)
    s = (time.perf_counter() - t) / steps * 1e6
    return {"step_us": s, "painter_us": p, "env_overhead_us": s - p}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer steps")
    parser.add_argument(
        "--renderers", default="neural,simple,mypaint", help="comma-separated renderers to time"
    )
    parser.add_argument("--sizes", default="64,256,1024", help="vector env batch sizes")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads of the single env (1 suits it)"
    )
    parser.add_argument(
        "--vector-threads", type=int, default=0, help="torch threads of the vector env (0: all)"
    )
    args = parser.parse_args()
    all_threads = torch.get_num_threads()
    torch.set_num_threads(args.threads or all_threads)
    steps = 200 if args.quick else 1000
    print(
        f"torch {torch.__version__}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; "
        f"single env {torch.get_num_threads()} thread(s), vector env "
        f"{args.vector_threads or all_threads}; best of {REPEATS}\n"
    )
    print("| env | renderer | device | envs | steps/s | strokes/s |")
    print("|---|---|---|---:|---:|---:|")
    for name in args.renderers.split(","):
        try:
            n = steps if name == "neural" else steps // 4
            rate = bench_single(name, n)
        except (ImportError, RuntimeError) as e:
            print(f"| single | {name} | cpu | 1 | n/a ({type(e).__name__}) | |")
            continue
        print(f"| single | {name} | cpu | 1 | {rate:,.0f} | {rate:,.0f} |")
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    torch.set_num_threads(args.vector_threads or all_threads)
    for device in devices:
        for n in (int(s) for s in args.sizes.split(",")):
            vsteps = max(3, (steps * 4 if device == "cuda" else steps // 4) * 64 // n)
            rate = bench_vector(n, device, vsteps)
            print(f"| vector | neural | {device} | {n} | {rate / n:,.1f} | {rate:,.0f} |")
    torch.set_num_threads(args.threads or all_threads)
    b = breakdown(steps)
    print(
        f"\nsingle env, neural, per step: {b['step_us']:.0f} us = painter {b['painter_us']:.0f} us"
        f" + env {b['env_overhead_us']:.0f} us (actions, compositing, distance, observation)"
    )


if __name__ == "__main__":
    main()
