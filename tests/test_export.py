"""Stroke export (npz, JSON, SVG) and re-rendering at any size (painters.export)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from conftest import needs_mypaint

from painters import actions as A
from painters import export as E
from painters import random_actions
from painters.export import Painting, StrokesError, load_strokes, to_svg
from painters.rerender import render_painting

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def painting() -> Painting:
    return Painting(
        random_actions(30, rng=3),
        width=96,
        height=64,
        stroke_scale=0.5,
        brush="classic/pencil",
        background=(250, 240, 230),
        info={"painter": "default", "seed": 3},
    )


def _same(a: Painting, b: Painting) -> None:
    np.testing.assert_array_equal(a.actions, b.actions)
    assert (a.width, a.height, a.stroke_scale) == (b.width, b.height, b.stroke_scale)
    assert (a.brush, a.background, a.info) == (b.brush, b.background, b.info)


def test_npz_round_trip_non_square(tmp_path, painting):
    path = painting.save_npz(tmp_path / "strokes.npz")
    with np.load(path, allow_pickle=False) as z:  # plain arrays only
        assert z["actions"].dtype == np.float32 and z["actions"].shape == (30, 12)
    _same(painting, load_strokes(path))


def test_bare_npz_gets_single_tile_defaults(tmp_path):
    a = random_actions(5, rng=0)
    np.savez(tmp_path / "s.npz", actions=a)
    p = load_strokes(tmp_path / "s.npz")
    assert (p.width, p.height, p.stroke_scale, p.brush) == (64, 64, 1.0, "classic/dry_brush")
    np.testing.assert_array_equal(p.actions, a)


def test_json_round_trip_and_layout(tmp_path, painting):
    path = painting.save_json(tmp_path / "strokes.json")
    d = json.loads(path.read_text())
    assert d["action_layout"] == list(A.ACTION_NAMES)
    assert (d["width"], d["height"], d["brush"]) == (96, 64, "classic/pencil")
    assert len(d["strokes"]) == 30 and d["strokes"][7]["index"] == 7
    s, act = d["strokes"][7], painting.actions[7]
    assert s["end_x"] == pytest.approx(float(act[A.END_X]))
    assert s["pixels"]["end"] == pytest.approx([act[A.END_X] * 96, act[A.END_Y] * 64], abs=1e-3)
    # radius law: exp(2·size) · min(W, H) · stroke_scale / 64
    assert s["pixels"]["radius"] == pytest.approx(np.exp(2 * act[A.SIZE]) * 64 * 0.5 / 64, abs=1e-3)
    _same(painting, load_strokes(path))


@pytest.mark.parametrize(
    "content, match",
    [
        (b"not a zip", "not a readable npz"),
        (None, "no 'actions'"),
    ],
)
def test_corrupt_npz_errors(tmp_path, content, match):
    path = tmp_path / "s.npz"
    if content is None:
        np.savez(path, strokes=np.zeros(3))
    else:
        path.write_bytes(content)
    with pytest.raises(StrokesError, match=match):
        load_strokes(path)


def test_bad_inputs_one_line_errors(tmp_path):
    with pytest.raises(StrokesError, match="no strokes file"):
        load_strokes(tmp_path / "missing.npz")
    (tmp_path / "s.txt").write_text("x")
    with pytest.raises(StrokesError, match=r"\.npz or \.json"):
        load_strokes(tmp_path / "s.txt")
    np.savez(tmp_path / "wrong.npz", actions=np.zeros((4, 10), np.float32))
    with pytest.raises(StrokesError, match=r"shape \(N, 12\)"):
        load_strokes(tmp_path / "wrong.npz")
    np.savez(tmp_path / "range.npz", actions=np.full((2, 12), 3.0, np.float32))
    with pytest.raises(StrokesError, match=r"\[0, 1\]"):
        load_strokes(tmp_path / "range.npz")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(StrokesError, match="not a readable JSON"):
        load_strokes(tmp_path / "bad.json")
    (tmp_path / "missing_field.json").write_text(json.dumps({"strokes": [{"pressure": 0.5}]}))
    with pytest.raises(StrokesError, match="stroke 0 lacks"):
        load_strokes(tmp_path / "missing_field.json")
    with pytest.raises(ValueError, match="stroke_scale"):
        Painting(random_actions(2, rng=0), stroke_scale=0)


def test_output_size_keeps_aspect(painting):
    assert painting.output_size() == (512, 341)
    assert painting.output_size(size=300) == (300, 200)
    assert painting.output_size(height=100) == (150, 100)
    assert painting.output_size(width=768, height=512) == (768, 512)
    tall = Painting(random_actions(1, rng=0), width=40, height=80)
    assert tall.output_size(size=200) == (100, 200)


def test_svg_one_path_per_stroke_and_control_point(painting):
    root = ET.fromstring(to_svg(painting))
    assert root.get("viewBox") == "0 0 96 64"
    assert (root.get("width"), root.get("height")) == ("512", "341")
    paths = root.findall(f".//{SVG}path")
    assert len(paths) == len(painting)
    assert root.find(f"{SVG}rect").get("fill") == "#faf0e6"
    # stroke 4: M start Q P1 end with P1 = 2c - (start + end)/2, in canvas px
    a = painting.actions[4].astype(np.float64)
    scale = np.array([96.0, 64.0])
    s, c, e = (a[[i, j]] * scale for i, j in ((9, 10), (2, 3), (4, 5)))
    nums = [float(v) for v in paths[4].get("d").replace("M", "").replace("Q", " ").split()]
    np.testing.assert_allclose(nums, [*s, *(2 * c - (s + e) / 2), *e], atol=2e-3)
    rgb = np.rint(a[6:9] * 255).astype(int)
    assert paths[4].get("stroke") == "#{:02x}{:02x}{:02x}".format(*rgb)


def test_svg_width_and_opacity_follow_pressure():
    a = np.tile(random_actions(1, rng=0), (2, 1))
    a[:, A.PRESSURE] = a[:, A.ENTRY_PRESSURE] = (0.1, 0.9)
    width, opacity = E.svg_stroke_style(a)
    assert width[1] > width[0] and opacity[1] > opacity[0]
    assert 0.1 < opacity[0] < 0.3 and 0.4 < opacity[1] < 0.65  # dry_brush is translucent


def test_save_svg_atomic(tmp_path, painting):
    path = E.save_svg(painting, tmp_path / "painting.svg")
    assert len(ET.parse(path).getroot().findall(f".//{SVG}path")) == 30
    assert [p.name for p in tmp_path.iterdir()] == ["painting.svg"]  # no temp files left


def test_simple_matches_renderer_at_native_size():
    from painters.renderers import get_renderer

    a = random_actions(60, rng=1)
    ours = render_painting(Painting(a), "simple").astype(int)
    ref = get_renderer("simple", 64).paint(a).astype(int)
    inner = np.abs(ours - ref)[1:-1, 1:-1]  # OpenCV clips thick lines differently at the edge
    assert inner.mean() < 0.05 and np.quantile(inner, 0.999) <= 3


def test_simple_any_size_and_aspect(painting):
    img = render_painting(painting, "simple", width=150, height=100)
    assert img.shape == (100, 150, 3) and img.dtype == np.uint8
    small = render_painting(painting, "simple", width=48, height=32).astype(np.float32)
    import cv2

    down = cv2.resize(img, (48, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
    assert np.mean((down - small) ** 2) / 255**2 < 0.01  # same picture at both sizes
    assert np.array_equal(img, render_painting(painting, "simple", width=150, height=100))


def test_simple_memory_bounded(monkeypatch):
    """Strokes are drawn one window at a time: no (N, S, S, 4) stack is ever built."""
    from painters.renderers.simple import SimpleRenderer

    def no_batch(*args, **kwargs):
        raise AssertionError("render() builds N full stroke images")

    monkeypatch.setattr(SimpleRenderer, "render", no_batch)
    sides = []
    orig = SimpleRenderer.__init__

    def spy(self, size=64, **kw):
        sides.append(size)
        orig(self, size, **kw)

    monkeypatch.setattr(SimpleRenderer, "__init__", spy)
    a = random_actions(40, rng=2)
    a[:, A.SIZE] *= 0.3
    a[:, A.ENTRY_PRESSURE] = np.maximum(a[:, A.ENTRY_PRESSURE], 0.2)
    img = render_painting(Painting(a, stroke_scale=0.25), "simple", width=1024, height=1024)
    assert img.shape == (1024, 1024, 3)
    assert len(sides) == len(set(sides)) <= 10  # each window side made once and reused
    assert max(sides) <= 1536  # no window beyond the canvas (+2 px), rounded up


def test_neural_native_equals_replay():
    import torch

    from painters import load_painter, replay

    torch.set_num_threads(1)
    painter = load_painter("default")
    a = random_actions(20, rng=4)
    ours = render_painting(Painting(a), painter).astype(int)
    ref = replay(a, painter, size=64).astype(int)
    assert np.abs(ours - ref).max() <= 2
    big = render_painting(Painting(a), painter, width=128, height=128)
    assert big.shape == (128, 128, 3)


def test_bad_renderer_name(painting):
    with pytest.raises(ValueError, match="unknown renderer"):
        render_painting(painting, "crayon")


@needs_mypaint
def test_mypaint_any_size_and_gif(tmp_path, painting):
    gif = tmp_path / "anim.gif"
    img = render_painting(painting, "mypaint", width=120, height=80, gif_path=gif)
    assert img.shape == (80, 120, 3)
    from PIL import Image

    with Image.open(gif) as g:
        assert g.n_frames >= 2 and g.size == (120, 80)
    again = render_painting(painting, "mypaint", width=120, height=80, brush="classic/pencil")
    np.testing.assert_array_equal(img, again)  # the painting's own brush is the default


def test_stroke_files_write_the_npz_once_with_its_extra_arrays(tmp_path, monkeypatch) -> None:
    from agents.painting.export import write_stroke_files

    writes = []
    savez = np.savez_compressed
    monkeypatch.setattr(
        np, "savez_compressed", lambda f, **a: (writes.append(sorted(a)), savez(f, **a))
    )
    painting = Painting(random_actions(3, rng=0), width=96, height=64)
    write_stroke_files(painting, tmp_path / "out", {"seed": np.int64(7)})
    assert len(writes) == 1 and "seed" in writes[0] and "actions" in writes[0]
    with np.load(tmp_path / "out" / "strokes.npz", allow_pickle=False) as z:
        assert int(z["seed"]) == 7
    assert load_strokes(tmp_path / "out" / "strokes.npz").width == 96
    with pytest.raises(ValueError, match="overwrite painting keys"):
        painting.save_npz(tmp_path / "clash.npz", {"width": np.int64(1)})
    assert not (tmp_path / "clash.npz").exists()
