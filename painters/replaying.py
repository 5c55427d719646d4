"""Replay a painting: lay its actions in order with any renderer or neural painter."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from painters import actions as A
from painters.compositing import blank_canvas, over, to_uint8


def replay(
    actions,
    renderer="mypaint",
    size: int = 64,
    seed: int = 0,
    background: tuple[int, int, int] = (255, 255, 255),
    *,
    brush: str | None = None,
    width: int | None = None,
    height: int | None = None,
    stroke_scale: float = 1.0,
    batch_size: int = 256,
) -> np.ndarray:
    """Re-render a painting: uint8 (H, W, 3).

    ``actions`` is an (N, 12) array, or a saved painting (a ``strokes.npz`` / ``strokes.json``
    path or a :class:`painters.export.Painting`), which brings its own canvas size, stroke scale
    and background: ``replay("out/strokes.npz", load_painter("default"))`` reproduces that
    folder's ``painting.png`` at any aspect ratio (tiled paintings keep each stroke's 64 px
    window, so the neural replay is exact).

    ``renderer`` is a renderer name (``"mypaint"``, ``"simple"``), a :class:`Renderer`, or a
    neural painter module ``(B, 12) -> (B, 4, 64, 64)`` (then ``size`` must be the painter's).
    Real renderers paint at any ``size`` (or ``width`` × ``height``); this is how a painting made
    with a neural painter is re-rendered with the real brush. ``brush`` defaults to the saved
    painting's brush, else ``classic/dry_brush``.
    """
    if isinstance(actions, str | os.PathLike) or hasattr(actions, "save_npz"):
        return _replay_saved(actions, renderer, size, seed, brush, width, height)
    a = A.validate_actions(actions)
    if isinstance(renderer, torch.nn.Module):
        return _replay_neural(a, renderer, size, background, batch_size)
    from painters.renderers import Renderer, get_renderer

    r = (
        renderer
        if isinstance(renderer, Renderer)
        else get_renderer(renderer, size=size, brush=brush or "classic/dry_brush", seed=seed)
    )
    kwargs = {"background": background, "width": width or size, "height": height or size}
    if stroke_scale != 1.0:
        kwargs["stroke_scale"] = stroke_scale
    return r.paint(a, **kwargs)


@torch.no_grad()
def _replay_neural(a, painter, size, background, batch_size) -> np.ndarray:
    dev = next(iter(painter.parameters()), torch.empty(0)).device
    psize = getattr(painter, "size", 64)
    if size != psize:
        raise ValueError(f"a neural painter draws {psize} px strokes; replay it with size={psize}")
    canvas = blank_canvas(1, size, background, device=dev)
    acts = torch.from_numpy(a).to(dev)
    for i in range(0, len(acts), batch_size):
        strokes = painter(acts[i : i + batch_size])
        for s in strokes:
            canvas = over(canvas, s[None])
    return to_uint8(canvas[0])


def _replay_saved(source, renderer, size, seed, brush, width, height) -> np.ndarray:
    from painters.export import load_strokes

    painting = load_strokes(source) if isinstance(source, str | os.PathLike) else source
    bg = tuple(int(c) for c in painting.background)
    if isinstance(renderer, torch.nn.Module):
        windows = _windows_of(source)
        if windows is not None:
            local, win = windows
            return replay_windows(renderer, local, win, painting.width, painting.height, bg)[0]
        if (painting.width, painting.height) != (size, size):
            raise ValueError(
                f"this {painting.width}x{painting.height} painting has no stroke windows; "
                "re-render it with painters.export.render_painting(painting, 'neural')"
            )
        return replay(painting.actions, renderer, size, background=bg)
    w = width or painting.width
    h = height or painting.height
    return replay(
        painting.actions,
        renderer,
        max(w, h),
        seed,
        bg,
        brush=brush or painting.brush,
        width=w,
        height=h,
        stroke_scale=painting.stroke_scale,
    )


def _windows_of(source) -> tuple[np.ndarray, np.ndarray] | None:
    """A tiled painting's per-stroke 64 px actions and window origins, if saved."""
    if not isinstance(source, str | os.PathLike) or Path(source).suffix != ".npz":
        return None
    with np.load(source, allow_pickle=False) as z:
        if "local_actions" in z and "windows" in z:
            return np.asarray(z["local_actions"], np.float32), np.asarray(z["windows"])
    return None


@torch.no_grad()
def replay_windows(
    painter: torch.nn.Module,
    local_actions: np.ndarray,
    windows: np.ndarray,
    width: int,
    height: int,
    background: tuple[int, int, int] = (255, 255, 255),
    frames_at: Sequence[int] = (),
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Neural replay of a tiled painting: stroke i is drawn by the painter from its 64 px
    ``local_actions[i]`` and laid, in order, over the canvas window whose top-left corner is
    ``windows[i]`` (x, y). Returns (uint8 canvas, uint8 frames after the strokes in
    ``frames_at``), the frames being the stroke-by-stroke animation."""
    dev = next(iter(painter.parameters()), torch.empty(0)).device
    tile = getattr(painter, "size", 64)
    canvas = blank_canvas(1, (height, width), background, device=dev)[0]
    want = {int(i) for i in frames_at}
    frames = []
    strokes = painter(torch.from_numpy(np.asarray(local_actions, np.float32)).to(dev))
    for i, ((x, y), s) in enumerate(zip(np.asarray(windows).tolist(), strokes, strict=True)):
        view = canvas[:, y : y + tile, x : x + tile]
        view.copy_(over(view[None], s[None])[0])
        if i in want:
            frames.append(to_uint8(canvas))
    return to_uint8(canvas), frames
