"""scripts/paint.py end to end, with tiny budgets (a few strokes and steps)."""

from __future__ import annotations

import importlib.util
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import painters
from painters.export import load_strokes, stroke_radius

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "painting_env" / "samples" / "astronaut.jpg"
FAST = ["--strokes", "4", "--steps", "2", "--groups", "2", "--render-size", "64", "--quiet"]
FILES = {
    "painting.png", "strokes.npz", "strokes.json", "painting.svg", "painting_real.png",
    "animation.gif", "optimisation.gif",
}  # fmt: skip
COFFEE = ROOT / "painting_env" / "samples" / "coffee.jpg"  # 512 x 341


def _script():
    spec = importlib.util.spec_from_file_location("paint_script", ROOT / "scripts" / "paint.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def need_mypaint_module() -> None:
    """painting_real.png (in every output set) needs the real brush: skip without libmypaint."""
    from painters.renderers.mypaint import unavailable_reason

    if unavailable_reason():
        pytest.skip(unavailable_reason())


@pytest.fixture(scope="module")
def painted(tmp_path_factory, need_mypaint_module):
    out = tmp_path_factory.mktemp("paint") / "astro"
    assert _script().main([str(SAMPLE), "--out", str(out), "--seed", "1", *FAST]) == 0
    return out


def test_outputs_present_and_replay(painted):
    assert {p.name for p in painted.iterdir()} == FILES
    with np.load(painted / "strokes.npz", allow_pickle=False) as d:
        actions = d["actions"]
        assert actions.dtype == np.float32 and actions.shape == (4, 12)
        assert float(d["stroke_scale"]) == 1.0 and int(d["width"]) == 64
    png = np.asarray(Image.open(painted / "painting.png").convert("RGB"))
    assert png.shape == (64, 64, 3)
    replayed = painters.replay(actions, painters.load_painter("default"), size=64)
    assert np.abs(replayed.astype(int) - png.astype(int)).max() <= 3
    assert Image.open(painted / "painting_real.png").size == (64, 64)
    gif = Image.open(painted / "animation.gif")
    assert gif.n_frames >= 2


def test_same_seed_same_painting(painted, tmp_path):
    out = tmp_path / "again"
    assert _script().main([str(SAMPLE), "--out", str(out), "--seed", "1", *FAST]) == 0
    with np.load(painted / "strokes.npz") as a, np.load(out / "strokes.npz") as b:
        assert np.array_equal(a["actions"], b["actions"])


def test_grid_writes_global_strokes(need_mypaint, tmp_path):
    out = tmp_path / "grid"
    args = [str(SAMPLE), "--out", str(out), "--grid", "2", "--no-real-fit", *FAST]
    assert _script().main(args) == 0
    with np.load(out / "strokes.npz", allow_pickle=False) as d:
        assert float(d["stroke_scale"]) == 0.5 and int(d["width"]) == 128
        assert d["actions"].min() >= 0.0 and d["actions"].max() <= 1.0
    assert Image.open(out / "painting.png").size == (128, 128)
    assert Image.open(out / "painting_real.png").size == (64, 64)


def test_non_square_no_crop_and_exports(need_mypaint, tmp_path):
    out = tmp_path / "coffee"
    args = [str(COFFEE), "--out", str(out), "--brush", "classic/pencil", "--seed", "2", *FAST]
    args[-2] = "96"  # --render-size
    assert _script().main(args) == 0
    assert {p.name for p in out.iterdir()} == FILES
    w, h = Image.open(out / "painting.png").size
    assert (w, h) == (96, 64) and abs((w / h) / (512 / 341) - 1) < 0.02
    assert Image.open(out / "painting_real.png").size == (96, 64)
    painting = load_strokes(out / "strokes.npz")
    assert (painting.width, painting.height, painting.brush) == (96, 64, "classic/pencil")
    assert len(painting) == 4  # --strokes is the total
    doc = json.loads((out / "strokes.json").read_text())
    assert doc["width"] == 96 and len(doc["strokes"]) == 4 and doc["brush"] == "classic/pencil"
    svg = ET.parse(out / "painting.svg").getroot()
    assert len(svg.findall(".//{http://www.w3.org/2000/svg}path")) == 4
    # the saved strokes are the painting, at its aspect ratio
    again = painters.replay(out / "strokes.npz", painters.load_painter("default"))
    png = np.asarray(Image.open(out / "painting.png").convert("RGB"))
    assert again.shape == png.shape
    assert np.abs(again.astype(int) - png.astype(int)).max() <= 3
    real = painters.replay(out / "strokes.json", "mypaint", width=150, height=100)
    assert real.shape == (100, 150, 3)


def test_palette_and_stroke_size_controls(tmp_path):
    out = tmp_path / "pal"
    args = [str(COFFEE), "--out", str(out), "--palette", "#ff0000,#204080,#f0f0f0",
            "--min-stroke-size", "0.03", "--max-stroke-size", "0.05", "--no-real-fit", *FAST]  # fmt: skip
    assert _script().main(args) == 0
    painting = load_strokes(out / "strokes.npz")
    pal = np.array([[255, 0, 0], [32, 64, 128], [240, 240, 240]]) / 255.0
    d = np.abs(painting.actions[:, None, 6:9] - pal[None]).sum(-1).min(1)
    assert d.max() < 1e-5
    radius = stroke_radius(painting.actions[:, 1], 96, 64, painting.stroke_scale) / 64
    assert radius.min() >= 0.03 - 1e-4 and radius.max() <= 0.05 + 1e-4
    out2 = tmp_path / "k"
    args = [str(COFFEE), "--out", str(out2), "--palette", "2", "--no-real-fit", *FAST]
    assert _script().main(args) == 0
    colours = np.unique(load_strokes(out2 / "strokes.npz").actions[:, 6:9], axis=0)
    assert len(colours) <= 2


def test_bad_controls_are_clean_errors(need_mypaint, tmp_path, capsys):
    out = tmp_path / "out"
    for bad in (["--palette", "#12345"], ["--min-stroke-size", "0.9"], ["--brush", "no/such"]):
        assert _script().main([str(COFFEE), "--out", str(out), *bad, *FAST]) == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not out.exists()


def test_bad_image_clean_error_no_files(tmp_path, capsys):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff garbage")
    out = tmp_path / "out"
    assert _script().main([str(bad), "--out", str(out), *FAST]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot read" in err
    assert not out.exists() and list(tmp_path.iterdir()) == [bad]


def test_perceptual_without_weights_is_clean_error(tmp_path, capsys):
    out = tmp_path / "out"
    args = [str(SAMPLE), "--out", str(out), "--loss", "perceptual",
            "--perceptual-weights", str(tmp_path / "none.pth"), *FAST]  # fmt: skip
    assert _script().main(args) == 2
    assert "perceptual-weights" in capsys.readouterr().err and not out.exists()


def test_export_episode(tmp_path):
    import gymnasium

    import painting_env  # noqa: F401  (registers Painting-v0)
    from agents.painting.export import export_episode

    env = gymnasium.make("Painting-v0", max_strokes=3)
    env.reset(seed=0)
    for _ in range(3):
        env.step(env.action_space.sample())
    paths = export_episode(env, tmp_path / "ep")
    assert [p.name for p in paths] == [
        "painting.png",
        "strokes.npz",
        "strokes.json",
        "painting.svg",
    ]
    from PIL import Image

    from painters.compositing import to_uint8

    png = np.asarray(Image.open(tmp_path / "ep" / "painting.png"))
    np.testing.assert_array_equal(png, to_uint8(env.unwrapped.canvas[0]))
    painting = load_strokes(tmp_path / "ep" / "strokes.json")
    assert np.allclose(painting.actions, env.unwrapped.painting(), atol=1e-6)
    assert (tmp_path / "ep" / "painting.svg").read_text().count("<path") == 3
