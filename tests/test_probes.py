"""Bad input, probed as a new user would (the painters, the env and the command line): damaged
weights, painter configs and stroke files give one-line errors naming the file and the fix;
every number is bounded by the memory it implies; the command line refuses impossible requests
before painting, leaving nothing half-written; interrupts, SIGTERM and a full disk end in one
line. The agents' probes are in test_probes_agents.py."""

from __future__ import annotations

import json
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

    import tomllib

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
    out = tmp_path / method
    code, err = _paint([COFFEE, "--out", out, "--method", method, *FAST], capsys)
    assert code == 0, err
    from painters.export import load_strokes

    painting = load_strokes(out / "strokes.npz")
    assert len(painting) == 2 and painting.info["method"] == method


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
    painting = load_strokes(npz)
    blob = npz.read_bytes()
    for offset in range(0, len(blob) - 1, max(1, len(blob) // 200)):
        damaged = bytearray(blob)
        damaged[offset] ^= 0x10
        bad = tmp_path / "flipped.npz"
        bad.write_bytes(bytes(damaged))
        try:
            loaded = load_strokes(bad)
        except StrokesError as e:
            error = str(e)
        else:  # a flip that loads must change nothing (a zip header's date, say)
            error = None
            assert np.array_equal(loaded.actions, painting.actions), offset
            assert (loaded.width, loaded.height, loaded.brush, loaded.info) == (
                painting.width, painting.height, painting.brush, painting.info
            ), offset  # fmt: skip
        assert error is None or ("flipped.npz" in error and "\n" not in error), error
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


# -- round 2: numbers bounded by the memory they imply, refused early in one line ---------------
@pytest.mark.parametrize(
    "args, needle",
    [
        (["--grid", "100000"], "--grid must be between 1 and 256"),
        (["--loss", "nan*mse"], "positive finite number"),
        (["--loss=-1*mse"], "paints away from the target"),
        (["--render-size", "1000000"], "--render-size must be between 1 and 16,384"),
        (["--device", "tpu:9"], "unknown device 'tpu:9'"),
        (["--tensorboard", "/proc/neural-paint-tb"], "cannot write to --tensorboard"),
        (["--groups", "5", "--strokes", "2"], "more than --strokes"),
    ],
)
def test_paint_refuses_impossible_numbers_before_painting(tmp_path, capsys, monkeypatch, args,
                                                           needle):  # fmt: skip
    import time

    import agents.cli.paint as paint

    def never(*a, **k):
        raise AssertionError("painted before refusing")

    monkeypatch.setattr(paint, "paint", never)
    fast = [a for a in FAST if a != "--strokes" and a != "2"] + ["--strokes", "2"]
    t0 = time.perf_counter()
    code, err = _cli(paint.main, [COFFEE, "--out", tmp_path / "o", *fast, *args], capsys)
    _assert_one_line_error(code, err, needle)
    assert time.perf_counter() - t0 < 20 and not (tmp_path / "o").exists()


def test_paint_refuses_an_elongated_image_before_decoding(tmp_path, capsys):
    long = _png_header_only(tmp_path / "long.png", 10_000, 8)  # a 80000 x 64 px canvas
    code, err = _paint([long, "--out", tmp_path / "o", *FAST], capsys)
    _assert_one_line_error(code, err, "80000x64 px", "more than 16384 px", "crop")
    assert not (tmp_path / "o").exists()


def test_paint_disk_full_interrupt_and_sigterm_are_one_line(tmp_path, capsys, monkeypatch):
    import errno

    import agents.cli.paint as paint

    out = tmp_path / "o"
    out.mkdir()
    (out / "painting.png").write_bytes(b"earlier painting")

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device", str(out / "strokes.json"))

    monkeypatch.setattr(paint, "write_outputs", full)
    code, err = _paint([COFFEE, "--out", out, *FAST], capsys)
    _assert_one_line_error(code, err, "no space left", "free some space")
    assert sorted(p.name for p in out.iterdir()) == ["painting.png"]
    assert (out / "painting.png").read_bytes() == b"earlier painting"

    def interrupt(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(paint, "write_outputs", interrupt)
    code, err = _paint([COFFEE, "--out", out, *FAST], capsys)
    assert code == 130 and err == "neural-paint: interrupted"
    assert sorted(p.name for p in out.iterdir()) == ["painting.png"]


def test_sigterm_removes_the_temporary_folder_and_later_runs_remove_stale_ones(tmp_path):
    import os
    import signal
    import time

    out = tmp_path / "o"
    out.mkdir()
    dead = out / ".paint-tmp-999999999-x"  # a killed run's (no such process)
    dead.mkdir()
    alive = out / f".paint-tmp-{os.getpid()}-y"  # a concurrent run's: kept
    alive.mkdir()
    cmd = [sys.executable, "-m", "agents.cli.paint", str(COFFEE), "--out", str(out),
           "--strokes", "200", "--quiet", "--no-real-fit"]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"})  # fmt: skip
    deadline = time.time() + 120
    while time.time() < deadline and not [p for p in out.glob(f".paint-tmp-{proc.pid}-*")]:
        time.sleep(0.1)
    assert not dead.exists() and alive.exists()  # removed before this run made its own
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and err.strip() == "neural-paint: terminated", err
    assert sorted(p.name for p in out.iterdir()) == [alive.name]


def test_exif_orientation_is_applied_where_images_are_read(tmp_path):
    from PIL import Image

    from painters.images import load_image

    im = Image.new("RGB", (48, 32), "white")
    im.paste((255, 0, 0), (0, 0, 24, 32))  # left half red, as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    path = tmp_path / "phone.jpg"
    im.save(path, exif=exif.tobytes(), quality=95)
    rgb = load_image(path)
    assert rgb.shape == (48, 32, 3)  # upright: portrait
    assert rgb[2, 16, 0] > 200 and rgb[2, 16, 1] < 60  # the red half is now on top
    assert rgb[45, 16, 1] > 200  # and white below


def _render_json(tmp_path, doc) -> Path:
    js = tmp_path / "s.json"
    js.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return js


@pytest.mark.parametrize(
    "change, args, needle",
    [
        ({"width": 1, "height": 10**6}, [], "painting height (px) must be between 1 and 16,384"),
        ({"width": "1e400"}, [], "must be a whole number"),
        ({"width": 10**400}, [], "painting width (px) must be between"),
        ({}, ["--width", "16384", "--height", "16384"], "more than the"),
    ],
)
def test_render_strokes_bounds_sizes(tmp_path, capsys, change, args, needle):
    _, js = _saved_painting(tmp_path)
    text = js.read_text()
    doc = json.loads(text)
    doc.update({k: v for k, v in change.items() if v != "1e400"})
    text = json.dumps(doc)
    if change.get("width") == "1e400":
        text = text.replace('"width": 96', '"width": 1e400')
    code, err = _render([_render_json(tmp_path, text), "--renderer", "simple", "--out",
                         tmp_path / "x.png", *args], capsys)  # fmt: skip
    _assert_one_line_error(code, err, needle)
    assert not (tmp_path / "x.png").exists()


def test_render_strokes_deep_json_and_huge_npz_are_one_line(tmp_path, capsys):
    import io

    deep = _render_json(tmp_path, "[" * 100_000 + "]" * 100_000)
    code, err = _render([deep, "--out", tmp_path / "x.png"], capsys)
    _assert_one_line_error(code, err, "nested too deeply")
    header = io.BytesIO()  # an npz claiming 10 million strokes (header only)
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (10_000_000, 12)}
    )
    big = tmp_path / "big.npz"
    with zipfile.ZipFile(big, "w") as z:
        z.writestr("actions.npy", header.getvalue())
    code, err = _render([big, "--out", tmp_path / "x.png"], capsys)
    _assert_one_line_error(code, err, "10,000,000 strokes, more than 100,000")


def test_env_numbers_are_whole_and_fit_in_memory():
    import gymnasium

    import painting_env  # noqa: F401

    with pytest.raises(ValueError, match=r"max_strokes must be between 1 and 10,000"):
        gymnasium.make("Painting-v0", max_strokes=10**12)
    with pytest.raises(ValueError, match="max_strokes must be a whole number, got 2.5"):
        gymnasium.make("Painting-v0", max_strokes=2.5)
    with pytest.raises(ValueError, match="size must be between 8 and 1,024"):
        gymnasium.make("Painting-v0", size=100_000)


@pytest.mark.parametrize("key, value", [("hidden", 1e9), ("dabs", 10_000_000), ("size", -1)])
def test_painter_config_numbers_are_bounded(tmp_path, key, value):
    import time

    import painters

    folder = _painter_copy(tmp_path)
    cfg = json.loads((folder / "config.json").read_text())
    cfg["config"][key] = value
    (folder / "config.json").write_text(json.dumps(cfg))
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=f"config.json: '{key}' must be between"):
        painters.load_painter(folder)
    assert time.perf_counter() - t0 < 5


def test_optimisation_frames_stay_bounded_and_even():
    from painters.gif import EvenFrames

    frames = EvenFrames(capacity=8)
    for i in range(1000):  # one frame per optimisation step of a long painting
        frames.add(i)
    assert len(frames) <= 9
    picked = frames.frames(5)
    assert picked[0] == 0 and picked[-1] == 999 and picked == sorted(picked)
    steps = np.diff(frames.kept)
    assert steps.min() == steps.max()  # evenly spaced


def test_train_painter_refuses_a_batch_beyond_memory(tmp_path, capsys):
    from painters.cli.train_painter import main

    out = tmp_path / "p"
    args = ["--kind", "structured", "--on-the-fly", "--out", out, "--no-progress"]
    code, err = _cli(main, [*args, "--batch-size", "60000"], capsys)
    assert code == 2 and "needs about" in err and len(err.splitlines()) == 1
    code, err = _cli(main, [*args, "--model-config", '{"hidden": 1e9}'], capsys)
    assert code == 2 and "'hidden' must be between" in err and not out.exists()
