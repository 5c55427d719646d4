"""What every renderer shares: the stroke geometry and the render/paint interface."""

from __future__ import annotations

import numpy as np

from painters import actions as A

#: Canvas size the action ranges are calibrated for; other sizes scale the brush radius.
REFERENCE_SIZE = 64
#: Points sampled along each stroke's curve.
CURVE_POINTS = 100
#: The MyPaint brush everything defaults to (the one the neural painters learned).
DEFAULT_BRUSH = "classic/dry_brush"


def pressure_profile(entry: np.ndarray, middle: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Pressure along the stroke: entry → middle over the first quarter, constant in the middle
    half, middle → entry over the last quarter (our reading of the SPIRAL-style generator).

    ``entry``/``middle`` broadcast against ``t`` in [0, 1].
    """
    up = np.clip(t / 0.25, 0.0, 1.0)
    down = np.clip((1.0 - t) / 0.25, 0.0, 1.0)
    ramp = np.minimum(up, down)
    return entry + (middle - entry) * ramp


def bezier_points(actions: np.ndarray, n: int = CURVE_POINTS) -> np.ndarray:
    """Points of each stroke's quadratic Bézier as canvas fractions: (N, n, 2).

    The curve passes *through* the control point at t = 0.5, so the Bézier's own control point
    is P1 = 2·c − (start + end)/2.
    """
    t = np.linspace(0.0, 1.0, n, dtype=np.float64)[None, :, None]
    p0 = actions[:, None, [A.START_X, A.START_Y]].astype(np.float64)
    p2 = actions[:, None, [A.END_X, A.END_Y]].astype(np.float64)
    c = actions[:, None, [A.CONTROL_X, A.CONTROL_Y]].astype(np.float64)
    p1 = 2.0 * c - 0.5 * (p0 + p2)
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2


class Renderer:
    """Turns actions (N, 12) in [0, 1] into straight-alpha RGBA strokes, uint8 (N, S, S, 4).

    ``seed`` fixes the brush texture: the stroke with global index i (counted over all calls of
    :meth:`render` since construction or :meth:`reset`) is drawn with a seed derived from
    (seed, i), so a dataset renders the same bytes however it is split into calls or workers,
    as long as each part passes its ``start_index``.
    """

    name = "base"

    def __init__(self, size: int = 64, *, seed: int = 0) -> None:
        if int(size) < 8:
            raise ValueError(f"renderer size must be at least 8 px, got {size}")
        self.size = int(size)
        self.seed = int(seed)
        self._next_index = 0

    def reset(self, index: int = 0) -> None:
        """Make the next stroke have global index ``index`` (its texture seed follows)."""
        self._next_index = int(index)

    def render(self, actions, *, start_index: int | None = None) -> np.ndarray:
        """Render each action alone: uint8 (N, size, size, 4), straight alpha."""
        a = A.validate_actions(actions)
        if start_index is not None:
            self._next_index = int(start_index)
        out = np.zeros((len(a), self.size, self.size, 4), np.uint8)
        for i, act in enumerate(a):
            out[i] = self._render_one(act, self._next_index)
            self._next_index += 1
        return out

    def paint(
        self,
        actions,
        *,
        background: tuple[int, int, int] = (255, 255, 255),
        width: int | None = None,
        height: int | None = None,
        start_index: int = 0,
        callback=None,
    ) -> np.ndarray:
        """Lay all strokes in order on one canvas → uint8 (H, W, 3).

        The default composites :meth:`render` outputs with "over"; renderers that can draw
        straight onto a canvas (MyPaint) override it to keep memory bounded at large sizes.
        ``callback(i, canvas)`` is called after each stroke if given (for animations).
        """
        from painters.compositing import over_numpy, to_uint8

        a = A.validate_actions(actions)
        w, h = width or self.size, height or self.size
        if (w, h) != (self.size, self.size):
            raise ValueError(f"{self.name} renderer paints only square {self.size} px canvases")
        canvas = np.empty((h, w, 3), np.float32)
        canvas[:] = np.asarray(background, np.float32) / 255.0
        for i in range(len(a)):
            stroke = self.render(a[i : i + 1], start_index=start_index + i)[0]
            canvas = over_numpy(canvas, stroke)
            if callback is not None:
                callback(i, to_uint8(canvas))
        return to_uint8(canvas)

    def _render_one(self, action: np.ndarray, index: int) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError


def stroke_seed(seed: int, index: int) -> int:
    """Per-stroke texture seed from (renderer seed, global stroke index): SplitMix64 mixing, so
    neighbouring seeds and indices give unrelated streams."""
    x = (int(seed) * 0x9E3779B97F4A7C15 + int(index) * 0xBF58476D1CE4E5B9 + 0x94D049BB133111EB) & (
        (1 << 64) - 1
    )
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & ((1 << 64) - 1)
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & ((1 << 64) - 1)
    x ^= x >> 31
    return x & 0x7FFFFFFF
