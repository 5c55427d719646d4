"""A painting as a product: save and load its strokes (npz, JSON), draw them as SVG, and
re-render them at any size with any renderer.

A :class:`Painting` is an ordered list of actions in **global** coordinates (x and y are
fractions of the canvas width and height) plus what is needed to draw them again: the canvas
size of the painting (``width`` × ``height`` px), ``stroke_scale`` (the brush radius reference
multiplier: a stroke's radius is ``exp(2·size) · min(W, H) · stroke_scale / 64`` px, 1 for a
single 64 px tile and 1/K for a K × K grid of tiles), the MyPaint brush and the background.

Because every quantity is relative, one painting re-renders at any size: the real brush paints
straight onto one surface and the simple renderer stroke by stroke into small windows, so memory
stays bounded (one canvas plus one stroke) at 2048 px and thousands of strokes.

>>> p = Painting(actions, width=96, height=64)
>>> p.save_npz("out/strokes.npz"); p.save_json("out/strokes.json"); save_svg(p, "out/painting.svg")
>>> image = render_painting(load_strokes("out/strokes.npz"), "mypaint", width=768, height=512)
"""

from __future__ import annotations

import json
import math
import os
import xml.sax.saxutils
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from painters import actions as A
from painters.io import atomic_write

DEFAULT_BRUSH = "classic/dry_brush"
#: Half-width, in brush radii, of the window margin around a simple-renderer stroke.
SIMPLE_MARGIN_RADII = 2.5
FORMAT = "neural-painting/strokes"
FORMAT_VERSION = 1
#: Default longest side of a re-render (and of the SVG's display size) when none is given.
DEFAULT_LONGEST_SIDE = 512
#: Longest side of the GIF frames and number of frames (strokes are grouped between frames).
GIF_SIDE = 256
GIF_FRAMES = 40

# SVG stroke laws, fitted to classic/dry_brush (256 px canvas, straight strokes at constant
# pressure p, sizes 0.1–0.7, 3 seeds each; the ratios do not depend on size):
#   covered width (alpha > 0.03)   ≈ r · (1.42 + 4.4·p)
#   paint per px of length (∫alpha) ≈ r · (0.06 + 3.15·p)
# An SVG path of width w and opacity o lays w·o of paint, so opacity = ink / width
# (≈ 0.13 at p = 0.05, 0.45 at p = 0.5, 0.54 at p = 0.9: the brush's measured mean alpha).
# ``p`` is the mean action pressure along the stroke: 0.25·entry + 0.75·middle (the pressure
# ramps over the first and last quarter, see painters.renderers.base.pressure_profile).
# Random (fast) strokes cover ~12 % less than that slow fit (MyPaint's radius shrinks with
# speed; measured on 150 uniform random actions at 256 px): widths are scaled by SVG_SPEED, which
# leaves the opacity, and so the mean alpha where covered (0.42 SVG vs 0.43 real), unchanged.
SVG_SPEED = 0.89
SVG_WIDTH_0 = 1.42
SVG_WIDTH_P = 4.4
SVG_INK_0 = 0.06
SVG_INK_P = 3.15


class StrokesError(ValueError):
    """A strokes file is missing, corrupt or has the wrong layout (the message says which)."""


