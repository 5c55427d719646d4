"""Compositing maths: "over", stroke order, numpy/torch agreement, gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from painters.compositing import (
    blank_canvas,
    from_uint8,
    on_background,
    over,
    over_numpy,
    over_sequence,
    to_uint8,
)


def stroke(rgb, alpha, size=4) -> torch.Tensor:
    s = torch.empty(1, 4, size, size)
    s[:, :3] = torch.tensor(rgb, dtype=torch.float32).view(1, 3, 1, 1)
    s[:, 3] = alpha
    return s


def test_blank_canvas_is_the_background() -> None:
    c = blank_canvas(2, (3, 5), (255, 0, 51))
    assert c.shape == (2, 3, 3, 5)
    torch.testing.assert_close(c[1, :, 0, 0], torch.tensor([1.0, 0.0, 0.2]))


def test_over_formula() -> None:
    canvas = blank_canvas(1, 4)
    out = over(canvas, stroke((1.0, 0.0, 0.0), 0.25))
    torch.testing.assert_close(out[0, :, 0, 0], torch.tensor([1.0, 0.75, 0.75]))
    assert torch.equal(over(canvas, stroke((0.0, 0.0, 0.0), 0.0)), canvas)
    opaque = over(canvas, stroke((0.0, 0.5, 0.0), 1.0))
    torch.testing.assert_close(opaque[0, :, 2, 2], torch.tensor([0.0, 0.5, 0.0]))


def test_sequence_order_matters_and_matches_repeated_over() -> None:
    red, blue = stroke((1.0, 0.0, 0.0), 1.0), stroke((0.0, 0.0, 1.0), 0.5)
    canvas = blank_canvas(1, 4)
    seq = over_sequence(canvas, torch.stack([red, blue], 1))
    torch.testing.assert_close(seq, over(over(canvas, red), blue))
    torch.testing.assert_close(seq[0, :, 0, 0], torch.tensor([0.5, 0.0, 0.5]))
    rev = over_sequence(canvas, torch.stack([blue, red], 1))
    torch.testing.assert_close(rev[0, :, 0, 0], torch.tensor([1.0, 0.0, 0.0]))


def test_numpy_and_torch_agree() -> None:
    rng = np.random.default_rng(0)
    canvas = rng.random((8, 8, 3), dtype=np.float32)
    s8 = rng.integers(0, 256, (8, 8, 4), dtype=np.uint8)
    ref = over(torch.from_numpy(canvas).permute(2, 0, 1)[None], from_uint8(s8)[None])
    np.testing.assert_allclose(over_numpy(canvas, s8), ref[0].permute(1, 2, 0).numpy(), atol=1e-6)
    alone = on_background(s8[None])[0]
    white = over_numpy(np.ones((8, 8, 3), np.float32), s8)
    assert np.abs(alone.astype(int) - to_uint8(white).astype(int)).max() <= 1


def test_uint8_round_trip() -> None:
    img = np.random.default_rng(1).integers(0, 256, (2, 5, 6, 3), dtype=np.uint8)
    t = from_uint8(img)
    assert t.shape == (2, 3, 5, 6) and t.dtype == torch.float32
    assert np.array_equal(to_uint8(t), img)


def test_over_is_differentiable() -> None:
    s = stroke((0.2, 0.4, 0.6), 0.5).requires_grad_(True)
    out = over(blank_canvas(1, 4), s)
    out.sum().backward()
    assert s.grad is not None and torch.all(torch.isfinite(s.grad))
    assert s.grad[:, 3].abs().sum() > 0


@pytest.mark.parametrize("background", [(0, 0, 0), (255, 255, 255)])
def test_transparent_stroke_leaves_background(background) -> None:
    s = np.zeros((1, 4, 4, 4), np.uint8)
    s[..., :3] = 200
    assert np.all(on_background(s, background) == np.array(background, np.uint8))
