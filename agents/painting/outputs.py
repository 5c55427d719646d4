"""Writing an agent painting's files (re-exported by :mod:`agents.painting`): what
``scripts/paint.py`` writes, staged in a temporary folder so a failure leaves nothing half-written."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch


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

    from agents.painting.export import write_stroke_files
    from painters.gif import frame_indices, write_gif
    from painters.images import save_png
    from painters.rendering import render
    from painters.replaying import replay_windows

    out = Path(folder)
    out.parent.mkdir(parents=True, exist_ok=True)
    if brush is not None:
        painting.brush = str(brush)
    painting.info = {**(painting.info or {}), **(info or {}), "render_seed": int(seed)}
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
    try:
        save_png(painting.canvas, tmp / "painting.png")
        write_stroke_files(painting, tmp)
        try:
            w, h = painting.output_size(render_size)
            real = render(painting, "mypaint", width=w, height=h, seed=seed)
            save_png(real, tmp / "painting_real.png")
        except (OSError, RuntimeError, ImportError):
            pass  # no libmypaint: the neural painting and the strokes stand on their own
        at = frame_indices(len(painting.actions))
        _, frames = replay_windows(
            painter, painting.local_actions, painting.windows, painting.width, painting.height,
            painting.background, frames_at=at,
        )  # fmt: skip
        blank = np.full_like(painting.canvas, 255)
        blank[:] = np.asarray(painting.background, np.uint8)
        scale = max(1, 128 // min(painting.width, painting.height))
        write_gif([blank, *frames], tmp / "animation.gif", scale=scale)
        out.mkdir(parents=True, exist_ok=True)
        names = sorted(f.name for f in tmp.iterdir())
        for name in names:
            os.replace(tmp / name, out / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return [out / n for n in names]
