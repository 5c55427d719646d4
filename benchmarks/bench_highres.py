#!/usr/bin/env python
"""Time and peak memory of re-rendering a high-resolution painting (memory must stay bounded).

    python benchmarks/bench_highres.py                       # 2,000 strokes at 1024 and 2048 px
    python benchmarks/bench_highres.py --strokes 3000 --sizes 1024 --renderers simple

Each case runs in a fresh process so its peak RSS (``resource.getrusage``, max resident set) is
its own; the table also shows the peak RSS of the bare interpreter with the package imported
(the baseline) and the extra memory the render needed. The painting is a K × K grid painting
(``stroke_scale = 1/K``, K = size / 64) of uniform random actions placed in their tiles, like
``scripts/paint.py --grid K`` writes; ``--layouts canvas`` adds canvas-wide strokes
(``stroke_scale = 1``: brushes up to 118 px radius at 1024 px), the worst case for the simple
renderer's stroke windows (slow: ~20 strokes/s). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys


def make_painting(n: int, size: int, seed: int, whole_canvas: bool):
    import numpy as np

    from painters import actions as A
    from painters import random_actions
    from painters.export import Painting

    a = random_actions(n, rng=seed)
    if whole_canvas:
        return Painting(a, width=size, height=size, stroke_scale=1.0)
    k = max(1, size // 64)
    rng = np.random.default_rng(seed + 1)
    tiles = rng.integers(0, k, size=(n, 2))
    for xi, yi in ((A.START_X, A.START_Y), (A.CONTROL_X, A.CONTROL_Y), (A.END_X, A.END_Y)):
        a[:, xi] = (tiles[:, 0] + a[:, xi]) / k
        a[:, yi] = (tiles[:, 1] + a[:, yi]) / k
    return Painting(a, width=size, height=size, stroke_scale=1.0 / k)


def child(args: argparse.Namespace) -> None:
    import resource
    import time

    import torch

    torch.set_num_threads(1)
    from painters.export import render_painting

    painting = make_painting(args.strokes, args.size, 0, args.layout == "canvas")
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    image = render_painting(painting, args.renderer, width=args.size, height=args.size)
    dt = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": dt, "peak_mb": peak, "base_mb": base, "shape": image.shape}))


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--strokes", type=int, default=2000, help="strokes of the painting")
    p.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[1024, 2048],
        help="longer sides of the re-renders, px",
    )
    p.add_argument(
        "--renderers", nargs="+", default=["mypaint", "simple"], help="renderers to time"
    )
    p.add_argument(
        "--layouts",
        nargs="+",
        default=["grid"],
        choices=("grid", "canvas"),
        help="stroke layouts: grid tiles or canvas-wide strokes",
    )
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--size", type=int, help=argparse.SUPPRESS)
    p.add_argument("--renderer", help=argparse.SUPPRESS)
    p.add_argument("--layout", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        child(a)
        return 0
    print(f"{a.strokes} uniform random strokes, 1 CPU thread, fresh process per case\n")
    print("| renderer | layout | size | seconds | strokes/s | peak RSS MB | RSS over baseline MB |")
    print("|---|---|---|---|---|---|---|")
    for renderer in a.renderers:
        for layout in a.layouts:
            for size in a.sizes:
                cmd = [sys.executable, __file__, "--child", "--strokes", str(a.strokes)]
                cmd += ["--size", str(size), "--renderer", renderer, "--layout", layout]
                r = subprocess.run(cmd, capture_output=True, text=True)
                if r.returncode != 0:
                    msg = (r.stderr.strip().splitlines() or ["failed"])[-1]
                    print(f"| {renderer} | {layout} | {size} | error: {msg} | | | |")
                    continue
                d = json.loads(r.stdout.strip().splitlines()[-1])
                print(
                    f"| {renderer} | {layout} | {size} | {d['seconds']:.1f} | "
                    f"{a.strokes / d['seconds']:.0f} | {d['peak_mb']:.0f} | "
                    f"{d['peak_mb'] - d['base_mb']:.0f} |",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
