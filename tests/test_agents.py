"""SB3 painting agents: features extractor, hyperparameters, tiny training runs, checkpoints,
TensorBoard image summaries, resume and load_agent."""

from __future__ import annotations

import glob
import json

import gymnasium as gym
import numpy as np
import pytest
import torch

from agents.rl import (
    PaintingCNN,
    fit_to_budget,
    load_agent,
    load_hyperparams,
    make_env,
    package_agent,
    painting_grid,
    parse_overrides,
    train,
)

# Tiny config: 32 px canvases, 4-stroke episodes, a 1-layer CNN, small nets and batches.
ENV_KWARGS = {"size": 32, "max_strokes": 4, "strokes_per_step": 2}
TINY = {
    "batch_size": 16,
    "gradient_steps": 1,
    "policy_kwargs": {
        "net_arch": [16],
        "features_extractor_kwargs": {"features_dim": 16, "cnn_channels": [4], "downsample": 4},
    },
}
TINY_PPO = {
    "batch_size": 16,
    "n_epochs": 1,
    "policy_kwargs": TINY["policy_kwargs"],
}


def _train(algo: str, out, steps: int = 96, overrides=None, **kw):
    torch.set_num_threads(1)
    return train(
        algo,
        out,
        total_timesteps=steps,
        n_envs=4,
        seed=0,
        device="cpu",
        env_kwargs=ENV_KWARGS,
        overrides=overrides or (TINY_PPO if algo == "ppo" else TINY),
        progress_bar=False,
        image_freq=10_000,
        eval_freq=10_000,
        **{"checkpoint_freq": 10_000, **kw},
    )


def _obs_space(size: int = 32, channel_first: bool = False) -> gym.spaces.Dict:
    shape = (3, size, size) if channel_first else (size, size, 3)
    img = gym.spaces.Box(0, 255, shape, np.uint8)
    return gym.spaces.Dict(canvas=img, target=img, step=gym.spaces.Box(0.0, 1.0, (1,), np.float32))


def test_features_extractor_hwc_and_chw_agree():
    torch.manual_seed(0)
    hwc = PaintingCNN(_obs_space(), features_dim=8, cnn_channels=(4, 4), downsample=2)
    chw = PaintingCNN(
        _obs_space(channel_first=True), features_dim=8, cnn_channels=(4, 4), downsample=2
    )
    chw.load_state_dict(hwc.state_dict())
    rng = np.random.default_rng(0)
    canvas = torch.from_numpy(rng.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8))
    target = torch.from_numpy(rng.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8))
    step = torch.tensor([[0.0], [0.5]])
    a = hwc({"canvas": canvas, "target": target, "step": step})
    b = chw(
        {"canvas": canvas.permute(0, 3, 1, 2), "target": target.permute(0, 3, 1, 2), "step": step}
    )
    assert a.shape == (2, 8)
    torch.testing.assert_close(a, b)
    # the features depend on the target (a blind extractor would not)
    c = hwc({"canvas": canvas, "target": 255 - target, "step": step})
    assert not torch.allclose(a, c)


def test_features_extractor_compact_and_bad_spaces():
    compact = gym.spaces.Box(0, 255, (7, 32, 32), np.uint8)
    fe = PaintingCNN(compact, features_dim=8, cnn_channels=(4,), downsample=4)
    assert fe(torch.zeros(3, 7, 32, 32, dtype=torch.uint8)).shape == (3, 8)
    with pytest.raises(ValueError, match="canvas"):
        PaintingCNN(gym.spaces.Dict(x=gym.spaces.Box(0, 255, (32, 32, 3), np.uint8)))
    with pytest.raises(ValueError, match="downsample"):
        PaintingCNN(_obs_space(), downsample=5)


