"""The painting: an ordered list of strokes and what is needed to draw them again, and its
file format (``strokes.npz``, ``strokes.json``).

A :class:`Painting` is an ordered list of actions in **global** coordinates (x and y are
fractions of the canvas width and height) plus the canvas size of the painting (``width`` ×
``height`` px), ``stroke_scale`` (the brush radius reference multiplier: a stroke's radius is
``exp(2·size) · min(W, H) · stroke_scale / 64`` px, 1 for a single 64 px tile and 1/K for a
K × K grid of tiles), the MyPaint brush and the background. Every painter of the project (the
gradient painter, an RL agent's episode) produces one; :func:`painters.render` draws it again at
any size with any renderer.

>>> p = Painting(actions, width=96, height=64)
>>> p.save_npz("out/strokes.npz"); p.save_json("out/strokes.json")
>>> same = load_strokes("out/strokes.npz")
"""

from __future__ import annotations

import json
import math
import os
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from painters import actions as A
from painters.io import atomic_write, first_line
from painters.limits import MAX_SIDE, LimitError, check_memory, image_size, whole_number
from painters.renderers.base import DEFAULT_BRUSH

FORMAT = "neural-painting/strokes"
FORMAT_VERSION = 1
#: Default longest side of a re-render (and of the SVG's display size) when none is given.
DEFAULT_LONGEST_SIDE = 512
#: Strokes of one painting at most (25x what neural-paint makes; rendering is linear in it).
MAX_PAINTING_STROKES = 100_000
#: Memory per pixel of a re-render (measured: simple discs 74 B, MyPaint 13 B at 3072 x 2048).
RENDER_BYTES_PER_PX = 80


class StrokesError(ValueError):
    """A strokes file is missing, corrupt or has the wrong layout (the message says which)."""


