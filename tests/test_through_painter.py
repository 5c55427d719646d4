"""ThroughPainter: the SB3 algorithm that learns through the differentiable painter, its run
folders (exact resume, torchrun) and the bundled default agent."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3.common.callbacks import BaseCallback, CheckpointCallback, EvalCallback

import painting_env  # noqa: F401  (registers Painting-v0)
from agents.rl.loading import load_agent
from agents.rl.through_painter import ThroughPainter

ROOT = Path(__file__).resolve().parents[1]
ENV_KWARGS = {"max_strokes": 4, "strokes_per_step": 2}
TINY = {"features_extractor_kwargs": {"channels": [8, 8], "blocks": [0, 1], "hidden": 16}}
TINY_HP = [
    "--hp", "batch_size=2",
    "--hp", "policy_kwargs.features_extractor_kwargs={channels: [8, 8], blocks: [0, 1], hidden: 16}",
    "--env-kwargs", json.dumps(ENV_KWARGS),
]  # fmt: skip


def _model(**kw) -> ThroughPainter:
    env = gym.make(
        "Painting-v0", target=str(ROOT / "painting_env/samples/coffee.jpg"), **ENV_KWARGS
    )
    kw = {"batch_size": 2, "policy_kwargs": TINY, "seed": 0, "device": "cpu", **kw}
    return ThroughPainter("MultiInputPolicy", env, **kw)


def test_rollout_paints_what_the_env_paints(one_thread):
    model = _model()
    env = gym.make(
        "Painting-v0", target=str(ROOT / "painting_env/samples/coffee.jpg"), **ENV_KWARGS
    )
    obs, info = env.reset(seed=0)
    done = False
    while not done:
        action, _ = model.predict(obs, deterministic=True)
        obs, _, term, trunc, info = env.step(action)
        done = term or trunc
    target = torch.from_numpy(obs["target"]).permute(2, 0, 1)[None].float()
    with torch.no_grad():
        dists, canvas = model.rollout(target)
    assert dists.shape == (2, 1)
    assert torch.allclose(canvas, env.unwrapped.canvas, atol=1e-6)
    assert abs(float(dists[-1, 0]) - info["distance"]) < 1e-6


@pytest.mark.parametrize("rule", ["backprop", "critic"])
def test_learn_lowers_the_distance_and_saves_loads_predicts(rule, tmp_path, one_thread):
    model = _model(learning_rule=rule, learning_rate=3e-3, batch_size=4, targets=None)
    before = {k: v.clone() for k, v in model.policy.state_dict().items()}
    model.learn(4 * 2 * 3)
    assert model.num_timesteps == 24 and model._n_updates == 3
    after = model.policy.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    assert (model.policy.critic is not None) == (rule == "critic")
    model.save(tmp_path / "m.zip")
    env = gym.make("Painting-v0", **ENV_KWARGS)
    loaded = ThroughPainter.load(tmp_path / "m.zip", env=env)
    obs, _ = env.reset(seed=1)
    a, _ = model.predict(obs, deterministic=True)
    b, _ = loaded.predict(obs, deterministic=True)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (24,) and np.all(np.abs(a) <= 1)
    loaded.learn(8, reset_num_timesteps=False)  # continues with the saved optimizer state
    assert loaded.num_timesteps == 32


def test_callbacks_stop_checkpoint_evaluate_and_log(tmp_path, one_thread):
    class StopAtTwo(BaseCallback):
        def _on_step(self) -> bool:
            return self.n_calls < 2

    model = _model(tensorboard_log=str(tmp_path / "tb"), image_interval=1)
    eval_env = gym.make("Painting-v0", **ENV_KWARGS)
    callbacks = [
        StopAtTwo(),
        CheckpointCallback(1, str(tmp_path / "ckpt")),
        EvalCallback(eval_env, eval_freq=1, n_eval_episodes=1, log_path=str(tmp_path / "ev")),
    ]
    model.learn(10_000, callback=callbacks, log_interval=1)
    assert model._n_updates == 2  # the callback's False stopped learn()
    assert len(list((tmp_path / "ckpt").glob("*.zip"))) == 2
    assert (tmp_path / "ev" / "evaluations.npz").is_file()
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(next((tmp_path / "tb").iterdir())))
    acc.Reload()
    assert "train/final_distance" in acc.Tags()["scalars"]
    assert "images/painting" in acc.Tags()["images"]


def test_set_env_and_bad_arguments(one_thread):
    model = _model()
    model.set_env(gym.make("Painting-v0", **ENV_KWARGS))
    model.learn(4)
    with pytest.raises(ValueError, match="learning_rule"):
        _model(learning_rule="ddpg")
    with pytest.raises(ValueError, match="differentiable renderer"):
        ThroughPainter(
            "MultiInputPolicy", gym.make("Painting-v0", renderer="simple", **ENV_KWARGS)
        ).learn(4)


def _cli(*args: str) -> int:
    from agents.cli.train_agent import main

    return main(["--algo", "through-painter", "--no-progress", *TINY_HP, *args])


def test_killed_run_continues_bit_identically(tmp_path, one_thread):
    common = ["--total-timesteps", "40", "--checkpoint-freq", "4", "--eval-freq", "16"]
    assert _cli(*common, "--out", str(tmp_path / "a")) == 0
    assert _cli(*common, "--out", str(tmp_path / "b"), "--max-updates", "3") == 0
    # a kill loses what came after the last checkpoint: drop the session's final model too
    (tmp_path / "b" / "model.zip").unlink()
    assert _cli(*common, "--out", str(tmp_path / "b")) == 0
    a, b = load_agent(tmp_path / "a"), load_agent(tmp_path / "b")
    assert a.num_timesteps == b.num_timesteps == 40
    for k, v in a.policy.state_dict().items():
        assert torch.equal(v, b.policy.state_dict()[k]), k
    meta = json.loads((tmp_path / "b" / "agent.json").read_text())
    assert meta["algo"] == "through-painter" and meta["world_size"] == 1
    assert [s["steps"] for s in meta["sessions"]] == [12, 28]
    assert load_agent(tmp_path / "b" / "best").policy.critic is None


def test_rerun_with_other_settings_and_damaged_checkpoint_fail_clearly(tmp_path, capsys):
    out = tmp_path / "r"
    assert _cli("--total-timesteps", "4", "--out", str(out)) == 0
    assert _cli("--total-timesteps", "4", "--out", str(out), "--hp", "learning_rate=0.1") == 2
    assert "other settings" in capsys.readouterr().err
    ckpt = out / "checkpoints" / "latest.zip"
    ckpt.write_bytes(ckpt.read_bytes()[:200])
    assert _cli("--total-timesteps", "8", "--out", str(out)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot resume" in err[0]
    assert _cli("--total-timesteps", "4", "--out", str(tmp_path / "x"), "--hp", "gamma=x") == 2
    assert _cli("--total-timesteps", "4", "--out", str(tmp_path / "y"), "--hp", "bogus=1") == 2
    assert "bogus" in capsys.readouterr().err
    assert not (tmp_path / "y").exists()


def test_init_from_copies_an_actor(tmp_path, one_thread):
    assert _cli("--total-timesteps", "4", "--out", str(tmp_path / "src")) == 0
    assert _cli("--total-timesteps", "4", "--out", str(tmp_path / "w"), "--init-from",
                str(tmp_path / "src"), "--hp", "learning_rate=0.0") == 0  # fmt: skip
    src, warm = load_agent(tmp_path / "src"), load_agent(tmp_path / "w")
    for k, v in src.policy.actor.state_dict().items():
        assert torch.equal(v, warm.policy.actor.state_dict()[k]), k


def test_bundled_default_is_an_honest_through_painter(one_thread):
    import zipfile

    model = load_agent("default")
    assert isinstance(model, ThroughPainter) and model.policy.critic is None
    folder = ROOT / "agents" / "pretrained" / "default"
    meta = json.loads((folder / "agent.json").read_text())
    assert meta["algo"] == "through-painter"
    with zipfile.ZipFile(folder / "model.zip") as z:
        assert "policy.critic_optimizer.pth" not in z.namelist()
    n = sum(p.numel() for p in model.policy.parameters())
    assert n == sum(p.numel() for p in model.policy.actor.parameters())  # nothing untrained
    mu = model.policy.actor.mu.weight.detach()
    assert float((mu - torch.eye(mu.shape[0])).abs().max()) > 0.1  # a trained layer, kept
    assert model.lr_schedule_name == "constant" and model.learning_rate <= 1e-4
    # it keeps learning from where it is, on its own env
    model.batch_size = 2
    before = model.policy.actor.mu.weight.detach().clone()
    model.learn(16)
    assert 0 < float((model.policy.actor.mu.weight - before).abs().max()) < 1e-3


@pytest.mark.slow
def test_torchrun_two_processes_and_exact_resume(tmp_path):
    if shutil.which("torchrun") is None:
        pytest.skip("torchrun not on PATH")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}

    def run(out: Path, *extra: str) -> None:
        cmd = ["torchrun", "--standalone", "--nproc_per_node", "2", "--no-python",
               sys.executable, "-m", "agents.cli.train_agent", "--algo", "through-painter",
               "--no-progress", *TINY_HP, "--total-timesteps", "32", "--checkpoint-freq", "8",
               "--out", str(out), "--seed", "0", *extra]  # fmt: skip
        subprocess.run(cmd, check=True, env=env, cwd=ROOT, timeout=600)

    run(tmp_path / "a")
    run(tmp_path / "b", "--max-updates", "2")
    run(tmp_path / "b")
    meta = json.loads((tmp_path / "a" / "agent.json").read_text())
    assert meta["world_size"] == 2 and meta["num_timesteps"] == 32
    a, b = load_agent(tmp_path / "a"), load_agent(tmp_path / "b")
    assert isinstance(a, ThroughPainter)
    for k, v in a.policy.state_dict().items():
        assert torch.equal(v, b.policy.state_dict()[k]), k


def test_an_env_with_several_brushes_is_refused():
    env = gym.make("Painting-v0", max_strokes=8, strokes_per_step=8,
                   brushes=["classic/dry_brush", "classic/pen"])  # fmt: skip
    model = ThroughPainter("MultiInputPolicy", env, seed=0)
    with pytest.raises(ValueError, match="ThroughPainter paints with one brush"):
        model.learn(64)