# -- the painting --------------------------------------------------------------------------
@dataclass
class Painting:
    """Strokes plus the canvas they were painted on; everything needed to draw them again.

    Args:
        actions: float32 (N, 12) in [0, 1], in painting order, global coordinates.
        width, height: canvas size of the painting in px (the neural canvas).
        stroke_scale: brush radius reference multiplier (1/K for a K × K tile grid).
        brush: MyPaint brush the painting was made for (``classic/dry_brush``).
        background: canvas colour, 0–255 RGB.
        info: free JSON-serialisable notes (painter, renderer, seed, loss, ...).
    """

    actions: np.ndarray
    width: int = 64
    height: int = 64
    stroke_scale: float = 1.0
    brush: str = DEFAULT_BRUSH
    background: tuple[int, int, int] = (255, 255, 255)
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.actions = A.validate_actions(self.actions).reshape(-1, A.ACTION_DIM)
        for name in ("width", "height"):
            v = getattr(self, name)
            if isinstance(v, bool) or int(v) != v or int(v) < 1:
                raise ValueError(f"painting {name} must be a positive integer (px), got {v!r}")
            setattr(self, name, int(v))
        s = float(self.stroke_scale)
        if not math.isfinite(s) or s <= 0:
            raise ValueError(f"stroke_scale must be a positive number, got {self.stroke_scale!r}")
        self.stroke_scale = s
        bg = tuple(int(c) for c in np.asarray(self.background).reshape(-1))
        if len(bg) != 3 or not all(0 <= c <= 255 for c in bg):
            raise ValueError(f"background must be 3 values in 0..255, got {self.background!r}")
        self.background = bg
        self.brush = str(self.brush)
        try:
            json.dumps(self.info)
        except (TypeError, ValueError) as e:
            raise ValueError(f"painting info must be JSON-serialisable: {e}") from None

    def __len__(self) -> int:
        return len(self.actions)

    def output_size(
        self, size: int | None = None, width: int | None = None, height: int | None = None
    ) -> tuple[int, int]:
        """(width, height) of a re-render: both given → those; one given (or ``size`` as the
        longer side) → the other from the painting's aspect ratio; nothing → longer side 512."""
        for name, v in (("size", size), ("width", width), ("height", height)):
            if v is not None and int(v) < 1:
                raise ValueError(f"{name} must be a positive number of px, got {v}")
        aspect = self.width / self.height
        if width is not None and height is not None:
            return int(width), int(height)
        if width is not None:
            return int(width), max(1, round(int(width) / aspect))
        if height is not None:
            return max(1, round(int(height) * aspect)), int(height)
        side = DEFAULT_LONGEST_SIDE if size is None else int(size)
        if aspect >= 1:
            return side, max(1, round(side / aspect))
        return max(1, round(side * aspect)), side

    def geometry(self, width: int | None = None, height: int | None = None) -> dict:
        """Pixel geometry on a ``width`` × ``height`` canvas (default: the painting's):
        ``start``, ``control`` (the point the curve passes through at t = 0.5),
        ``bezier_control`` (the quadratic Bézier's P1 = 2·c − (start + end)/2), ``end`` as
        (N, 2) float64 px, and ``radius`` (N,) px (MyPaint's radius law)."""
        w, h = width or self.width, height or self.height
        a = self.actions.astype(np.float64)
        scale = np.array([w, h], np.float64)
        start = a[:, [A.START_X, A.START_Y]] * scale
        control = a[:, [A.CONTROL_X, A.CONTROL_Y]] * scale
        end = a[:, [A.END_X, A.END_Y]] * scale
        return {
            "start": start,
            "control": control,
            "bezier_control": 2.0 * control - 0.5 * (start + end),
            "end": end,
            "radius": stroke_radius(a[:, A.SIZE], w, h, self.stroke_scale),
        }

    # -- npz ---------------------------------------------------------------------------------
    def save_npz(self, path: str | os.PathLike) -> Path:
        """Write ``actions`` and the metadata as plain arrays (no pickle), atomically."""
        arrays = {
            "actions": self.actions.astype(np.float32),
            "width": np.int64(self.width),
            "height": np.int64(self.height),
            "stroke_scale": np.float64(self.stroke_scale),
            "brush": np.str_(self.brush),
            "background": np.asarray(self.background, np.uint8),
            "action_names": np.asarray(A.ACTION_NAMES),
            "info": np.str_(json.dumps(self.info)),
        }

        def write(f) -> None:
            np.savez_compressed(f, **arrays)

        return atomic_write(path, write)

    @classmethod
    def load_npz(cls, path: str | os.PathLike) -> Painting:
        """Read a strokes npz; a bare one with only ``actions`` is a 64 × 64 single-tile painting."""
        p = _existing(path)
        try:
            with np.load(p, allow_pickle=False) as z:
                if "actions" not in z.files:
                    raise StrokesError(f"{p}: no 'actions' array (keys: {', '.join(z.files)})")
                data = {k: z[k] for k in z.files}
        except StrokesError:
            raise
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
            raise StrokesError(f"{p}: not a readable npz file ({_first_line(e)})") from None
        kwargs: dict = {}
        try:
            if "width" in data:
                kwargs["width"] = int(data["width"])
            if "height" in data:
                kwargs["height"] = int(data["height"])
            if "stroke_scale" in data:
                kwargs["stroke_scale"] = float(data["stroke_scale"])
            if "brush" in data:
                kwargs["brush"] = str(data["brush"])
            if "background" in data:
                kwargs["background"] = tuple(int(c) for c in data["background"].reshape(-1))
            if "info" in data:
                kwargs["info"] = json.loads(str(data["info"]))
            if "action_names" in data:
                _check_names([str(n) for n in data["action_names"]], p)
            return cls(data["actions"], **kwargs)
        except StrokesError:
            raise
        except (TypeError, ValueError) as e:
            raise StrokesError(f"{p}: {_first_line(e)}") from None

    # -- json --------------------------------------------------------------------------------
    def to_json_dict(self) -> dict:
        """``strokes.json`` content: canvas, brush, layout, and one named object per stroke."""
        g = self.geometry()
        strokes = []
        for i, act in enumerate(self.actions):
            s: dict = {"index": i}
            s.update({n: float(v) for n, v in zip(A.ACTION_NAMES, act, strict=True)})
            rgb = np.rint(act[A.COLOR] * 255).astype(int)
            s["pixels"] = {
                "start": _pt(g["start"][i]),
                "control": _pt(g["control"][i]),
                "bezier_control": _pt(g["bezier_control"][i]),
                "end": _pt(g["end"][i]),
                "radius": round(float(g["radius"][i]), 3),
                "color": "#{:02x}{:02x}{:02x}".format(*rgb),
            }
            strokes.append(s)
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "width": self.width,
            "height": self.height,
            "stroke_scale": self.stroke_scale,
            "brush": self.brush,
            "background": list(self.background),
            "action_layout": list(A.ACTION_NAMES),
            "coordinates": (
                "action x, y are fractions of the canvas width, height (y downwards); 'pixels' "
                "are px on the width x height canvas; the curve is a quadratic Bezier from start "
                "to end through 'control' at t=0.5 ('bezier_control' is its P1); radius = "
                "exp(2*size) * min(width, height) * stroke_scale / 64"
            ),
            "info": self.info,
            "num_strokes": len(self),
            "strokes": strokes,
        }

    def save_json(self, path: str | os.PathLike) -> Path:
        """Write ``strokes.json`` atomically (the actions round-trip exactly as float32)."""
        text = json.dumps(self.to_json_dict(), indent=1)
        return atomic_write(path, lambda f: f.write(text.encode()))

    @classmethod
    def from_json_dict(cls, d: dict, source: str = "strokes.json") -> Painting:
        """Rebuild a painting from :meth:`to_json_dict` output (only the named action fields
        of each stroke are read; ``pixels`` are for convenience)."""
        if not isinstance(d, dict) or not isinstance(d.get("strokes"), list):
            raise StrokesError(f"{source}: expected an object with a 'strokes' list")
        names = d.get("action_layout", list(A.ACTION_NAMES))
        _check_names(names, source)
        rows = []
        for i, s in enumerate(d["strokes"]):
            if not isinstance(s, dict):
                raise StrokesError(f"{source}: stroke {i} is not an object")
            missing = [n for n in A.ACTION_NAMES if n not in s]
            if missing:
                raise StrokesError(f"{source}: stroke {i} lacks {', '.join(missing)}")
            try:
                rows.append([float(s[n]) for n in A.ACTION_NAMES])
            except (TypeError, ValueError):
                raise StrokesError(f"{source}: stroke {i} has a non-numeric field") from None
        actions = np.asarray(rows, np.float32).reshape(-1, A.ACTION_DIM)
        try:
            return cls(
                actions,
                width=d.get("width", 64),
                height=d.get("height", 64),
                stroke_scale=d.get("stroke_scale", 1.0),
                brush=d.get("brush", DEFAULT_BRUSH),
                background=tuple(d.get("background", (255, 255, 255))),
                info=d.get("info", {}) or {},
            )
        except (TypeError, ValueError) as e:
            raise StrokesError(f"{source}: {_first_line(e)}") from None

    @classmethod
    def load_json(cls, path: str | os.PathLike) -> Painting:
        """Read ``strokes.json`` written by :meth:`save_json` (or by hand, same fields)."""
        p = _existing(path)
        try:
            d = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise StrokesError(f"{p}: not a readable JSON file ({_first_line(e)})") from None
        return cls.from_json_dict(d, str(p))


