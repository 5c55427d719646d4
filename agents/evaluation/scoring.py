"""How every painting of the benchmark is scored: on the env's uint8 64 px canvas against its
uint8 target, MSE on [0, 1] pixels (the headline metric), SSIM, and the share of the white
canvas's MSE removed; means and curves per method."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from painters.compositing import from_uint8
from painters.distances import mse as mse_t
from painters.distances import ssim_similarity

#: Flat baselines (no strokes): method name → flat cells per side (1 = the mean colour).
BASELINES = {"mean colour": 1, "flat 8x8": 8, "flat 16x16": 16}


@dataclass
class Run:
    """One method on one image: final scores, the curve, and cost."""

    image: str
    method: str
    mse: float
    ssim: float
    white_mse: float
    seconds: float
    stroke_renders: int
    curve: list[tuple[int, float]] = field(default_factory=list)  # (strokes so far, MSE)
    canvas: np.ndarray | None = None
    target: np.ndarray | None = None

    @property
    def reduction(self) -> float:
        """Share of the white canvas's MSE removed (1 = perfect, 0 = no better than white)."""
        return 1.0 - self.mse / self.white_mse if self.white_mse > 0 else 0.0

    def row(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "method": self.method,
            "mse": self.mse,
            "ssim": self.ssim,
            "white_mse": self.white_mse,
            "reduction": self.reduction,
            "seconds": self.seconds,
            "stroke_renders": self.stroke_renders,
            "curve": [[int(n), float(d)] for n, d in self.curve],
        }


def scores(canvas: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    """(MSE, SSIM) of a uint8 canvas against a uint8 target."""
    c, t = from_uint8(canvas)[None], from_uint8(target)[None]
    return float(mse_t(c, t)[0]), float(ssim_similarity(c, t)[0])


def mse(canvas: np.ndarray, target: np.ndarray) -> float:
    """MSE on [0, 1] pixels of a uint8 canvas against a uint8 target."""
    return float(mse_t(from_uint8(canvas)[None], from_uint8(target)[None])[0])


def make_run(
    image: str | Path,
    method: str,
    target: np.ndarray,
    canvas: np.ndarray,
    curve: list[tuple[int, float]],
    seconds: float,
    renders: int,
) -> Run:
    """Score a finished painting as a :class:`Run`."""
    m, s = scores(canvas, target)
    white = np.full_like(target, 255)
    return Run(
        image=Path(image).name,
        method=method,
        mse=m,
        ssim=s,
        white_mse=mse(white, target),
        seconds=seconds,
        stroke_renders=renders,
        curve=curve,
        canvas=canvas,
        target=target,
    )


def summarize(runs: Sequence[Run]) -> dict[str, dict[str, float]]:
    """Mean scores per method (in order of first appearance)."""
    out: dict[str, dict[str, float]] = {}
    for method in dict.fromkeys(r.method for r in runs):
        rs = [r for r in runs if r.method == method]
        out[method] = {
            "mse": float(np.mean([r.mse for r in rs])),
            "ssim": float(np.mean([r.ssim for r in rs])),
            "white_mse": float(np.mean([r.white_mse for r in rs])),
            "reduction": float(np.mean([r.reduction for r in rs])),
            "seconds": float(np.mean([r.seconds for r in rs])),
            "stroke_renders": float(np.mean([r.stroke_renders for r in rs])),
            "images": len(rs),
        }
    return out


def mean_curves(runs: Sequence[Run]) -> dict[str, list[tuple[int, float]]]:
    """Per method, the MSE after n strokes averaged over images (points every method shares)."""
    out: dict[str, list[tuple[int, float]]] = {}
    for method in dict.fromkeys(r.method for r in runs):
        rs = [r for r in runs if r.method == method]
        xs = sorted(set.intersection(*(set(n for n, _ in r.curve) for r in rs)))
        out[method] = [(n, float(np.mean([dict(r.curve)[n] for r in rs]))) for n in xs]
    return out
