"""Paint an image with brushstrokes: a trained agent or gradient descent through a neural
painter, then re-render the same strokes with the real MyPaint brush.

    neural-paint photo.jpg                       # 2,000 strokes by the agent, 256 px
    neural-paint painting_env/samples/coffee.jpg --method gradient --strokes 300 --out out/coffee
    neural-paint photo.jpg --method agent+gradient --out out/photo

The default (--method agent --strokes 2000, --grid 4 by the stroke count) was chosen by
measurement on 10 photos (docs/SEAMS.md): a 256 px painting.png at 0.23x the MSE of a 32 x 32
flat-colour grid with tiles that do not show (seam ratio 0.92), and a 512 px painting_real.png,
in about 8 CPU seconds (the agent planning 2 steps per step, --plan-steps); --method
agent+gradient had half its MSE on astronaut in about 45 CPU seconds, and --method gradient
takes about 40.

Any aspect ratio: the working canvas has its shorter side ``--grid`` tiles of ``--size`` px
(64 px, the painter's) and its longer side in the image's proportion (a 512 x 341 photo is
painted at 96 x 64, with ``--grid 2`` at 192 x 128), covered by evenly spaced 64 px tiles. The
target is the image prepared as the env prepares its targets (painters.images.prepare_target,
docs/TARGETS.md): cropped to the canvas's aspect ratio, which trims at most half a canvas pixel
of rounding (never squashed), then area-averaged to the canvas. ``--strokes`` is the total
number of strokes of the painting.

Writes into --out: painting.png (neural canvas), strokes.npz and strokes.json (actions in painting
order, global coordinates: x, y fractions of width and height), painting.svg (one path per
stroke), painting_real.png (real brush, longer side --render-size), animation.gif (stroke by
stroke) and optimisation.gif (the canvas over the optimisation steps). Everything is written into
a temporary folder inside --out first and moved in at the end, so a failure leaves nothing
half-written; --out is checked before painting (a file, or a folder you cannot write to, fails
at once).

Methods: ``gradient`` (gradient descent through the painter), ``agent`` (a trained Painting-v0
agent, --agent, paints the image and then tiles of it, :mod:`agents.painting`) or
``agent+gradient`` (the agent proposes each group's first strokes, gradient descent refines
them).

Stroke controls: --min-stroke-size / --max-stroke-size bound the brush radius as a fraction of
the canvas's shorter side; --palette K (K colours of the image, by k-means) or --palette
"#rrggbb,..." restricts every stroke to those colours; --brush NAME picks the MyPaint brush of
the real re-render (and of the real-brush fit).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

import painters
from agents.cli import checks
from agents.gradient import (
    GradientConfig,
    auto_grid,
    canvas_size,
    fraction_for_size,
    make_loss,
    paint_images,
    size_for_fraction,
)
from agents.gradient.palette import parse_palette, to_hex
from agents.painting.defaults import auto_plan_steps, default_method
from agents.painting.outputs import gif_scale, write_painting_files
from agents.painting.progress import Progress
from painters.brushes import load_painters, painter_name_for
from painters.cli import OutputFolder, first_line, guarded, parser
from painters.compositing import to_uint8
from painters.export import Painting
from painters.gif import EvenFrames, write_gif
from painters.images import ImageError, load_image, prepare_target

DEFAULT_BRUSH = "classic/dry_brush"
METHODS = ("gradient", "agent", "agent+gradient")
#: Strokes of one painting at most: every stroke keeps its painter activations and gradients
#: while it is optimised, about 0.4 MB each (measured with --groups 1: 500 strokes peak at
#: 545 MB, 2000 at 1148 MB, 4000 at 1.9 GB with --steps 1). 4000 strokes with the defaults
#: peak at 2.09 GB on a 3:2 photo (96 x 64 canvas) and 2.83 GB on a 2:1 one (128 x 64).
#: See docs/LIMITS.md.
MAX_STROKES = 4_000
#: Images are decoded whole before being resized to the working canvas: larger ones are refused
#: (PIL's own decompression-bomb threshold) before decoding, with the fix.
MAX_IMAGE_PIXELS = 89_478_485
#: Shorter side of the smallest image worth painting (the env's smallest canvas).
MIN_IMAGE_SIDE = 8


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = parser(__doc__)
    p.add_argument("image", help="target image (JPEG, PNG, ...), any aspect ratio")
    p.add_argument(
        "--strokes",
        type=int,
        default=2000,
        help=f"total strokes of the painting (at most {MAX_STROKES}; gradient painting of "
        "4000 strokes takes about 2 GB of memory for a 3:2 photo, up to 3 GB for wider ones)",
    )
    p.add_argument(
        "--method",
        default=None,
        choices=METHODS,
        help="how the strokes are found (default: agent; gradient when --palette, "
        "--min/--max-stroke-size, --steps, --groups or --loss is given)",
    )
    p.add_argument(
        "--agent",
        default="default",
        help="agent of --method agent / agent+gradient: a bundled name or a training folder",
    )
    p.add_argument(
        "--plan-steps",
        type=int,
        default=None,
        help="--method agent (and agent+gradient's refinement): Adam steps through the "
        "painter that refine each agent step's strokes before they are painted (the agent's "
        "planning; 0: the actor's strokes as they are; default: the agent's own, 32 for the default agent, cut to keep "
        "strokes x steps <= 4096: 32 up to 128 strokes, 16 at 256, 2 at 2000)",
    )
    p.add_argument("--size", type=int, default=64, help="tile side in px (the painter's)")
    p.add_argument(
        "--grid",
        type=int,
        default=None,
        help="64 px tiles along the shorter side (default: about one tile per 125 strokes: 1 up "
        "to 499 strokes, 4 from 2000)",
    )
    p.add_argument("--out", default="out/painting", help="output folder")
    p.add_argument("--seed", type=int, default=0, help="same seed -> same painting")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--render-size", type=int, default=512, help="longer side of painting_real.png")
    p.add_argument("--painter", default="default", help="bundled name or checkpoint folder")
    p.add_argument("--brush", default=DEFAULT_BRUSH, help="MyPaint brush of the real re-render")
    p.add_argument(
        "--brushes",
        default=None,
        help="comma-separated brushes with bundled painters, e.g. classic/dry_brush,classic/pen: "
        "every stroke carries its brush and gradient painting picks it stroke by stroke (one "
        "brush: paint with that brush's painter and re-render with it)",
    )
    p.add_argument(
        "--steps",
        type=int,
        default=None,
        help="optimisation steps per group (None: the painter's schedule for --strokes); for "
        "agent+gradient's joint refinement of the agent's painting, its steps (default 120)",
    )
    p.add_argument("--groups", type=int, default=5, help="stroke groups, coarse to fine")
    p.add_argument(
        "--loss", default="mse", help="mse, l1, ssim, perceptual or a mix: 'mse+0.1*perceptual'"
    )
    p.add_argument(
        "--perceptual-weights",
        default=None,
        help="torchvision vgg16/vgg19 .pth for the perceptual loss (None: the default place)",
    )
    p.add_argument(
        "--min-stroke-size",
        type=float,
        default=None,
        help="smallest brush radius, as a fraction of the canvas's shorter side (None: the "
        "painter's smallest)",
    )
    p.add_argument(
        "--max-stroke-size",
        type=float,
        default=None,
        help="largest brush radius, as a fraction of the canvas's shorter side (None: the "
        "painter's largest)",
    )
    p.add_argument(
        "--palette",
        default=None,
        help="K (K colours of the image, by k-means) or hex colours '#ff0000,#00ff00,...' "
        "(None: any colour)",
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
    p.add_argument("--tensorboard", default=None, help="TensorBoard log folder (None: off)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    if args.method is None and args.brushes is not None and len(brush_names(args.brushes)) > 1:
        args.method = "agent+gradient"  # the refinement chooses each stroke's brush
    args.method = default_method(args)
    if args.grid is None:
        args.grid = auto_grid(args.strokes)
    for name in ("strokes", "grid", "render_size", "groups", "threads"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.strokes > MAX_STROKES:
        p.error(
            f"--strokes {args.strokes} is more than {MAX_STROKES} (about 2 GB of memory); "
            "use fewer strokes"
        )
    if args.steps is not None and args.steps < 0:
        p.error("--steps must be >= 0")
    for name in ("min_stroke_size", "max_stroke_size"):
        v = getattr(args, name)
        if v is not None and not 0 < v <= 1:
            p.error(f"--{name.replace('_', '-')} must be a fraction in (0, 1], got {v}")
    return args


def fail(msg: str) -> int:
    """Print a one-line ``neural-paint: error: ...`` and return the exit code 2."""
    print(f"neural-paint: error: {msg}", file=sys.stderr)
    return 2


def check_image_file(path: str) -> tuple[int, int]:
    """(width, height) of the image at ``path``, read from its header before decoding:
    ``ValueError`` with the fix for an image too large to decode or too small to paint."""
    from PIL import Image, UnidentifiedImageError

    limit = Image.MAX_IMAGE_PIXELS
    try:
        Image.MAX_IMAGE_PIXELS = None  # only the header is read here; the size is checked below
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                width, height = im.size
    except (FileNotFoundError, IsADirectoryError):
        raise FileNotFoundError(f"no image at {path}; give a JPEG or PNG file") from None
    except (UnidentifiedImageError, OSError, ValueError):
        return 0, 0  # load_image says why it cannot read it
    finally:
        Image.MAX_IMAGE_PIXELS = limit
    if width * height > MAX_IMAGE_PIXELS:
        raise ValueError(
            f"{path} is too large: {width}x{height} px ({width * height / 1e6:.0f} Mpx, the "
            f"limit is {MAX_IMAGE_PIXELS / 1e6:.0f} Mpx); downscale it first (it is painted "
            "at a few hundred px anyway)"
        )
    if min(width, height) < MIN_IMAGE_SIDE:
        raise ValueError(
            f"{path} is {width}x{height} px, too small to paint; give an image at least "
            f"{MIN_IMAGE_SIDE} px on each side"
        )
    return width, height


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


def working_target(image: np.ndarray, grid: int) -> np.ndarray:
    """The target painted: ``image`` prepared (:func:`painters.images.prepare_target`, as the
    env prepares its targets) for the working canvas of ``grid`` tiles along its shorter side."""
    return prepare_target(image, *canvas_size(image.shape[1], image.shape[0], grid))


@guarded("neural-paint")
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = OutputFolder(args.out, prefix=".paint-tmp-")
    try:
        checks.check_numbers(args)
        torch.manual_seed(args.seed)
        torch.set_num_threads(args.threads)
        header = check_image_file(args.image)
        if min(header) > 0:
            checks.check_canvas(*canvas_size(*header, args.grid), args)
        if args.tensorboard:
            checks.check_folder(args.tensorboard, "--tensorboard")
        image = load_image(args.image)
        device = painters.resolve_device(args.device)
        painter = load_brush_painter(args, device)
        _check_brush(args.brush)
        model = None
        if args.method != "gradient":
            from agents.rl.loading import load_agent

            model = load_agent(args.agent, device="cpu")
            if args.plan_steps and not hasattr(model, "plan_steps"):
                raise ValueError(
                    f"--plan-steps needs a through-painter agent (such as the default), not "
                    f"{args.agent!r}: drop --plan-steps"
                )
            if args.plan_steps is None:
                args.plan_steps = auto_plan_steps(model, args.strokes)
            if args.method == "agent+gradient" and not refines(args, *header):
                args.plan_steps = 0  # the agent only proposes the gradient painter's strokes
        perceptual = None
        if "perceptual" in args.loss:
            from agents.gradient.perceptual import PerceptualLoss

            perceptual = PerceptualLoss(weights=args.perceptual_weights).to(device)
        loss_fn = make_loss(args.loss, perceptual=perceptual)
        psize = getattr(painter, "size", 64)
        if args.size != psize:
            raise ValueError(
                f"--size must be the painter's stroke size ({psize}); use --grid K for more"
            )
        target = working_target(image, args.grid)
        height, width = target.shape[:2]
        stroke_scale = psize / min(width, height)
        lo, hi, notes = size_bounds(args, stroke_scale)
        palette = None
        if args.palette is not None:
            palette = parse_palette(args.palette, target, seed=args.seed)
        cfg = GradientConfig(
            strokes=args.strokes, groups=args.groups, steps=args.steps, loss=args.loss,
            seed=args.seed, min_size=lo, max_size=hi, brush=args.brush,
            palette=None if palette is None else tuple(map(tuple, palette)),
            finish_scale=fit_scale(args, width, height) if hasattr(painter, "brushes") else 1,
        )  # fmt: skip
        if args.plan_steps and args.method == "gradient":
            raise ValueError(
                "--plan-steps is for --method agent or agent+gradient; drop it or choose one"
            )
        if args.plan_steps is not None and args.plan_steps < 0:
            raise ValueError(f"--plan-steps must be >= 0, got {args.plan_steps}")
        if args.method == "agent" and (palette is not None or lo > 0.0 or hi < 1.0):
            raise ValueError(
                "--palette and --min/--max-stroke-size need gradient descent; use "
                "--method gradient or agent+gradient"
            )
        tmp = out.open()  # before painting: a bad --out fails now, not after the work
    except (ImageError, ValueError, FileNotFoundError, OSError) as e:
        return fail(first_line(e))
    try:
        return _paint_and_write(
            args, image, target, painter, model, cfg, loss_fn, palette, notes, tmp, out
        )
    finally:
        out.discard()  # after commit() there is nothing left to discard


def _paint_and_write(
    args, image, target, painter, model, cfg, loss_fn, palette, notes, tmp, out
) -> int:
    """Paint with ``args.method``, write every file into ``tmp``, move them into ``out``."""
    for note in notes:
        print(note)
    height, width = target.shape[:2]
    writer = None
    if args.tensorboard:
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(args.tensorboard)
        writer.add_image("target", target, 0, dataformats="HWC")
    snapshots = EvenFrames()  # optimisation.gif's frames, in bounded memory
    progress = Progress(disable=args.quiet)
    step = 0

    def on_step(ev: dict) -> None:
        nonlocal step
        step += 1
        progress.event(ev)
        loss = ev.get("loss", ev.get("mse"))
        if ev.get("canvas") is not None:
            frame = to_uint8(ev["canvas"][0])
            snapshots.add(frame)
            if writer is not None:
                writer.add_image("canvas", frame, step, dataformats="HWC")
        if writer is not None and loss is not None:
            writer.add_scalar("loss", loss, step)

    t0 = time.perf_counter()
    real_seed = None if args.no_real_fit else args.seed
    painting = paint(args.method, image, target, painter, model, cfg, loss_fn, real_seed,
                     on_step, grid=args.grid, device=painter_device(painter), seed=args.seed,
                     plan_steps=args.plan_steps)  # fmt: skip
    seconds = time.perf_counter() - t0
    mse = float(np.mean((painting.canvas / 255.0 - target / 255.0) ** 2))
    notes = write_outputs(tmp, painting, painter, snapshots, args, palette, progress)
    paths = out.commit()
    progress.finish(mse)
    if writer is not None:
        writer.add_image("painting", painting.canvas, step, dataformats="HWC")
        writer.close()
    for note in notes:
        print(note)
    how = args.method + (f", planning {args.plan_steps} steps" if args.plan_steps else "")
    print(
        f"painted {len(painting.actions)} strokes ({how}) on {width}x{height} px in "
        f"{seconds:.1f} s, MSE to target {mse:.5f}"
    )
    for path in paths:
        print(f"  {path}")
    return 0


def painter_device(painter: torch.nn.Module) -> torch.device:
    """The device ``painter``'s weights are on (CPU for a painter without weights)."""
    return next(painter.parameters(), torch.empty(0)).device


