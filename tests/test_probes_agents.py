"""Bad input to the agents, probed as a new user and as an attacker would: crafted agent zips
run nothing, damaged checkpoints, replay buffers and agent folders give one-line errors, a
training request is checked before anything is written, a refused resume touches nothing and
an accepted one continues exactly as a run never stopped."""

from __future__ import annotations

import base64
import json
import pickle
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from probe_tools import COFFEE, FAST, ROOT
from probe_tools import assert_one_line_error as _assert_one_line_error
from probe_tools import paint as _paint
from probe_tools import run_cli as _cli

DEFAULT_AGENT = ROOT / "agents" / "pretrained" / "default"


# -- crafted agent zips --------------------------------------------------------------------------
class _Payload:
    """Unpickling this writes ``marker``: proof that a loader ran code from a file."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('ran')",))


def _evil(marker: Path) -> dict:
    blob = base64.b64encode(pickle.dumps(_Payload(marker))).decode()
    return {
        ":type:": "<class 'stable_baselines3.sac.policies.MultiInputPolicy'>",
        ":serialized:": blob,
    }


def _crafted_zip(folder: Path, marker: Path, base: Path | None = None) -> Path:
    """A model.zip whose every pickled entry (and one extra) would write ``marker``; from
    ``base``'s zip when given (so it is otherwise a working agent), else a bare one."""
    folder.mkdir(parents=True, exist_ok=True)
    members: dict[str, bytes] = {}
    data: dict = {}
    if base is not None:
        with zipfile.ZipFile(base) as z:
            members = {n: z.read(n) for n in z.namelist()}
        data = json.loads(members["data"])
    for key, value in list(data.items()):
        if isinstance(value, dict) and ":serialized:" in value:
            data[key] = _evil(marker)
    data["policy_class"] = _evil(marker)
    data["extra_entry"] = _evil(marker)
    members["data"] = json.dumps(data).encode()
    path = folder / "model.zip"
    with zipfile.ZipFile(path, "w") as z:
        for name, blob in members.items():
            z.writestr(name, blob)
    shutil.copy(DEFAULT_AGENT / "env_kwargs.json", folder / "env_kwargs.json")
    return path


def test_crafted_zip_without_agent_json_is_refused(tmp_path):
    from agents.rl.loading import load_agent

    marker = tmp_path / "ran"
    zip_path = _crafted_zip(tmp_path / "agent", marker)
    with pytest.raises(ValueError, match="refusing to load .*agent.json"):
        load_agent(zip_path)
    with pytest.raises(ValueError, match="refusing"):
        load_agent(zip_path.parent)
    assert not marker.exists()


def test_crafted_zip_with_agent_json_is_rebuilt_from_json(tmp_path):
    from agents.rl.loading import load_agent

    marker = tmp_path / "ran"
    folder = tmp_path / "agent"
    _crafted_zip(folder, marker, base=DEFAULT_AGENT / "model.zip")
    shutil.copy(DEFAULT_AGENT / "agent.json", folder / "agent.json")
    agent = load_agent(folder)
    assert not marker.exists()
    reference = load_agent("default")
    obs = reference.observation_space.sample()
    np.testing.assert_allclose(
        agent.predict(obs, deterministic=True)[0], reference.predict(obs, deterministic=True)[0]
    )
    assert agent.env_kwargs == reference.env_kwargs


def test_crafted_zip_through_evaluate_runs_nothing(tmp_path):
    marker = tmp_path / "ran"
    zip_path = _crafted_zip(tmp_path / "agent", marker)
    images = tmp_path / "images"
    images.mkdir()
    shutil.copy(ROOT / "painting_env" / "samples" / "coffee.jpg", images / "coffee.jpg")
    cmd = [sys.executable, str(ROOT / "scripts" / "evaluate.py"), "--methods",
           f"agent:{zip_path}", "--images", str(images), "--strokes", "2",
           "--json", str(tmp_path / "eval.json")]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode != 0
    assert "refusing to load" in res.stderr and "Traceback" not in res.stderr
    assert not marker.exists() and not (tmp_path / "eval.json").exists()