def test_hyperparams_files_and_overrides():
    for algo in ("sac", "td3", "ppo"):
        hp = load_hyperparams(algo)
        assert hp["policy"] == "MultiInputPolicy" and hp["n_envs"] >= 1
        assert "features_extractor_kwargs" in hp["policy_kwargs"]
    hp = load_hyperparams(
        "sac", overrides=parse_overrides(["batch_size=7", "policy_kwargs.net_arch=[8, 8]"])
    )
    assert hp["batch_size"] == 7 and hp["policy_kwargs"]["net_arch"] == [8, 8]
    assert "features_extractor_kwargs" in hp["policy_kwargs"]  # nested merge keeps siblings
    with pytest.raises(ValueError, match="algorithm"):
        load_hyperparams("dqn")
    with pytest.raises(ValueError, match="key=value"):
        parse_overrides(["batch_size"])


def test_fit_to_budget_fits_the_smoke_test():
    sac = fit_to_budget("sac", load_hyperparams("sac"), 256, 2)
    assert sac["learning_starts"] <= 64 and sac["buffer_size"] <= 258
    ppo = fit_to_budget("ppo", load_hyperparams("ppo"), 256, 2)
    assert ppo["n_steps"] * 2 <= 256 and ppo["batch_size"] <= ppo["n_steps"] * 2


def test_painting_grid_layout():
    target = np.zeros((8, 8, 3), np.uint8)
    frames = [np.full((8, 8, 3), i, np.uint8) for i in range(20)]
    grid = painting_grid(target, frames, max_frames=5, scale=1, gap=2)
    assert grid.shape == (8 + 2 + 8, 5 * 8 + 4 * 2, 3)
    assert grid[0, 10, 0] == 19  # top row: target | final canvas
    with pytest.raises(ValueError):
        painting_grid(target, [])


def _image_tags(out) -> dict:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    files = glob.glob(str(out / "tb" / "*" / "events.out.tfevents.*"))
    assert files, "no TensorBoard event file"
    tags = {"images": [], "scalars": []}
    for f in files:
        ea = EventAccumulator(f, size_guidance={"images": 0})
        ea.Reload()
        tags["images"] += ea.Tags()["images"]
        tags["scalars"] += ea.Tags()["scalars"]
        if "images/painting" in ea.Tags()["images"]:
            img = ea.Images("images/painting")[-1]
            tags["image_size"] = (img.height, img.width)
    return tags


@pytest.mark.parametrize("algo", ["sac", "td3", "ppo"])
def test_train_save_load_predict(algo, tmp_path, monkeypatch):
    out = tmp_path / algo
    model = _train(algo, out)
    assert model.num_timesteps >= 96
    for name in ("model.zip", "env_kwargs.json", "agent.json", "checkpoints/latest.zip"):
        assert (out / name).is_file(), name
    if algo != "ppo":
        assert (out / "checkpoints" / "latest_replay_buffer.npz").is_file()
    assert json.loads((out / "env_kwargs.json").read_text()) == ENV_KWARGS
    summary = json.loads((out / "agent.json").read_text())
    assert summary["algo"] == algo and summary["last_session"]["steps_per_s"] > 0

    import stable_baselines3.common.save_util as save_util

    def no_unpickling(*args, **kwargs):
        raise AssertionError("load_agent must not unpickle")

    monkeypatch.setattr(save_util.cloudpickle, "loads", no_unpickling)
    agent = load_agent(out)
    assert agent.env_kwargs == ENV_KWARGS
    env = make_env(target=np.zeros((40, 50, 3), np.uint8), **agent.env_kwargs)
    obs, _ = env.reset(seed=0)
    action, _ = agent.predict(obs, deterministic=True)
    assert action.shape == env.action_space.shape
    assert np.all(np.abs(action) <= 1.0 + 1e-6)
    # the saved policy is the trained one: same predictions before and after the round trip
    np.testing.assert_allclose(action, model.predict(obs, deterministic=True)[0], atol=1e-5)

    tags = _image_tags(out)
    assert "images/painting" in tags["images"]
    assert "painting/final_distance" in tags["scalars"]
    assert tags["image_size"][0] > 32


