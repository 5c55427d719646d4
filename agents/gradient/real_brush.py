"""Painting for the real brush: the MyPaint brush's coverage of the strokes being optimised
(:func:`mypaint_alphas`, :func:`indexed_alphas`) and the last joint colour fit of a painting for
the neural and the real canvas (:func:`finish_colours`).

Why a module: this is the only part of gradient painting that needs libmypaint. Without it the
fit is skipped with a warning (the neural painting stands); any other failure, such as a
mistyped brush name, is an error, never silently a worse painting.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from agents.gradient.config import TILE, GradientConfig, RealAlphas
from agents.gradient.optimiser import refine_colours
from agents.gradient.tiles import to_global, window_alphas
from painters.compositing import from_uint8
from painters.io import first_line
from painters.renderers.base import DEFAULT_BRUSH
from painters.replaying import replay_windows as composite_windows


def real_renderer(size: int, brush: str, seed: int):
    """The MyPaint renderer the re-render will use, or ``None`` (with a warning) when libmypaint
    is missing. An unknown brush raises: the fit must not be dropped for a typo."""
    from painters.renderers import get_renderer
    from painters.renderers.mypaint import MyPaintUnavailable

    try:
        return get_renderer("mypaint", size, brush=brush, seed=seed)
    except MyPaintUnavailable as e:
        warnings.warn(f"real-brush fit skipped: {first_line(e)}", RuntimeWarning, stacklevel=3)
        return None


def mypaint_alphas(
    seed: int = 0, brush: str = DEFAULT_BRUSH, start_index: int = 0
) -> RealAlphas | None:
    """A ``real_alphas`` function for the real MyPaint brush at 64 px (its texture is nearly the
    same at any render size for the same seed), or ``None`` if libmypaint is not available.

    Stroke i of image b gets global index ``start_index + i``: the index the re-render gives it.
    """
    renderer = real_renderer(TILE, brush, seed)
    if renderer is None:
        return None

    def real(actions: torch.Tensor) -> torch.Tensor:
        acts = actions.detach().cpu().numpy().astype(np.float32)
        out = np.empty(acts.shape[:2] + (TILE, TILE), np.float32)
        for b in range(acts.shape[0]):
            rgba = renderer.render(np.clip(acts[b], 0.0, 1.0), start_index=start_index)
            out[b] = rgba[..., 3].astype(np.float32) / 255.0
        return torch.from_numpy(out)

    return real


def finish_colours(
    painter: torch.nn.Module,
    local: np.ndarray,
    windows: np.ndarray,
    target: torch.Tensor,
    cfg: GradientConfig,
    real_seed: int,
    callback=None,
    brush_index: np.ndarray | None = None,
) -> tuple[np.ndarray, torch.Tensor | None]:
    """Last step of a painting: re-fit all colours jointly for the neural canvas and the real
    brush's (same texture seed, global stroke indices), weights 1 and ``real_weight``.

    Why: tiles are refined one class at a time, so the real-brush fit of early tiles never sees
    the strokes laid over them later; one colour fit over the whole canvas (cheap: colours are
    linear once coverage is fixed, see :func:`refine_colours`) makes the real re-render tell the
    same picture. Skipped (returns ``None``) without libmypaint or when the coverage maps would
    take too much memory. ``callback`` gets ``{"phase": "real-brush fit", ...}`` events.
    ``brush_index``: with a :class:`painters.brushes.MultiBrushPainter`, stroke i's brush (its
    painter and its MyPaint brush)."""
    h, w = target.shape[-2:]
    n = len(local)
    if n == 0 or n * h * w > 40_000_000:
        return local, None
    k = max(1, int(cfg.finish_scale))
    multi = brush_index is not None and hasattr(painter, "brushes")
    renderer = real_renderer(TILE * k, cfg.brush, real_seed) if not multi else None
    if renderer is None and not multi:  # no libmypaint: the neural painting stands as it is
        return local, None
    dev = target.device
    with torch.no_grad():
        acts = torch.from_numpy(np.ascontiguousarray(local, np.float32)).to(dev)
        neural = (painter(acts, brush_index) if multi else painter(acts))[:, 3]
    # the real brush at k× the painting's scale, coverage box-averaged back: re-renders are
    # made at 512 px and more, where the texture is finer than at 64 px
    clipped = np.clip(local, 0.0, 1.0)
    if multi:  # each stroke on the whole canvas, as the re-render draws it
        acts_g = to_global(clipped, windows, w, h)
        scale = float(cfg.finish_scale)
        real = canvas_alphas(painter.brushes, brush_index, acts_g, w, h, scale, real_seed)
        if real is None:
            return local, None
    else:
        real = torch.empty(n, TILE, TILE)
        for c0 in range(0, n, 16):
            a = renderer.render(clipped[c0 : c0 + 16], start_index=c0)[..., 3]
            a = torch.from_numpy(a.astype(np.float32) / 255.0)[:, None]
            real[c0 : c0 + 16] = F.avg_pool2d(a, k)[:, 0] if k > 1 else a[:, 0]
    alphas = [
        window_alphas(neural.float().cpu(), windows, w, h),
        real if multi else window_alphas(real, windows, w, h),
    ]
    bg = torch.tensor(cfg.background, dtype=torch.float32).view(1, 3, 1, 1) / 255.0
    t = target.detach().float().cpu()[None]
    new = refine_colours(
        torch.from_numpy(np.ascontiguousarray(local, np.float32))[None], t,
        [a[None] for a in alphas], backgrounds=bg.expand_as(t), weights=[1.0, cfg.finish_real_weight],
        steps=cfg.finish_steps, callback=callback,
    )[0].numpy()  # fmt: skip
    bi = brush_index if multi else None
    frames, _ = composite_windows(painter, new, windows, w, h, cfg.background, brush_index=bi)
    return new.astype(np.float32), from_uint8(frames).to(dev)


def indexed_alphas(seed: int, first: list[int], brush: str = DEFAULT_BRUSH) -> RealAlphas | None:
    """Real-brush coverage where batch item j's strokes have global indices first[j], ..."""
    renderer = real_renderer(TILE, brush, seed)
    if renderer is None:
        return None

    def real(actions: torch.Tensor) -> torch.Tensor:
        acts = np.clip(actions.detach().cpu().numpy().astype(np.float32), 0.0, 1.0)
        out = np.empty(acts.shape[:2] + (TILE, TILE), np.float32)
        for j in range(acts.shape[0]):
            out[j] = renderer.render(acts[j], start_index=first[j])[..., 3] / np.float32(255.0)
        return torch.from_numpy(out)

    return real


