"""The real brush: libmypaint (Debian ``libmypaint-1.5-1``) through plain ctypes.

Facts this relies on are in docs/mypaint.md: pointer return types, premultiplied
uint16 tiles (1<<15 = 1.0), dabs written at end_atomic, and the brush's private random
generator pointer (reseeded per stroke so texture depends on (seed, stroke index) only).
"""

from __future__ import annotations

import colorsys
import ctypes
import ctypes.util
import functools
import math
from pathlib import Path

import numpy as np

from painters import actions as A
from painters.renderers.base import (
    CURVE_POINTS,
    DEFAULT_BRUSH,
    REFERENCE_SIZE,
    Renderer,
    bezier_points,
    pressure_profile,
    stroke_seed,
)

APT_HINT = "install it with: sudo apt-get install -y libmypaint-1.5-1 mypaint-brushes"
BRUSH_DIRS = (
    Path("/usr/share/mypaint-data/1.0/brushes"),
    Path("/usr/local/share/mypaint-data/1.0/brushes"),
    Path("/usr/share/mypaint/brushes"),
)
TILE = 64
ONE = 1 << 15
#: Byte offset of ``RngDouble *rng`` inside MyPaintBrush in Debian's 1.6.0 x86-64 build.
RNG_OFFSET = 248
PRESSURE_SCALE = 0.8
DTIME = 0.1


class MyPaintUnavailable(RuntimeError):
    """libmypaint or its brushes are missing; the message says which apt packages to install."""


class _TileRequest(ctypes.Structure):
    _fields_ = [
        ("tx", ctypes.c_int),
        ("ty", ctypes.c_int),
        ("readonly", ctypes.c_int),
        ("buffer", ctypes.c_void_p),
        ("context", ctypes.c_void_p),
        ("thread_id", ctypes.c_int),
        ("mipmap_level", ctypes.c_int),
    ]


@functools.cache
def load_library() -> ctypes.CDLL:
    """Load libmypaint and declare the calls we use, or raise :class:`MyPaintUnavailable`."""
    names = [ctypes.util.find_library("mypaint-1.5"), "libmypaint-1.5.so.1", "libmypaint.so"]
    lib = None
    for name in names:
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
            break
        except OSError:
            continue
    if lib is None:
        raise MyPaintUnavailable(f"libmypaint not found; {APT_HINT}")
    vp, i, f, d = ctypes.c_void_p, ctypes.c_int, ctypes.c_float, ctypes.c_double
    sig = {
        "mypaint_brush_new": (vp, []),
        "mypaint_brush_unref": (None, [vp]),
        "mypaint_brush_from_string": (i, [vp, ctypes.c_char_p]),
        "mypaint_brush_reset": (None, [vp]),
        "mypaint_brush_new_stroke": (None, [vp]),
        "mypaint_brush_set_base_value": (None, [vp, i, f]),
        "mypaint_brush_get_base_value": (f, [vp, i]),
        "mypaint_brush_setting_from_cname": (i, [ctypes.c_char_p]),
        "mypaint_brush_stroke_to": (i, [vp, vp, f, f, f, f, f, d]),
        "mypaint_fixed_tiled_surface_new": (vp, [i, i]),
        "mypaint_surface_unref": (None, [vp]),
        "mypaint_surface_begin_atomic": (None, [vp]),
        "mypaint_surface_end_atomic": (None, [vp, vp]),
        "mypaint_tile_request_init": (None, [vp, i, i, i, i]),
        "mypaint_tiled_surface_tile_request_start": (None, [vp, vp]),
        "mypaint_tiled_surface_tile_request_end": (None, [vp, vp]),
        "rng_double_set_seed": (None, [vp, ctypes.c_long]),
    }
    for name, (res, args) in sig.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            raise MyPaintUnavailable(
                f"libmypaint lacks {name} (need version 1.5/1.6); {APT_HINT}"
            ) from None
        fn.restype = res
        fn.argtypes = args
    return lib


def unavailable_reason() -> str | None:
    """Why the real brush cannot run here (the one-line install hint), or None if it can."""
    try:
        MyPaintRenderer(64)
    except MyPaintUnavailable as e:
        return str(e)
    return None


def find_brush(brush: str | Path) -> Path:
    """A brush by mypaint-brushes name (``classic/dry_brush``) or by ``.myb`` path."""
    p = Path(brush)
    if p.suffix == ".myb" and p.is_file():
        return p
    for base in BRUSH_DIRS:
        cand = base / f"{str(brush).removesuffix('.myb')}.myb"
        if cand.is_file():
            return cand
    if not any(d.is_dir() for d in BRUSH_DIRS):
        raise MyPaintUnavailable(f"no MyPaint brushes found; {APT_HINT}")
    raise ValueError(
        f"unknown brush {str(brush)!r}; use a name such as 'classic/dry_brush' "
        f"(see painters.renderers.mypaint.list_brushes()) or a path to a .myb file"
    )


