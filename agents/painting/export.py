"""Write a painting's strokes as files: ``strokes.npz``, ``strokes.json`` and ``painting.svg``.

Why here: the gradient painter (``scripts/paint.py``) and an RL agent's episode produce the same
product, an ordered list of strokes; both go through :func:`write_stroke_files`, so the three
files always agree and load with :func:`painters.export.load_strokes`.

>>> env = gymnasium.make("Painting-v0"); ...  # run an episode
>>> export_episode(env, "out/episode")  # strokes.npz, strokes.json, painting.svg
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from painters.painting import Painting
from painters.renderers.base import DEFAULT_BRUSH
from painters.svg import save_svg

STROKE_FILES = ("strokes.npz", "strokes.json", "painting.svg")


def write_stroke_files(
    painting: Painting, folder: str | os.PathLike, extra_arrays: dict | None = None
) -> list[Path]:
    """Write ``strokes.npz`` (``Painting.save_npz`` plus ``extra_arrays``, no pickle),
    ``strokes.json`` and ``painting.svg`` into ``folder``, each once and atomically; returns the
    paths.

    ``extra_arrays`` (plain numeric/string arrays) are stored beside the painting's own keys,
    e.g. the gradient painter's window-local actions for an exact neural re-render."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return [
        painting.save_npz(folder / "strokes.npz", extra_arrays),
        painting.save_json(folder / "strokes.json"),
        save_svg(painting, folder / "painting.svg"),
    ]


def episode_painting(env, brush: str | None = None, info: dict | None = None) -> Painting:
    """The strokes of a ``Painting-v0`` episode so far as a :class:`Painting`: the env's square
    canvas (``size`` px, one tile: ``stroke_scale`` 1) and background. ``brush`` (stored for the
    re-render): default the env's own when it paints with MyPaint, else ``classic/dry_brush``.

    Works on the env or any wrapper of it (``env.unwrapped``)."""
    base = getattr(env, "unwrapped", env)
    core = getattr(base, "core", None)
    if core is None or not callable(getattr(base, "painting", None)):
        raise ValueError("episode_painting needs a Painting-v0 env (painting_env.PaintingEnv)")
    real = getattr(getattr(core, "source", None), "real", None)
    brush = brush or getattr(real, "brush_name", None) or DEFAULT_BRUSH
    actions = np.asarray(base.painting(), np.float32).reshape(-1, 12)
    return Painting(
        actions,
        width=int(core.size),
        height=int(core.size),
        stroke_scale=1.0,
        brush=str(brush),
        background=tuple(int(c) for c in core.background),
        info={"source": "Painting-v0 episode", **(info or {})},
    )


def export_episode(
    env, folder: str | os.PathLike, brush: str | None = None, info: dict | None = None
) -> list[Path]:
    """Write an agent's episode (see :func:`episode_painting`) as ``painting.png`` (the env's
    canvas), ``strokes.npz``, ``strokes.json`` and ``painting.svg`` in ``folder``, as
    ``neural-paint`` does; re-render it at any size with
    ``scripts/render_strokes.py FOLDER/strokes.npz --size 512``."""
    from painters.compositing import to_uint8
    from painters.images import save_png

    painting = episode_painting(env, brush, info)
    canvas = getattr(getattr(env, "unwrapped", env), "canvas", None)
    paths = []
    if canvas is not None:
        Path(folder).mkdir(parents=True, exist_ok=True)
        image = to_uint8(canvas[0] if canvas.ndim == 4 else canvas)
        paths.append(save_png(image, Path(folder) / "painting.png"))
    return paths + list(write_stroke_files(painting, folder))
