"""Painting photos with an agent (``agents.painting``): seconds per image and MSE against
a 16 x 16 flat-colour grid at the painting's size (targets: ratio <= 0.80, <= 8 s per
image on 2 CPU cores including start-up).

    python benchmarks/bench_agent_paint.py [--agent default] [--strokes 256] [--images ...]
    python benchmarks/bench_agent_paint.py --sweep     # levels x shares: choose the split
    python benchmarks/bench_agent_paint.py --gradient  # agent+gradient vs plain gradient
    python benchmarks/bench_agent_paint.py --cli       # also time scripts/paint.py --method agent

Photos: ``data/targets/val_photos`` when it exists (the validation split of
``scripts/make_targets.py``), else ``benchmarks/images``. Times are wall-clock and CPU seconds
(``time.process_time``, one torch thread): on a shared machine the CPU time is the honest one.
``paint+export`` is :func:`paint_with_agent` plus :func:`write_painting_outputs` (painting.png,
strokes, SVG, the 512 px real-brush re-render, animation.gif); start-up (imports, loading the
agent and painter) is timed once and reported apart; ``--cli`` times the whole command.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

IMAGE_EXT = (".jpg", ".jpeg", ".png")


def default_images(limit: int) -> list[Path]:
    val = ROOT / "data" / "targets" / "val_photos"
    folder = val if val.is_dir() else ROOT / "benchmarks" / "images"
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXT)
    return files[:limit]


def flat16_mse(target: np.ndarray) -> float:
    """MSE of the 16 x 16 flat-colour grid of ``target`` (uint8, the painting's size)."""
    t = target.astype(np.float64) / 255.0
    try:
        from agents.evaluation.baselines import flat_grid
    except ImportError:  # computed here when the baselines module is missing
        flat_grid = _flat_grid
    return float(np.mean((flat_grid(t, 16) - t) ** 2))


def _flat_grid(t: np.ndarray, cells: int) -> np.ndarray:
    h, w = t.shape[:2]
    ys = np.linspace(0, h, cells + 1).round().astype(int)
    xs = np.linspace(0, w, cells + 1).round().astype(int)
    out = np.empty_like(t)
    for i in range(cells):
        for j in range(cells):
            block = t[ys[i] : ys[i + 1], xs[j] : xs[j + 1]]
            out[ys[i] : ys[i + 1], xs[j] : xs[j + 1]] = block.reshape(-1, 3).mean(0)
    return out


def mse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean((a.astype(np.float64) / 255 - b.astype(np.float64) / 255) ** 2))


def clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def since(t0: tuple[float, float]) -> tuple[float, float]:
    w, c = clock()
    return w - t0[0], c - t0[1]


