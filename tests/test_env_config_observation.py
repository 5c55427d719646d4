"""The env's one configuration (PaintingConfig) and its one observation encoder."""

from __future__ import annotations

from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pytest
import torch

import painting_env  # noqa: F401  (registers Painting-v0)
from agents.painting.levels import AgentView
from painting_env.config import MAX_STROKES, PaintingConfig
from painting_env.env import PaintingEnv
from painting_env.observation import (
    CANVAS_CHANNELS,
    STEP_CHANNEL,
    TARGET_CHANNELS,
    encode_observation,
    encode_observation_torch,
)
from painting_env.vector_env import PaintingVectorEnv


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_strokes": 10**12}, "max_strokes must be between 1 and 10,000"),
        ({"max_strokes": 2.5}, "max_strokes must be a whole number"),
        ({"max_strokes": float("nan")}, "max_strokes must be a whole number"),
        ({"strokes_per_step": True}, "strokes_per_step must be a whole number"),
        ({"size": 4}, "size must be between 8"),
        ({"size": 10**6}, "size must be between 8 and 1,024"),
        ({"strokes_per_step": 3, "max_strokes": 4}, "multiple of strokes_per_step"),
        ({"background": (255, 255, 254.5)}, "background must be an (r, g, b) triple"),
        ({"background": (300, 0, 0)}, "background must be an (r, g, b) triple"),
        ({"distance": "psnr"}, "unknown distance 'psnr'"),
        ({"obs_mode": "pixels"}, "unknown obs_mode"),
        ({"render_mode": "rgb"}, "unknown render_mode"),
        ({"random_crop": "yes"}, "random_crop must be"),
    ],
)
def test_bad_settings_fail_early_with_the_limit(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        PaintingConfig(**kwargs)
    with pytest.raises(ValueError):
        gym.make("Painting-v0", **kwargs)


def test_config_defaults_are_normalised_and_shared_by_both_envs():
    cfg = PaintingConfig(strokes_per_step=3, background=np.array([1, 2, 3]), size=32)
    assert cfg.max_strokes == 51 and cfg.background == (1, 2, 3)
    assert PaintingConfig(max_strokes=MAX_STROKES).max_strokes == MAX_STROKES
    env = PaintingEnv(cfg)
    venv = PaintingVectorEnv(2, cfg)
    assert env.config is cfg and venv.config is cfg
    assert env.observation_space == venv.single_observation_space
    assert env.observation_space["canvas"].shape == (32, 32, 3)
    assert venv.device.type == "cpu"  # the config's device, not the vector env's "auto"
    with pytest.raises(TypeError, match="sise"):
        PaintingEnv(sise=32)
    v = gym.make_vec("Painting-v0", num_envs=3, vectorization_mode="vector_entry_point", size=16)
    assert v.unwrapped.config.size == 16 and v.num_envs == 3


def test_env_observation_is_the_encoder_applied_to_its_state():
    for mode in ("dict", "compact"):
        env = PaintingEnv(obs_mode=mode, max_strokes=4)
        env.reset(seed=0)
        obs, *_ = env.step(np.full(12, 0.3, np.float32))
        core = env.unwrapped.core
        want = encode_observation(core.canvas, core.target_u8, np.array([0.25]), mode)
        if mode == "dict":
            for key in ("canvas", "target", "step"):
                np.testing.assert_array_equal(obs[key], want[key][0])
        else:
            np.testing.assert_array_equal(obs, want[0])
            assert obs[STEP_CHANNEL].min() == obs[STEP_CHANNEL].max() == 64  # round(0.25 · 255)
            np.testing.assert_array_equal(
                obs[TARGET_CHANNELS].transpose(1, 2, 0), core.target_u8[0]
            )


def _fake_agent(space: gym.Space, **env_kwargs) -> SimpleNamespace:
    return SimpleNamespace(
        predict=None,
        observation_space=space,
        action_space=gym.spaces.Box(-1, 1, (12,), np.float32),
        env_kwargs=env_kwargs,
    )


@pytest.mark.parametrize("mode", ["dict", "compact"])
def test_agent_painting_sees_exactly_the_env_observation(mode):
    env = PaintingEnv(obs_mode=mode, max_strokes=10)
    obs, _ = env.reset(seed=1)
    for a in np.random.default_rng(0).uniform(-1, 1, (3, 12)).astype(np.float32):
        obs, *_ = env.step(a)
    core = env.unwrapped.core
    view = AgentView(_fake_agent(env.observation_space, obs_mode=mode, max_strokes=10))
    seen = view.observe(core.canvas, core.target_u8, np.array([0.3]))
    if mode == "dict":
        for key in obs:
            np.testing.assert_array_equal(seen[key][0], obs[key])
    else:
        np.testing.assert_array_equal(seen[0], obs)


@pytest.mark.parametrize("mode", ["dict", "compact"])
@pytest.mark.parametrize("channel_first", [False, True])
@pytest.mark.parametrize("with_step", [False, True])
def test_torch_encoder_matches_the_numpy_one(mode, channel_first, with_step):
    g = torch.Generator().manual_seed(0)
    canvas = torch.rand(2, 3, 8, 8, generator=g)
    target_u8 = (torch.rand(2, 8, 8, 3, generator=g) * 255).round().to(torch.uint8).numpy()
    target = torch.from_numpy(target_u8).permute(0, 3, 1, 2).float() / 255.0
    step = np.array([0.5, 0.25], np.float32) if with_step else None
    want = encode_observation(canvas, target_u8, step, mode, channel_first=channel_first)
    got = encode_observation_torch(
        canvas, target, None if step is None else torch.from_numpy(step), mode,
        channel_first=channel_first,
    )  # fmt: skip
    if mode == "dict":
        assert (
            set(got)
            == set(want)
            == ({"canvas", "target", "step"} if with_step else {"canvas", "target"})
        )
        for key in want:
            np.testing.assert_array_equal(got[key].numpy(), want[key])
    else:
        np.testing.assert_array_equal(got.numpy(), want)
        planes = want if channel_first else want.transpose(0, 3, 1, 2)
        np.testing.assert_array_equal(planes[:, CANVAS_CHANNELS].transpose(0, 2, 3, 1),
                                      (canvas.permute(0, 2, 3, 1) * 255).round().numpy())  # fmt: skip
