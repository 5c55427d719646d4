"""Painting-v0 speed: single-env steps/s per renderer, vector-env strokes/s per batch size.

Targets: ≥ 1,000 steps/s single env (neural, CPU); vector ≥ 3,000 strokes/s at 256
envs on 2 CPU cores; ≥ 100,000 strokes/s at 1,024 envs on a GPU. Prints a markdown table and,
for the neural single env, where a step's time goes (painter vs. the env's own work).

    python benchmarks/bench_env.py                 # all renderers, 64/256/1024 envs
    python benchmarks/bench_env.py --quick         # fewer steps (smoke run)
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from painting_env.env import PaintingEnv
from painting_env.vector_env import PaintingVectorEnv


def bench_single(renderer: str, steps: int) -> float:
    env = PaintingEnv(renderer=renderer, max_strokes=50)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, (steps, 12)).astype(np.float32)
    for a in actions[:10]:  # warm-up
        env.step(a)
    env.reset(seed=0)
    start = time.perf_counter()
    for a in actions:
        _, _, _, truncated, _ = env.step(a)
        if truncated:
            env.reset()
    return steps / (time.perf_counter() - start)


def bench_vector(num_envs: int, device: str, steps: int) -> float:
    envs = PaintingVectorEnv(num_envs, device=device, max_strokes=50)
    envs.reset(seed=0)
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, (steps + 2, num_envs, 12)).astype(np.float32)
    envs.step(actions[0])
    envs.step(actions[1])
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for a in actions[2:]:
        envs.step(a)  # observations come back to the host every step, as in training
    if device == "cuda":
        torch.cuda.synchronize()
    return steps * num_envs / (time.perf_counter() - start)


def breakdown(steps: int) -> dict[str, float]:
    """Microseconds per single-env step: painter call vs. the rest of the step."""
    env = PaintingEnv(max_strokes=10**6)
    env.reset(seed=0)
    a = np.random.default_rng(0).uniform(-1, 1, 12).astype(np.float32)
    x = torch.from_numpy((a[None] + 1) / 2)
    painter = env.core.source.painter
    with torch.inference_mode():
        for _ in range(10):
            painter(x)
        t = time.perf_counter()
        for _ in range(steps):
            painter(x)
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
        "--threads",
        type=int,
        default=1,
        help="torch threads (0: torch default; 1 suits batch-1 envs)",
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    steps = 200 if args.quick else 1000
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}\n"
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
    for device in devices:
        for n in (int(s) for s in args.sizes.split(",")):
            vsteps = max(3, (steps * 4 if device == "cuda" else steps // 4) * 64 // n)
            rate = bench_vector(n, device, vsteps)
            print(f"| vector | neural | {device} | {n} | {rate / n:,.1f} | {rate:,.0f} |")
    b = breakdown(steps)
    print(
        f"\nsingle env, neural, per step: {b['step_us']:.0f} us = painter {b['painter_us']:.0f} us"
        f" + env {b['env_overhead_us']:.0f} us (actions, compositing, distance, observation)"
    )


if __name__ == "__main__":
    main()