def load_strokes(path: str | os.PathLike) -> Painting:
    """A painting from ``strokes.npz`` or ``strokes.json`` (chosen by the file's suffix)."""
    p = Path(path)
    if p.suffix.lower() == ".npz":
        return Painting.load_npz(p)
    if p.suffix.lower() == ".json":
        return Painting.load_json(p)
    raise StrokesError(f"{p}: unknown strokes file type; give a .npz or .json file")


def stroke_radius(size, width: int, height: int, stroke_scale: float = 1.0) -> np.ndarray:
    """MyPaint's brush radius in px for ``size`` actions on a ``width`` × ``height`` canvas."""
    s = np.asarray(size, np.float64)
    return np.exp(2.0 * s) * min(width, height) * float(stroke_scale) / 64.0


# -- SVG -----------------------------------------------------------------------------------
def svg_stroke_style(actions) -> tuple[np.ndarray, np.ndarray]:
    """(width in brush radii, opacity) of each stroke's SVG path, from its pressures.

    See the SVG_* constants: fitted to dry_brush so the SVG covers the same area with the same
    amount of paint as the real brush."""
    a = A.validate_actions(actions)
    p = 0.25 * a[:, A.ENTRY_PRESSURE].astype(np.float64) + 0.75 * a[:, A.PRESSURE]
    width = SVG_WIDTH_0 + SVG_WIDTH_P * p
    opacity = np.clip((SVG_INK_0 + SVG_INK_P * p) / width, 0.0, 1.0)
    return SVG_SPEED * width, opacity


