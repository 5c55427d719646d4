"""Checks of ``neural-paint``'s request before any work: every number against the memory it
implies (:mod:`painters.limits`), and the folders it will write.

The costs below were measured on CPU (peak resident memory with ``/usr/bin/time -v``); see
docs/LIMITS.md for the measurements. They are upper estimates, so a refused request would have
needed at least most of what the message says.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from painters.limits import MAX_SIDE, LimitError, check_memory, whole_number

#: Tile side of the painter (px).
TILE = 64
#: Memory of the program before painting (torch, the painter, the image): bytes.
BASE_BYTES = 450 * 2**20
#: Memory per pixel of the working canvas while painting (float canvases, targets, gradients,
#: the optimisation snapshots): bytes.
CANVAS_BYTES_PER_PX = 700
#: Memory per stroke while it is optimised (painter activations and gradients): bytes.
STROKE_BYTES = 400 * 2**10
#: Memory per pixel of the real-brush re-render (float RGBA canvas, strokes, PNG): bytes.
RENDER_BYTES_PER_PX = 80
#: Optimisation steps per group at most (each is a few milliseconds per tile).
MAX_STEPS = 100_000
#: CPU threads at most.
MAX_THREADS = 1024


def check_numbers(args: argparse.Namespace) -> None:
    """The numbers of the command line, before the image is read: ``LimitError`` naming the
    option and the fix."""
    whole_number("--grid", args.grid, low=1, high=MAX_SIDE // TILE, fix="use a smaller --grid")
    whole_number(
        "--render-size", args.render_size, low=1, high=MAX_SIDE, fix="use a smaller --render-size"
    )
    check_memory(
        f"--render-size {args.render_size}",
        args.render_size**2 * RENDER_BYTES_PER_PX,
        "use a smaller --render-size",
    )
    if args.steps is not None:
        whole_number("--steps", args.steps, low=0, high=MAX_STEPS, fix="use fewer --steps")
    whole_number("--threads", args.threads, low=1, high=MAX_THREADS, fix="use fewer --threads")
    if args.groups > args.strokes:
        raise LimitError(
            f"--groups {args.groups} is more than --strokes {args.strokes}; use at most one "
            "group per stroke"
        )


def check_canvas(width: int, height: int, args: argparse.Namespace) -> None:
    """The working canvas (``width`` x ``height`` px for the image and ``--grid``): both sides
    within :data:`MAX_SIDE` and the painting's memory within the budget."""
    fix = "use a smaller --grid, fewer --strokes, or crop the image to a less elongated shape"
    if max(width, height) > MAX_SIDE:
        raise LimitError(
            f"the working canvas would be {width}x{height} px (the image's aspect ratio at "
            f"--grid {args.grid}), more than {MAX_SIDE} px on a side; {fix}"
        )
    need = BASE_BYTES + width * height * CANVAS_BYTES_PER_PX + args.strokes * STROKE_BYTES
    check_memory(f"painting {args.strokes} strokes on {width}x{height} px", need, fix)


def check_folder(path: str | os.PathLike, option: str) -> None:
    """A folder the run will write into later (e.g. ``--tensorboard``): made and written to now,
    then removed again if it was made, so a path that cannot be written fails before the
    painting, not after it, and a refused run leaves nothing behind."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise LimitError(f"{option} {folder} is a file, not a folder; give a folder path")
    top = folder
    while not top.parent.exists() and top.parent != top:
        top = top.parent
    made = None if folder.exists() else top
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        reason = e.strerror or type(e).__name__
        raise LimitError(
            f"cannot write to {option} {folder} ({reason}); choose a folder you can write to"
        ) from None
    finally:
        if made is not None:
            for d in [folder, *folder.parents]:
                try:
                    d.rmdir()
                except OSError:
                    break
                if d == made:
                    break
