"""Bad input, probed as a new user would: crafted agent zips run nothing, damaged checkpoints,
weights and stroke files give one-line errors naming the file and the fix, and the command line
refuses impossible requests before painting, leaving nothing half-written."""

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

ROOT = Path(__file__).resolve().parents[1]
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


# -- painter weights -----------------------------------------------------------------------------
def _painter_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "painter"
    shutil.copytree(ROOT / "painters" / "pretrained" / "default", folder)
    return folder


def test_nan_painter_weights_are_refused_naming_the_file(tmp_path):
    from safetensors.torch import load_file, save_file

    import painters

    folder = _painter_copy(tmp_path)
    weights = folder / "model.safetensors"
    state = load_file(str(weights))
    name = next(k for k, v in state.items() if v.is_floating_point())
    state[name] = state[name].clone()
    state[name].view(-1)[0] = float("nan")
    save_file(state, str(weights))
    with pytest.raises(ValueError, match="model.safetensors holds NaN or infinite weights"):
        painters.load_painter(folder)
    state[name].view(-1)[0] = float("inf")
    save_file(state, str(weights))
    with pytest.raises(ValueError, match=r"NaN or infinite .*re-train"):
        painters.load_painter(folder)


@pytest.mark.parametrize("damage", ["header", "truncated"])
def test_corrupt_painter_weights_name_the_file(tmp_path, damage):
    import painters

    folder = _painter_copy(tmp_path)
    weights = folder / "model.safetensors"
    blob = weights.read_bytes()
    if damage == "header":
        blob = blob[:8] + b"{not json" + blob[17:]
    else:
        blob = blob[: len(blob) // 2]
    weights.write_bytes(blob)
    with pytest.raises(ValueError, match="model.safetensors is not a readable safetensors") as e:
        painters.load_painter(folder)
    assert str(weights) in str(e.value) and "\n" not in str(e.value)


# -- command line: --help, and bad input refused before any painting -----------------------------
CLIS = [
    "agents.cli.paint", "agents.cli.evaluate", "agents.cli.train_agent",
    "painters.cli.train_painter", "painters.cli.render_strokes", "painters.cli.make_dataset",
    "painters.cli.evaluate_painter", "painters.cli.show_strokes",
]  # fmt: skip


@pytest.mark.parametrize("module", CLIS)
def test_help_shows_defaults_and_every_option_has_help(module, monkeypatch, capsys):
    import argparse
    import importlib

    seen = []
    parse = argparse.ArgumentParser.parse_args

    def capture(self, *args, **kw):
        seen.append(self)
        return parse(self, *args, **kw)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", capture)
    with pytest.raises(SystemExit) as e:
        importlib.import_module(module).main(["--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    assert "(default:" in text
    missing = [a.dest for a in seen[0]._actions if not a.help]
    assert not missing, f"options without help: {missing}"
    assert issubclass(seen[0].formatter_class, argparse.ArgumentDefaultsHelpFormatter)


def test_console_scripts_point_at_package_mains():
    import importlib

    tomllib = pytest.importorskip("tomllib")
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["neural-paint"] == "agents.cli.paint:main"
    for target in scripts.values():
        module, func = target.split(":")
        assert callable(getattr(importlib.import_module(module), func))
    # scripts/*.py are thin wrappers around the same mains
    wrapper = (ROOT / "scripts" / "paint.py").read_text()
    assert "from agents.cli.paint import main" in wrapper and len(wrapper.splitlines()) < 20


def test_train_painter_short_runs_checkpoint_before_the_end(monkeypatch):
    from painters.cli import train_painter

    cfg = train_painter.parse_args(["--kind", "structured", "--on-the-fly", "--out", "x",
                                    "--steps", "400"])  # fmt: skip
    assert 0 < cfg.checkpoint_every < 400
    cfg = train_painter.parse_args(["--kind", "structured", "--on-the-fly", "--out", "x"])
    assert cfg.checkpoint_every == 250  # 1000 steps: a quarter
    cfg = train_painter.parse_args(["--kind", "structured", "--on-the-fly", "--out", "x",
                                    "--steps", "9000"])  # fmt: skip
    assert cfg.checkpoint_every == 500


def _png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims ``width`` x ``height`` (no pixel data: nothing to allocate)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                     + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))  # fmt: skip
    return path


COFFEE = ROOT / "painting_env" / "samples" / "coffee.jpg"
FAST = ["--strokes", "2", "--steps", "1", "--groups", "1", "--render-size", "64", "--quiet",
        "--no-real-fit"]  # fmt: skip


def _paint(args, capsys) -> tuple[int, str]:
    from agents.cli.paint import main

    code = main([str(a) for a in args])
    err = capsys.readouterr().err.strip()
    return code, err


def _assert_one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    lines = err.splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err


def test_paint_refuses_huge_and_tiny_images_early(tmp_path, capsys):
    import time

    from PIL import Image

    big = _png_header_only(tmp_path / "big.png", 14_000, 14_000)  # 196 Mpx
    t0 = time.perf_counter()
    code, err = _paint([big, "--out", tmp_path / "o", *FAST], capsys)
    _assert_one_line_error(code, err, "too large", "14000x14000", "downscale")
    assert "corrupt" not in err and time.perf_counter() - t0 < 5
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (1, 1), "red").save(tiny)
    code, err = _paint([tiny, "--out", tmp_path / "o", *FAST], capsys)
    _assert_one_line_error(code, err, "1x1 px", "too small", "at least")
    assert not (tmp_path / "o").exists()


def test_paint_refuses_too_many_strokes(tmp_path, capsys):
    from agents.cli.paint import MAX_STROKES, main

    with pytest.raises(SystemExit) as e:
        main([str(COFFEE), "--strokes", "100000", "--out", str(tmp_path / "o")])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert f"more than {MAX_STROKES}" in err and "fewer strokes" in err
    assert not (tmp_path / "o").exists()


def test_paint_out_is_a_file_or_under_one(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    code, err = _paint([COFFEE, "--out", afile, *FAST], capsys)
    _assert_one_line_error(code, err, "is a file, not a folder", "give a folder")
    code, err = _paint([COFFEE, "--out", afile / "sub", *FAST], capsys)
    _assert_one_line_error(code, err, "is a file, not a folder")
    assert afile.read_text() == "keep me" and sorted(tmp_path.iterdir()) == [afile]


def test_paint_unwritable_out_fails_before_painting(tmp_path, capsys, monkeypatch):
    import os
    import time

    import agents.cli.paint as paint

    def never(*a, **k):
        raise AssertionError("painted before checking --out")

    monkeypatch.setattr(paint, "paint", never)
    if os.geteuid() == 0:  # root writes anywhere but in sysfs
        out = Path("/sys/neural-paint-probe/out")
    else:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o555)
        out = locked / "out"
    t0 = time.perf_counter()
    code, err = _paint([COFFEE, "--out", out, *FAST], capsys)
    _assert_one_line_error(code, err, "cannot write to --out", "choose a folder")
    assert time.perf_counter() - t0 < 10 and not out.exists()


def test_paint_writes_inside_out_so_a_mount_point_works(tmp_path, monkeypatch, capsys):
    """The temporary folder is made inside --out: moving the files in is a rename on one file
    system even when --out is a mount point (a temp folder beside it would be on another)."""
    import os

    import agents.cli.paint as paint

    out = tmp_path / "mnt"
    out.mkdir()
    (out / "old.txt").write_text("kept")
    real_replace = os.replace

    def same_folder_only(src, dst):
        if Path(src).parent.parent != Path(dst).parent:
            raise OSError(18, "Invalid cross-device link")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", same_folder_only)
    monkeypatch.setattr(
        paint,
        "write_outputs",
        lambda tmp, *a, **k: (tmp / "painting.png").write_bytes(b"png") and [],
    )
    code = paint.main([str(COFFEE), "--out", str(out), *FAST])
    assert code == 0, capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["old.txt", "painting.png"]


@pytest.mark.parametrize("method", ["agent", "agent+gradient"])
def test_paint_agent_methods(tmp_path, method, capsys):
    pytest.importorskip("agents.agent_painting")
    out = tmp_path / method
    code, err = _paint([COFFEE, "--out", out, "--method", method, *FAST], capsys)
    assert code == 0, err
    from painters.export import load_strokes

    painting = load_strokes(out / "strokes.npz")
    assert len(painting) == 2 and painting.info["method"] == method


def test_paint_agent_method_refuses_a_crafted_agent(tmp_path, capsys):
    marker = tmp_path / "ran"
    zip_path = _crafted_zip(tmp_path / "agent", marker)
    code, err = _paint([COFFEE, "--out", tmp_path / "o", "--method", "agent",
                        "--agent", zip_path.parent, *FAST], capsys)  # fmt: skip
    _assert_one_line_error(code, err, "refusing to load")
    assert not marker.exists() and not (tmp_path / "o").exists()


# -- saved strokes and painter checkpoints ---------------------------------------------------------
def _saved_painting(folder: Path):
    import painters
    from painters.export import Painting

    folder.mkdir(parents=True, exist_ok=True)
    painting = Painting(painters.random_actions(6, rng=0), width=96, height=64)
    return painting.save_npz(folder / "strokes.npz"), painting.save_json(folder / "strokes.json")


def _render(args, capsys) -> tuple[int, str]:
    from painters.cli.render_strokes import main

    code = main([str(a) for a in args])
    return code, capsys.readouterr().err.strip()


def test_bit_flipped_strokes_npz_is_a_clear_error(tmp_path, capsys):
    from painters.export import StrokesError, load_strokes

    npz, _ = _saved_painting(tmp_path)
    blob = npz.read_bytes()
    for offset in range(60, len(blob) - 1, max(1, len(blob) // 40)):
        damaged = bytearray(blob)
        damaged[offset] ^= 0x10
        bad = tmp_path / "flipped.npz"
        bad.write_bytes(bytes(damaged))
        try:
            load_strokes(bad)
        except StrokesError as e:
            assert "flipped.npz" in str(e) and "\n" not in str(e)
    code, err = _render([bad, "--renderer", "simple", "--out", tmp_path / "x.png"], capsys)
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "x.png").exists()


def test_strokes_json_without_width_is_an_error(tmp_path, capsys):
    _, js = _saved_painting(tmp_path)
    doc = json.loads(js.read_text())
    del doc["width"]
    js.write_text(json.dumps(doc))
    code, err = _render([js, "--renderer", "simple", "--out", tmp_path / "x.png"], capsys)
    _assert_one_line_error(code, err, "no 'width'", '"width": 64')
    assert not (tmp_path / "x.png").exists()


def test_truncated_painter_checkpoint_is_a_clear_error(tmp_path, capsys):
    from painters.cli.train_painter import main

    out = tmp_path / "painter"
    out.mkdir()
    data = tmp_path / "data"
    code = __import__("painters.cli.make_dataset", fromlist=["main"]).main(
        ["--out", str(data), "--num-strokes", "16", "--renderer", "simple", "--no-progress"]
    )
    assert code == 0
    args = ["--kind", "structured", "--data", str(data), "--out", str(out), "--steps", "2",
            "--batch-size", "4", "--device", "cpu", "--tensorboard", "none", "--no-progress"]  # fmt: skip
    torch.set_num_threads(1)
    assert main(args) == 0
    state = out / "training_state.pt"
    blob = state.read_bytes()
    state.write_bytes(blob[: len(blob) // 2])
    capsys.readouterr()
    resume = [a if a != "2" else "4" for a in args]  # 4 steps in all, from the checkpoint
    assert main([*resume, "--resume"]) == 2
    err = capsys.readouterr().err.strip()
    _assert_one_line_error(2, err, "cannot resume from", "training_state.pt", "drop --resume")


def test_huge_png_is_too_large_not_corrupt_in_the_env(tmp_path):
    import gymnasium

    import painting_env  # noqa: F401  (registers Painting-v0)
    from painters.images import ImageError

    big = _png_header_only(tmp_path / "big.png", 14_000, 14_000)
    with pytest.raises(ImageError, match=r"too large: 14000x14000 px .*downscale") as e:
        gymnasium.make("Painting-v0", target=str(big))
    assert "corrupt" not in str(e.value)