def list_brushes() -> list[str]:
    """Names of the installed mypaint-brushes brushes."""
    for base in BRUSH_DIRS:
        if base.is_dir():
            return sorted(str(p.relative_to(base))[:-4] for p in base.rglob("*.myb"))
    return []


class _Surface:
    """A fixed tiled surface with numpy views on each tile's premultiplied uint16 RGBA."""

    def __init__(self, lib: ctypes.CDLL, width: int, height: int) -> None:
        self.lib, self.width, self.height = lib, width, height
        self.ptr = lib.mypaint_fixed_tiled_surface_new(width, height)
        if not self.ptr:
            raise MemoryError(f"libmypaint could not allocate a {width}x{height} surface")
        self.tiles_x, self.tiles_y = -(-width // TILE), -(-height // TILE)
        self.views: list[list[np.ndarray]] = []
        req = _TileRequest()
        for ty in range(self.tiles_y):
            row = []
            for tx in range(self.tiles_x):
                lib.mypaint_tile_request_init(ctypes.byref(req), 0, tx, ty, 0)
                lib.mypaint_tiled_surface_tile_request_start(self.ptr, ctypes.byref(req))
                buf = (ctypes.c_uint16 * (TILE * TILE * 4)).from_address(req.buffer)
                row.append(np.ctypeslib.as_array(buf).reshape(TILE, TILE, 4))
                lib.mypaint_tiled_surface_tile_request_end(self.ptr, ctypes.byref(req))
            self.views.append(row)

    def fill(self, premultiplied: tuple[int, int, int, int]) -> None:
        value = np.asarray(premultiplied, np.uint16)
        for row in self.views:
            for v in row:
                v[:] = value

    def read(self) -> np.ndarray:
        """The whole surface as premultiplied uint16 (H, W, 4)."""
        if self.tiles_x == self.tiles_y == 1:
            return self.views[0][0][: self.height, : self.width]
        full = np.concatenate([np.concatenate(row, axis=1) for row in self.views], axis=0)
        return full[: self.height, : self.width]

    def read_rgb8(self) -> np.ndarray:
        """The canvas (opaque) as uint8 RGB (H, W, 3), converted one tile row at a time so
        memory stays at one uint8 image plus one row of tiles, at any size."""
        out = np.empty((self.height, self.width, 3), np.uint8)
        for ty, row in enumerate(self.views):
            y0 = ty * TILE
            h = min(TILE, self.height - y0)
            strip = np.concatenate(row, axis=1)[:h, : self.width]
            out[y0 : y0 + h] = premultiplied_to_rgba8(strip)[..., :3]
        return out

    def __del__(self) -> None:
        if getattr(self, "ptr", None):
            self.lib.mypaint_surface_unref(self.ptr)
            self.ptr = None


class MyPaintRenderer(Renderer):
    """The real MyPaint brush. See :class:`painters.renderers.base.Renderer` for the interface.

    The brush radius is ``exp(2·size)`` px on a 64 px canvas and scales with the canvas
    (``radius_logarithmic = 2·size + log(side / 64)``), so one action draws the same stroke at
    any resolution.
    """

    name = "mypaint"

    def __init__(self, size: int = 64, *, brush: str | Path = DEFAULT_BRUSH, seed: int = 0) -> None:
        super().__init__(size, seed=seed)
        self.lib = load_library()
        self.brush_path = find_brush(brush)
        self.brush_name = str(brush)
        self._brush_json = self.brush_path.read_bytes()
        lib = self.lib
        self._ids = {
            n: lib.mypaint_brush_setting_from_cname(n.encode())
            for n in ("radius_logarithmic", "color_h", "color_s", "color_v")
        }
        self._brush = None
        self._new_brush()  # parse errors and an unexpected brush layout show up here
        self._surfaces: dict[tuple[int, int], _Surface] = {}

    # -- low level -------------------------------------------------------------------------
    def _new_brush(self) -> None:
        """Parse the brush file into a new libmypaint brush (replacing any previous one)."""
        lib = self.lib
        brush = lib.mypaint_brush_new()
        if not brush:
            raise MemoryError("libmypaint could not allocate a brush")
        try:
            if not lib.mypaint_brush_from_string(brush, self._brush_json):
                raise ValueError(f"libmypaint could not parse brush file {self.brush_path}")
            rng = self._rng_pointer(brush)
        except BaseException:
            lib.mypaint_brush_unref(brush)
            raise
        if self._brush:
            lib.mypaint_brush_unref(self._brush)
        self._brush, self._rng = brush, rng

    def __del__(self) -> None:
        if getattr(self, "_brush", None):
            self.lib.mypaint_brush_unref(self._brush)
            self._brush = None

    def _rng_pointer(self, brush: int) -> int:
        ptr = ctypes.c_void_p.from_address(brush + RNG_OFFSET).value
        if not ptr:
            raise MyPaintUnavailable(
                "this libmypaint build has an unexpected brush layout (no RNG at offset "
                f"{RNG_OFFSET}); seeded texture needs Debian's libmypaint-1.5-1 1.6.x"
            )
        return ptr

    def _surface(self, width: int, height: int) -> _Surface:
        key = (width, height)
        if key not in self._surfaces:
            if len(self._surfaces) > 4:
                self._surfaces.clear()
            self._surfaces[key] = _Surface(self.lib, width, height)
        return self._surfaces[key]

    def _draw(self, surface: _Surface, action: np.ndarray, index: int, scale_px: float) -> None:
        """Draw one stroke onto ``surface`` (its pixels change at end_atomic).

        The stroke depends only on (action, seed, index), never on the strokes drawn before
        with the same brush: ``mypaint_brush_reset`` zeroes the brush's states but not its
        cached setting values, and the first dab after a reset reads some of them, so a reused
        brush drew about one stroke in a few thousand ±1 differently depending on its
        predecessor (which made dataset bytes depend on the worker split). One idle update at
        the start point after a reset recomputes those values from this stroke's settings; a
        second reset then clears the states again. This matches a freshly parsed brush per
        stroke at a fraction of its cost (parsing the brush is ~20 % of a 64 px stroke).
        """
        lib, b, s = self.lib, self._brush, surface.ptr
        radius_log = 2.0 * float(action[A.SIZE]) + math.log(scale_px / REFERENCE_SIZE)
        lib.mypaint_brush_set_base_value(b, self._ids["radius_logarithmic"], radius_log)
        h, sat, v = colorsys.rgb_to_hsv(*(float(c) for c in action[A.COLOR]))
        lib.mypaint_brush_set_base_value(b, self._ids["color_h"], h)
        lib.mypaint_brush_set_base_value(b, self._ids["color_s"], sat)
        lib.mypaint_brush_set_base_value(b, self._ids["color_v"], v)

        pts = bezier_points(action[None], CURVE_POINTS)[0]
        xs = pts[:, 0] * surface.width
        ys = pts[:, 1] * surface.height
        t = np.linspace(0.0, 1.0, CURVE_POINTS)
        pressure = PRESSURE_SCALE * pressure_profile(
            float(action[A.ENTRY_PRESSURE]), float(action[A.PRESSURE]), t
        )
        stroke_to = lib.mypaint_brush_stroke_to
        x0, y0 = float(xs[0]), float(ys[0])
        lib.mypaint_surface_begin_atomic(s)
        lib.mypaint_brush_reset(b)
        stroke_to(b, s, x0, y0, 0.0, 0.0, 0.0, 10.0)  # performs the reset
        stroke_to(b, s, x0, y0, 0.0, 0.0, 0.0, DTIME)  # idle update: fresh setting values
        lib.mypaint_brush_reset(b)
        lib.mypaint_brush_new_stroke(b)
        lib.rng_double_set_seed(self._rng, stroke_seed(self.seed, index))
        stroke_to(b, s, x0, y0, 0.0, 0.0, 0.0, 10.0)
        for x, y, p in zip(xs.tolist(), ys.tolist(), pressure.tolist(), strict=True):
            stroke_to(b, s, x, y, p, 0.0, 0.0, DTIME)
        stroke_to(b, s, xs[-1], ys[-1], 0.0, 0.0, 0.0, DTIME)
        lib.mypaint_surface_end_atomic(s, None)

    # -- Renderer API ----------------------------------------------------------------------
    def render(self, actions, *, start_index: int | None = None) -> np.ndarray:
        """Render each action alone: uint8 (N, size, size, 4), straight alpha.

        Same result as drawing one stroke at a time; the uint16 → uint8 conversion runs on
        blocks of strokes, which saves ~10 % per stroke at 64 px.
        """
        a = A.validate_actions(actions)
        if start_index is not None:
            self._next_index = int(start_index)
        s = self.size
        out = np.empty((len(a), s, s, 4), np.uint8)
        block = max(1, (1 << 22) // (s * s * 4))  # ~8 MB of uint16 at a time
        raw = np.empty((min(block, len(a)), s, s, 4), np.uint16)
        surf = self._surface(s, s)
        for lo in range(0, len(a), block):
            hi = min(len(a), lo + block)
            for i in range(lo, hi):
                surf.fill((0, 0, 0, 0))
                self._draw(surf, a[i], self._next_index, float(s))
                raw[i - lo] = surf.read()
                self._next_index += 1
            out[lo:hi] = premultiplied_to_rgba8(raw[: hi - lo])
        return out

    def render_alpha(
        self,
        actions,
        *,
        start_index: int | None = None,
        width: int | None = None,
        height: int | None = None,
        stroke_scale: float = 1.0,
    ) -> np.ndarray:
        """Each action's coverage alone: float32 (N, height, width), exactly ``render(...)[...,
        3] / 255`` (default: ``size`` × ``size``). Why: gradient painting needs only the alpha,
        and converting the colour planes is most of a large stroke's cost (about 15 of 20 ms
        at 512 px). ``width``, ``height`` and ``stroke_scale`` place and size each stroke as
        :meth:`paint` does on such a canvas (whole-painting coordinates)."""
        a = A.validate_actions(actions)
        if start_index is not None:
            self._next_index = int(start_index)
        w, h = int(width or self.size), int(height or self.size)
        scale_px = min(w, h) * float(stroke_scale)
        out = np.empty((len(a), h, w), np.float32)
        surf = self._surface(w, h)
        f = np.empty((surf.tiles_y * TILE, surf.tiles_x * TILE), np.float32)
        for i in range(len(a)):
            surf.fill((0, 0, 0, 0))
            self._draw(surf, a[i], self._next_index, scale_px)
            for ty, row in enumerate(surf.views):  # the alpha planes only
                for tx, v in enumerate(row):
                    f[ty * TILE : (ty + 1) * TILE, tx * TILE : (tx + 1) * TILE] = v[..., 3]
            f *= 1.0 / ONE  # the steps of premultiplied_to_rgba8's alpha, same rounding
            np.clip(f, 0.0, 1.0, out=f)
            f *= 255.0
            np.rint(f, out=f)
            out[i] = f[:h, :w] / np.float32(255.0)
            self._next_index += 1
        return out

    def _render_one(self, action: np.ndarray, index: int) -> np.ndarray:
        surf = self._surface(self.size, self.size)
        surf.fill((0, 0, 0, 0))
        self._draw(surf, action, index, float(self.size))
        return premultiplied_to_rgba8(surf.read())

    def paint(
        self,
        actions,
        *,
        background: tuple[int, int, int] = (255, 255, 255),
        width: int | None = None,
        height: int | None = None,
        start_index: int = 0,
        callback=None,
        stroke_scale: float = 1.0,
        brushes=None,
    ) -> np.ndarray:
        """Paint all strokes in order straight onto one MyPaint canvas → uint8 (H, W, 3).

        Memory stays bounded at any size (one uint16 surface). ``stroke_scale`` multiplies
        the brush radius reference (for tiled paintings: tile side / min(W, H)). ``brushes``:
        optional brush name per stroke (a mixed-brush painting); each stroke keeps the texture
        seed of its index, so strokes of this renderer's brush paint as they would alone.
        """
        a = A.validate_actions(actions)
        drawers = {self.brush_name: self}
        if brushes is not None:
            brushes = [str(b) for b in brushes]
            if len(brushes) != len(a):
                raise ValueError(f"brushes needs one name per stroke, got {len(brushes)}")
            for b in dict.fromkeys(brushes):  # unknown names fail before any painting
                if b not in drawers:
                    drawers[b] = MyPaintRenderer(self.size, brush=b, seed=self.seed)
        w, h = int(width or self.size), int(height or self.size)
        surf = _Surface(self.lib, w, h)
        bg = np.asarray(background, np.float64) / 255.0
        surf.fill(tuple(int(round(c * ONE)) for c in bg) + (ONE,))
        scale_px = min(w, h) * float(stroke_scale)
        for i, act in enumerate(a):
            drawer = self if brushes is None else drawers[brushes[i]]
            drawer._draw(surf, act, start_index + i, scale_px)
            if callback is not None:
                callback(i, surf.read_rgb8())
        return surf.read_rgb8()


def premultiplied_to_rgba8(buf: np.ndarray) -> np.ndarray:
    """MyPaint premultiplied uint16 RGBA (1<<15 = 1.0) → straight-alpha uint8 RGBA.

    In-place passes into one preallocated output (no concatenation): ~8× faster than the
    straightforward version, same bytes; it was 20 % of a 64 px stroke's cost.
    """
    f = buf.astype(np.float32)
    f *= 1.0 / ONE
    alpha = np.clip(f[..., 3:4], 0.0, 1.0)
    out = np.empty(buf.shape, np.uint8)
    rgb = np.zeros_like(f[..., :3])
    np.divide(f[..., :3], alpha, out=rgb, where=alpha > 0)
    np.clip(rgb, 0.0, 1.0, out=rgb)
    rgb *= 255.0
    out[..., :3] = np.rint(rgb)
    out[..., 3:4] = np.rint(alpha * 255.0)
    return out
