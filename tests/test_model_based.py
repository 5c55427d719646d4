"""The spatial actor and the long, resumable model-based agent training."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest
import torch

from agents.rl.model_based import ModelBasedRun, RunConfig
from agents.rl.spatial import MAX_OFFSET, SpatialPainter


def _space(size: int = 64) -> gym.spaces.Dict:
    img = gym.spaces.Box(0, 255, (3, size, size), np.uint8)
    return gym.spaces.Dict(
        {"canvas": img, "target": img, "step": gym.spaces.Box(0, 1, (1,), np.float32)}
    )


def _tiny(**kw) -> RunConfig:
    base = dict(
        max_strokes=4,
        strokes_per_step=2,
        channels=(8, 8),
        blocks=(0, 1),
        hidden=16,
        batch_size=2,
        photo_fraction=0.5,
        procedural_fraction=0.0,
        warmup_steps=1,
        total_steps=10,
        val_every=2,
        ckpt_every=2,
    )
    base.update(kw)
    return RunConfig(**base)


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


def test_run_resumes_exactly_and_packages_a_loadable_agent(tmp_path, one_thread):
    straight = ModelBasedRun(tmp_path / "a", _tiny())
    straight.run(steps=4, progress=False)

    first = ModelBasedRun(tmp_path / "b", _tiny())
    first.run(steps=2, progress=False)
    resumed = ModelBasedRun(tmp_path / "b", _tiny())
    assert resumed.step == 2
    resumed.run(steps=2, progress=False)

    for (name, a), (_, b) in zip(
        straight.actor.state_dict().items(), resumed.actor.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name

    from agents.rl.loading import load_agent

    model = load_agent(tmp_path / "b" / "best")
    assert model.env_kwargs == {"size": 64, "max_strokes": 4, "strokes_per_step": 2}
    env = gym.make("Painting-v0", target=np.full((64, 64, 3), 90, np.uint8), **model.env_kwargs)
    obs, _ = env.reset(seed=0)
    action, _ = model.predict(obs, deterministic=True)
    assert action.shape == (24,) and np.all(np.abs(action) <= 1)
    meta = json.loads((tmp_path / "b" / "best" / "agent.json").read_text())
    assert meta["hyperparams"]["policy_kwargs"]["features_extractor_class"] == "SpatialPainter"


def test_resume_refuses_another_configuration(tmp_path, one_thread):
    ModelBasedRun(tmp_path / "r", _tiny()).run(steps=1, progress=False)
    with pytest.raises(ValueError, match="another configuration"):
        ModelBasedRun(tmp_path / "r", _tiny(hidden=32))


def test_truncated_checkpoint_gives_a_clear_error(tmp_path, one_thread):
    ModelBasedRun(tmp_path / "t", _tiny()).run(steps=1, progress=False)
    ckpt = tmp_path / "t" / "checkpoint" / "actor.safetensors"
    ckpt.write_bytes(ckpt.read_bytes()[:100])
    with pytest.raises(RuntimeError, match="cannot resume"):
        ModelBasedRun(tmp_path / "t", _tiny())


def test_init_from_starts_a_new_run_from_an_agent(tmp_path, one_thread):
    ModelBasedRun(tmp_path / "src", _tiny()).run(steps=2, progress=False)
    src = ModelBasedRun(tmp_path / "src", _tiny())
    warm = ModelBasedRun(tmp_path / "warm", _tiny(), init_from=str(tmp_path / "src" / "best"))
    assert warm.step == 0
    best = json.loads((tmp_path / "src" / "best" / "agent.json").read_text())
    from agents.rl.loading import load_agent

    ref = load_agent(tmp_path / "src" / "best").policy.actor.state_dict()
    for k, v in warm.actor.state_dict().items():
        assert torch.equal(v, ref[k]), k
    assert best["through_painter_steps"] == 2 and src.step == 2
    warm.run(steps=2, progress=False)
    meta = json.loads((tmp_path / "warm" / "best" / "agent.json").read_text())
    assert meta["init_from"] == str(tmp_path / "src" / "best")
    with pytest.raises(ValueError, match="another architecture"):
        ModelBasedRun(tmp_path / "w2", _tiny(hidden=32), init_from=str(tmp_path / "src" / "best"))
