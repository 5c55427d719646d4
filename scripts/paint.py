"""Paint an image with brushstrokes: gradient descent through a neural painter, then re-render
the same strokes with the real MyPaint brush.

    python scripts/paint.py painting_env/samples/astronaut.jpg --out out/astronaut

Writes into --out: painting.png (neural canvas), strokes.npz (actions in painting order, global
coordinates), painting_real.png (real brush at --render-size), animation.gif (stroke by stroke)
and optimisation.gif (the canvas over the optimisation steps). Everything is written into a
temporary folder first and moved into --out at the end, so a failure leaves nothing half-written.
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
from agents.gradient import GradientConfig, composite_windows, make_loss, paint_images, total_steps
from agents.images import ImageError, center_square, load_image, resize, save_png
from painters.compositing import to_uint8


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("image", help="target image (JPEG, PNG, ...)")
    p.add_argument("--strokes", type=int, default=200, help="strokes (per tile with --grid)")
    p.add_argument("--size", type=int, default=64, help="tile side in px (the painter's)")
    p.add_argument("--out", default="out/painting", help="output folder")
    p.add_argument("--seed", type=int, default=0, help="same seed -> same painting")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--render-size", type=int, default=512, help="side of painting_real.png")
    p.add_argument("--painter", default="default", help="bundled name or checkpoint folder")
    p.add_argument("--steps", type=int, default=None, help="optimisation steps per group")
    p.add_argument("--groups", type=int, default=5, help="stroke groups, coarse to fine")
    p.add_argument(
        "--loss", default="mse", help="mse, l1, ssim, perceptual or a mix: 'mse+0.1*perceptual'"
    )
    p.add_argument("--perceptual-weights", default=None, help="torchvision vgg16/vgg19 .pth")
    p.add_argument("--grid", type=int, default=1, help="paint a K x K grid of tiles")
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
    return args


def fail(msg: str) -> int:
    print(f"paint.py: error: {msg}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    try:
        image = load_image(args.image)
        device = painters.resolve_device(args.device)
        painter = painters.load_painter(args.painter, device)
        perceptual = None
        if "perceptual" in args.loss:
            from agents.perceptual import PerceptualLoss

            perceptual = PerceptualLoss(weights=args.perceptual_weights).to(device)
        loss_fn = make_loss(args.loss, perceptual=perceptual)
    except (ImageError, ValueError, FileNotFoundError) as e:
        return fail(str(e))
    psize = getattr(painter, "size", 64)
    if args.size != psize:
        return fail(f"--size must be the painter's stroke size ({psize}); use --grid K for more")
    side = psize * args.grid
    target = resize(center_square(image), side)

    cfg = GradientConfig(strokes=args.strokes, groups=args.groups, steps=args.steps,
                         loss=args.loss, seed=args.seed)  # fmt: skip
    writer = None
    if args.tensorboard:
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(args.tensorboard)
        writer.add_image("target", target, 0, dataformats="HWC")
    snapshots: list[np.ndarray] = []
    bar = tqdm(total=total_steps(cfg, side, side), desc="painting", unit="step",
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
        notes = write_outputs(tmp, painting, painter, target, snapshots, args)
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
    print(f"painted {len(painting.actions)} strokes in {seconds:.1f} s, MSE to target {mse:.5f}")
    for name in names:
        print(f"  {out / name}")
    return 0


def write_outputs(tmp: Path, painting, painter, target, snapshots, args) -> list[str]:
    """Write every output file into ``tmp``; returns notes to print (e.g. no libmypaint)."""
    notes = []
    save_png(painting.canvas, tmp / "painting.png")
    meta = {
        "actions": painting.actions.astype(np.float32),
        "width": np.int64(painting.width),
        "height": np.int64(painting.height),
        "stroke_scale": np.float32(painting.stroke_scale),
        "grid": np.int64(args.grid),
        "tile_size": np.int64(args.size),
        "local_actions": painting.local_actions.astype(np.float32),
        "windows": painting.windows.astype(np.int64),
        "seed": np.int64(args.seed),
        "render_seed": np.int64(args.seed),
        "brush": np.array("classic/dry_brush"),
        "painter": np.array(str(args.painter)),
        "loss": np.array(str(args.loss)),
        "action_names": np.array(painters.ACTION_NAMES),
        "background": np.array([255, 255, 255], np.int64),
    }
    with open(tmp / "strokes.npz", "wb") as f:
        np.savez_compressed(f, **meta)
    try:
        real = painters.replay(
            painting.actions, "mypaint", size=args.render_size, seed=args.seed,
            stroke_scale=painting.stroke_scale,
        )  # fmt: skip
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
    scale = max(1, 128 // painting.width)
    write_gif([blank, *frames], tmp / "animation.gif", scale=scale)
    opt = [snapshots[i] for i in frame_indices(len(snapshots), 30)] or [painting.canvas]
    write_gif(opt, tmp / "optimisation.gif", scale=scale)
    return notes


if __name__ == "__main__":
    sys.exit(main())
