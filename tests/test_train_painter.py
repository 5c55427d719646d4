"""The painter trainer: every kind trains, checkpoints load, resume is exact, bad data fails
cleanly, and two CPU processes train under torchrun."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import tiny_config
from safetensors.torch import load_file
from torch.utils.data import Dataset

import painters
from painters.training import STATE_NAME, TrainConfig, TrainingError, check_item, train

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "train_painter.py"


pytestmark = pytest.mark.usefixtures("one_thread")


class DiscStrokes(Dataset):
    """Stand-in for painters.data.StrokeDataset: a disc at each action's end point."""

    def __init__(self, n: int = 40, seed: int = 0, shape=(4, 64, 64)) -> None:
        self.actions = np.random.default_rng(seed).random((n, 12), dtype=np.float32)
        self.shape = shape

    def __len__(self) -> int:
        return len(self.actions)

    def __getitem__(self, i: int):
        a = self.actions[i]
        s = np.zeros(self.shape, np.float32)
        if self.shape == (4, 64, 64):
            ys, xs = np.mgrid[:64, :64]
            s[:3] = a[6:9, None, None]
            s[3] = 0.5 * (((xs - a[4] * 64) ** 2 + (ys - a[5] * 64) ** 2) < 49)
        return a, s


def cfg(tmp_path: Path, kind: str, steps: int = 3, **kw) -> TrainConfig:
    base = dict(
        kind=kind,
        out=str(tmp_path / kind),
        steps=steps,
        batch_size=4,
        device="cpu",
        eval_every=2,
        checkpoint_every=2,
        tensorboard=None,
        progress=False,
        eval_strokes=8,
        model_config=tiny_config(kind) if kind != "structured" else {"dabs": 8, "channels": 2},
    )
    base.update(kw)
    return TrainConfig(**base)


@pytest.mark.parametrize("kind", ["gan", "vae", "supervised", "structured"])
def test_each_kind_trains_and_loads(kind: str, tmp_path: Path) -> None:
    summary = train(cfg(tmp_path, kind), DiscStrokes())
    out = tmp_path / kind
    assert summary["steps"] == 3 and np.isfinite(summary["eval_ratio_est"])
    p = painters.load_painter(out)
    assert p.kind == kind and p.metadata["steps"] == 3
    assert p(torch.rand(2, 12)).shape == (2, 4, 64, 64)
    state = torch.load(out / STATE_NAME, weights_only=True)
    assert state["step"] == 3 and state["kind"] == kind


class KilledAfter(DiscStrokes):
    """Dies (like a killed process) on the ``calls``-th item read."""

    def __init__(self, calls: int) -> None:
        super().__init__()
        self.calls = calls

    def __getitem__(self, i: int):
        self.calls -= 1
        if self.calls < 0:
            raise KeyboardInterrupt
        return super().__getitem__(i)


HIGHPASS = {"highpass_critic": True, "feature_match_weight": 1.0}


