"""The spatial actor of the default agent (its training: tests/test_through_painter.py)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from agents.rl.spatial import MAX_OFFSET, SpatialPainter


def _space(size: int = 64) -> gym.spaces.Dict:
    img = gym.spaces.Box(0, 255, (3, size, size), np.uint8)
    return gym.spaces.Dict(
        {"canvas": img, "target": img, "step": gym.spaces.Box(0, 1, (1,), np.float32)}
    )


def test_spatial_painter_strokes_stay_near_their_anchor():
    torch.manual_seed(0)
    net = SpatialPainter(_space(), strokes_per_step=3, channels=(8, 8), blocks=(0, 1), hidden=16)
    obs = {
        "canvas": torch.full((2, 3, 64, 64), 255.0),
        "target": torch.rand(2, 3, 64, 64) * 255,
        "step": torch.zeros(2, 1),
    }
    pre = net(obs).view(2, 3, 12)
    actions = (torch.tanh(pre) + 1) / 2  # stroke actions in [0, 1]
    assert torch.isfinite(actions).all()
    points = actions[..., [2, 3, 4, 5, 9, 10]].reshape(2, 3, 3, 2)
    spread = (points.max(dim=2).values - points.min(dim=2).values).max()
    assert spread <= 2 * MAX_OFFSET + 1e-4


def test_spatial_painter_colour_starts_at_the_target_colour():
    net = SpatialPainter(_space(), strokes_per_step=2, channels=(8, 8), blocks=(0, 1), hidden=16)
    target = torch.zeros(1, 3, 64, 64)
    target[:, 0] = 200.0  # a flat red target: the colour at any anchor is (200, 0, 0)
    obs = {"canvas": torch.full((1, 3, 64, 64), 255.0), "target": target, "step": torch.zeros(1, 1)}
    colour = ((torch.tanh(net(obs).view(1, 2, 12)) + 1) / 2)[..., 6:9]
    assert torch.allclose(colour[..., 0], torch.tensor(200 / 255), atol=0.08)
    assert (colour[..., 1:] < 0.08).all()


def test_spatial_painter_rejects_compact_observations():
    with pytest.raises(ValueError, match="Dict observation"):
        SpatialPainter(gym.spaces.Box(0, 255, (7, 64, 64), np.uint8))
