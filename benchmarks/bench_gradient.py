"""Gradient painting benchmark: seconds per image and MSE at 64 px / 200 strokes, against the
16x16 flat-colour baseline (box-downsample to 16x16, bilinear back to 64), plus the real brush
re-render (at --render-size, box-downsampled to 64). Targets: MSE <= 0.70x the baseline and
real-brush MSE <= 1.25x the neural painting's.

    python benchmarks/bench_gradient.py [--threads 2] [--images a.jpg b.jpg] [--no-real]

Prints a markdown table. Images are painted one at a time (median seconds per image is the
target); timings depend on the load of the machine, so report them with its core count.
"""

from __future__ import annotations

import argparse
import glob
import statistics
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

import painters
from agents.gradient import GradientConfig, paint_images
from painters.compositing import from_uint8
from painters.images import load_image, prepare_target, resize

ROOT = Path(__file__).resolve().parents[1]


def flat_baseline(target: np.ndarray) -> float:
    """MSE of the 16x16 flat-colour approximation of a 64 px uint8 target."""
    t = from_uint8(target)[None].double()
    flat = F.interpolate(F.avg_pool2d(t, 4), size=64, mode="bilinear", align_corners=False)
    return float(((flat - t) ** 2).mean())


def mse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean((a.astype(np.float64) / 255 - b.astype(np.float64) / 255) ** 2))


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument(
        "--images", nargs="*", default=None, help="images to paint (None: the benchmark set)"
    )
    p.add_argument("--strokes", type=int, default=200, help="strokes per painting")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument(
        "--render-size", type=int, default=256, help="longer side of the real-brush re-render"
    )
    p.add_argument("--no-real", action="store_true", help="skip the real brush re-render")
    p.add_argument("--seed", type=int, default=0, help="same seed -> same numbers")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    files = args.images or sorted(
        glob.glob(str(ROOT / "painting_env/samples/*.jpg"))
        + glob.glob(str(ROOT / "benchmarks/images/*.jpg"))
    )
    painter = painters.load_painter("default")
    cfg = GradientConfig(strokes=args.strokes, seed=args.seed)
    print(f"threads {args.threads}, {args.strokes} strokes, 64 px, real at {args.render_size} px")
    print("| image | seconds | MSE | flat 16x16 MSE | ratio | real MSE | real / neural |")
    print("|---|---|---|---|---|---|---|")
    secs, ratios, real_ratios = [], [], []
    for f in files:
        target = prepare_target(load_image(f), 64)
        t0 = time.perf_counter()
        real_seed = None if args.no_real else args.seed
        painting = paint_images(painter, [target], cfg, real_seed=real_seed)[0]
        dt = time.perf_counter() - t0
        m, base = mse(painting.canvas, target), flat_baseline(target)
        real_cell = rr_cell = "-"
        if not args.no_real:
            real = painters.replay(painting.actions, "mypaint", size=args.render_size,
                                   seed=args.seed)  # fmt: skip
            rm = mse(resize(real, 64), target)
            real_ratios.append(rm / m)
            real_cell, rr_cell = f"{rm:.5f}", f"{rm / m:.2f}"
        secs.append(dt)
        ratios.append(m / base)
        print(f"| {Path(f).name} | {dt:.1f} | {m:.5f} | {base:.5f} | {m / base:.3f} "
              f"| {real_cell} | {rr_cell} |", flush=True)  # fmt: skip
    print(f"\nmedian seconds {statistics.median(secs):.1f}; mean ratio {np.mean(ratios):.3f} "
          f"(target <= 0.70)" + (f"; real/neural mean {np.mean(real_ratios):.2f}, max "
          f"{max(real_ratios):.2f} (target <= 1.25)" if real_ratios else ""))  # fmt: skip


if __name__ == "__main__":
    main()
