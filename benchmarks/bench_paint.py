"""End-to-end check of ``scripts/paint.py`` on photos of any aspect ratio:
seconds per image, aspect ratio of painting.png, SVG paths per stroke, MSE against flat-colour
grids, and the 768 x 512 real-brush re-render of ``scripts/render_strokes.py``.

    python benchmarks/bench_paint.py [--strokes 300] [--images a.jpg b.jpg] [--keep out/bench]

Flat-colour baselines, both on the target at the painting's size (the photo prepared as
``neural-paint`` prepares it, :func:`painters.images.prepare_target`):
``flat16`` box-averages it to 16 x 16 cells (like bench_gradient.py; not square on a non-square
image) and scales back bilinearly; ``flat_sq`` uses square cells, 16 along the *shorter* side
(more cells on the longer one: the stricter baseline). Prints a markdown table.
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
import torch.nn.functional as F
from PIL import Image

from painters.images import load_image, prepare_target, resize

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_IMAGES = [
    "painting_env/samples/coffee.jpg",
    "painting_env/samples/rocket.jpg",
    "painting_env/samples/chelsea.jpg",
    "benchmarks/images/motorcycle.jpg",
]


def flat_mse(target: np.ndarray, cells: tuple[int, int]) -> float:
    """MSE of the flat-colour grid of ``cells`` (rows, cols) of a uint8 target, in [0, 1]."""
    t = torch.tensor(target).permute(2, 0, 1)[None].double() / 255.0
    flat = F.interpolate(F.adaptive_avg_pool2d(t, cells), size=t.shape[-2:], mode="bilinear",
                         align_corners=False)  # fmt: skip
    return float(((flat - t) ** 2).mean())


def mse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean((a.astype(np.float64) / 255 - b.astype(np.float64) / 255) ** 2))


def at_size(path: Path, w: int, h: int) -> np.ndarray:
    """The image at ``path`` resized to w x h by the project's resampler (no crop)."""
    return resize(load_image(path), w, h)


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument(
        "--images", nargs="*", default=None, help="images to paint (None: the benchmark set)"
    )
    p.add_argument("--strokes", type=int, default=300, help="strokes per painting")
    p.add_argument("--seed", type=int, default=0, help="same seed -> same numbers")
    p.add_argument("--keep", default=None, help="keep the outputs in this folder")
    p.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="more paint.py args")
    args = p.parse_args()
    files = args.images or [str(ROOT / f) for f in DEFAULT_IMAGES]
    base = Path(args.keep or tempfile.mkdtemp(prefix="bench_paint_"))
    print(f"{args.strokes} strokes, seed {args.seed}, paint.py defaults {' '.join(args.extra)}")
    print("| image | canvas | aspect err | s | SVG ok | MSE | flat16 | ratio | flat_sq | ratio "
          "| real 768x512 | real/neural |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for f in files:
        out = base / Path(f).stem
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, str(ROOT / "scripts/paint.py"), f, "--method", "gradient",
             "--strokes", str(args.strokes),
             "--out", str(out), "--seed", str(args.seed), "--device", "cpu", "--quiet",
             *args.extra], check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        secs = time.perf_counter() - t0
        png = np.asarray(Image.open(out / "painting.png").convert("RGB"))
        h, w = png.shape[:2]
        with Image.open(f) as im:
            iw, ih = im.size
        aspect_err = (w / h) / (iw / ih) - 1
        target = prepare_target(load_image(f), w, h)  # exactly paint.py's target
        n = len(np.load(out / "strokes.npz")["actions"])
        svg_ok = (out / "painting.svg").read_text().count("<path") == n
        m = mse(png, target)
        f16 = flat_mse(target, (16, 16))
        cells = (16, round(16 * w / h)) if w >= h else (round(16 * h / w), 16)
        fsq = flat_mse(target, cells)
        real_png = out / "real_768x512.png"
        subprocess.run(
            [sys.executable, str(ROOT / "scripts/render_strokes.py"), str(out / "strokes.npz"),
             "--width", "768", "--height", "512", "--renderer", "mypaint", "--out",
             str(real_png)], check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        rm = mse(at_size(real_png, w, h), target)
        print(f"| {Path(f).name} | {w}x{h} | {aspect_err:+.3%} | {secs:.1f} | {svg_ok} "
              f"| {m:.5f} | {f16:.5f} | {m / f16:.2f} | {fsq:.5f} | {m / fsq:.2f} | {rm:.5f} "
              f"| {rm / m:.2f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