@dataclass
class Painting:
    """Strokes plus the canvas they were painted on; everything needed to draw them again.

    Args:
        actions: float32 (N, 12) in [0, 1], in painting order, global coordinates.
        width, height: canvas size of the painting in px (the neural canvas).
        stroke_scale: brush radius reference multiplier (1/K for a K × K tile grid).
        brush: MyPaint brush the painting was made for (``classic/dry_brush``); with
            ``stroke_brushes``, the brush of strokes that name none (the painting's main one).
        stroke_brushes: optional brush name per stroke (N,) for a painting that mixes brushes;
            None: every stroke is painted with ``brush``. A list naming only ``brush`` is
            stored as None, so single-brush paintings read and write as before.
        background: canvas colour, 0–255 RGB.
        info: free JSON-serialisable notes (painter, renderer, seed, loss, ...).
        local_actions, windows: for a painting made in 64 px tiles (the gradient painter),
            each stroke's action inside its tile and the tile's (left, top) px: the neural
            painter replays these exactly (saved in ``strokes.npz``).
        canvas: uint8 (H, W, 3), the canvas the painting was made on (not saved).
        history: loss per optimisation step (not saved).
    """

    actions: np.ndarray
    width: int = 64
    height: int = 64
    stroke_scale: float = 1.0
    brush: str = DEFAULT_BRUSH
    stroke_brushes: list[str] | None = None
    background: tuple[int, int, int] = (255, 255, 255)
    info: dict = field(default_factory=dict)
    local_actions: np.ndarray | None = None
    windows: np.ndarray | None = None
    canvas: np.ndarray | None = None
    history: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.actions = A.validate_actions(self.actions).reshape(-1, A.ACTION_DIM)
        if len(self.actions) > MAX_PAINTING_STROKES:
            raise LimitError(
                f"painting has {len(self.actions):,} strokes, more than {MAX_PAINTING_STROKES:,}; "
                "split it into several paintings"
            )
        for name in ("width", "height"):
            v = whole_number(f"painting {name} (px)", getattr(self, name), low=1, high=MAX_SIDE)
            setattr(self, name, v)
        s = float(self.stroke_scale)
        if not math.isfinite(s) or s <= 0:
            raise ValueError(f"stroke_scale must be a positive number, got {self.stroke_scale!r}")
        self.stroke_scale = s
        bg = tuple(int(c) for c in np.asarray(self.background).reshape(-1))
        if len(bg) != 3 or not all(0 <= c <= 255 for c in bg):
            raise ValueError(f"background must be 3 values in 0..255, got {self.background!r}")
        self.background = bg
        self.brush = str(self.brush)
        if self.stroke_brushes is not None:
            names = [str(b) for b in np.asarray(self.stroke_brushes, dtype=object).reshape(-1)]
            if len(names) != len(self.actions):
                raise ValueError(
                    f"stroke_brushes needs one brush per stroke: {len(names)} for "
                    f"{len(self.actions)} strokes"
                )
            if any(not b for b in names):
                raise ValueError("stroke_brushes has an empty brush name")
            self.stroke_brushes = None if all(b == self.brush for b in names) else names
        try:
            json.dumps(self.info)
        except (TypeError, ValueError) as e:
            raise ValueError(f"painting info must be JSON-serialisable: {e}") from None
        if (self.local_actions is None) != (self.windows is None):
            raise ValueError("local_actions and windows come together (or not at all)")
        if self.local_actions is not None:
            self.local_actions = A.validate_actions(self.local_actions, name="local_actions")
            self.windows = np.asarray(self.windows, np.int64).reshape(-1, 2)
            if not len(self.local_actions) == len(self.windows) == len(self.actions):
                raise ValueError("local_actions and windows need one row per action")
        if self.canvas is not None:
            self.canvas = np.asarray(self.canvas)
            if self.canvas.dtype != np.uint8 or self.canvas.shape != (self.height, self.width, 3):
                raise ValueError(
                    f"canvas must be uint8 ({self.height}, {self.width}, 3), "
                    f"got {self.canvas.dtype} {self.canvas.shape}"
                )

    def __len__(self) -> int:
        return len(self.actions)

    # -- brushes -----------------------------------------------------------------------------
    def brush_list(self) -> list[str]:
        """The brush of every stroke (N,), in painting order."""
        return list(self.stroke_brushes) if self.stroke_brushes else [self.brush] * len(self)

    @property
    def brushes(self) -> list[str]:
        """The brushes this painting uses, in order of first use (``[brush]`` for a
        single-brush painting)."""
        return list(dict.fromkeys(self.brush_list())) or [self.brush]

    @property
    def multi_brush(self) -> bool:
        """True when the strokes use more than one brush (or one other than ``brush``)."""
        return self.stroke_brushes is not None

    def brush_index(self, palette: list[str] | None = None) -> np.ndarray:
        """Each stroke's brush as an index (N,) int64 into ``palette`` (default
        :attr:`brushes`); a brush missing from ``palette`` is a ``ValueError``."""
        palette = self.brushes if palette is None else list(palette)
        missing = [b for b in self.brushes if b not in palette]
        if missing:
            raise ValueError(f"brush(es) {missing} of the painting not among {palette}")
        lookup = {b: i for i, b in enumerate(palette)}
        return np.asarray([lookup[b] for b in self.brush_list()], np.int64)

    def output_size(
        self, size: int | None = None, width: int | None = None, height: int | None = None
    ) -> tuple[int, int]:
        """(width, height) of a re-render: both given → those; one given (or ``size`` as the
        longer side) → the other from the painting's aspect ratio; nothing → longer side 512."""
        for name, v in (("size", size), ("width", width), ("height", height)):
            if v is not None:
                whole_number(name, v, low=1, high=MAX_SIDE, fix=f"give a {name} in px")
        w, h = self._output_size(size, width, height)
        fix = "give a smaller --size, --width or --height"
        return image_size("re-render", w, h, bytes_per_px=RENDER_BYTES_PER_PX, fix=fix)

    def _output_size(
        self, size: int | None, width: int | None, height: int | None
    ) -> tuple[int, int]:
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
    def save_npz(self, path: str | os.PathLike, extra: dict | None = None) -> Path:
        """Write ``actions`` and the metadata as plain arrays (no pickle), atomically, in one
        write. ``extra``: more plain numeric/string arrays stored beside them (``ValueError``,
        before anything is written, if one would replace a painting key)."""
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
        if self.stroke_brushes is not None:  # a palette and one index per stroke
            arrays["brushes"] = np.asarray(self.brushes, dtype=np.str_)
            arrays["brush_index"] = self.brush_index()
        if self.local_actions is not None:
            arrays["local_actions"] = self.local_actions.astype(np.float32)
            arrays["windows"] = np.asarray(self.windows, np.int64)
        clash = set(arrays) & set(extra or {})
        if clash:
            raise ValueError(f"extra arrays would overwrite painting keys: {sorted(clash)}")
        arrays.update({k: np.asarray(v) for k, v in (extra or {}).items()})

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
                _check_zip_complete(z.zip, p)
                _check_npz_rows(z, p)
                data = {k: z[k] for k in z.files}
        except (StrokesError, LimitError):
            raise
        except Exception as e:  # OSError, BadZipFile, bad CRC, zlib.error...: a damaged file
            raise StrokesError(
                f"{p}: not a readable npz file ({first_line(e)}); save the painting again"
            ) from None
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
            if "brushes" in data and "brush_index" in data:
                palette = [str(b) for b in data["brushes"].reshape(-1)]
                idx = np.asarray(data["brush_index"]).reshape(-1)
                if idx.dtype.kind not in "iu" or (
                    len(idx) and (idx.min() < 0 or idx.max() >= len(palette))
                ):
                    raise StrokesError(
                        f"{p}: brush_index does not index its {len(palette)} brushes"
                    )
                kwargs["stroke_brushes"] = [palette[i] for i in idx.tolist()]
            if "background" in data:
                kwargs["background"] = tuple(int(c) for c in data["background"].reshape(-1))
            if "info" in data:
                kwargs["info"] = json.loads(str(data["info"]))
            if "action_names" in data:
                _check_names([str(n) for n in data["action_names"]], p)
            if "local_actions" in data and "windows" in data:
                kwargs["local_actions"] = data["local_actions"]
                kwargs["windows"] = data["windows"]
            return cls(data["actions"], **kwargs)
        except StrokesError:
            raise
        except (TypeError, ValueError, OverflowError) as e:
            raise StrokesError(f"{p}: {first_line(e)}") from None
        except RecursionError:
            raise StrokesError(
                f"{p}: its 'info' is nested too deeply; save the painting again"
            ) from None

    # -- json --------------------------------------------------------------------------------
    def to_json_dict(self) -> dict:
        """``strokes.json`` content: canvas, brush, layout, and one named object per stroke."""
        g = self.geometry()
        per_stroke = self.brush_list()
        strokes = []
        for i, act in enumerate(self.actions):
            s: dict = {"index": i}
            s.update({n: float(v) for n, v in zip(A.ACTION_NAMES, act, strict=True)})
            s["brush"] = per_stroke[i]
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
            "brushes": self.brushes,
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
        if len(d["strokes"]) > MAX_PAINTING_STROKES:
            raise StrokesError(
                f"{source}: {len(d['strokes']):,} strokes, more than {MAX_PAINTING_STROKES:,}; "
                "split the painting"
            )
        names = d.get("action_layout", list(A.ACTION_NAMES))
        _check_names(names, source)
        rows = []
        main_brush = d.get("brush", DEFAULT_BRUSH)
        per_stroke: list[str] = []
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
            b = s.get("brush", main_brush)  # files before per-stroke brushes have none
            if not isinstance(b, str) or not b:
                raise StrokesError(f"{source}: stroke {i}'s brush must be a brush name")
            per_stroke.append(b)
        actions = np.asarray(rows, np.float32).reshape(-1, A.ACTION_DIM)
        lacking = [k for k in ("width", "height") if k not in d]
        if lacking:  # stroke positions are fractions of the canvas: its size must be known
            raise StrokesError(
                f"{source}: no {' or '.join(repr(k) for k in lacking)}; add the canvas size in "
                'px the strokes were painted on, e.g. "width": 64, "height": 64'
            )
        try:
            return cls(
                actions,
                width=d["width"],
                height=d["height"],
                stroke_scale=d.get("stroke_scale", 1.0),
                brush=main_brush,
                stroke_brushes=per_stroke,
                background=tuple(d.get("background", (255, 255, 255))),
                info=d.get("info", {}) or {},
            )
        except (TypeError, ValueError, OverflowError) as e:
            raise StrokesError(f"{source}: {first_line(e)}") from None

    @classmethod
    def load_json(cls, path: str | os.PathLike) -> Painting:
        """Read ``strokes.json`` written by :meth:`save_json` (or by hand, same fields)."""
        p = _existing(path)
        try:
            d = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise StrokesError(f"{p}: not a readable JSON file ({first_line(e)})") from None
        except RecursionError:
            raise StrokesError(
                f"{p}: JSON nested too deeply to be a strokes file; give one written by "
                "neural-paint (or the same layout)"
            ) from None
        return cls.from_json_dict(d, str(p))


