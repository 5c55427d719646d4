"""The one way to draw strokes: :func:`render` draws a painting or an array of actions at any
size with any renderer spec (read by :func:`painters.resolving.resolve_renderer`).

It sits on top of the replay (:mod:`painters.replaying`: a painting at its own size, exactly as
it was painted) and the re-render (:mod:`painters.rerender`: any other size or renderer).

>>> image = render(painting, "mypaint", size=768)     # longer side 768 px
>>> image = render(actions, "neural")                  # (N, 12) actions on a 64 px canvas
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from painters.painting import Painting, load_strokes
from painters.replaying import replay_strokes
from painters.rerender import render_painting
from painters.resolving import is_module, neural_spec, resolve_renderer


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
    gif_path: str | os.PathLike | None = None,
) -> np.ndarray:
    """Draw strokes → uint8 (H, W, 3). The one render entry of the package (``painters.replay``
    is the same function under its first name).

    ``painting_or_actions``: a :class:`painters.Painting`, a ``strokes.npz`` / ``strokes.json``
    path, or actions (N, 12) in [0, 1] (a square single-tile painting of ``size`` px, default
    64, on ``background``). ``renderer``: any spec of :func:`resolve_renderer`. ``size`` is the
    longer side (or give ``width`` / ``height``); without any, a painting keeps its own size.

    A painting at its own size with a neural painter is replayed exactly as it was painted
    (tile by tile when it was painted in tiles); any other size or renderer is a re-render
    (:func:`painters.rerender.render_painting`). ``gif_path``: also write a small GIF of the
    painting appearing (a painting only; always drawn by the re-render).
    """
    if not isinstance(painting_or_actions, Painting | str | os.PathLike):
        if gif_path is not None:
            raise ValueError("gif_path needs a painting: pass painters.Painting(actions)")
        side = 64 if size is None else int(size)
        return replay_strokes(painting_or_actions, renderer, side, seed, background, brush=brush,
                      width=width, height=height, device=device)  # fmt: skip
    painting = (
        painting_or_actions
        if isinstance(painting_or_actions, Painting)
        else load_strokes(painting_or_actions)
    )
    own = size is None and width is None and height is None
    own = own or painting.output_size(size, width, height) == (painting.width, painting.height)
    spec = neural_spec(renderer, painting, device) if brush is None else renderer
    if isinstance(spec, str) and spec == "neural":
        spec = resolve_renderer(spec, device=device)
    if own and is_module(spec) and gif_path is None:
        return replay_strokes(painting, spec)
    if size is not None and width is None and height is None:
        width, height = painting.output_size(size)
    return render_painting(
        painting, spec, width, height, brush, seed, gif_path=gif_path, device=device
    )


#: ``painters.replay``: :func:`render` under the name it had first (one function, two names).
replay = render
