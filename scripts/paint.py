"""Paint an image with brushstrokes: gradient descent through a neural painter, then re-render
the same strokes with the real MyPaint brush.

    python scripts/paint.py painting_env/samples/coffee.jpg --strokes 300 --out out/coffee

Any aspect ratio, no crop: the working canvas has its shorter side ``--grid`` tiles of ``--size``
px (64 px, the painter's) and its longer side in the image's proportion (a 512 x 341 photo is
painted at 96 x 64, with ``--grid 2`` at 192 x 128), covered by evenly spaced 64 px tiles.
``--strokes`` is the total number of strokes of the painting.

Writes into --out: painting.png (neural canvas), strokes.npz and strokes.json (actions in painting
order, global coordinates: x, y fractions of width and height), painting.svg (one path per
stroke), painting_real.png (real brush, longer side --render-size), animation.gif (stroke by
stroke) and optimisation.gif (the canvas over the optimisation steps). Everything is written into
a temporary folder first and moved into --out at the end, so a failure leaves nothing half-written.

Stroke controls: --min-stroke-size / --max-stroke-size bound the brush radius as a fraction of
the canvas's shorter side; --palette K (K colours of the image, by k-means) or --palette
"#rrggbb,..." restricts every stroke to those colours; --brush NAME picks the MyPaint brush of
the real re-render (and of the real-brush fit).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

import painters
from agents.animation import frame_indices, write_gif
from agents.export import write_stroke_files
from agents.gradient import (
    GradientConfig,
    canvas_size,
    composite_windows,
    fraction_for_size,
    make_loss,
    paint_images,
    size_for_fraction,
    total_steps,
)
from agents.images import ImageError, load_image, resize, save_png
from agents.palette import parse_palette, to_hex
from painters.compositing import to_uint8
from painters.export import Painting, render_painting

DEFAULT_BRUSH = "classic/dry_brush"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("image", help="target image (JPEG, PNG, ...), any aspect ratio")
    p.add_argument("--strokes", type=int, default=200, help="total strokes of the painting")
    p.add_argument("--size", type=int, default=64, help="tile side in px (the painter's)")
    p.add_argument("--grid", type=int, default=1, help="tiles along the shorter side")
    p.add_argument("--out", default="out/painting", help="output folder")
    p.add_argument("--seed", type=int, default=0, help="same seed -> same painting")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--render-size", type=int, default=512, help="longer side of painting_real.png")
    p.add_argument("--painter", default="default", help="bundled name or checkpoint folder")
    p.add_argument("--brush", default=DEFAULT_BRUSH, help="MyPaint brush of the real re-render")
    p.add_argument("--steps", type=int, default=None, help="optimisation steps per group")
    p.add_argument("--groups", type=int, default=5, help="stroke groups, coarse to fine")
    p.add_argument(
        "--loss", default="mse", help="mse, l1, ssim, perceptual or a mix: 'mse+0.1*perceptual'"
    )
    p.add_argument("--perceptual-weights", default=None, help="torchvision vgg16/vgg19 .pth")
    p.add_argument(
        "--min-stroke-size",
        type=float,
        default=None,
        help="smallest brush radius, as a fraction of the canvas's shorter side",
    )
    p.add_argument(
        "--max-stroke-size",
        type=float,
        default=None,
        help="largest brush radius, as a fraction of the canvas's shorter side",
    )
    p.add_argument(
        "--palette",
        default=None,
        help="K (K colours of the image, by k-means) or hex colours '#ff0000,#00ff00,...'",
    )
    p.add_argument(
        "--no-real-fit",
        action="store_true",
        help="do not fit the real brush's texture in the final refinement",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="CPU threads for torch (1 is fastest: the per-step tensors are small)",
    )
    p.add_argument("--tensorboard", default=None, help="TensorBoard log folder")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    for name in ("strokes", "grid", "render_size", "groups", "threads"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.steps is not None and args.steps < 0:
        p.error("--steps must be >= 0")
    for name in ("min_stroke_size", "max_stroke_size"):
        v = getattr(args, name)
        if v is not None and not 0 < v <= 1:
            p.error(f"--{name.replace('_', '-')} must be a fraction in (0, 1], got {v}")
    return args


def fail(msg: str) -> int:
    print(f"paint.py: error: {msg}", file=sys.stderr)
    return 2


def size_bounds(args: argparse.Namespace, stroke_scale: float) -> tuple[float, float, list[str]]:
    """``size`` action bounds for --min/--max-stroke-size (radius / shorter side), clipped to
    what the painter can draw, with notes; ``ValueError`` if the range is empty."""
    lo_f, hi_f = fraction_for_size(0.0, stroke_scale), fraction_for_size(1.0, stroke_scale)
    notes, lo, hi = [], 0.0, 1.0
    span = f"radius {lo_f:.3g} to {hi_f:.3g} of the shorter side"
    if args.min_stroke_size is not None:
        lo = size_for_fraction(args.min_stroke_size, stroke_scale)
        if lo > 1.0:
            raise ValueError(
                f"--min-stroke-size {args.min_stroke_size} is above the largest brush ({span}); "
                "use a smaller value or a smaller --grid"
            )
        if lo < 0.0:
            notes.append(f"note: --min-stroke-size below the smallest brush; brushes span {span}")
            lo = 0.0
    if args.max_stroke_size is not None:
        hi = size_for_fraction(args.max_stroke_size, stroke_scale)
        if hi < 0.0:
            raise ValueError(
                f"--max-stroke-size {args.max_stroke_size} is below the smallest brush ({span}); "
                "use a larger value or a larger --grid"
            )
        if hi > 1.0:
            notes.append(f"note: --max-stroke-size above the largest brush; brushes span {span}")
            hi = 1.0
    if lo > hi:
        raise ValueError("--min-stroke-size must not exceed --max-stroke-size")
    return lo, hi, notes


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    try:
        image = load_image(args.image)
        device = painters.resolve_device(args.device)
        painter = painters.load_painter(args.painter, device)
        _check_brush(args.brush)
        perceptual = None
        if "perceptual" in args.loss:
            from agents.perceptual import PerceptualLoss

            perceptual = PerceptualLoss(weights=args.perceptual_weights).to(device)
        loss_fn = make_loss(args.loss, perceptual=perceptual)
        psize = getattr(painter, "size", 64)
        if args.size != psize:
            raise ValueError(
                f"--size must be the painter's stroke size ({psize}); use --grid K for more"
            )
        width, height = canvas_size(image.shape[1], image.shape[0], args.grid)
        target = resize(image, width, height)
        stroke_scale = psize / min(width, height)
        lo, hi, notes = size_bounds(args, stroke_scale)
        palette = None
        if args.palette is not None:
            palette = parse_palette(args.palette, target, seed=args.seed)
        cfg = GradientConfig(
            strokes=args.strokes, groups=args.groups, steps=args.steps, loss=args.loss,
            seed=args.seed, min_size=lo, max_size=hi, brush=args.brush,
            palette=None if palette is None else tuple(map(tuple, palette)),
        )  # fmt: skip
    except (ImageError, ValueError, FileNotFoundError) as e:
        return fail(str(e).strip().splitlines()[0])
    for note in notes:
        print(note)

    writer = None
    if args.tensorboard:
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(args.tensorboard)
        writer.add_image("target", target, 0, dataformats="HWC")
    snapshots: list[np.ndarray] = []
    bar = tqdm(total=total_steps(cfg, width, height), desc="painting", unit="step",
               disable=args.quiet, file=sys.stderr)  # fmt: skip
    step = 0

    def on_step(ev: dict) -> None:
        nonlocal step
        step += 1
        bar.update(1)
        bar.set_postfix(loss=f"{ev['loss']:.5f}", refresh=False)
        if ev.get("canvas") is not None:
            snapshots.append(to_uint8(ev["canvas"][0]))
            if writer is not None:
                writer.add_image("canvas", snapshots[-1], step, dataformats="HWC")
        if writer is not None:
            writer.add_scalar("loss", ev["loss"], step)

    t0 = time.perf_counter()
    painting = paint_images(painter, [target], cfg, loss_fn=loss_fn, callback=on_step,
                            real_seed=None if args.no_real_fit else args.seed)[0]  # fmt: skip
    bar.close()
    seconds = time.perf_counter() - t0
    mse = float(np.mean((painting.canvas / 255.0 - target / 255.0) ** 2))

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
    try:
        notes = write_outputs(tmp, painting, painter, snapshots, args, palette)
        out.mkdir(parents=True, exist_ok=True)
        names = sorted(f.name for f in tmp.iterdir())
        for name in names:
            os.replace(tmp / name, out / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if writer is not None:
        writer.add_image("painting", painting.canvas, step, dataformats="HWC")
        writer.close()
    for note in notes:
        print(note)
    print(
        f"painted {len(painting.actions)} strokes on {width}x{height} px in {seconds:.1f} s, "
        f"MSE to target {mse:.5f}"
    )
    for name in names:
        print(f"  {out / name}")
    return 0


def _check_brush(brush: str) -> None:
    """Unknown brush names fail before painting; without libmypaint the name is only stored."""
    try:
        from painters.renderers.mypaint import MyPaintUnavailable, find_brush
    except ImportError:
        return
    try:
        find_brush(brush)
    except MyPaintUnavailable:
        pass


def write_outputs(tmp: Path, painting, painter, snapshots, args, palette=None) -> list[str]:
    """Write every output file into ``tmp``; returns notes to print (e.g. no libmypaint)."""
    notes = []
    save_png(painting.canvas, tmp / "painting.png")
    info = {
        "painter": str(args.painter), "loss": str(args.loss), "seed": int(args.seed),
        "render_seed": int(args.seed), "grid": int(args.grid), "tile_size": int(args.size),
        "made_by": "scripts/paint.py (gradient painter)",
    }  # fmt: skip
    if palette is not None:
        info["palette"] = to_hex(palette)
    product = Painting(
        painting.actions, width=painting.width, height=painting.height,
        stroke_scale=painting.stroke_scale, brush=args.brush, info=info,
    )  # fmt: skip
    extra = {
        "local_actions": painting.local_actions.astype(np.float32),
        "windows": painting.windows.astype(np.int64),
        "grid": np.int64(args.grid),
        "tile_size": np.int64(args.size),
        "seed": np.int64(args.seed),
        "render_seed": np.int64(args.seed),
    }
    write_stroke_files(product, tmp, extra)
    try:
        w, h = product.output_size(args.render_size)
        real = render_painting(product, "mypaint", width=w, height=h, seed=args.seed)
        save_png(real, tmp / "painting_real.png")
    except (OSError, RuntimeError, ImportError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        notes.append(
            f"note: painting_real.png not written: the real brush is unavailable ({first})"
        )
    n = len(painting.actions)
    at = frame_indices(n)
    _, frames = composite_windows(
        painter, painting.local_actions, painting.windows, painting.width, painting.height,
        frames_at=at,
    )  # fmt: skip
    blank = np.full_like(painting.canvas, 255)
    scale = max(1, 128 // min(painting.width, painting.height))
    write_gif([blank, *frames], tmp / "animation.gif", scale=scale)
    opt = [snapshots[i] for i in frame_indices(len(snapshots), 30)] or [painting.canvas]
    write_gif(opt, tmp / "optimisation.gif", scale=scale)
    return notes


if __name__ == "__main__":
    sys.exit(main())