def test_resume_continues_from_checkpoint(tmp_path):
    out = tmp_path / "ppo"
    _train("ppo", out, steps=32)
    model = _train("ppo", out, steps=64, resume=True)
    assert model.num_timesteps == 64
    summary = json.loads((out / "agent.json").read_text())
    assert len(summary["sessions"]) == 2
    # packaged like the bundled default: loads from the new folder, image paths reduced to names
    pkg = package_agent(out, tmp_path / "pkg", {"note": "test"})
    meta = json.loads((pkg / "agent.json").read_text())
    assert meta["note"] == "test" and all("/" not in t for t in meta["train_targets"])
    agent = load_agent(pkg)
    assert agent.num_timesteps == 64 and agent.env_kwargs == ENV_KWARGS


def test_load_agent_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no agent"):
        load_agent(tmp_path / "missing")


def test_bundled_default_agent_paints():
    agent = load_agent("default")
    assert agent.env_kwargs["strokes_per_step"] >= 1 and "target" not in agent.env_kwargs
    y, x = np.mgrid[0:64, 0:64]
    target = np.stack([x * 4, y * 4, np.full_like(x, 128)], -1).astype(np.uint8)
    env = make_env(target=target, **agent.env_kwargs)
    obs, info = env.reset(seed=0)
    white, done = info["distance"], False
    while not done:
        obs, _, terminated, truncated, info = env.step(agent.predict(obs, deterministic=True)[0])
        done = terminated or truncated
    assert info["distance"] < white  # it paints towards the target, not away from it


def test_init_from_warm_starts_a_new_run(tmp_path):
    from agents.rl.building import make_vec_env
    from agents.rl.training import build_model, load_hyperparams, warm_start

    _train("sac", tmp_path / "a", steps=64)
    src = load_agent(package_agent(tmp_path / "a", tmp_path / "pkg", {}))
    hp = load_hyperparams("sac", None, {**TINY, "learning_rate": 1e-4})
    fresh = build_model("sac", make_vec_env(2, seed=1, **ENV_KWARGS), hp, seed=1, device="cpu")
    warm_start(fresh, tmp_path / "pkg")
    a, b = src.policy.state_dict(), fresh.policy.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert torch.equal(src.log_ent_coef, fresh.log_ent_coef)
    assert fresh.lr_schedule(1.0) == pytest.approx(1e-4)  # the new run's hyperparameters
    model = _train("sac", tmp_path / "b", steps=16, init_from=tmp_path / "pkg")
    meta = json.loads((tmp_path / "b" / "agent.json").read_text())
    assert meta["hyperparams"]["init_from"] == str(tmp_path / "pkg")
    assert model.num_timesteps == 16
    with pytest.raises(ValueError, match="train it with --algo sac"):
        _train("td3", tmp_path / "c", steps=8, init_from=tmp_path / "pkg")
    small = {**TINY, "policy_kwargs": {**TINY["policy_kwargs"], "net_arch": [8]}}
    with pytest.raises(ValueError, match="networks differ"):
        _train("sac", tmp_path / "d", steps=8, init_from=tmp_path / "pkg", overrides=small)


def test_kept_checkpoints_average_into_a_loadable_agent(tmp_path):
    from agents.rl.averaging import average_checkpoints, main

    out = tmp_path / "sac"
    _train("sac", out, steps=64, checkpoint_freq=16, keep_checkpoints=2)
    kept = sorted((out / "checkpoints").glob("step_*.zip"))
    assert [p.name for p in kept] == ["step_0000000048.zip", "step_0000000064.zip"]
    average_checkpoints(kept, out / "averaged.zip")
    (out / "avg").mkdir()
    (out / "avg" / "model.zip").write_bytes((out / "averaged.zip").read_bytes())
    for name in ("env_kwargs.json", "agent.json"):
        (out / "avg" / name).write_text((out / name).read_text())
    avg, a, b = (load_agent(p) for p in (out / "avg", kept[0], kept[1]))
    for k, v in avg.policy.state_dict().items():
        if v.is_floating_point():
            mean = (a.policy.state_dict()[k] + b.policy.state_dict()[k]) / 2
            assert torch.allclose(v, mean, atol=1e-6), k
    assert main([str(tmp_path / "x.zip"), str(out / "agent.json")]) == 2  # not a zip: one line
