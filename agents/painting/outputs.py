"""Writing an agent painting's files (re-exported by :mod:`agents.painting`): what
``scripts/paint.py`` writes, staged in a temporary folder so a failure leaves nothing half-written."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.painting.export import write_stroke_files
from agents.painting.progress import Progress
from painters.gif import frame_indices, write_gif
from painters.images import save_png
from painters.io import first_line
from painters.rendering import render
from painters.replaying import replay_windows


def write_painting_outputs(
    folder: str | os.PathLike,
    painting: Any,
    painter: torch.nn.Module,
    *,
    brush: str | None = None,
    render_size: int = 512,
    seed: int = 0,
    info: dict | None = None,
) -> list[Path]:
    """Write what ``scripts/paint.py`` writes for a painting: painting.png (the neural canvas),
    strokes.npz / strokes.json / painting.svg, painting_real.png (the real brush, longer side
    ``render_size``; skipped without libmypaint) and animation.gif (stroke by stroke). Files are
    written into a temporary folder beside ``folder`` and moved in at the end, so a failure
    leaves nothing half-written. Returns the paths written."""
    import shutil
    import tempfile

    out = Path(folder)
    out.parent.mkdir(parents=True, exist_ok=True)
    if brush is not None:
        painting.brush = str(brush)
    painting.info = {**(painting.info or {}), **(info or {}), "render_seed": int(seed)}
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
    try:
        write_painting_files(tmp, painting, painter, render_size=render_size, seed=seed)
        out.mkdir(parents=True, exist_ok=True)
        names = sorted(f.name for f in tmp.iterdir())
        for name in names:
            os.replace(tmp / name, out / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return [out / n for n in names]


def write_painting_files(
    folder: Path,
    painting: Any,
    painter: torch.nn.Module,
    *,
    product: Any = None,
    extra: dict[str, np.ndarray] | None = None,
    render_size: int = 512,
    seed: int = 0,
    frames: list[np.ndarray] | None = None,
    brush_index: np.ndarray | None = None,
    progress: Progress | None = None,
) -> list[str]:
    """The one writer of a painting folder's files, into ``folder`` (the caller stages it):
    painting.png (``painting.canvas``), strokes.npz / strokes.json / painting.svg (``product``,
    the :class:`painters.painting.Painting` they describe, default ``painting`` itself, with
    ``extra`` arrays in the npz), painting_real.png (the real brush, longer side
    ``render_size``) and animation.gif (``frames``, default the strokes replayed one by one).
    Each file is written once. Returns notes to print (no libmypaint); a full disk raises.
    ``progress`` shows the phases "files", "re-render" and "animation"."""
    progress = progress or Progress(disable=True)
    product = painting if product is None else product
    notes = []
    with progress.task("files"):
        save_png(painting.canvas, folder / "painting.png")
        write_stroke_files(product, folder, extra)
    with progress.task("re-render"):
        try:
            w, h = product.output_size(render_size)
            save_png(render(product, "mypaint", width=w, height=h, seed=seed),
                     folder / "painting_real.png")  # fmt: skip
        except (OSError, RuntimeError, ImportError) as e:
            if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
                raise  # a full disk is not a missing brush
            notes.append(
                f"note: painting_real.png not written: the real brush is unavailable "
                f"({first_line(e)})"
            )
    with progress.task("animation"):
        if frames is None:
            _, frames = replay_windows(
                painter, painting.local_actions, painting.windows, painting.width,
                painting.height, painting.background,
                frames_at=frame_indices(len(painting.actions)), brush_index=brush_index,
            )  # fmt: skip
        blank = np.empty_like(painting.canvas)
        blank[:] = np.asarray(painting.background, np.uint8)
        write_gif([blank, *frames], folder / "animation.gif", scale=gif_scale(painting))
    return notes


def gif_scale(painting: Any) -> int:
    """Pixel repetition for a painting's GIFs, so a 64 px painting is not tiny on screen."""
    return max(1, 128 // min(painting.width, painting.height))