def paint(method, image, target, painter, model, cfg, loss_fn, real_seed, callback, *,
          grid: int = 1, device="cpu", seed: int = 0, plan_steps: int = 0):  # fmt: skip
    """One painting of ``target`` (``image`` resized to the working canvas) by ``method``:
    ``gradient`` (:func:`agents.gradient.paint_images`), ``agent`` or ``agent+gradient``
    (:mod:`agents.painting`, which needs the SB3 ``model``)."""
    if method == "gradient":
        return paint_images(painter, [target], cfg, loss_fn=loss_fn, callback=callback,
                            real_seed=real_seed)[0]  # fmt: skip
    try:
        import agents.painting as agent_painting
    except ImportError as e:
        raise RuntimeError(
            f"--method {method} needs agents.painting, which cannot be imported "
            f"({first_line(e)}); use --method gradient"
        ) from None
    if method == "agent":
        return agent_painting.paint_with_agent(image, model, cfg.strokes, grid=grid,
                                               painter=painter, device=device, seed=seed,
                                               callback=callback,
                                               plan_steps=plan_steps)  # fmt: skip
    steps = agent_painting.REFINE_STEPS if cfg.steps is None else cfg.steps
    return agent_painting.paint_with_agent_and_gradient(
        image, model, cfg.strokes, grid=grid, config=cfg, painter=painter, device=device,
        loss_fn=loss_fn, real_seed=real_seed, callback=callback, plan_steps=plan_steps,
        steps=steps,
    )  # fmt: skip