def mixed_alphas(
    seed: int, first: list[int], brushes: Sequence[str], scale: float = 1.0
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None:
    """Real-brush coverage for strokes whose brushes differ: ``real(actions (B, n, 12),
    brush_index (B, n), offset=0)`` renders stroke i of item j with MyPaint brush
    ``brushes[brush_index[j, i]]`` and global index ``first[j] + offset + i`` (the texture seed
    the re-render gives it); ``None`` without libmypaint.

    ``scale``: the strokes are rendered at ``scale`` × 64 px and averaged back to 64 px, the
    scale of ``painting_real.png``. Why: the pen's mark is thinner there than at 64 px (its
    coverage 0.83× at 320 px, 0.79× at 512 px, on a painting's strokes), which is what the
    pen's painter, trained at 64 px, draws; docs/BRUSHES.md."""
    side = max(TILE, round(TILE * scale))
    renderers = [real_renderer(side, b, seed) for b in brushes]
    if any(r is None for r in renderers):
        return None

    def real(actions: torch.Tensor, brush_index: torch.Tensor, offset: int = 0) -> torch.Tensor:
        acts = np.clip(actions.detach().cpu().numpy().astype(np.float32), 0.0, 1.0)
        idx = brush_index.detach().cpu().numpy().reshape(acts.shape[:2])
        out = np.empty(acts.shape[:2] + (TILE, TILE), np.float32)
        for j in range(acts.shape[0]):
            for i in range(acts.shape[1]):
                r = renderers[int(idx[j, i])]
                a = r.render_alpha(acts[j, i : i + 1], start_index=first[j] + offset + i)
                out[j, i] = _shrink(a, TILE, TILE)[0]
        return torch.from_numpy(out)

    return real


def canvas_alphas(
    brushes: Sequence[str],
    brush_index: np.ndarray,
    actions: np.ndarray,
    width: int,
    height: int,
    scale: float,
    seed: int,
) -> torch.Tensor | None:
    """Real coverage (N, height, width) of a painting's ``actions`` (N, 12, whole-canvas
    coordinates), each stroke alone with MyPaint brush ``brushes[brush_index[i]]`` and global
    index i, drawn on the whole canvas at ``scale`` × its size (the re-render's size) and
    averaged back; ``None`` without libmypaint.

    Why the whole canvas: a stroke near its tile's edge goes on past it in the re-render (the
    painter draws only inside the tile), and that part, unseen by the painting, can cost more
    than the texture (docs/BRUSHES.md)."""
    cw, ch = max(width, round(width * scale)), max(height, round(height * scale))
    out = torch.empty(len(actions), height, width)
    for b, brush in enumerate(brushes):
        rows = np.flatnonzero(brush_index == b)
        if not len(rows):
            continue
        r = real_renderer(TILE, brush, seed)
        if r is None:
            return None
        for i in rows:
            a = r.render_alpha(actions[i : i + 1], start_index=int(i), width=cw, height=ch,
                               stroke_scale=TILE / min(width, height))  # fmt: skip
            out[i] = torch.from_numpy(_shrink(a, height, width)[0])
    return out


def _shrink(alpha: np.ndarray, height: int, width: int) -> np.ndarray:
    """Coverage maps (N, H', W') averaged down to (N, height, width): box averages when the
    sizes divide, area averages otherwise."""
    n, h, w = alpha.shape
    if (h, w) == (height, width):
        return alpha
    if h % height == 0 and w % width == 0:
        return alpha.reshape(n, height, h // height, width, w // width).mean((2, 4))
    return F.adaptive_avg_pool2d(torch.from_numpy(alpha)[:, None], (height, width))[:, 0].numpy()
