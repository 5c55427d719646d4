"""Replay a painting: lay its actions in order with any renderer or neural painter."""

from __future__ import annotations

import os
from collections.abc import Sequence

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
    device: str | torch.device = "cpu",
) -> np.ndarray:
    """Re-render a painting: uint8 (H, W, 3).

    ``actions`` is an (N, 12) array, or a saved painting (a ``strokes.npz`` / ``strokes.json``
    path or a :class:`painters.export.Painting`), which brings its own canvas size, stroke scale
    and background: ``replay("out/strokes.npz", load_painter("default"))`` reproduces that
    folder's ``painting.png`` at any aspect ratio (tiled paintings keep each stroke's 64 px
    window, so the neural replay is exact).

    ``renderer`` is any spec of :func:`painters.rendering.resolve_renderer`: ``"mypaint"``,
    ``"simple"``, a :class:`Renderer`, ``"neural"`` (the bundled default painter), a painter
    folder or bundled name, or a neural painter module ``(B, 12) -> (B, 4, 64, 64)`` (then
    ``size`` must be the painter's).
    Real renderers paint at any ``size`` (or ``width`` × ``height``); this is how a painting made
    with a neural painter is re-rendered with the real brush. ``brush`` defaults to the saved
    painting's brush, else ``classic/dry_brush``.
    """
    from painters.rendering import resolve_renderer

    if isinstance(actions, str | os.PathLike) or hasattr(actions, "save_npz"):
        spec = resolve_renderer(renderer, device=device) if renderer == "neural" else renderer
        return _replay_saved(actions, spec, size, seed, brush, width, height)
    a = A.validate_actions(actions)
    r = resolve_renderer(renderer, size, brush=brush, seed=seed, device=device)
    if isinstance(r, torch.nn.Module):
        return _replay_neural(a, r, size, background, batch_size, seed)
    kwargs = {"background": background, "width": width or size, "height": height or size}
    if stroke_scale != 1.0:
        kwargs["stroke_scale"] = stroke_scale
    return r.paint(a, **kwargs)


def _draw(painter: torch.nn.Module, acts: torch.Tensor, start: int = 0, seed: int = 0):
    """The painter's strokes for ``acts``; a stochastic painter (GAN, VAE) draws stroke i's
    texture from (seed, i), so a replay is the same every time."""
    if not getattr(painter, "stochastic", False):
        return painter(acts)
    from painters.models.textured import noise_for_indices

    noise = noise_for_indices(painter, range(start, start + len(acts)), acts.device, seed)
    return painter(acts, noise=noise)


@torch.no_grad()
def _replay_neural(a, painter, size, background, batch_size, seed: int = 0) -> np.ndarray:
    dev = next(iter(painter.parameters()), torch.empty(0)).device
    psize = getattr(painter, "size", 64)
    if size != psize:
        raise ValueError(f"a neural painter draws {psize} px strokes; replay it with size={psize}")
    canvas = blank_canvas(1, size, background, device=dev)
    acts = torch.from_numpy(a).to(dev)
    for i in range(0, len(acts), batch_size):
        strokes = _draw(painter, acts[i : i + batch_size], i, seed)
        for s in strokes:
            canvas = over(canvas, s[None])
    return to_uint8(canvas[0])


def _replay_saved(source, renderer, size, seed, brush, width, height) -> np.ndarray:
    from painters.painting import load_strokes

    painting = load_strokes(source) if isinstance(source, str | os.PathLike) else source
    bg = tuple(int(c) for c in painting.background)
    if isinstance(renderer, torch.nn.Module):
        if painting.local_actions is not None:
            local, win = painting.local_actions, painting.windows
            return replay_windows(renderer, local, win, painting.width, painting.height, bg)[0]
        if (painting.width, painting.height) != (size, size):
            raise ValueError(
                f"this {painting.width}x{painting.height} painting has no stroke windows; "
                "re-render it with painters.render(painting, 'neural', size=...)"
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


#: Strokes :func:`replay_windows` draws at once (each holds its painter activations).
REPLAY_CHUNK = 512


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
    acts = torch.from_numpy(np.asarray(local_actions, np.float32)).to(dev)
    places = np.asarray(windows).tolist()
    if len(places) != len(acts):
        raise ValueError("replay_windows needs one window per action")
    for c0 in range(0, len(acts), REPLAY_CHUNK):  # a chunk at a time: bounded memory
        strokes = _draw(painter, acts[c0 : c0 + REPLAY_CHUNK], c0)
        chunk = places[c0 : c0 + REPLAY_CHUNK]
        for i, ((x, y), s) in enumerate(zip(chunk, strokes, strict=True), c0):
            view = canvas[:, y : y + tile, x : x + tile]
            view.copy_(over(view[None], s[None])[0])
            if i in want:
                frames.append(to_uint8(canvas))
    return to_uint8(canvas), frames
