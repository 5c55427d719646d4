"""scripts/render_strokes.py: re-render saved strokes at any size, one-line errors."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import needs_mypaint
from PIL import Image

from painters import random_actions
from painters.export import Painting

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "render_strokes.py"


def _main():
    spec = importlib.util.spec_from_file_location("render_strokes", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.main


MAIN = _main()


class Result:
    def __init__(self, returncode: int, stderr: str) -> None:
        self.returncode, self.stderr = returncode, stderr


@pytest.fixture
def run(capsys):
    """Run the script's main() in this process (fast); argparse errors exit with code 2."""

    def call(*args) -> Result:
        capsys.readouterr()
        try:
            code = MAIN([str(a) for a in args])
        except SystemExit as e:
            code = e.code
        return Result(code, capsys.readouterr().err)

    return call


def test_cli_subprocess(tmp_path, strokes):
    """The script runs as a command (one real process; the other tests call main())."""
    out = tmp_path / "P.png"
    r = subprocess.run(
        [sys.executable, str(SCRIPT), str(strokes), "--size", "128", "--renderer", "simple",
         "--out", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    with Image.open(out) as im:
        assert im.size == (128, 85)


@pytest.fixture
def strokes(tmp_path) -> Path:
    p = Painting(random_actions(40, rng=0), width=96, height=64)
    p.save_json(tmp_path / "strokes.json")
    return p.save_npz(tmp_path / "strokes.npz")


@pytest.mark.parametrize(
    "renderer",
    [
        pytest.param(
            "mypaint",
            marks=needs_mypaint,
        ),
        "simple",
    ],
)
def test_writes_requested_size(tmp_path, strokes, renderer, run):
    out = tmp_path / "P.png"
    r = run(strokes, "--width", 768, "--height", 512, "--renderer", renderer, "--out", out)
    assert r.returncode == 0, r.stderr
    with Image.open(out) as im:
        assert im.size == (768, 512) and im.mode == "RGB"
        assert np.asarray(im).std() > 5  # strokes were painted, not a blank canvas


def test_size_keeps_aspect_and_json_input_and_gif(tmp_path, strokes, run):
    out, gif = tmp_path / "a.png", tmp_path / "a.gif"
    r = run(strokes.with_suffix(".json"), "--size", 300, "--renderer", "simple", "--out", out,
            "--gif", gif)  # fmt: skip
    assert r.returncode == 0, r.stderr
    with Image.open(out) as im:
        assert im.size == (300, 200)
    with Image.open(gif) as g:
        assert g.n_frames >= 2
    r = run(strokes, "--renderer", "simple", "--out", out)  # default: longer side 512
    assert r.returncode == 0, r.stderr
    with Image.open(out) as im:
        assert im.size == (512, 341)


@pytest.mark.parametrize(
    "args, match",
    [
        (["missing.npz"], "no strokes file"),
        (["bad.npz"], "not a readable npz"),
        (["{npz}", "--width", "0"], "--width must be"),
        (["{npz}", "--out", "x.jpg"], "--out must be a .png"),
        (["{npz}", "--renderer", "simple", "--painter", "x"], None),
    ],
)
def test_bad_input_exit_2(tmp_path, strokes, args, match, run):
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    args = [a.replace("{npz}", str(strokes)) for a in args]
    args = [str(tmp_path / a) if a.endswith(".npz") and "/" not in a else a for a in args]
    if "--out" not in args:
        args += ["--out", str(tmp_path / "o.png")]
    r = run(*args)
    if match is None:  # --painter is ignored by the simple renderer
        assert r.returncode == 0, r.stderr
        return
    assert r.returncode == 2
    assert match in r.stderr.strip().splitlines()[-1]  # argparse puts usage lines first
    assert not (tmp_path / "o.png").exists()


@needs_mypaint
def test_unknown_brush_exit_2(tmp_path, strokes, run):
    r = run(strokes, "--brush", "no/such_brush", "--out", tmp_path / "o.png")
    assert r.returncode == 2 and "unknown brush" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