# -- agent checkpoints and replay buffers ---------------------------------------------------------
def test_truncated_agent_checkpoint_is_a_clear_error(tmp_path):
    from agents.rl.training import train

    out = tmp_path / "run"
    (out / "checkpoints").mkdir(parents=True)
    blob = (DEFAULT_AGENT / "model.zip").read_bytes()
    (out / "checkpoints" / "latest.zip").write_bytes(blob[: len(blob) // 2])
    torch.set_num_threads(1)
    with pytest.raises(ValueError, match="cannot resume|not a readable SB3 model zip") as e:
        train("ppo", out, total_timesteps=16, n_envs=2, resume=True, progress_bar=False,
              env_kwargs={"size": 32, "max_strokes": 4})  # fmt: skip
    assert "latest.zip" in str(e.value) and "--resume" in str(e.value)


def test_replay_buffer_npz_round_trip_and_damage(tmp_path):
    from gymnasium import spaces
    from stable_baselines3.common.buffers import DictReplayBuffer

    from agents.rl.buffers import load_replay_buffer, save_replay_buffer

    obs = spaces.Dict({"canvas": spaces.Box(0, 255, (3, 8, 8), np.uint8)})
    act = spaces.Box(-1, 1, (4,), np.float32)
    a = DictReplayBuffer(10, obs, act, device="cpu", n_envs=1)
    rng = np.random.default_rng(0)
    for _ in range(7):
        o = {"canvas": rng.integers(0, 255, (1, 3, 8, 8), dtype=np.uint8)}
        a.add(o, o, rng.uniform(-1, 1, (1, 4)).astype(np.float32), np.ones(1), np.zeros(1), [{}])
    path = save_replay_buffer(a, tmp_path / "buf.npz")
    b = DictReplayBuffer(10, obs, act, device="cpu", n_envs=1)
    load_replay_buffer(b, path)
    assert b.pos == 7 and not b.full
    assert np.array_equal(a.observations["canvas"], b.observations["canvas"])
    assert np.array_equal(a.actions, b.actions)
    small = DictReplayBuffer(5, obs, act, device="cpu", n_envs=1)
    load_replay_buffer(small, path)  # another size: the newest transitions, oldest first
    assert small.full and small.pos == 0
    assert np.array_equal(small.actions, a.actions[2:7])
    other = spaces.Dict({"canvas": spaces.Box(0, 255, (3, 4, 4), np.uint8)})
    with pytest.raises(ValueError, match="the env or --n-envs changed"):
        load_replay_buffer(DictReplayBuffer(10, other, act, device="cpu", n_envs=1), path)
    blob = path.read_bytes()
    (tmp_path / "cut.npz").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(ValueError, match="cannot read the replay buffer .*cut.npz"):
        load_replay_buffer(b, tmp_path / "cut.npz")


def test_sac_resume_unpickles_nothing(tmp_path, monkeypatch):
    import stable_baselines3.common.save_util as save_util

    from agents.rl.training import train

    kwargs = dict(
        n_envs=2, seed=0, device="cpu", env_kwargs={"size": 32, "max_strokes": 4},
        overrides={"batch_size": 8, "gradient_steps": 1, "learning_starts": 4,
                   "policy_kwargs": {"net_arch": [8], "features_extractor_kwargs": {
                       "features_dim": 8, "cnn_channels": [4], "downsample": 4}}},
        progress_bar=False, image_freq=10_000, eval_freq=10_000, checkpoint_freq=10_000,
    )  # fmt: skip
    torch.set_num_threads(1)
    out = tmp_path / "sac"
    train("sac", out, total_timesteps=16, **kwargs)
    ckpt = out / "checkpoints"
    assert (ckpt / "latest_replay_buffer.npz").is_file()
    assert not list(ckpt.glob("*.pkl"))

    def refuse(*args, **kw):
        raise AssertionError("resume must not unpickle")

    monkeypatch.setattr(save_util.cloudpickle, "loads", refuse)
    monkeypatch.setattr(save_util.pickle, "load", refuse)
    model = train("sac", out, total_timesteps=32, resume=True, **kwargs)
    assert model.num_timesteps == 32
    # the checkpoint's buffer (9 slots x 2 envs, 8 filled) was loaded: 8 more steps fill it
    assert model.replay_buffer.full and model.replay_buffer.pos == 7


def test_paint_agent_method_refuses_a_crafted_agent(tmp_path, capsys):
    marker = tmp_path / "ran"
    zip_path = _crafted_zip(tmp_path / "agent", marker)
    code, err = _paint([COFFEE, "--out", tmp_path / "o", "--method", "agent",
                        "--agent", zip_path.parent, *FAST], capsys)  # fmt: skip
    _assert_one_line_error(code, err, "refusing to load")
    assert not marker.exists() and not (tmp_path / "o").exists()


def _agent_copy(tmp_path: Path, source: Path = DEFAULT_AGENT) -> Path:
    folder = tmp_path / "agent"
    shutil.copytree(source, folder)
    return folder


#: A bundled agent that SB3's own SAC trained (the default is a ThroughPainter).
SAC_AGENT = ROOT / "agents" / "pretrained" / "sac-model-free"


@pytest.mark.parametrize(
    "source, file, change, needle",
    [
        (SAC_AGENT, "agent.json", {"activation_fn": "NotAThing"}, "activation_fn must be one of"),
        (SAC_AGENT, "agent.json", {"net_arch": "bogus"}, "net_arch must be a list of layer widths"),
        (
            SAC_AGENT,
            "agent.json",
            {"optimizer_class": "os.system"},
            "optimizer_class must be one of",
        ),
        (DEFAULT_AGENT, "agent.json", {"activation_fn": "NotAThing"}, "unknown keys"),
        (DEFAULT_AGENT, "agent.json", {"net_arch": "bogus"}, "net_arch must be"),
        (DEFAULT_AGENT, "agent.json", {"optimizer_class": "os.system"}, "unknown keys"),
        (DEFAULT_AGENT, "env_kwargs.json", [1], "must be a JSON object of Painting-v0 keywords"),
        (DEFAULT_AGENT, "env_kwargs.json", {"size": 100_000}, "size must be between 8 and 16,384"),
        (DEFAULT_AGENT, "env_kwargs.json", {"max_stroke": 40}, "did you mean 'max_strokes'"),
    ],
)
def test_damaged_agent_folders_are_one_line_errors(tmp_path, source, file, change, needle):
    from agents.rl.loading import load_agent

    folder = _agent_copy(tmp_path, source)
    if file == "agent.json":
        meta = json.loads((folder / file).read_text())
        pk = meta["hyperparams"]["policy_kwargs"]
        meta["hyperparams"]["policy_kwargs"] = {**(pk if isinstance(pk, dict) else {}), **change}
        (folder / file).write_text(json.dumps(meta))
    else:
        (folder / file).write_text(json.dumps(change))
    with pytest.raises(ValueError, match=needle) as e:
        load_agent(folder)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--n-envs", "0"], "--n-envs must be at least 1"),
        (["--env-kwargs", "[1,2]"], "--env-kwargs must be a JSON object"),
        (["--env-kwargs", '{"max_stroke": 3}'], "did you mean 'max_strokes'"),
        (["--env-kwargs", '{"max_strokes": 2.5}'], "max_strokes must be a whole number"),
        (["--hp", "frobnicate=3"], "unknown SAC hyperparameter 'frobnicate'"),
        (["--hp", "buffer_size=100000000"], "needs about"),
        (["--hyperparams", "BAD_YAML"], "is not valid YAML"),
    ],
)
def test_train_agent_refuses_before_creating_anything(tmp_path, capsys, args, needle):
    from agents.cli.train_agent import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("Painting-v0: {n_envs: [1,\n")
    args = [str(bad) if a == "BAD_YAML" else a for a in args]
    out = tmp_path / "run"
    code, err = _cli(main, ["--algo", "sac", "--out", out, "--total-timesteps", "16", *args],
                     capsys)  # fmt: skip
    _assert_one_line_error(code, err, needle)
    assert not out.exists()


