"""GIF animations of a painting appearing: the one GIF writer of the project.

Why frames are grouped: a 200-stroke painting as 200 frames is a slow, heavy GIF; ~40 frames
(strokes grouped evenly, the finished painting held at the end) shows the same story in
~100-300 kB for a 64 px painting shown at 128 px.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from painters.io import atomic_write

#: Longest side of re-render GIF frames and their number (strokes are grouped between frames).
GIF_SIDE = 256
GIF_FRAMES = 40
MAX_FRAMES = 30


def frame_indices(n: int, max_frames: int = MAX_FRAMES) -> list[int]:
    """Up to ``max_frames`` indices in [0, n), evenly spread, always ending on ``n - 1``."""
    if n <= 0:
        return []
    k = max(1, min(n, int(max_frames)))
    return sorted({int(round(x)) for x in np.linspace(0, n - 1, k)} | {n - 1})


class EvenFrames:
    """Frames of a sequence of unknown length, evenly spaced, in bounded memory: every
    ``stride``-th frame is kept, and when more than ``capacity`` are held every other one is
    dropped and the stride doubles. :meth:`frames` picks ``max_frames`` of them. A long
    optimisation of a large canvas holds at most ``capacity + 1`` frames, not one per step."""

    def __init__(self, capacity: int = 4 * MAX_FRAMES) -> None:
        self.capacity = max(2, int(capacity))
        self.stride = 1
        self.seen = 0
        self.kept: list[np.ndarray] = []
        self.last: np.ndarray | None = None

    def add(self, frame: np.ndarray) -> None:
        """Offer the next frame (kept when it falls on the stride; the last one always is)."""
        self.last = frame
        if self.seen % self.stride == 0:
            self.kept.append(frame)
            if len(self.kept) > self.capacity:
                self.kept = self.kept[::2]
                self.stride *= 2
        self.seen += 1

    def __len__(self) -> int:
        return len(self.kept)

    def frames(self, max_frames: int = MAX_FRAMES) -> list[np.ndarray]:
        """Up to ``max_frames`` of the kept frames, evenly spread (:func:`frame_indices`), the
        last frame offered included."""
        kept = list(self.kept)
        if self.last is not None and (not kept or kept[-1] is not self.last):
            kept.append(self.last)
        return [kept[i] for i in frame_indices(len(kept), max_frames)]


def write_gif(
    frames: Sequence[np.ndarray],
    path: str | os.PathLike,
    *,
    duration_ms: int = 80,
    hold_last_ms: int = 1500,
    scale: int = 1,
) -> Path:
    """Write uint8 RGB frames (H, W, 3) as a looping GIF, atomically (temp file + rename).

    ``scale`` enlarges each frame by pixel repetition (a 64 px painting is tiny on screen).
    """
    if len(frames) == 0:
        raise ValueError("write_gif needs at least one frame")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    imgs = []
    for f in frames:
        a = np.asarray(f)
        if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3:
            raise ValueError(f"GIF frames must be uint8 (H, W, 3), got {a.dtype} {a.shape}")
        if scale > 1:
            a = a.repeat(scale, 0).repeat(scale, 1)
        imgs.append(Image.fromarray(a))
    # one palette for every frame, from the last (the finished painting): PIL's default
    # median-cut quantisation of each frame took ~0.1 s per 256 px frame, seconds per GIF
    palette = imgs[-1].quantize(256, method=Image.Quantize.FASTOCTREE)
    imgs = [im.quantize(palette=palette) for im in imgs]
    durations = [duration_ms] * len(imgs)
    durations[-1] = max(duration_ms, hold_last_ms)
    return atomic_write(
        path,
        lambda fh: imgs[0].save(
            fh, format="GIF", save_all=True, append_images=imgs[1:], duration=durations,
            loop=0, optimize=True,
        ),
    )  # fmt: skip


class FrameRecorder:
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

        last = cv2.resize(final, self.size, interpolation=cv2.INTER_AREA)
        return write_gif([*self.frames, last], path)
