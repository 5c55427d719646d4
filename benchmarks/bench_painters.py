#!/usr/bin/env python
"""Neural painter throughput: parameters, strokes/s at batch 1 and 256 (forward, and forward +
backward to the actions), training samples/s; one markdown row per painter (the default plus
any checkpoint folders given). Each rate is the best of 3 measurements.

    python benchmarks/bench_painters.py [data/painters/gan data/painters/vae ...] [--threads 2]

Targets for the default painter at batch 256 on 2 CPU cores: ≥ 30,000 strokes/s forward and
≥ 10,000 strokes/s forward + backward. The backward is measured on the loss that gradient
painting and training through the painter use: each stroke laid "over" a canvas, the mean
square error to a target image (``painters.distances.mse``), gradient to the actions (an
earlier version took the mean square of the RGBA strokes themselves, work that no training
does). Painters whose colour is the action's (the structured ones) are laid as alpha maps and
colours (``over_colour``), as the differentiable env step lays them. Training throughput
uses the trainer's own phases and losses on random targets, batch 64. Numbers depend on the
machine and its load: compare rows from one run only.
"""

from __future__ import annotations

import argparse
import time

import torch

from painters.compositing import over, over_colour
from painters.distances import mse
from painters.loading import load_painter
from painters.models.base import NeuralPainter
from painters.training import Objective, phase_parameters, phase_schedule


def strokes_per_s(
    painter: torch.nn.Module,
    batch: int,
    device: torch.device,
    seconds: float,
    backward: bool = False,
    repeats: int = 3,
) -> float:
    """Best of ``repeats`` rates, each over ``seconds``; ``backward``: forward + backward."""
    x = torch.rand(batch, 12, device=device, requires_grad=backward)
    s = painter.size
    canvas = torch.rand(batch, 3, s, s, device=device)
    target = torch.rand(batch, 3, s, s, device=device)

    # painters whose colour is the action's are laid as alpha maps and colours, the way the
    # differentiable env step (painting_env.torch_rollout) lays them in training
    colour_path = hasattr(painter, "paint_alpha") and not getattr(painter, "stochastic", False)

    def once() -> None:
        if backward:
            x.grad = None
            if colour_path:
                out = over_colour(canvas, x[:, 6:9], painter.alpha(x))
            else:
                out = over(canvas, painter(x))
            mse(out, target).mean().backward()
        else:
            with torch.no_grad():
                painter(x)

    for _ in range(3):
        once()
    best = 0.0
    for _ in range(repeats):
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            once()
            n += batch
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = max(best, n / (time.perf_counter() - t0))
    return best


def train_samples_per_s(painter: NeuralPainter, device: torch.device, seconds: float) -> float:
    m = type(painter)(**painter.config).to(device).train()
    obj = Objective(m)
    opts = {ph: torch.optim.Adam(phase_parameters(m, ph), 1e-4) for ph in set(phase_schedule(m))}
    a = torch.rand(64, 12, device=device)
    s = torch.rand(64, 4, 64, 64, device=device) * (torch.rand(64, 1, 64, 64, device=device) < 0.2)
    n, t0 = 0, None
    for i in range(1000):
        if i == 1:
            t0 = time.perf_counter()
        for ph in phase_schedule(m):
            opts[ph].zero_grad()
            obj(a, s, ph).backward()
            opts[ph].step()
        n += 64 if i else 0
        if t0 is not None and time.perf_counter() - t0 > seconds:
            break
    if device.type == "cuda":
        torch.cuda.synchronize()
    return n / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("painters", nargs="*", help="checkpoint folders (the default is always run)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (None: torch's)")
    p.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    print(f"torch threads: {torch.get_num_threads()}")
    print(
        "| painter | kind | params | device | strokes/s b=1 | strokes/s b=256 "
        "| fwd+bwd strokes/s b=256 | train samples/s |"
    )
    print("|---|---|---:|---|---:|---:|---:|---:|")
    for name in ["default", *a.painters]:
        for dev in devices:
            painter = load_painter(name, dev)
            b1 = strokes_per_s(painter, 1, dev, a.seconds)
            b256 = strokes_per_s(painter, 256, dev, a.seconds)
            fb = strokes_per_s(painter, 256, dev, a.seconds, backward=True)
            tr = train_samples_per_s(painter, dev, a.seconds)
            print(f"| {name} | {painter.kind} | {painter.num_parameters():,} | {dev.type} | "
                  f"{b1:,.0f} | {b256:,.0f} | {fb:,.0f} | {tr:,.0f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