def test_make_dataset_refuses_huge_sizes_before_writing(tmp_path, capsys):
    from painters.cli.make_dataset import main

    out = tmp_path / "data"
    code, err = _cli(main, ["--out", out, "--num-strokes", "16", "--renderer", "simple",
                            "--size", "100000", "--no-progress"], capsys)  # fmt: skip
    _assert_one_line_error(code, err, "--size must be between 8 and 1,024")
    assert not out.exists()


# -- resume: a refused resume touches nothing, an accepted one continues exactly ----------------
TINY_SAC = dict(
    n_envs=2, seed=0, device="cpu", env_kwargs={"size": 32, "max_strokes": 4},
    overrides={"batch_size": 8, "gradient_steps": 1, "learning_starts": 4, "buffer_size": 20,
               "policy_kwargs": {"net_arch": [8], "features_extractor_kwargs": {
                   "features_dim": 8, "cnn_channels": [4], "downsample": 4}}},
    progress_bar=False, image_freq=10_000, eval_freq=16, checkpoint_freq=8,
)  # fmt: skip


def _weights(model) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.policy.state_dict().items()}


def test_refused_resume_keeps_saved_results(tmp_path, capsys):
    from agents.cli.train_agent import main
    from agents.rl.loading import load_agent
    from agents.rl.training import train

    torch.set_num_threads(1)
    out = tmp_path / "sac"
    train("sac", out, total_timesteps=16, **TINY_SAC)
    saved = {
        p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file() and "tb" not in p.parts
    }
    code, err = _cli(main, ["--algo", "td3", "--out", out, "--resume", "--total-timesteps", "32",
                            "--n-envs", "2", "--env-kwargs", '{"size": 32, "max_strokes": 4}',
                            "--no-progress"], capsys)  # fmt: skip
    _assert_one_line_error(code, err, "cannot resume")
    assert {p: p.read_bytes() for p in saved} == saved
    assert not [p for p in out.rglob("*") if p.is_file() and "tb" not in p.parts and p not in saved]
    load_agent(out / "best")
    load_agent(out)