def to_svg(painting: Painting, width: int | None = None, height: int | None = None) -> str:
    """The painting as an SVG document: a background rect, then one ``<path>`` per stroke in
    painting order (quadratic Bézier ``M start Q P1 end``, round caps, width from size and
    pressure, colour from rgb, opacity from pressure). The viewBox is the canvas size; the
    display size defaults to the painting's aspect ratio with the longer side 512."""
    vw, vh = painting.width, painting.height
    dw, dh = painting.output_size(None, width, height)
    g = painting.geometry()
    rel_width, opacity = svg_stroke_style(painting.actions)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{dw}" height="{dh}" '
        f'viewBox="0 0 {vw} {vh}">',
        f"<desc>{xml.sax.saxutils.escape(_svg_desc(painting))}</desc>",
        f'<rect x="0" y="0" width="{vw}" height="{vh}" fill="{_hex(painting.background)}"/>',
        '<g fill="none" stroke-linecap="round" stroke-linejoin="round">',
    ]
    for i, act in enumerate(painting.actions):
        s, c, e = g["start"][i], g["bezier_control"][i], g["end"][i]
        rgb = np.rint(act[A.COLOR] * 255).astype(int)
        w = rel_width[i] * g["radius"][i]
        lines.append(
            f'<path d="M{_f(s[0])} {_f(s[1])} Q{_f(c[0])} {_f(c[1])} {_f(e[0])} {_f(e[1])}" '
            f'stroke="{_hex(rgb)}" stroke-width="{_f(w)}" stroke-opacity="{opacity[i]:.3f}"/>'
        )
    lines += ["</g>", "</svg>", ""]
    return "\n".join(lines)


def save_svg(
    painting: Painting,
    path: str | os.PathLike,
    width: int | None = None,
    height: int | None = None,
) -> Path:
    """Write :func:`to_svg` to ``path`` atomically."""
    text = to_svg(painting, width, height)
    return atomic_write(path, lambda f: f.write(text.encode()))