def load_strokes(path: str | os.PathLike) -> Painting:
    """A painting from ``strokes.npz`` or ``strokes.json`` (chosen by the file's suffix)."""
    p = Path(path)
    if p.suffix.lower() == ".npz":
        return Painting.load_npz(p)
    if p.suffix.lower() == ".json":
        return Painting.load_json(p)
    raise StrokesError(f"{p}: unknown strokes file type; give a .npz or .json file")


def _check_zip_complete(zf: zipfile.ZipFile, p: Path) -> None:
    """Refuse a zip whose member list does not cover every byte before its central directory:
    a damaged directory can hide members (``width``, ``height``, ...) without any CRC failing,
    and a painting would load at the wrong size."""
    covered = 0
    fp = zf.fp
    for info in sorted(zf.infolist(), key=lambda i: i.header_offset):
        if info.header_offset != covered:
            break
        fp.seek(info.header_offset)
        head = fp.read(30)
        if len(head) < 30 or head[:4] != b"PK\x03\x04":
            break
        name_len, extra_len = struct.unpack("<HH", head[26:30])
        covered = info.header_offset + 30 + name_len + extra_len + info.compress_size
        if info.flag_bits & 0x08:  # a data descriptor follows the data
            covered += 24 if info.file_size >= 0xFFFFFFFF else 16
    if covered != zf.start_dir:
        raise StrokesError(
            f"{p}: not a readable npz file (its zip directory is damaged); save the painting again"
        )


