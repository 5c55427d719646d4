#!/usr/bin/env python
"""High-resolution paintings: time, peak memory, quality and seams of ``neural-paint`` on photos
(``--paint``), and time and peak memory of re-rendering a big painting (the default).

    python benchmarks/bench_highres.py --paint                       # every method, 10 photos
    python benchmarks/bench_highres.py --paint --methods agent --extra="--strokes 2000 --grid 4"
    python benchmarks/bench_highres.py                       # 2,000 strokes at 1024 and 2048 px
    python benchmarks/bench_highres.py --strokes 3000 --sizes 1024 --renderers simple

``--paint`` runs the real command (``python -m agents.cli.paint PHOTO --method M EXTRA``) under
``/usr/bin/time -v`` on each photo of ``benchmarks/images`` and ``painting_env/samples`` and
reports per image and on average: wall and CPU seconds (user + system: the honest figure on a
shared machine), peak RSS, the MSE of ``painting.png`` divided by the MSE of a 45 x 45 and a
32 x 32 flat-colour grid at its size, the MSE of ``painting_real.png`` divided by the neural
one's (both against the target at the painting's size), and the seam ratio
(:func:`agents.evaluation.seams.seam_ratio`) of both files, the re-render's measured on the
painting's tile lines scaled to it. The machine's load average is printed with the table.

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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


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
    from painters.rerender import render_painting

    painting = make_painting(args.strokes, args.size, 0, args.layout == "canvas")
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    image = render_painting(painting, args.renderer, width=args.size, height=args.size)
    dt = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": dt, "peak_mb": peak, "base_mb": base, "shape": image.shape}))


PHOTOS = ("benchmarks/images", "painting_env/samples")


def paint_case(image: Path, method: str, extra: list[str], out: Path) -> dict:
    """Run neural-paint on ``image`` under /usr/bin/time -v; measure its outputs."""
    import os
    import re
    import time

    import numpy as np
    from PIL import Image

    from agents.evaluation.baselines import flat_grid
    from agents.evaluation.seams import seam_ratio
    from painters.images import load_image, prepare_target, resize

    cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "agents.cli.paint", str(image)]
    cmd += ["--method", method, "--out", str(out), "--quiet", *extra]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        return {"error": (r.stderr.strip().splitlines() or ["failed"])[-1]}

    def field(name: str) -> float:
        m = re.search(rf"{re.escape(name)}: ([0-9.]+)", r.stderr)
        return float(m.group(1)) if m else float("nan")

    painting = np.asarray(Image.open(out / "painting.png").convert("RGB"))
    h, w = painting.shape[:2]
    target = prepare_target(load_image(str(image)), w, h)

    def mse(a: np.ndarray) -> float:
        return float(np.mean((a.astype(np.float64) / 255 - target.astype(np.float64) / 255) ** 2))

    row = {
        "image": image.name, "size": f"{w}x{h}", "wall": wall,
        "cpu": field("User time (seconds)") + field("System time (seconds)"),
        "peak_mb": field("Maximum resident set size (kbytes)") / 1024,
        "r45": mse(painting) / mse(flat_grid(target, 45)),
        "r32": mse(painting) / mse(flat_grid(target, 32)),
        "seam": seam_ratio(painting, target),
    }  # fmt: skip
    real_path = out / "painting_real.png"
    if real_path.is_file():
        real = np.asarray(Image.open(real_path).convert("RGB"))
        row["real_size"] = f"{real.shape[1]}x{real.shape[0]}"
        row["real_ratio"] = mse(resize(real, w, h)) / mse(painting)
        full = prepare_target(load_image(str(image)), real.shape[1], real.shape[0])
        row["real_seam"] = seam_ratio(real, full, size=(w, h))
    return row


def paint_table(methods: list[str], extra: list[str], limit: int) -> None:
    import os
    import tempfile

    import numpy as np

    photos = sorted(
        p for d in PHOTOS for p in (ROOT / d).iterdir() if p.suffix.lower() in (".jpg", ".png")
    )[:limit]
    load = os.getloadavg()
    print(f"neural-paint {' '.join(extra)} on {len(photos)} photos; load average {load[0]:.1f}")
    print("(OMP_NUM_THREADS=1; cpu = user + system seconds)\n")
    cols = ("wall", "cpu", "peak_mb", "r45", "r32", "seam", "real_ratio", "real_seam")
    print("| method | image | size | " + " | ".join(cols) + " | real size |")
    print("|---|---|---|" + "---:|" * len(cols) + "---|")
    with tempfile.TemporaryDirectory() as tmp:
        for method in methods:
            rows = []
            for i, photo in enumerate(photos):
                row = paint_case(photo, method, extra, Path(tmp) / f"{method}-{i}")
                if "error" in row:
                    print(f"| {method} | {photo.name} | error: {row['error']} |", flush=True)
                    continue
                rows.append(row)
                vals = " | ".join(f"{row.get(c, float('nan')):.3g}" for c in cols)
                print(f"| {method} | {row['image']} | {row['size']} | {vals} | "
                      f"{row.get('real_size', '-')} |", flush=True)  # fmt: skip
            if rows:
                mean = " | ".join(
                    f"**{np.nanmean([r.get(c, np.nan) for r in rows]):.3g}**" for c in cols
                )
                print(f"| {method} | **mean** | | {mean} | |", flush=True)


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
    p.add_argument(
        "--paint", action="store_true", help="time and score neural-paint on photos instead"
    )
    p.add_argument(
        "--methods", nargs="+", default=["agent", "gradient", "agent+gradient"],
        help="--paint: methods to run",
    )  # fmt: skip
    p.add_argument(
        "--extra", default="--strokes 2000 --grid 4", help="--paint: more neural-paint options"
    )
    p.add_argument("--limit", type=int, default=10, help="--paint: photos at most")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--size", type=int, help=argparse.SUPPRESS)
    p.add_argument("--renderer", help=argparse.SUPPRESS)
    p.add_argument("--layout", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        child(a)
        return 0
    if a.paint:
        paint_table(a.methods, a.extra.split(), a.limit)
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
