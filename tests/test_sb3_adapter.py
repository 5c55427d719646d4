"""The SB3 VecEnv adapter over the batched env: conventions, and SB3 trains on it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from painting_env.sb3 import PaintingSB3VecEnv, make_sb3_vec_env
from painting_env.vector_env import PaintingVectorEnv

torch.set_num_threads(1)


def test_adapter_follows_sb3_autoreset_conventions():
    env = PaintingSB3VecEnv(PaintingVectorEnv(3, device="cpu", max_strokes=2))
    env.seed(4)
    obs = env.reset()
    assert obs["canvas"].shape == (3, 64, 64, 3)
    assert env.reset_infos[0]["distance"] > 0
    actions = np.stack([env.action_space.sample() for _ in range(3)])
    _, rewards, dones, infos = env.step(actions)
    assert rewards.shape == (3,) and not dones.any() and len(infos) == 3
    assert all("terminal_observation" not in info for info in infos)
    obs, rewards, dones, infos = env.step(actions)
    assert dones.all()
    for i, info in enumerate(infos):
        assert info["TimeLimit.truncated"] is True
        assert info["terminal_observation"]["step"][0] == pytest.approx(1.0)
        assert info["distance"] != env.reset_infos[i]["distance"]
    assert (obs["step"] == 0).all()
    assert env.get_attr("max_strokes") == [2, 2, 2]
    assert env.get_attr("render_mode", indices=1) == [None]
    assert env.env_is_wrapped(object) == [False] * 3
    with pytest.raises(ValueError, match="all envs"):
        env.set_attr("max_strokes", 4, indices=[0])


def test_seeded_adapters_are_deterministic():
    def run():
        env = make_sb3_vec_env(2, seed=3, device="cpu", max_strokes=3, monitor=False)
        env.reset()
        env.step(np.full((2, 12), 0.3, np.float32))
        return env.step(np.full((2, 12), -0.2, np.float32))

    (oa, ra, _, _), (ob, rb, _, _) = run(), run()
    np.testing.assert_array_equal(oa["canvas"], ob["canvas"])
    np.testing.assert_array_equal(ra, rb)


def test_ppo_learns_on_the_batched_env():
    from stable_baselines3 import PPO

    env = make_sb3_vec_env(4, seed=0, device="cpu", max_strokes=8)
    model = PPO("MultiInputPolicy", env, n_steps=16, batch_size=32, n_epochs=1, seed=0,
                device="cpu")  # fmt: skip
    model.learn(total_timesteps=64)
    assert model.num_timesteps == 64
    # VecMonitor saw the 8-stroke episodes end
    assert len(model.ep_info_buffer) == 4 * 2 and model.ep_info_buffer[0]["l"] == 8


def test_sac_with_compact_obs_and_memory_optimised_buffer():
    from stable_baselines3 import SAC

    env = make_sb3_vec_env(2, seed=0, device="cpu", max_strokes=4, obs_mode="compact")
    model = SAC(
        "CnnPolicy", env, buffer_size=200, batch_size=8, learning_starts=32, seed=0,
        device="cpu", optimize_memory_usage=True,
        replay_buffer_kwargs={"handle_timeout_termination": False},
    )  # fmt: skip
    model.learn(total_timesteps=64)
    assert getattr(model.replay_buffer, "next_observations", None) is None  # no next-obs copy
    assert model.replay_buffer.observations.shape[1:] == (2, 7, 64, 64)
