"""One way to draw strokes: :func:`resolve_renderer` reads every renderer spec of the project
and :func:`render` draws a painting or an array of actions with it.

Why one resolver: the env, :func:`painters.replay`, the re-render at any size and the scripts
all take a ``renderer`` argument; with one reader they accept the same vocabulary (``"mypaint"``,
``"simple"``, ``"neural"``, a painter folder or bundled name, a :class:`Renderer`, a painter
module) and fail with the same message.

>>> image = render(painting, "mypaint", size=768)     # longer side 768 px
>>> image = render(actions, "neural")                  # (N, 12) actions on a 64 px canvas
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from painters.renderers.base import DEFAULT_BRUSH

#: Renderer names drawn by a real (non-neural) renderer.
REAL_RENDERERS = ("mypaint", "simple")


def resolve_renderer(
    spec: Any,
    size: int = 64,
    *,
    brush: str | os.PathLike | None = None,
    seed: int = 0,
    device: Any = "cpu",
):
    """A renderer spec → a :class:`painters.renderers.Renderer` or a neural painter module.

    ``"mypaint"`` / ``"simple"``: the real renderer at ``size`` px (``brush``, texture ``seed``);
    ``"neural"``: the bundled default painter; a bundled painter name or a painter folder: that
    painter (eval mode, frozen, on ``device``); a :class:`Renderer` or a ``torch.nn.Module``:
    itself. Anything else: one-line ``ValueError`` listing the choices (a path that does not
    exist: ``FileNotFoundError`` from :func:`painters.load_painter`, naming the fix).
    """
    from painters.renderers import Renderer, get_renderer

    if isinstance(spec, Renderer):
        return spec
    if isinstance(spec, str) and spec in REAL_RENDERERS:
        return get_renderer(spec, size=size, brush=brush or DEFAULT_BRUSH, seed=seed)
    if _is_module(spec):
        return spec
    if isinstance(spec, str | os.PathLike):
        from painters.loading import PRETRAINED_DIR, load_painter

        name = "default" if spec == "neural" else spec
        looks_like_path = isinstance(spec, os.PathLike) or os.sep in str(spec) or "/" in str(spec)
        if looks_like_path or Path(name).exists() or (PRETRAINED_DIR / str(name)).is_dir():
            return load_painter(name, device)
    raise ValueError(
        f"unknown renderer {spec!r}; use 'mypaint', 'simple', 'neural', a painter folder or "
        "bundled name, a Renderer or a neural painter module"
    )


def _is_module(obj: Any) -> bool:
    import torch

    return isinstance(obj, torch.nn.Module)


def render(
    painting_or_actions: Any,
    renderer: Any = "mypaint",
    size: int | None = None,
    *,
    width: int | None = None,
    height: int | None = None,
    brush: str | None = None,
    seed: int = 0,
    background: tuple[int, int, int] = (255, 255, 255),
    device: Any = "cpu",
) -> np.ndarray:
    """Draw strokes → uint8 (H, W, 3).

    ``painting_or_actions``: a :class:`painters.Painting`, a ``strokes.npz`` / ``strokes.json``
    path, or actions (N, 12) in [0, 1] (a square single-tile painting of ``size`` px, default
    64, on ``background``). ``renderer``: any spec of :func:`resolve_renderer`. ``size`` is the
    longer side (or give ``width`` / ``height``); without any, a painting keeps its own size.

    A painting at its own size with a neural painter is replayed exactly as it was painted
    (tile by tile when it was painted in tiles); any other size or renderer is a re-render
    (:func:`painters.export.render_painting`).
    """
    from painters.painting import Painting, load_strokes
    from painters.replaying import replay

    if not isinstance(painting_or_actions, Painting | str | os.PathLike):
        side = 64 if size is None else int(size)
        return replay(painting_or_actions, renderer, side, seed, background, brush=brush,
                      width=width, height=height, device=device)  # fmt: skip
    painting = (
        painting_or_actions
        if isinstance(painting_or_actions, Painting)
        else load_strokes(painting_or_actions)
    )
    own = size is None and width is None and height is None
    own = own or painting.output_size(size, width, height) == (painting.width, painting.height)
    from painters.replaying import neural_spec

    spec = neural_spec(renderer, painting, device) if brush is None else renderer
    if isinstance(spec, str) and spec == "neural":
        spec = resolve_renderer(spec, device=device)
    if own and _is_module(spec):
        return replay(painting, spec)
    from painters.rerender import render_painting

    if size is not None and width is None and height is None:
        width, height = painting.output_size(size)
    return render_painting(painting, spec, width, height, brush, seed, device=device)
