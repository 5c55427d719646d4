"""Paintings that mix brushes against each brush alone: for every photo, exactly three
``neural-paint`` commands with the same strokes and seed,

    neural-paint P --brushes classic/dry_brush --strokes 200
    neural-paint P --brushes classic/pen --strokes 200
    neural-paint P --brushes classic/dry_brush,classic/pen --strokes 200

and a table of painting.png's MSE to the target (the photo resized to the painting's size the
way neural-paint resizes it), the mixed painting's ratio to the better single brush, the
real re-render (painting_real.png box-averaged to the painting's size) against the neural
painting, the mixed painting's re-render against the better single brush's, and the strokes of
each brush in strokes.json. ``--single-method`` paints the two single-brush paintings with
another method (the mixed painting's own, ``agent+gradient``, for a like-for-like comparison).

    python benchmarks/bench_brushes.py                       # val photos if present, else bundled
    python benchmarks/bench_brushes.py --images a.jpg b.png --keep out/bench_brushes
    python benchmarks/bench_brushes.py --dir /path/to/photos --jobs 2
    python benchmarks/bench_brushes.py --dir /path/to/photos --single-method agent+gradient

Targets it checks (a photo passes when all hold): mixed ≤ 0.9 × the better single brush,
every stroke has a "brush", both brushes are used, real ÷ neural (mixed) ≤ 1.3.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = sorted((ROOT / "benchmarks/images").glob("*.jpg")) + sorted(
    (ROOT / "painting_env/samples").glob("*.jpg")
)
RUNS = {
    "dry": "classic/dry_brush",
    "pen": "classic/pen",
    "both": "classic/dry_brush,classic/pen",
}


def mse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean((a.astype(np.float64) / 255 - b.astype(np.float64) / 255) ** 2))


def target_at(photo: Path, w: int, h: int) -> np.ndarray:
    """The photo at the painting's size, prepared as neural-paint prepares its target (the
    centred crop to the painting's aspect ratio, then the resize)."""
    from painters.images import load_image, prepare_target

    return prepare_target(load_image(photo), w, h)


def paint(photo: Path, brushes: str, out: Path, strokes: int, seed: int, extra: list[str]) -> float:
    """Run neural-paint once; returns its wall-clock seconds."""
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "agents.cli.paint", str(photo), "--brushes", brushes,
         "--strokes", str(strokes), "--seed", str(seed), "--out", str(out), "--quiet",
         "--device", "cpu", *extra], check=True, stdout=subprocess.DEVNULL, cwd=ROOT,
    )  # fmt: skip
    return time.perf_counter() - t0


def measure(
    photo: Path,
    base: Path,
    strokes: int,
    seed: int,
    extra: list[str],
    reuse: bool = False,
    single_method: str | None = None,
) -> dict:
    row: dict = {"photo": photo.name}
    for key, brushes in RUNS.items():
        out = base / photo.stem / key
        done = reuse and key != "both" and (out / "painting_real.png").exists()
        more = ["--method", single_method] if single_method and key != "both" else []
        row[f"{key}_s"] = (
            0.0 if done else paint(photo, brushes, out, strokes, seed, [*more, *extra])
        )
        png = np.asarray(Image.open(out / "painting.png").convert("RGB"))
        h, w = png.shape[:2]
        target = target_at(photo, w, h)
        row[key] = mse(png, target)
        with Image.open(out / "painting_real.png") as im:
            real = np.asarray(im.convert("RGB").resize((w, h), Image.Resampling.BOX))
        row[f"{key}_real"] = mse(real, target)
        if key == "both":
            doc = json.loads((out / "strokes.json").read_text())
            names = [s.get("brush") for s in doc["strokes"]]
            row["all_named"] = all(isinstance(n, str) for n in names)
            row["n_pen"] = sum(n == "classic/pen" for n in names)
            row["n_dry"] = sum(n == "classic/dry_brush" for n in names)
    row["ratio"] = row["both"] / min(row["dry"], row["pen"])
    row["real_vs_single"] = row["both_real"] / min(row["dry_real"], row["pen_real"])
    row["real_ratio"] = row["both_real"] / row["both"]
    row["ok"] = (
        row["ratio"] <= 0.9
        and row["all_named"]
        and row["n_pen"] > 0
        and row["n_dry"] > 0
        and row["real_ratio"] <= 1.3
    )
    return row


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--images", nargs="*", default=None, help="photos to paint")
    p.add_argument("--dir", default=None, help="paint every image in this folder")
    p.add_argument("--strokes", type=int, default=200, help="strokes per painting")
    p.add_argument("--seed", type=int, default=0, help="same seed -> same numbers")
    p.add_argument("--jobs", type=int, default=1, help="photos painted at once")
    p.add_argument("--keep", default=None, help="keep the outputs in this folder")
    p.add_argument(
        "--reuse-single",
        action="store_true",
        help="reuse the single-brush paintings already in --keep (the mixed one is always redone)",
    )
    p.add_argument(
        "--single-method",
        default=None,
        help="paint the single-brush paintings with this --method (e.g. agent+gradient, the "
        "mixed painting's own) instead of neural-paint's default",
    )
    p.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="more neural-paint args")
    args = p.parse_args()
    if args.images:
        photos = [Path(f) for f in args.images]
    elif args.dir:
        photos = sorted(f for f in Path(args.dir).iterdir() if f.suffix.lower() in {".jpg", ".png"})
    else:
        photos = BUNDLED
    base = Path(args.keep or tempfile.mkdtemp(prefix="bench_brushes_"))
    print(
        f"{len(photos)} photos, {args.strokes} strokes, seed {args.seed}, 64 px, outputs in {base}"
    )
    print("| photo | dry brush | pen | both | both ÷ better | real ÷ neural | real: both ÷ better single's real | pen strokes | s (dry/pen/both) | ok |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
    rows = []
    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        for r in pool.map(
            lambda f: measure(
                f, base, args.strokes, args.seed, args.extra, args.reuse_single, args.single_method
            ),
            photos,
        ):
            rows.append(r)
            print(f"| {r['photo'][:40]} | {r['dry']:.5f} | {r['pen']:.5f} | {r['both']:.5f} "
                  f"| {r['ratio']:.3f} | {r['real_ratio']:.2f} | {r['real_vs_single']:.2f} "
                  f"| {r['n_pen']}/{r['n_pen'] + r['n_dry']} "
                  f"| {r['dry_s']:.0f}/{r['pen_s']:.0f}/{r['both_s']:.0f} | {'yes' if r['ok'] else 'no'} |",
                  flush=True)  # fmt: skip
    ratios = np.array([r["ratio"] for r in rows])
    reals = np.array([r["real_ratio"] for r in rows])
    print(
        f"\nboth ÷ better single: mean {ratios.mean():.3f}, max {ratios.max():.3f}, "
        f"≤ 0.9 on {int((ratios <= 0.9).sum())}/{len(rows)}; real ÷ neural: mean "
        f"{reals.mean():.2f}, max {reals.max():.2f}; both brushes used on "
        f"{sum(r['n_pen'] > 0 and r['n_dry'] > 0 for r in rows)}/{len(rows)}; all targets met on "
        f"{sum(r['ok'] for r in rows)}/{len(rows)}"
    )


if __name__ == "__main__":
    main()
