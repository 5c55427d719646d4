"""Re-render a painting at any size with any renderer, in bounded memory.

Because every quantity of a :class:`Painting` is relative, one painting re-renders at any size:
the real brush paints straight onto one surface and the simple and neural renderers stroke by
stroke into small windows, so memory stays bounded (one canvas plus one stroke) at 2048 px and
thousands of strokes.

>>> image = render_painting(load_strokes("out/strokes.npz"), "mypaint", width=768, height=512)
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable

import numpy as np

from painters import actions as A
from painters.gif import FrameRecorder
from painters.painting import Painting, stroke_radius
from painters.replaying import draw_strokes, painting_brush_index
from painters.resolving import neural_spec, resolve_renderer

#: Half-width, in brush radii, of the window margin around a simple-renderer stroke.
SIMPLE_MARGIN_RADII = 2.5


Frames = Callable[[int, np.ndarray], None]


def render_painting(
    painting: Painting,
    renderer="mypaint",
    width: int | None = None,
    height: int | None = None,
    brush: str | None = None,
    seed: int = 0,
    gif_path: str | os.PathLike | None = None,
    *,
    device: str = "cpu",
) -> np.ndarray:
    """Re-render a painting at ``width`` × ``height`` px → uint8 (H, W, 3).

    ``renderer``: ``"mypaint"`` (the real brush; each stroke with its own brush in a painting
    that mixes brushes; ``brush`` overrides the painting's brushes),
    ``"simple"`` (OpenCV strokes), ``"neural"`` (the bundled default painter; for a painting
    that mixes brushes, each brush's bundled painter), a neural painter module (a
    :class:`painters.brushes.MultiBrushPainter` draws each stroke with its brush's painter),
    or a painter folder / bundled name. Missing sizes follow
    :meth:`Painting.output_size` (only one given → keep the aspect ratio; none → the painting's
    own size). ``seed`` fixes the brush texture. ``gif_path``: also write a small GIF of the
    painting appearing (about 40 frames of grouped strokes, longer side 256 px).

    Memory is bounded by one canvas plus one stroke window whatever the stroke count: MyPaint
    paints onto one tiled surface; the simple and neural renderers draw each stroke in a window
    around it and composite it there.
    """
    if width is None and height is None:
        w, h = painting.width, painting.height
    else:
        w, h = painting.output_size(None, width, height)
    frames = FrameRecorder(len(painting), w, h) if gif_path is not None else None
    if isinstance(renderer, str) and renderer == "mypaint":
        image = _paint_mypaint(painting, w, h, brush, seed)
        if frames is not None:  # the GIF is painted again at its own, small size
            gw, gh = frames.size
            frames = FrameRecorder(len(painting), gw, gh)
            _paint_mypaint(painting, gw, gh, brush, seed, callback=frames)
    elif isinstance(renderer, str) and renderer == "simple":
        image = _paint_simple(painting, w, h, callback=frames)
    else:
        from painters.renderers import Renderer

        if brush is None:
            renderer = neural_spec(renderer, painting, device)
        r = resolve_renderer(renderer, brush=brush or painting.brush, seed=seed, device=device)
        if isinstance(r, Renderer):  # a renderer object: its own paint() at any size
            kw = {"stroke_scale": painting.stroke_scale} if painting.stroke_scale != 1 else {}
            image = r.paint(painting.actions, background=painting.background, width=w, height=h,
                            callback=frames, **kw)  # fmt: skip
        else:
            image = _paint_neural(painting, r.eval(), w, h, callback=frames, seed=seed)
    if frames is not None:
        frames.save(gif_path, image)
    return image


def _paint_mypaint(
    painting: Painting, w: int, h: int, brush, seed: int, callback: Frames | None = None
) -> np.ndarray:
    from painters.renderers.mypaint import MyPaintRenderer

    r = MyPaintRenderer(64, brush=brush or painting.brush, seed=seed)
    return r.paint(
        painting.actions,
        background=painting.background,
        width=w,
        height=h,
        stroke_scale=painting.stroke_scale,
        callback=callback,
        brushes=None if brush else painting.stroke_brushes,  # each stroke its own brush
    )


def _stroke_boxes(
    actions: np.ndarray, w: int, h: int, margin: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pixel bounding boxes (x0, y0, x1, y1) of each stroke's curve (100 points) grown by
    ``margin`` px, and the curve points themselves (N, 100, 2) in px."""
    from painters.renderers.base import CURVE_POINTS, bezier_points

    pts = bezier_points(actions, CURVE_POINTS) * np.array([w, h], np.float64)
    lo = pts.min(axis=1) - margin[:, None]
    hi = pts.max(axis=1) + margin[:, None]
    return np.concatenate([lo, hi], axis=1), pts


def _composite_window(canvas: np.ndarray, rgba: np.ndarray, x0: int, y0: int) -> None:
    """Lay straight-alpha uint8 ``rgba`` (L, L, 4) with its top-left at (x0, y0) "over"
    ``canvas`` float (H, W, 3) in place, only where it overlaps and only its painted box."""
    alpha = rgba[..., 3]
    rows = np.flatnonzero(alpha.any(axis=1))
    if rows.size == 0:
        return
    cols = np.flatnonzero(alpha.any(axis=0))
    r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    H, W = canvas.shape[:2]
    cy0, cy1 = max(0, y0 + r0), min(H, y0 + r1)
    cx0, cx1 = max(0, x0 + c0), min(W, x0 + c1)
    if cy0 >= cy1 or cx0 >= cx1:
        return
    s = rgba[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0].astype(np.float32) / 255.0
    a = s[..., 3:4]
    region = canvas[cy0:cy1, cx0:cx1]
    region *= 1.0 - a
    region += s[..., :3] * a


def _paint_simple(
    painting: Painting, w: int, h: int, callback: Frames | None = None, chunk: int = 256
) -> np.ndarray:
    """The simple renderer at any size and aspect ratio, one stroke window at a time.

    Each stroke is drawn by :class:`SimpleRenderer` on a square window around it, 1 px of window
    per canvas px, with the action mapped into the window (an affine map, so the Bézier is the
    same curve) and its ``size`` shifted so the radius is the painting's. Windows are cached
    by side (see :func:`_window_side`), so peak memory is one canvas plus a few windows.
    """
    from painters.compositing import to_uint8
    from painters.renderers.simple import SimpleRenderer

    canvas = np.empty((h, w, 3), np.float32)
    canvas[:] = np.asarray(painting.background, np.float32) / 255.0
    ref = min(w, h) * painting.stroke_scale
    renderers: dict[int, SimpleRenderer] = {}
    a_all = painting.actions
    for c0 in range(0, len(a_all), chunk):
        acts = a_all[c0 : c0 + chunk].astype(np.float64)
        radius = stroke_radius(acts[:, A.SIZE], w, h, painting.stroke_scale)
        # the band is r·(0.9 + 3·p) wide, at most 3.9 radii: a margin of 2.5 radii + 3 px
        # leaves room for anti-aliasing and a retuned law (tests compare with SimpleRenderer)
        margin = SIMPLE_MARGIN_RADII * radius + 3.0
        boxes, _ = _stroke_boxes(acts, w, h, margin)
        # paint beyond the canvas is never seen: clip windows to it (2 px out, so the window's
        # own edge, where OpenCV clips thick lines, stays off the canvas)
        boxes = np.clip(boxes, -2.0, np.array([w, h, w, h], np.float64) + 2.0)
        for j, act in enumerate(acts):
            x0, y0 = math.floor(boxes[j, 0]), math.floor(boxes[j, 1])
            side = max(math.ceil(boxes[j, 2]) - x0, math.ceil(boxes[j, 3]) - y0, 8)
            side = _window_side(side)
            if side not in renderers:
                renderers[side] = SimpleRenderer(side)
            local = act.copy()
            for xi, yi in ((A.START_X, A.START_Y), (A.CONTROL_X, A.CONTROL_Y), (A.END_X, A.END_Y)):
                local[xi] = (act[xi] * w - x0) / side
                local[yi] = (act[yi] * h - y0) / side
            # radius exp(2·size')·side/64 must equal exp(2·size)·ref/64
            local[A.SIZE] = act[A.SIZE] + 0.5 * math.log(ref / side)
            # _render_one is the Renderer hook for one action; render() would reject the
            # window's shifted size, which may leave [0, 1].
            rgba = renderers[side]._render_one(local, c0 + j)
            _composite_window(canvas, rgba, x0, y0)
            if callback is not None:
                callback(c0 + j, canvas)
    return to_uint8(canvas)


def _window_side(side: float) -> int:
    """Round a window side up to 64·{1, 1.5, 2, 3, 4, 6, ...} px: few distinct renderers (each
    made once and reused), windows at most 1.5× wider than needed."""
    b = 64
    while True:
        if b >= side:
            return b
        if b * 3 // 2 >= side:
            return b * 3 // 2
        b *= 2


def _paint_neural(
    painting: Painting,
    painter,
    w: int,
    h: int,
    callback: Frames | None = None,
    batch: int = 64,
    seed: int = 0,
) -> np.ndarray:
    """The neural painter at any size: each stroke is drawn at the painter's 64 px in a square
    window of one tile (``min(W, H) · stroke_scale`` px; larger, with a smaller brush, for
    strokes longer than a tile) and warped onto the canvas.

    The window snaps to the half-tile grid when the stroke fits there, so a single-tile or K × K
    grid painting re-renders exactly the way it was painted (at its own size the single-tile
    result equals :func:`painters.replay`). Other strokes are approximations: a
    neural painter only knows strokes inside its own tile.
    """
    import cv2
    import torch

    from painters.compositing import to_uint8

    bidx = painting_brush_index(painter, painting)
    psize = int(getattr(painter, "size", 64))
    dev = next(iter(painter.parameters()), torch.empty(0)).device
    canvas = np.empty((h, w, 3), np.float32)
    canvas[:] = np.asarray(painting.background, np.float32) / 255.0
    tile = min(w, h) * painting.stroke_scale
    a_all = painting.actions
    for c0 in range(0, len(a_all), batch):
        acts = a_all[c0 : c0 + batch].astype(np.float64)
        # the window must hold the action's three points (the painter's inputs, in [0, 1])
        xs = acts[:, [A.START_X, A.CONTROL_X, A.END_X]] * w
        ys = acts[:, [A.START_Y, A.CONTROL_Y, A.END_Y]] * h
        boxes = np.stack([xs.min(1), ys.min(1), xs.max(1), ys.max(1)], axis=1)
        local = acts.copy()
        windows = []
        for j in range(len(acts)):
            side = max(tile, boxes[j, 2] - boxes[j, 0], boxes[j, 3] - boxes[j, 1])
            ox = _window_origin(boxes[j, 0], boxes[j, 2], side, tile, w)
            oy = _window_origin(boxes[j, 1], boxes[j, 3], side, tile, h)
            for xi, yi in ((A.START_X, A.START_Y), (A.CONTROL_X, A.CONTROL_Y), (A.END_X, A.END_Y)):
                local[j, xi] = (acts[j, xi] * w - ox) / side
                local[j, yi] = (acts[j, yi] * h - oy) / side
            local[j, A.SIZE] = acts[j, A.SIZE] + 0.5 * math.log(tile / side)
            windows.append((ox, oy, side))
        local = np.clip(local, 0.0, 1.0).astype(np.float32)
        with torch.no_grad():
            # stochastic painters: stroke i's texture from (seed, i), so re-renders repeat
            bi = None if bidx is None else bidx[c0 : c0 + batch]
            strokes = draw_strokes(painter, torch.from_numpy(local).to(dev), c0, seed, bi)
            strokes = strokes.float().cpu().numpy()
        for j, (ox, oy, side) in enumerate(windows):
            s = np.clip(strokes[j], 0.0, 1.0)
            prem = np.concatenate([s[:3] * s[3:4], s[3:4]], axis=0).transpose(1, 2, 0)
            _warp_over(canvas, np.ascontiguousarray(prem), ox, oy, side / psize, cv2)
            if callback is not None:
                callback(c0 + j, canvas)
    return to_uint8(canvas)


def _window_origin(lo: float, hi: float, side: float, tile: float, extent: int) -> float:
    """Left (or top) edge of a stroke's window: on the half-tile grid if a grid window holds
    the stroke (nearest to centred), else centred on it; kept on the canvas where it fits."""
    if side <= tile + 1e-9:
        step = tile / 2.0
        k_lo = math.ceil((hi - side) / step - 1e-9)
        k_hi = math.floor(lo / step + 1e-9)
        if side <= extent + 1e-9:  # only windows on the canvas, as tiles are
            k_lo = max(k_lo, 0)
            k_hi = min(k_hi, math.floor((extent - side) / step + 1e-9))
        if k_lo <= k_hi:
            centred = (0.5 * (lo + hi) - side / 2.0) / step
            k = min(max(round(centred), k_lo), k_hi)
            return k * step
    origin = 0.5 * (lo + hi) - side / 2.0
    if side <= extent:
        origin = min(max(origin, 0.0), extent - side)
    return origin


def _warp_over(canvas: np.ndarray, prem: np.ndarray, ox: float, oy: float, k: float, cv2) -> None:
    """Composite a premultiplied float (S, S, 4) stroke scaled by ``k`` with its top-left at
    (ox, oy) px over ``canvas``, touching only the stroke's painted box."""
    alpha = prem[..., 3]
    rows = np.flatnonzero((alpha > 1e-3).any(axis=1))
    if rows.size == 0:
        return
    cols = np.flatnonzero((alpha > 1e-3).any(axis=0))
    u0, u1, v0, v1 = cols[0], cols[-1] + 1, rows[0], rows[-1] + 1
    H, W = canvas.shape[:2]
    x0, x1 = max(0, math.floor(ox + (u0 - 1) * k)), min(W, math.ceil(ox + (u1 + 1) * k))
    y0, y1 = max(0, math.floor(oy + (v0 - 1) * k)), min(H, math.ceil(oy + (v1 + 1) * k))
    if x0 >= x1 or y0 >= y1:
        return
    # pixel centres: window pixel u + 0.5 ↦ canvas x + 0.5 = ox + (u + 0.5)·k
    m = np.array([[k, 0.0, ox + 0.5 * k - 0.5 - x0], [0.0, k, oy + 0.5 * k - 0.5 - y0]])
    flags = cv2.INTER_LINEAR if k >= 1 else cv2.INTER_AREA
    if abs(k - 1.0) < 1e-9 and float(ox).is_integer() and float(oy).is_integer():
        flags = cv2.INTER_NEAREST  # exact copy at the painter's own scale
    out = cv2.warpAffine(
        prem, m, (x1 - x0, y1 - y0), flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0
    )
    region = canvas[y0:y1, x0:x1]
    region *= 1.0 - out[..., 3:4]
    region += out[..., :3]