def _check_npz_rows(z: np.lib.npyio.NpzFile, p: Path) -> None:
    """Refuse, from the array headers alone, an npz whose arrays would not fit in memory or
    that holds more than :data:`MAX_PAINTING_STROKES` strokes."""
    fmt = np.lib.format
    total = 0
    for name in z.files:
        with z.zip.open(f"{name}.npy") as f:
            version = fmt.read_magic(f)
            read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
            shape, _, dtype = read(f)
        rows = shape[0] if shape else 1
        if name in ("actions", "local_actions", "windows") and rows > MAX_PAINTING_STROKES:
            raise StrokesError(
                f"{p}: {rows:,} strokes, more than {MAX_PAINTING_STROKES:,}; split the painting"
            )
        total += int(np.prod(shape, dtype=object)) * dtype.itemsize
    check_memory(f"{p}", total, "this is not a strokes file neural-paint writes")


def stroke_radius(size, width: int, height: int, stroke_scale: float = 1.0) -> np.ndarray:
    """MyPaint's brush radius in px for ``size`` actions on a ``width`` × ``height`` canvas."""
    s = np.asarray(size, np.float64)
    return np.exp(2.0 * s) * min(width, height) * float(stroke_scale) / 64.0


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


def _pt(p: np.ndarray) -> list[float]:
    return [round(float(p[0]), 3), round(float(p[1]), 3)]
