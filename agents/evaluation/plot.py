"""Pictures of a benchmark: MSE versus strokes per method, drawn with PIL (no matplotlib), and
a grid of target | each method's painting."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from agents.evaluation.report import write_atomic
from agents.evaluation.scoring import BASELINES, Run, mean_curves

#: Plot colours per method, in order of appearance.
PALETTE = [
    (31, 119, 180),
    (214, 39, 40),
    (44, 160, 44),
    (255, 127, 14),
    (148, 103, 189),
    (140, 86, 75),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
]


def plot_curves(
    runs: Sequence[Run], path: str | os.PathLike, size: tuple[int, int] = (720, 440)
) -> None:
    """MSE versus strokes per method (mean over images) as a PNG, drawn with PIL (no matplotlib).

    The MSE axis is logarithmic: the methods worth comparing differ by factors, and a linear
    axis squeezed them into its bottom few percent. The flat baselines (:data:`BASELINES`)
    paint no strokes: each is drawn as a dashed level across the whole plot, the line the
    stroke methods are read against."""
    from PIL import Image, ImageDraw

    curves = mean_curves(runs)
    w, h = size
    left, right, top, bottom = 70, 190, 30, 50
    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    font = _font()
    x_max = max(n for c in curves.values() for n, _ in c) or 1
    values = [v for c in curves.values() for _, v in c if v > 0] or [1.0]
    lo, hi = math.log10(min(values) / 1.2), math.log10(max(values) * 1.2)
    hi = hi if hi > lo else lo + 1.0

    def px(n: float, v: float) -> tuple[float, float]:
        f = (math.log10(max(v, 1e-12)) - lo) / (hi - lo)
        return (left + (w - left - right) * n / x_max, h - bottom - (h - top - bottom) * f)

    d.line([(left, h - bottom), (w - right, h - bottom)], fill="black")
    d.line([(left, h - bottom), (left, top)], fill="black")
    x_step = max(1, -(-x_max // 5))
    for n in range(0, x_max + 1, x_step):
        x, _ = px(n, 1.0)
        d.line([(x, h - bottom), (x, h - bottom + 4)], fill="black")
        d.text((x - 8, h - bottom + 8), str(n), fill="black", font=font)
    for v in _log_ticks(10**lo, 10**hi):
        _, y = px(0, v)
        d.line([(left - 4, y), (left, y)], fill="black")
        d.text((4, y - 7), f"{v:.2g}", fill="black", font=font)
    d.text(((w - right) // 2, h - 18), "strokes", fill="black", font=font)
    d.text((4, 6), "MSE (mean over images, log scale)", fill="black", font=font)
    for i, (method, curve) in enumerate(curves.items()):
        colour = PALETTE[i % len(PALETTE)]
        if method in BASELINES and curve:
            _dashed(d, px(0, curve[-1][1]), px(x_max, curve[-1][1]), colour)
            pts = []
        else:
            pts = [px(n, v) for n, v in curve]
        if len(pts) > 1:
            d.line(pts, fill=colour, width=2)
        for x, y in pts if len(pts) <= 60 else pts[:: max(1, len(pts) // 60)]:
            d.ellipse([x - 2, y - 2, x + 2, y + 2], fill=colour)
        ly = top + 18 * i
        d.line([(w - right + 10, ly + 6), (w - right + 30, ly + 6)], fill=colour, width=3)
        d.text((w - right + 36, ly), method[:24], fill="black", font=font)
    buf = _png_bytes(img)
    write_atomic(path, buf)


def _font(size: int = 12):
    """PIL's own TrueType font (Pillow >= 10.1; its old bitmap font has no ':' or space)."""
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # an older Pillow
        return ImageFont.load_default()


def _log_ticks(lo: float, hi: float) -> list[float]:
    """1-2-5 ticks between ``lo`` and ``hi`` (> 0)."""
    ticks = []
    for e in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1):
        ticks += [m * 10.0**e for m in (1, 2, 5) if lo <= m * 10.0**e <= hi]
    return ticks


def _dashed(d, a: tuple[float, float], b: tuple[float, float], colour, dash: float = 6.0) -> None:
    """A horizontal dashed line from ``a`` to ``b`` (same y)."""
    x, y = a
    while x < b[0]:
        d.line([(x, y), (min(x + dash, b[0]), y)], fill=colour, width=2)
        x += 2 * dash


def picture_grid(runs: Sequence[Run], path: str | os.PathLike, scale: int = 2) -> None:
    """One row per image: target, then each method's final canvas (PNG), under a header row
    naming the columns."""
    from PIL import Image, ImageDraw

    images = list(dict.fromkeys(r.image for r in runs))
    methods = list(dict.fromkeys(r.method for r in runs))
    by = {(r.image, r.method): r for r in runs}
    rows = []
    for im in images:
        first = by[(im, methods[0])]
        tiles = [first.target] + [by[(im, m)].canvas for m in methods]
        h, w = first.target.shape[:2]
        # agents with a smaller canvas (e.g. sac-model-free's 16 px) are shown enlarged
        tiles = [
            t if t.shape[:2] == (h, w) else np.asarray(Image.fromarray(t).resize((w, h), 0))
            for t in tiles
        ]
        gap = np.full((tiles[0].shape[0], 2, 3), 255, np.uint8)
        row = []
        for i, t in enumerate(tiles):
            row += ([gap] if i else []) + [t]
        rows.append(np.concatenate(row, axis=1))
        rows.append(np.full((2, rows[-1].shape[1], 3), 255, np.uint8))
    grid = np.concatenate(rows[:-1], axis=0).repeat(scale, 0).repeat(scale, 1)
    cell = (by[(images[0], methods[0])].target.shape[1] + 2) * scale
    head = Image.new("RGB", (grid.shape[1], 20), "white")
    d = ImageDraw.Draw(head)
    font = _font(11)
    for i, name in enumerate(["target", *methods]):
        d.text((i * cell + 2, 4), _fit(d, name, cell - 4, font), fill="black", font=font)
    out = np.concatenate([np.asarray(head), grid], axis=0)
    write_atomic(path, _png_bytes(Image.fromarray(out)))


def _fit(d: Any, text: str, width: int, font: Any) -> str:
    """``text`` cut (with "…") to fit ``width`` px."""
    while text and d.textlength(text, font=font) > width:
        text = text[:-2] + "…" if len(text) > 2 else ""
    return text


def _png_bytes(img: Any) -> bytes:
    import io

    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
