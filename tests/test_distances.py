"""Distances between canvas and target: values, shapes, gradients, names."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from painters.distances import DISTANCES, get_distance, mse_uint8


@pytest.fixture
def images() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.rand(3, 3, 32, 32, generator=g), torch.rand(3, 3, 32, 32, generator=g)


@pytest.mark.parametrize("name", sorted(DISTANCES))
def test_zero_on_identical_positive_otherwise(name, images) -> None:
    a, b = images
    d = get_distance(name)
    same, diff = d(a, a.clone()), d(a, b)
    assert same.shape == diff.shape == (3,)
    assert torch.all(same.abs() < 1e-5)
    assert torch.all(diff > 1e-3)


@pytest.mark.parametrize("name", sorted(DISTANCES))
def test_gradients_flow_to_the_canvas(name, images) -> None:
    a, b = images
    canvas = a.clone().requires_grad_(True)
    get_distance(name)(canvas, b).sum().backward()
    assert canvas.grad is not None and torch.all(torch.isfinite(canvas.grad))
    assert canvas.grad.abs().sum() > 0


def test_known_values() -> None:
    white, black = torch.ones(1, 3, 8, 8), torch.zeros(1, 3, 8, 8)
    assert get_distance("mse")(white, black).item() == pytest.approx(1.0)
    assert get_distance("l1")(white * 0.5, black).item() == pytest.approx(0.5)
    a = np.zeros((4, 4, 3), np.uint8)
    assert mse_uint8(a, a + 255) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="shape"):
        mse_uint8(a, np.zeros((4, 5, 3), np.uint8))


def test_ssim_works_on_small_images() -> None:
    a = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    assert torch.all(get_distance("ssim")(a, a) < 1e-4)


def test_unknown_distance_names_the_choices() -> None:
    with pytest.raises(ValueError, match="mse"):
        get_distance("psnr")