def test_resume_after_a_kill_continues_exactly(tmp_path, monkeypatch):
    """A run killed mid-episode and resumed ends with the same update count and bit-identical
    weights as one never stopped (the checkpoint holds the random and the env's state)."""
    from agents.rl import checkpoints
    from agents.rl.training import train

    torch.set_num_threads(1)
    whole = train("sac", tmp_path / "a", total_timesteps=48, **TINY_SAC)
    on_step = checkpoints.CheckpointCallback._on_step

    def killed_at_36(self):
        if self.num_timesteps >= 36:  # mid-episode (episodes are 8 env steps)
            raise KeyboardInterrupt
        return on_step(self)

    monkeypatch.setattr(checkpoints.CheckpointCallback, "_on_step", killed_at_36)
    with pytest.raises(KeyboardInterrupt):
        train("sac", tmp_path / "b", total_timesteps=48, **TINY_SAC)
    monkeypatch.setattr(checkpoints.CheckpointCallback, "_on_step", on_step)
    resumed = train("sac", tmp_path / "b", total_timesteps=48, resume=True, **TINY_SAC)
    assert resumed._n_updates == whole._n_updates and resumed.num_timesteps == 48
    a, b = _weights(whole), _weights(resumed)
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow
@pytest.mark.parametrize("algo", ["sac", "td3", "ppo"])
def test_stop_and_resume_equals_one_run(tmp_path, algo):
    from agents.rl.training import train

    torch.set_num_threads(1)
    kw = dict(TINY_SAC)
    if algo == "ppo":
        kw["overrides"] = {"n_steps": 4, "batch_size": 8, "n_epochs": 1,
                           "policy_kwargs": TINY_SAC["overrides"]["policy_kwargs"]}  # fmt: skip
    whole = train(algo, tmp_path / "a", total_timesteps=48, **kw)
    train(algo, tmp_path / "b", total_timesteps=24, **kw)
    resumed = train(algo, tmp_path / "b", total_timesteps=48, resume=True, **kw)
    assert resumed._n_updates == whole._n_updates
    a, b = _weights(whole), _weights(resumed)
    assert all(torch.equal(a[k], b[k]) for k in a)
