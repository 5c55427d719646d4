"""Replay: a painting's actions laid in order with a renderer or a neural painter."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import painters
from painters.compositing import over_numpy, to_uint8
from painters.renderers import get_renderer

pytestmark = pytest.mark.usefixtures("one_thread")


def test_replay_with_the_simple_renderer_matches_manual_compositing() -> None:
    acts = painters.random_actions(5, rng=0)
    img = painters.replay(acts, "simple", size=64, seed=0)
    canvas = np.ones((64, 64, 3), np.float32)
    for s in get_renderer("simple", 64).render(acts):
        canvas = over_numpy(canvas, s)
    assert img.shape == (64, 64, 3) and img.dtype == np.uint8
    assert np.abs(img.astype(int) - to_uint8(canvas).astype(int)).max() <= 1


def test_replay_with_mypaint_is_deterministic_at_any_size(need_mypaint) -> None:
    acts = painters.random_actions(4, rng=1)
    a = painters.replay(acts, "mypaint", size=96, seed=3)
    b = painters.replay(acts, "mypaint", size=96, seed=3)
    assert a.shape == (96, 96, 3) and np.array_equal(a, b)
    assert (a < 250).any(), "strokes must show on the white canvas"


def test_replay_with_a_neural_painter() -> None:
    painter = painters.load_painter("default")
    acts = painters.random_actions(6, rng=2)
    img = painters.replay(acts, painter, size=64, background=(0, 0, 0))
    assert img.shape == (64, 64, 3) and img.dtype == np.uint8
    assert img.any(), "strokes must show on the black canvas"
    # the same as laying the painter's strokes with torch "over" ourselves
    with torch.no_grad():
        strokes = painter(torch.from_numpy(acts))
    canvas = torch.zeros(1, 3, 64, 64)
    for s in strokes:
        canvas = painters.over(canvas, s[None])
    assert np.abs(img.astype(int) - to_uint8(canvas[0]).astype(int)).max() <= 1


def test_replay_errors() -> None:
    painter = painters.load_painter("default")
    with pytest.raises(ValueError, match="size=64"):
        painters.replay(painters.random_actions(1, rng=0), painter, size=128)
    with pytest.raises(ValueError, match="unknown renderer"):
        painters.replay(painters.random_actions(1, rng=0), "oil")
    with pytest.raises(ValueError, match="shape"):
        painters.replay(np.zeros((2, 5)), "simple")


def test_empty_painting_is_the_background() -> None:
    img = painters.replay(np.zeros((0, 12), np.float32), "simple", size=32, background=(10, 20, 30))
    assert np.all(img == np.array([10, 20, 30], np.uint8))
