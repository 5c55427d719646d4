"""Painting-v0 with several brushes: 12 + K action values a stroke, the largest picks the brush."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from conftest import needs_mypaint
from gymnasium.utils.env_checker import check_env

import painting_env  # noqa: F401  (registers Painting-v0)
from painters import load_painter
from painters.actions import from_env_action
from painting_env import PaintingVectorEnv

BRUSHES = ["classic/dry_brush", "classic/pen"]


def _action(rng: np.random.Generator, brush: int) -> np.ndarray:
    a = rng.uniform(-1, 1, 14).astype(np.float32)
    a[12:] = -0.5
    a[12 + brush] = 0.5
    return a


def test_action_space_has_one_value_per_brush():
    env = gym.make("Painting-v0", brushes=BRUSHES, max_strokes=4)
    assert env.action_space.shape == (14,)
    k2 = gym.make("Painting-v0", brushes=BRUSHES, strokes_per_step=2, max_strokes=4)
    assert k2.action_space.shape == (28,)
    assert gym.make("Painting-v0").action_space.shape == (12,)


def test_each_stroke_is_drawn_by_its_brush_painter():
    rng = np.random.default_rng(3)
    env = gym.make("Painting-v0", brushes=BRUSHES, max_strokes=4)
    env.reset(seed=1)
    blank = env.unwrapped.canvas.clone()
    pen = load_painter("classic/pen")
    a = _action(rng, 1)
    env.step(a)
    assert env.unwrapped.stroke_brushes() == ["classic/pen"]
    stroke = torch.from_numpy(from_env_action(a[:12]))
    with torch.no_grad():
        rgba = pen(stroke)
    want = blank * (1 - rgba[:, 3:]) + rgba[:, :3] * rgba[:, 3:]
    assert torch.allclose(env.unwrapped.canvas, want, atol=1e-5)
    # the same stroke with the dry brush paints a different canvas
    env.reset(seed=1)
    b = a.copy()
    b[12:] = [0.5, -0.5]
    env.step(b)
    assert env.unwrapped.stroke_brushes() == ["classic/dry_brush"]
    assert (env.unwrapped.canvas - want).abs().max() > 0.05


def test_both_brushes_in_one_episode_and_determinism():
    def run():
        rng = np.random.default_rng(0)
        env = gym.make("Painting-v0", brushes=BRUSHES, max_strokes=6)
        env.reset(seed=5)
        rewards = [env.step(_action(rng, i % 2))[1] for i in range(6)]
        return rewards, env.unwrapped.stroke_brushes(), env.unwrapped.painting()

    r1, b1, p1 = run()
    r2, b2, p2 = run()
    assert b1 == ["classic/dry_brush", "classic/pen"] * 3
    assert r1 == r2 and b1 == b2 and np.array_equal(p1, p2)
    assert p1.shape == (6, 12)


def test_vector_env_matches_single_env():
    rng = np.random.default_rng(1)
    acts = np.stack([_action(rng, 1), _action(rng, 0)])
    venv = PaintingVectorEnv(2, brushes=BRUSHES, max_strokes=4)
    venv.reset(seed=[7, 8])
    vr = venv.step(acts)[1]
    env = gym.make("Painting-v0", brushes=BRUSHES, max_strokes=4)
    env.reset(seed=8)
    assert env.step(acts[1])[1] == pytest.approx(vr[1], abs=1e-6)
    assert venv.stroke_brushes(0) == ["classic/pen"]
    assert venv.stroke_brushes(1) == ["classic/dry_brush"]


def test_check_env_passes():
    check_env(gym.make("Painting-v0", brushes=BRUSHES, max_strokes=4).unwrapped)


@needs_mypaint
def test_mypaint_steps_with_either_brush():
    rng = np.random.default_rng(2)
    env = gym.make("Painting-v0", brushes=BRUSHES, renderer="mypaint", max_strokes=2)
    env.reset(seed=0)
    env.step(_action(rng, 0))
    env.step(_action(rng, 1))
    assert env.unwrapped.stroke_brushes() == BRUSHES


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"brushes": ["classic/nope"]}, "no bundled painter"),
        ({"brushes": []}, "non-empty"),
        ({"brushes": BRUSHES * 2}, "repeat"),
        ({"brushes": BRUSHES, "renderer": "simple"}, "renderer"),
    ],
)
def test_bad_brushes_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gym.make("Painting-v0", **kwargs)


def test_wrong_action_length_and_nan_are_refused():
    env = gym.make("Painting-v0", brushes=BRUSHES, max_strokes=4)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="14 numbers"):
        env.step(np.zeros(12, np.float32))
    bad = np.zeros(14, np.float32)
    bad[13] = np.nan
    with pytest.raises(ValueError, match="finite"):
        env.step(bad)
