"""The hand-written backwards of single-colour compositing and of the mean square error, and
the differentiable env step that uses them: the same values and gradients as the RGBA path."""

from __future__ import annotations

import gymnasium as gym
import pytest
import torch

import painting_env  # noqa: F401  (registers Painting-v0)
from painters.compositing import _OverColourSequence, over, over_colour, over_colour_sequence
from painters.distances import _MSE, mse
from painting_env.torch_rollout import lay_strokes, paint_step


def _double(*shape: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(*shape, dtype=torch.double, generator=g).requires_grad_(True)


@pytest.mark.parametrize("canvases", [3, 1])
def test_over_colour_sequence_gradients_match_finite_differences(monkeypatch, canvases) -> None:
    """Over more canvases than one chunk, a shared canvas (1, 3, H, W) included."""
    monkeypatch.setattr(_OverColourSequence, "chunk", 2)
    canvas = _double(canvases, 3, 5, 4, seed=0)
    colours, alphas = _double(3, 3, 3, seed=1), _double(3, 3, 5, 4, seed=2)
    assert torch.autograd.gradcheck(over_colour_sequence, (canvas, colours, alphas))
    # only some inputs wanting gradients (the canvas of a first step never does)
    assert torch.autograd.gradcheck(
        lambda c, a: over_colour_sequence(canvas.detach(), c, a), (colours, alphas)
    )


def test_over_colour_equals_over_on_rgba_strokes() -> None:
    g = torch.Generator().manual_seed(3)
    canvas = torch.rand(5, 3, 6, 6, generator=g)
    colour, alpha = torch.rand(5, 3, generator=g), torch.rand(5, 1, 6, 6, generator=g)
    rgba = torch.cat([colour[:, :, None, None].expand(5, 3, 6, 6), alpha], 1)
    assert torch.equal(over_colour(canvas, colour, alpha), over(canvas, rgba))
    colour.requires_grad_(True)
    assert torch.equal(over_colour(canvas, colour, alpha), over(canvas, rgba))


def test_mse_gradients_match_finite_differences(monkeypatch) -> None:
    monkeypatch.setattr(_MSE, "chunk", 2)
    canvas, target = _double(5, 3, 4, 4, seed=4), _double(5, 3, 4, 4, seed=5)
    assert torch.autograd.gradcheck(mse, (canvas, target))
    assert torch.autograd.gradcheck(mse, (canvas, _double(1, 3, 4, 4, seed=6)))


def test_mse_with_gradients_has_the_same_values() -> None:
    g = torch.Generator().manual_seed(7)
    canvas, target = torch.rand(40, 3, 16, 16, generator=g), torch.rand(40, 3, 16, 16, generator=g)
    with torch.no_grad():
        want = mse(canvas, target)
    assert torch.equal(mse(canvas.requires_grad_(True), target), want)


def test_differentiable_step_matches_the_rgba_path() -> None:
    """paint_step with gradients lays alpha maps and colours: the same canvas and the same
    gradients to the actions as painting RGBA strokes and laying them with over_sequence."""
    env = gym.make("Painting-v0", max_strokes=16, strokes_per_step=4)
    source = env.unwrapped.core.source
    g = torch.Generator().manual_seed(8)
    action = (torch.rand(3, 48, generator=g) * 2.4 - 1.2).requires_grad_(True)
    canvas = torch.rand(3, 3, 64, 64, generator=g).requires_grad_(True)
    target = torch.rand(3, 3, 64, 64, generator=g)
    out = paint_step(source, canvas, action)
    mse(out, target).sum().backward()
    got = out.detach(), action.grad.clone(), canvas.grad.clone()
    action.grad = canvas.grad = None
    strokes = ((action.clamp(-1, 1) + 1) * 0.5).reshape(-1, 12)
    rgba = source.painter(strokes).view(3, 4, 4, 64, 64)
    ref = lay_strokes(canvas, rgba)
    ((ref - target) ** 2).flatten(1).mean(1).sum().backward()
    torch.testing.assert_close(got[0], ref.detach(), rtol=0, atol=1e-6)
    torch.testing.assert_close(got[1], action.grad, rtol=1e-4, atol=1e-7)
    torch.testing.assert_close(got[2], canvas.grad, rtol=1e-5, atol=1e-9)
