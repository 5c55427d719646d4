"""The real-brush fit of the gradient painter: it lowers the real re-render's error, and it is
never dropped silently (a mistyped brush is an error; only a missing libmypaint skips it)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from conftest import needs_mypaint

import painters
from agents.gradient import GradientConfig, paint_images

CFG = dict(strokes=12, groups=1, steps=10, refine_steps=10, finish_steps=60)


def _target() -> np.ndarray:
    """Four flat colour quadrants: easy for strokes, unforgiving of the real brush's texture."""
    img = np.empty((64, 64, 3), np.uint8)
    img[:32, :32], img[:32, 32:] = (200, 40, 30), (30, 90, 200)
    img[32:, :32], img[32:, 32:] = (240, 200, 40), (40, 140, 60)
    return img


def _real_and_neural_mse(painter, target: np.ndarray, real_seed: int | None) -> tuple[float, float]:
    p = paint_images(painter, [target], GradientConfig(**CFG), real_seed=real_seed)[0]
    real = painters.render(p, "mypaint", seed=0)  # the re-render paint.py makes, same seed

    def mse(im: np.ndarray) -> float:
        return float(np.mean((im / 255.0 - target / 255.0) ** 2))

    return mse(real), mse(p.canvas)


@needs_mypaint
@pytest.mark.usefixtures("one_thread")
def test_real_brush_fit_lowers_real_over_neural_mse() -> None:
    painter = painters.load_painter("default")
    target = _target()
    real0, neural0 = _real_and_neural_mse(painter, target, None)
    real1, neural1 = _real_and_neural_mse(painter, target, 0)
    # measured: real 0.0223 -> 0.0185, real/neural 1.58 -> 1.43
    assert real1 < 0.9 * real0, (real1, real0)
    assert real1 / neural1 < 0.95 * real0 / neural0, (real1 / neural1, real0 / neural0)


@needs_mypaint
@pytest.mark.usefixtures("one_thread")
def test_mistyped_brush_is_an_error_not_a_silent_skip() -> None:
    painter = painters.load_painter("default")
    cfg = GradientConfig(strokes=2, groups=1, steps=1, refine_steps=1, brush="classic/dry_brsh")
    with pytest.raises(ValueError, match="unknown brush"):
        paint_images(painter, [_target()], cfg, real_seed=0)


def test_missing_libmypaint_skips_the_fit_with_a_warning(monkeypatch) -> None:
    from painters.renderers import mypaint

    def missing(*_a, **_k):
        raise mypaint.MyPaintUnavailable("libmypaint not found; apt-get install libmypaint")

    monkeypatch.setattr(mypaint, "MyPaintRenderer", missing)
    torch.set_num_threads(1)
    painter = painters.load_painter("default")
    cfg = GradientConfig(strokes=2, groups=1, steps=1, refine_steps=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        p = paint_images(painter, [_target()], cfg, real_seed=0)[0]
    assert len(p.actions) == 2
    assert any("real-brush fit skipped" in str(w.message) for w in caught)