# -- re-rendering --------------------------------------------------------------------------
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

    ``renderer``: ``"mypaint"`` (the real brush, ``brush`` overrides the painting's),
    ``"simple"`` (OpenCV strokes), ``"neural"`` (the bundled default painter), a neural
    painter module, or a painter folder / bundled name. Missing sizes follow
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
    frames = _FrameRecorder(len(painting), w, h) if gif_path is not None else None
    if isinstance(renderer, str) and renderer == "mypaint":
        image = _paint_mypaint(painting, w, h, brush, seed)
        if frames is not None:  # the GIF is painted again at its own, small size
            gw, gh = frames.size
            frames = _FrameRecorder(len(painting), gw, gh)
            _paint_mypaint(painting, gw, gh, brush, seed, callback=frames)
    elif isinstance(renderer, str) and renderer == "simple":
        image = _paint_simple(painting, w, h, callback=frames)
    else:
        painter = _resolve_painter(renderer, device)
        image = _paint_neural(painting, painter, w, h, callback=frames)
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


def _resolve_painter(renderer, device: str):
    import torch

    from painters.loading import load_painter

    if isinstance(renderer, torch.nn.Module):
        return renderer.eval()
    if renderer == "neural":
        return load_painter("default", device)
    if isinstance(renderer, (str, os.PathLike)):
        from painters.loading import PRETRAINED_DIR

        if Path(renderer).exists() or (PRETRAINED_DIR / str(renderer)).is_dir():
            return load_painter(renderer, device)
    raise ValueError(
        f"unknown renderer {renderer!r}; use 'mypaint', 'simple', 'neural', a neural painter "
        "module or a painter folder"
    )


def _paint_neural(
    painting: Painting, painter, w: int, h: int, callback: Frames | None = None, batch: int = 64
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
            strokes = painter(torch.from_numpy(local).to(dev)).float().cpu().numpy()
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


class _FrameRecorder:
    """Collects about GIF_FRAMES frames of a painting appearing (downscaled on the fly)."""

    def __init__(self, n: int, w: int, h: int) -> None:
        scale = min(1.0, GIF_SIDE / max(w, h))
        self.size = (max(1, round(w * scale)), max(1, round(h * scale)))
        k = min(n, GIF_FRAMES)
        self.marks = set(np.unique(np.ceil(np.linspace(0, n, k + 1)[1:]).astype(int) - 1).tolist())
        self.frames: list[np.ndarray] = []

    def __call__(self, i: int, canvas: np.ndarray) -> None:
        if i not in self.marks:
            return
        import cv2

        from painters.compositing import to_uint8

        img = canvas if canvas.dtype == np.uint8 else to_uint8(canvas)
        if (img.shape[1], img.shape[0]) != self.size:
            img = cv2.resize(img, self.size, interpolation=cv2.INTER_AREA)
        self.frames.append(img)

    def save(self, path: str | os.PathLike, final: np.ndarray) -> Path:
        import cv2
        from PIL import Image

        last = cv2.resize(final, self.size, interpolation=cv2.INTER_AREA)
        frames = [Image.fromarray(f) for f in [*self.frames, last]]
        durations = [80] * (len(frames) - 1) + [1500]

        def write(f) -> None:
            frames[0].save(
                f,
                format="GIF",
                save_all=True,
                append_images=frames[1:],
                duration=durations,
                loop=0,
                optimize=True,
            )

        return atomic_write(path, write)


# -- helpers ---------------------------------------------------------------------------------
def _existing(path: str | os.PathLike) -> Path:
    p = Path(path)
    if not p.is_file():
        raise StrokesError(
            f"no strokes file at {p}; give the strokes.npz or strokes.json of a painting"
        )
    return p


def _check_names(names, source) -> None:
    if [str(n) for n in names] != list(A.ACTION_NAMES):
        raise StrokesError(
            f"{source}: action layout {list(names)} differs from this package's "
            f"({', '.join(A.ACTION_NAMES)})"
        )


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _pt(p: np.ndarray) -> list[float]:
    return [round(float(p[0]), 3), round(float(p[1]), 3)]


def _f(x: float) -> str:
    return f"{float(x):.3f}".rstrip("0").rstrip(".") or "0"


def _hex(rgb) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(c) for c in rgb))


def _svg_desc(p: Painting) -> str:
    return (
        f"{len(p)} strokes, canvas {p.width}x{p.height}, brush {p.brush}, "
        f"stroke_scale {p.stroke_scale:g}; made with neural-painting"
    )
