"""Replay a painting: lay its actions in order with any renderer or neural painter (the part of
:func:`painters.render` that draws a painting as it was painted; call that)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch

from painters import actions as A
from painters.compositing import blank_canvas, over, over_sequence, to_uint8
from painters.resolving import neural_spec, resolve_renderer


def replay_strokes(
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
    stroke_brushes: Sequence[str] | None = None,
) -> np.ndarray:
    """Re-render a painting: uint8 (H, W, 3).

    ``actions`` is an (N, 12) array, or a saved painting (a ``strokes.npz`` / ``strokes.json``
    path or a :class:`painters.export.Painting`), which brings its own canvas size, stroke scale
    and background: ``replay_strokes("out/strokes.npz", load_painter("default"))`` reproduces that
    folder's ``painting.png`` at any aspect ratio (tiled paintings keep each stroke's 64 px
    window, so the neural replay is exact).

    ``renderer`` is any spec of :func:`painters.resolving.resolve_renderer`: ``"mypaint"``,
    ``"simple"``, a :class:`Renderer`, ``"neural"`` (the bundled default painter), a painter
    folder or bundled name, or a neural painter module ``(B, 12) -> (B, 4, 64, 64)`` (then
    ``size`` must be the painter's).
    Real renderers paint at any ``size`` (or ``width`` × ``height``); this is how a painting made
    with a neural painter is re-rendered with the real brush. ``brush`` defaults to the saved
    painting's brush, else ``classic/dry_brush``. ``stroke_brushes``: a brush per action (a
    painting that mixes brushes): the real brush paints each stroke with its own, a
    :class:`painters.brushes.MultiBrushPainter` draws each with that brush's painter, and
    ``"neural"`` for a saved mixed-brush painting means each brush's bundled painter.
    """
    if isinstance(actions, str | os.PathLike) or hasattr(actions, "save_npz"):
        from painters.painting import load_strokes

        painting = load_strokes(actions) if isinstance(actions, str | os.PathLike) else actions
        spec = neural_spec(renderer, painting, device)
        return _replay_saved(painting, spec, size, seed, brush, width, height)
    a = A.validate_actions(actions)
    if stroke_brushes is not None and len(set(stroke_brushes)) == 1 and brush is None:
        brush = stroke_brushes[0]
    if stroke_brushes is not None and renderer == "neural":
        from painters.brushes import load_painters

        renderer = load_painters(list(dict.fromkeys(stroke_brushes)), device)
    r = resolve_renderer(renderer, size, brush=brush, seed=seed, device=device)
    if isinstance(r, torch.nn.Module):
        bidx = None
        if stroke_brushes is not None and hasattr(r, "index_of"):
            bidx = r.index_of(list(stroke_brushes)).numpy()
        return _replay_neural(a, r, size, background, batch_size, seed, bidx)
    kwargs = {"background": background, "width": width or size, "height": height or size}
    if stroke_scale != 1.0:
        kwargs["stroke_scale"] = stroke_scale
    if stroke_brushes is not None and len(set(stroke_brushes)) > 1 and r.name == "mypaint":
        kwargs["brushes"] = list(stroke_brushes)  # the simple renderer has no brushes
    return r.paint(a, **kwargs)


def draw_strokes(
    painter: torch.nn.Module,
    acts: torch.Tensor,
    start: int = 0,
    seed: int = 0,
    brush_index=None,
    indices=None,
):
    """The painter's strokes for ``acts``; a stochastic painter (GAN, VAE) draws stroke i's
    texture from (seed, i), so a replay is the same every time. A
    :class:`painters.brushes.MultiBrushPainter` draws stroke j with its painter
    ``brush_index[j]`` (default: its first)."""
    from painters.brushes import MultiBrushPainter

    if indices is None:
        indices = range(start, start + len(acts))
    if isinstance(painter, MultiBrushPainter):
        idx = np.zeros(len(acts), np.int64) if brush_index is None else np.asarray(brush_index)
        idx = idx.reshape(-1)
        if len(idx) != len(acts):
            raise ValueError(f"{len(idx)} brush indices for {len(acts)} strokes")
        out = None
        for k in np.unique(idx).tolist():
            rows = np.flatnonzero(idx == k)
            sub = draw_strokes(painter.painters[k], acts[torch.from_numpy(rows).to(acts.device)],
                        seed=seed, indices=[indices[r] for r in rows])  # fmt: skip
            if out is None:
                out = sub.new_zeros((len(acts), *sub.shape[1:]))
            out[torch.from_numpy(rows).to(acts.device)] = sub
        return out
    if not getattr(painter, "stochastic", False):
        return painter(acts)
    from painters.models.textured import noise_for_indices

    noise = noise_for_indices(painter, indices, acts.device, seed)
    return painter(acts, noise=noise)


@torch.no_grad()
def _replay_neural(
    a, painter, size, background, batch_size, seed: int = 0, brush_index=None
) -> np.ndarray:
    dev = next(iter(painter.parameters()), torch.empty(0)).device
    psize = getattr(painter, "size", 64)
    if size != psize:
        raise ValueError(f"a neural painter draws {psize} px strokes; replay it with size={psize}")
    canvas = blank_canvas(1, size, background, device=dev)
    acts = torch.from_numpy(a).to(dev)
    for i in range(0, len(acts), batch_size):
        bi = None if brush_index is None else brush_index[i : i + batch_size]
        strokes = draw_strokes(painter, acts[i : i + batch_size], i, seed, bi)
        canvas = over_sequence(canvas, strokes[None])
    return to_uint8(canvas[0])


def painting_brush_index(painter, painting) -> np.ndarray | None:
    """Each stroke's index into a multi-brush painter's brushes (None for other painters)."""
    from painters.brushes import MultiBrushPainter

    if isinstance(painter, MultiBrushPainter):
        return painting.brush_index(painter.brushes)
    return None


def _replay_saved(painting, renderer, size, seed, brush, width, height) -> np.ndarray:
    bg = tuple(int(c) for c in painting.background)
    if isinstance(renderer, torch.nn.Module):
        bidx = painting_brush_index(renderer, painting)
        if painting.local_actions is not None:
            local, win = painting.local_actions, painting.windows
            return replay_windows(
                renderer, local, win, painting.width, painting.height, bg, brush_index=bidx
            )[0]
        if (painting.width, painting.height) != (size, size):
            raise ValueError(
                f"this {painting.width}x{painting.height} painting has no stroke windows; "
                "re-render it with painters.render(painting, 'neural', size=...)"
            )
        a = A.validate_actions(painting.actions)
        return _replay_neural(a, renderer, size, bg, 256, 0, bidx)
    w = width or painting.width
    h = height or painting.height
    return replay_strokes(
        painting.actions,
        renderer,
        max(w, h),
        seed,
        bg,
        brush=brush or painting.brush,
        width=w,
        height=h,
        stroke_scale=painting.stroke_scale,
        stroke_brushes=None if brush else painting.stroke_brushes,
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
    *,
    brush_index=None,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Neural replay of a tiled painting: stroke i is drawn by the painter from its 64 px
    ``local_actions[i]`` and laid, in order, over the canvas window whose top-left corner is
    ``windows[i]`` (x, y); a multi-brush painter draws it with painter ``brush_index[i]``.
    Returns (uint8 canvas, uint8 frames after the strokes in
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
    bi = None if brush_index is None else np.asarray(brush_index).reshape(-1)
    for c0 in range(0, len(acts), REPLAY_CHUNK):  # a chunk at a time: bounded memory
        sub = None if bi is None else bi[c0 : c0 + REPLAY_CHUNK]
        strokes = draw_strokes(painter, acts[c0 : c0 + REPLAY_CHUNK], c0, brush_index=sub)
        chunk = places[c0 : c0 + REPLAY_CHUNK]
        for i, ((x, y), s) in enumerate(zip(chunk, strokes, strict=True), c0):
            view = canvas[:, y : y + tile, x : x + tile]
            view.copy_(over(view[None], s[None])[0])
            if i in want:
                frames.append(to_uint8(canvas))
    return to_uint8(canvas), frames