@pytest.mark.parametrize(("kind", "extra"), [("gan", {}), ("gan", HIGHPASS), ("supervised", {})])
def test_resume_after_a_kill_matches_an_uninterrupted_run(
    kind: str, extra: dict, tmp_path: Path
) -> None:
    full, part = tmp_path / "full", tmp_path / "part"
    mc = {**tiny_config(kind), **extra}
    train(cfg(tmp_path, kind, steps=4, out=str(full), model_config=mc), DiscStrokes())
    # 1 + 4 held-out reads, then 4 per step: dies while loading step 3, after the step-2 checkpoint
    with pytest.raises(KeyboardInterrupt):
        train(cfg(tmp_path, kind, steps=4, out=str(part), model_config=mc), KilledAfter(5 + 8 + 2))
    assert torch.load(part / STATE_NAME, weights_only=True)["step"] == 2
    first = load_file(str(part / "model.safetensors"))
    train(cfg(tmp_path, kind, steps=4, out=str(part), resume=True, model_config=mc), DiscStrokes())
    a, b = load_file(str(full / "model.safetensors")), load_file(str(part / "model.safetensors"))
    assert any(not torch.equal(first[k], b[k]) for k in b), "resume must keep training"
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_same_seed_same_weights_and_tensorboard(tmp_path: Path) -> None:
    tb = tmp_path / "tb"
    train(cfg(tmp_path, "supervised", out=str(tmp_path / "a"), tensorboard=str(tb)), DiscStrokes())
    train(cfg(tmp_path, "supervised", out=str(tmp_path / "b")), DiscStrokes())
    a = load_file(str(tmp_path / "a" / "model.safetensors"))
    b = load_file(str(tmp_path / "b" / "model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(f.name.startswith("events.out.tfevents") for f in tb.iterdir())


def test_resume_refuses_another_kind(tmp_path: Path) -> None:
    train(cfg(tmp_path, "vae", steps=1, out=str(tmp_path / "x")), DiscStrokes())
    with pytest.raises(TrainingError, match="holds a 'vae' run"):
        train(cfg(tmp_path, "gan", out=str(tmp_path / "x"), resume=True), DiscStrokes())


def test_bad_data_gives_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match=r"strokes \(4, 64, 64\)"):
        train(cfg(tmp_path, "vae"), DiscStrokes(shape=(3, 32, 32)))
    with pytest.raises(TrainingError, match="no strokes"):
        train(cfg(tmp_path, "vae"), DiscStrokes(n=0))
    with pytest.raises(TrainingError, match="pairs"):
        check_item(np.zeros(12))


def run_script(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, cwd=cwd, env=env
    )


def load_script():
    spec = importlib.util.spec_from_file_location("train_painter_script", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_script_fails_cleanly_on_wrong_shape_and_empty_dirs(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    np.savez(bad / "shard_0000.npz", actions=np.zeros((5, 7), np.float32),
             strokes=np.zeros((5, 32, 32, 4), np.uint8))  # fmt: skip
    r = run_script("--kind", "vae", "--data", str(bad), "--out", str(tmp_path / "o"),
                   "--steps", "3", "--batch-size", "16", "--device", "cpu", cwd=tmp_path)  # fmt: skip
    assert r.returncode != 0
    assert "Traceback" not in r.stderr, r.stderr
    assert r.stderr.strip().startswith("error:") and len(r.stderr.strip().splitlines()) == 1
    empty = tmp_path / "empty"
    empty.mkdir()
    main = load_script().main
    for d in (empty, tmp_path / "missing"):
        rc = main(["--kind", "gan", "--data", str(d), "--out", str(tmp_path / "o"), "--steps", "3",
                   "--device", "cpu", "--no-progress"])  # fmt: skip
        err = capsys.readouterr().err.strip()
        assert rc == 2 and err.startswith("error:") and len(err.splitlines()) == 1, err


def write_dataset_dirs(root: Path) -> tuple[Path, Path]:
    """A shard folder (our format) and a Kaggle-format folder of random strokes."""
    rng = np.random.default_rng(0)
    ours, kaggle = root / "ours", root / "kaggle"
    ours.mkdir()
    kaggle.mkdir()
    actions = rng.random((32, 12), dtype=np.float32)
    actions[:, 6:9] *= 0.5  # dark colours, so alpha is recoverable from the Kaggle RGB
    alpha = (rng.random((32, 64, 64)) < 0.2) * 0.6
    rgba = np.concatenate([np.broadcast_to(actions[:, None, None, 6:9], (32, 64, 64, 3)),
                           alpha[..., None]], -1)  # fmt: skip
    np.savez(ours / "shard_0000.npz", actions=actions, strokes=np.rint(rgba * 255).astype(np.uint8))
    on_white = rgba[..., :3] * rgba[..., 3:] + (1 - rgba[..., 3:])
    np.savez_compressed(kaggle / "episodes_0.npz", actions=actions,
                        strokes=np.rint(on_white * 255).astype(np.uint8))  # fmt: skip
    return ours, kaggle


@pytest.mark.parametrize("kind", ["gan", "vae", "supervised", "structured"])
def test_script_on_shards_and_kaggle(kind: str, tmp_path: Path, capsys) -> None:
    """What the reviewers run, in-process (default model sizes, 3 steps, batch 16)."""
    main = load_script().main
    for d in write_dataset_dirs(tmp_path):
        out = tmp_path / f"{kind}_{d.name}"
        rc = main(["--kind", kind, "--data", str(d), "--out", str(out), "--steps", "3",
                   "--batch-size", "16", "--device", "cpu", "--no-progress", "--threads", "1"])  # fmt: skip
        assert rc == 0, capsys.readouterr().err
        assert painters.load_painter(out).kind == kind
        assert (out / "model.safetensors").is_file() and (out / "config.json").is_file()


@pytest.mark.slow
def test_script_subprocess_on_kaggle(tmp_path: Path) -> None:
    _, kaggle = write_dataset_dirs(tmp_path)
    r = run_script("--kind", "gan", "--data", str(kaggle), "--out", str(tmp_path / "o"),
                   "--steps", "3", "--batch-size", "16", "--device", "cpu", cwd=tmp_path)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert painters.load_painter(tmp_path / "o").kind == "gan"


DDP_HELPER = textwrap.dedent(
    """
    import sys, torch
    torch.set_num_threads(1)
    sys.path.insert(0, {tests!r})
    from conftest import tiny_config
    from test_train_painter import DiscStrokes
    from painters.training import TrainConfig, train
    out = sys.argv[1]
    s = train(TrainConfig(kind="gan", out=out, steps=3, batch_size=4, device="cpu",
              eval_every=0, tensorboard=None, progress=False, eval_strokes=8,
              model_config=tiny_config("gan")), DiscStrokes())
    print("WORLD", s["world_size"], "STEPS", s["steps"])
    """
)


@pytest.mark.slow  # ~30 s on the shared 2-core machine (process start-up)
def test_torchrun_two_cpu_processes(tmp_path: Path) -> None:
    helper = tmp_path / "ddp_helper.py"
    helper.write_text(DDP_HELPER.format(tests=str(Path(__file__).parent)))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         str(helper), str(tmp_path / "ddp")],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.count("WORLD 2 STEPS 3") == 2
    assert painters.load_painter(tmp_path / "ddp").metadata["batch_size"] == 8


def test_init_fine_tunes_from_a_painter_and_adds_new_critics(tmp_path: Path) -> None:
    """--init starts from another painter's weights; config overrides may add modules (the
    GAN's whole-stroke critic), which start fresh, while the rest is copied."""
    src = tmp_path / "src"
    train(cfg(tmp_path, "gan", steps=2, out=str(src)), DiscStrokes())
    more = {"global_critic": True, "hist_weight": 1.0, "critic_lr_scale": 2.0}
    out = tmp_path / "ft"
    train(cfg(tmp_path, "gan", steps=0, out=str(out), init=str(src), model_config=more),
          DiscStrokes())  # fmt: skip
    a, b = load_file(str(src / "model.safetensors")), load_file(str(out / "model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(k.startswith("global_critic.") for k in b)
    tuned = painters.load_painter(out)
    assert tuned.config["global_critic"] and tuned.config["widths"] == [4, 4, 4]
    assert [g["lr_scale"] for g in tuned.phase_param_groups("critic")] == [2.0]
    train(cfg(tmp_path, "gan", steps=2, out=str(tmp_path / "ft2"), init=str(src),
              model_config=more), DiscStrokes())  # fmt: skip
    opts = torch.load(tmp_path / "ft2" / STATE_NAME, weights_only=True)["optimizers"]
    critic_lr = opts["critic"]["param_groups"][0]["lr"]
    assert critic_lr == pytest.approx(2.0 * opts["generator"]["param_groups"][0]["lr"])
    with pytest.raises(TrainingError, match="is a 'gan' painter, not 'vae'"):
        train(cfg(tmp_path, "vae", steps=1, out=str(tmp_path / "v"), init=str(src)), DiscStrokes())
    with pytest.raises(TrainingError, match="--init"):
        train(cfg(tmp_path, "gan", steps=1, out=str(tmp_path / "w"), init=str(tmp_path / "no")),
              DiscStrokes())  # fmt: skip
