"""PaintingVectorEnv: batched spaces, equivalence with N single envs, same-step autoreset."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode

import painting_env  # noqa: F401  (registers Painting-v0)
from painting_env.env import PaintingEnv
from painting_env.vector_env import PaintingVectorEnv

torch.set_num_threads(1)


def test_make_vec_returns_the_batched_env_with_honest_spaces():
    envs = gym.make_vec(
        "Painting-v0", num_envs=3, vectorization_mode="vector_entry_point", device="cpu",
        max_strokes=2,
    )  # fmt: skip
    assert isinstance(envs, PaintingVectorEnv) and envs.num_envs == 3
    assert envs.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    assert envs.single_action_space == gym.spaces.Box(-1.0, 1.0, (12,), np.float32)
    assert envs.action_space.shape == (3, 12)
    assert envs.observation_space["canvas"].shape == (3, 64, 64, 3)
    assert envs.observation_space["step"].shape == (3, 1)
    obs, info = envs.reset(seed=0)
    assert envs.observation_space.contains(obs)
    assert info["distance"].shape == (3,)
    obs, rewards, terminated, truncated, info = envs.step(envs.action_space.sample())
    assert envs.observation_space.contains(obs)
    assert rewards.shape == (3,) and terminated.dtype == bool and truncated.dtype == bool


@pytest.mark.parametrize("strokes_per_step", [1, 2])
def test_sub_env_i_matches_a_single_env_seeded_s_plus_i(strokes_per_step):
    n, seed, steps = 3, 11, 5
    kwargs = dict(max_strokes=2 * strokes_per_step, strokes_per_step=strokes_per_step)
    envs = PaintingVectorEnv(n, device="cpu", **kwargs)
    singles = [PaintingEnv(**kwargs) for _ in range(n)]
    obs, info = envs.reset(seed=seed)
    for i, env in enumerate(singles):
        o, inf = env.reset(seed=seed + i)
        np.testing.assert_array_equal(obs["target"][i], o["target"])
        assert info["distance"][i] == pytest.approx(inf["distance"], abs=1e-7)
    rng = np.random.default_rng(0)
    for _ in range(steps):  # crosses two autoresets
        actions = rng.uniform(-1, 1, envs.action_space.shape).astype(np.float32)
        obs, rewards, _, truncated, info = envs.step(actions)
        for i, env in enumerate(singles):
            o, r, _, tr, inf = env.step(actions[i])
            assert tr == truncated[i]
            assert r == pytest.approx(rewards[i], abs=1e-6)
            if tr:
                final = info["final_obs"][i]
                assert np.abs(final["canvas"].astype(int) - o["canvas"]).max() <= 1
                assert info["final_info"]["distance"][i] == pytest.approx(inf["distance"], abs=1e-6)
                o, inf = env.reset()  # the single env's generator continues, like the sub-env's
            assert np.abs(obs["canvas"][i].astype(int) - o["canvas"]).max() <= 1
            np.testing.assert_array_equal(obs["target"][i], o["target"])
            np.testing.assert_array_equal(obs["step"][i], o["step"])
            assert info["distance"][i] == pytest.approx(inf["distance"], abs=1e-6)


def test_same_step_autoreset_and_final_observation():
    envs = PaintingVectorEnv(2, device="cpu", max_strokes=2)
    envs.reset(seed=0)
    actions = np.tile(np.linspace(-0.9, 0.9, 12, dtype=np.float32), (2, 1))  # a long stroke
    obs, _, _, truncated, info = envs.step(actions)
    assert not truncated.any() and "final_obs" not in info
    obs, rewards, terminated, truncated, info = envs.step(actions)
    assert truncated.all() and not terminated.any()
    assert info["_final_obs"].all() and info["_final_info"].all()
    assert info["final_obs"][0]["step"][0] == pytest.approx(1.0)
    assert (obs["step"] == 0).all()  # the returned observation is the reset one
    white = np.full((64, 64, 3), 255, np.uint8)
    np.testing.assert_array_equal(obs["canvas"][1], white)
    assert not np.array_equal(info["final_obs"][1]["canvas"], white)
    assert info["final_info"]["distance"][0] != info["distance"][0]


def test_per_env_seeds_compact_obs_and_render():
    envs = PaintingVectorEnv(2, device="cpu", obs_mode="compact", render_mode="rgb_array")
    obs, _ = envs.reset(seed=[5, 5])
    assert obs.shape == (2, 7, 64, 64) and obs.dtype == np.uint8
    np.testing.assert_array_equal(obs[0], obs[1])
    obs, *_ = envs.step(np.zeros((2, 12), np.float32))
    assert (obs[:, 6] == round(255 / 50)).all()  # step plane: 1 of 50 strokes
    frames = envs.render()
    assert len(frames) == 2 and frames[0].shape == (64, 128, 3)
    np.testing.assert_array_equal(frames[0][:, :64].transpose(2, 0, 1), obs[0, 3:6])
    with pytest.raises(ValueError, match="one per env"):
        envs.reset(seed=[1, 2, 3])
    with pytest.raises(ValueError, match="NaN or inf"):
        envs.step(np.full((2, 12), np.nan, np.float32))