def brush_names(text: str) -> list[str]:
    """``--brushes`` "A,B" → ["A", "B"] (blanks dropped)."""
    return [b.strip() for b in text.split(",") if b.strip()]


def load_brush_painter(args: argparse.Namespace, device: torch.device) -> torch.nn.Module:
    """The painter of ``--painter``, or of ``--brushes``: one brush → its bundled painter (and
    ``args.brush`` = that brush), several → a :class:`painters.brushes.MultiBrushPainter`.
    Unknown brushes, repeats, ``--painter`` beside ``--brushes`` or several brushes with an
    agent method raise ``ValueError`` naming the fix."""
    if args.brushes is None:
        return painters.load_painter(args.painter, device)
    names = brush_names(args.brushes)
    if not names:
        raise ValueError("--brushes needs at least one brush name, e.g. classic/dry_brush")
    if len(set(names)) != len(names):
        raise ValueError(f"--brushes repeats a brush ({args.brushes}); give each brush once")
    if args.painter != "default":
        raise ValueError("give --painter or --brushes, not both (--brushes picks the painters)")
    for b in names:
        painter_name_for(b)  # ValueError naming the bundled brushes
        _check_brush(b)
    if len(names) == 1:
        args.brush = names[0]
        return painters.load_painter(painter_name_for(names[0]), device)
    if args.method == "agent":
        raise ValueError(
            f"--method agent paints with one brush; use --method agent+gradient (the agent "
            f"proposes, gradient descent picks each stroke's brush) or gradient to mix "
            f"--brushes {args.brushes}"
        )
    return load_painters(names, device)