def bench_agent(args, images, model, painter) -> None:
    from agents.painting import paint_with_agent, write_painting_outputs
    from painters.images import load_image, prepare_target

    print("\n| image | painting | MSE | flat 16x16 | ratio | paint s (cpu) | +export s (cpu) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    ratios, walls, cpus = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for path in images:
            img = load_image(path)
            t0 = clock()
            p = paint_with_agent(img, model, args.strokes, grid=args.grid, painter=painter,
                                 plan_steps=args.plan_steps)  # fmt: skip
            paint = since(t0)
            write_painting_outputs(Path(tmp) / path.stem, p, painter, render_size=512)
            total = since(t0)
            target = prepare_target(img, p.width, p.height)
            m, f = mse(p.canvas, target), flat16_mse(target)
            ratios.append(m / f)
            walls.append(total[0])
            cpus.append(total[1])
            print(f"| {path.name} | {p.width}x{p.height} | {m:.5f} | {f:.5f} | {m / f:.2f} | "
                  f"{paint[0]:.2f} ({paint[1]:.2f}) | {total[0]:.2f} ({total[1]:.2f}) |")  # fmt: skip
    r = np.asarray(ratios)
    print(f"\nratio to the 16x16 grid: mean {r.mean():.2f}, median {np.median(r):.2f}, "
          f"geometric mean {np.exp(np.log(r).mean()):.2f}; paint+export per image: "
          f"{np.mean(walls):.2f} s wall, {np.mean(cpus):.2f} s CPU")  # fmt: skip


def sweep(args, images, model, painter) -> None:
    from agents.painting import paint_with_agent
    from painters.images import load_image, prepare_target

    configs = [
        ((1,), (1,)),
        ((1, 2), (0.75, 0.25)),
        ((1, 2), (0.5, 0.5)),
        ((1, 2), (0.25, 0.75)),
        ((1, 2, 4), (0.25, 0.5, 0.25)),
        ((2,), (1,)),
    ]
    loaded = [load_image(p) for p in images]
    print("\n| levels | shares | mean ratio | geo-mean ratio | CPU s |")
    print("|---|---|---:|---:|---:|")
    for levels, shares in configs:
        ratios, t0 = [], clock()
        for img in loaded:
            p = paint_with_agent(img, model, args.strokes, grid=args.grid, levels=levels,
                                 shares=shares, painter=painter)  # fmt: skip
            target = prepare_target(img, p.width, p.height)
            ratios.append(mse(p.canvas, target) / flat16_mse(target))
        cpu = since(t0)[1] / len(loaded)
        r = np.asarray(ratios)
        print(f"| {levels} | {shares} | {r.mean():.2f} | {np.exp(np.log(r).mean()):.2f} | "
              f"{cpu:.2f} |")  # fmt: skip


def gradient(args, images, model, painter) -> None:
    """Plain gradient painting against agent + gradient, without the real-brush fit (it costs
    both the same): mean MSE and CPU seconds per image. ``gradient`` at ``--steps`` per group;
    ``agent+gradient`` refine: the agent's painting refined jointly for ``--refine-steps``
    steps, and the first step whose MSE reaches plain gradient's at its most steps; ``init``:
    the gradient painter with the agent's strokes as each group's start."""
    from agents.gradient import GradientConfig, canvas_size, paint_images
    from agents.painting import paint_with_agent_and_gradient
    from painters.images import load_image, prepare_target

    loaded = [load_image(p) for p in images]
    targets = []
    for img in loaded:
        w, h = canvas_size(img.shape[1], img.shape[0], args.grid)
        targets.append(prepare_target(img, w, h))
    print("\n| method | steps | mean MSE | CPU s per image |")
    print("|---|---:|---:|---:|")
    reference = None
    for steps in sorted(args.steps, reverse=True):
        cfg = GradientConfig(strokes=args.strokes, steps=steps, refine_steps=min(30, steps))
        t0 = clock()
        ms = [mse(paint_images(painter, [t], cfg)[0].canvas, t) for t in targets]
        cpu = since(t0)[1] / len(loaded)
        reference = reference or (ms, cpu)
        print(f"| gradient | {steps}/group | {np.mean(ms):.5f} | {cpu:.2f} |")
    for steps in args.refine_steps:
        t0, ms, reach = clock(), [], []
        for img, t, ref in zip(loaded, targets, reference[0], strict=True):
            p = paint_with_agent_and_gradient(img, model, args.strokes, grid=args.grid,
                                              steps=steps, painter=painter)  # fmt: skip
            ms.append(mse(p.canvas, t))
            hist = p.history[-steps:] if steps else []
            reach.append(next((k + 1 for k, v in enumerate(hist) if v <= ref), None))
        cpu = since(t0)[1] / len(loaded)
        hit = sum(r is not None for r in reach)
        print(f"| agent+gradient (refine) | {steps} | {np.mean(ms):.5f} | {cpu:.2f} |"
              f" reached gradient's best on {hit}/{len(reach)} photos |")  # fmt: skip
    for steps in args.steps:
        cfg = GradientConfig(strokes=args.strokes, steps=steps, refine_steps=min(30, steps))
        t0 = clock()
        ms = [
            mse(paint_with_agent_and_gradient(img, model, args.strokes, grid=args.grid,
                                              mode="init", config=cfg, painter=painter).canvas, t)
            for img, t in zip(loaded, targets, strict=True)
        ]  # fmt: skip
        cpu = since(t0)[1] / len(loaded)
        print(f"| agent+gradient (init) | {steps}/group | {np.mean(ms):.5f} | {cpu:.2f} |")


def cli(args, images) -> None:
    help_text = subprocess.run(
        [sys.executable, "scripts/paint.py", "--help"], cwd=ROOT, capture_output=True, text=True
    ).stdout
    if "--method" not in help_text:
        print("\nscripts/paint.py has no --method yet: CLI timing skipped")
        return
    print("\n| image | paint.py --method agent s (wall) |")
    print("|---|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for path in images:
            t0 = time.perf_counter()
            cmd = [sys.executable, "scripts/paint.py", str(path), "--method", "agent",
                   "--strokes", str(args.strokes), "--agent", args.agent, "--out",
                   str(Path(tmp) / path.stem), "--quiet"]  # fmt: skip
            r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
            if r.returncode != 0 and "--agent" in r.stderr:
                r = subprocess.run([c for c in cmd if c not in ("--agent", args.agent)], cwd=ROOT,
                                   capture_output=True, text=True)  # fmt: skip
            status = "" if r.returncode == 0 else f" (failed: {r.stderr.strip()[-200:]})"
            print(f"| {path.name} | {time.perf_counter() - t0:.2f}{status} |")


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--agent", default="default", help="bundled name or agent folder")
    p.add_argument(
        "--images",
        nargs="*",
        type=Path,
        default=None,
        help="images to paint (None: the benchmark set)",
    )
    p.add_argument("--limit", type=int, default=12, help="at most this many photos")
    p.add_argument("--gradient-limit", type=int, default=3, help="photos for --gradient")
    p.add_argument("--strokes", type=int, default=256, help="strokes per painting")
    p.add_argument("--grid", type=int, default=1, help="64 px tiles along the shorter side")
    p.add_argument("--sweep", action="store_true", help="levels x shares")
    p.add_argument("--gradient", action="store_true", help="agent+gradient vs gradient")
    p.add_argument(
        "--steps",
        type=int,
        nargs="*",
        default=[60, 30, 15],
        help="gradient steps per group to compare",
    )
    p.add_argument(
        "--refine-steps",
        type=int,
        nargs="*",
        default=[0, 30, 60],
        help="agent+gradient joint refinement steps to compare",
    )
    p.add_argument("--cli", action="store_true", help="also time scripts/paint.py")
    p.add_argument("--plan-steps", type=int, default=None,
                   help="the agent's planning steps (default: neural-paint's, by the strokes)")  # fmt: skip
    args = p.parse_args()
    torch.set_num_threads(1)
    images = args.images or default_images(args.limit)

    t0 = clock()
    import agents
    import painters

    model = agents.load_agent(args.agent)
    painter = painters.load_painter("default")
    start = since(t0)
    if args.plan_steps is None:
        from agents.painting.defaults import auto_plan_steps

        args.plan_steps = auto_plan_steps(model, args.strokes)
    print(f"{len(images)} photos from {images[0].parent}; agent {args.agent} "
          f"({model.env_kwargs}); {args.strokes} strokes, {args.plan_steps} planning steps; start-up (imports, agent, painter) "
          f"{start[0]:.2f} s wall, {start[1]:.2f} s CPU")  # fmt: skip
    bench_agent(args, images, model, painter)
    if args.sweep:
        sweep(args, images, model, painter)
    if args.gradient:
        gradient(args, images[: args.gradient_limit], model, painter)
    if args.cli:
        cli(args, images)


if __name__ == "__main__":
    main()