def refines(args: argparse.Namespace, image_width: int, image_height: int) -> bool:
    """Whether ``--method agent+gradient`` refines the agent's whole painting (planning first)
    rather than letting the agent propose the gradient painter's strokes: while strokes ×
    canvas pixels stays within :data:`agents.painting.refine.REFINE_LIMIT`, without a palette
    (:func:`agents.painting.refine.refines_jointly`, the rule the painting itself follows)."""
    from agents.painting.refine import refines_jointly

    w, h = canvas_size(max(1, image_width), max(1, image_height), args.grid)
    return refines_jointly(args.strokes, w, h, args.palette)


def fit_scale(args: argparse.Namespace, width: int, height: int) -> float:
    """The multiple of the painting's size at which the real-brush fit of a painting of
    several brushes renders its strokes: that of painting_real.png (the pen's crisp edges fall
    differently at 512 px than at 64 px, docs/BRUSHES.md), capped so that the fit's coverage
    maps stay near 256 MB."""
    k = max(1.0, args.render_size / max(width, height))
    cap = max(1, int((64_000_000 / max(1, args.strokes)) ** 0.5) // 64)
    return min(k, float(cap))


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


def write_outputs(
    tmp: Path, painting, painter, snapshots, args, palette=None, progress: Progress | None = None
) -> list[str]:
    """Write every output file into ``tmp`` (:func:`agents.painting.outputs.write_painting_files`
    plus optimisation.gif); returns notes to print (e.g. no libmypaint)."""
    product, extra = _describe(painting, args, palette, painter)
    frames = None
    if args.method == "agent" and len(snapshots):  # the canvas after each agent step
        frames = [*snapshots.frames(), painting.canvas]
    bi = painting.brush_index(painter.brushes) if hasattr(painter, "brushes") else None
    notes = write_painting_files(
        tmp, painting, painter, product=product, extra=extra, render_size=args.render_size,
        seed=args.seed, frames=frames, brush_index=bi, progress=progress,
    )  # fmt: skip
    opt = snapshots.frames(30) or [painting.canvas]
    write_gif(opt, tmp / "optimisation.gif", scale=gif_scale(painting))
    return notes


def _describe(painting, args, palette, painter=None) -> tuple[Painting, dict[str, np.ndarray]]:
    """The :class:`Painting` the stroke files describe, and the npz's extra arrays."""
    info = {
        "painter": str(args.painter), "loss": str(args.loss), "seed": int(args.seed),
        "render_seed": int(args.seed), "grid": int(args.grid), "tile_size": int(args.size),
        "made_by": f"neural-paint --method {args.method}", "method": str(args.method),
    }  # fmt: skip
    if palette is not None:
        info["palette"] = to_hex(palette)
    product = Painting(
        painting.actions, width=painting.width, height=painting.height,
        stroke_scale=painting.stroke_scale, brush=args.brush, info=info,
        stroke_brushes=painting.brush_list() if hasattr(painter, "brushes") else None,
    )  # fmt: skip
    extra = {
        "local_actions": painting.local_actions.astype(np.float32),
        "windows": painting.windows.astype(np.int64),
        "grid": np.int64(args.grid),
        "tile_size": np.int64(args.size),
        "seed": np.int64(args.seed),
        "render_seed": np.int64(args.seed),
    }
    return product, extra


if __name__ == "__main__":
    sys.exit(main())
