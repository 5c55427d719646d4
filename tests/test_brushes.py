"""Several brushes: the bundled brush painters, paintings whose strokes carry a brush each
(files, SVG, real and neural re-render, render-strokes) and training a painter for a brush."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import needs_mypaint

import painters
from painters import actions as A
from painters import random_actions
from painters.brushes import MultiBrushPainter, load_painters, render_brushes
from painters.loading import BUNDLED_BRUSHES, bundled_brushes, load_painter
from painters.painting import Painting, StrokesError, load_strokes

DRY, PEN = "classic/dry_brush", "classic/pen"


def mixed(n: int = 12, seed: int = 0) -> Painting:
    """A 64 px painting whose strokes alternate between the pen and the dry brush."""
    brushes = [PEN if i % 2 == 0 else DRY for i in range(n)]
    return Painting(random_actions(n, rng=seed), stroke_brushes=brushes)


# -- the data model ------------------------------------------------------------------------------
def test_stroke_brushes_round_trip_npz_and_json(tmp_path: Path) -> None:
    p = mixed()
    assert p.multi_brush and p.brushes == [PEN, DRY]
    assert p.brush_index().tolist() == [0, 1] * 6
    assert p.brush_index([DRY, PEN]).tolist() == [1, 0] * 6
    p.save_npz(tmp_path / "s.npz")
    p.save_json(tmp_path / "s.json")
    for name in ("s.npz", "s.json"):
        q = load_strokes(tmp_path / name)
        assert q.brush_list() == p.brush_list(), name
        np.testing.assert_array_equal(q.actions, p.actions)
    d = json.loads((tmp_path / "s.json").read_text())
    assert [s["brush"] for s in d["strokes"]] == p.brush_list()
    assert d["brushes"] == [PEN, DRY]


def test_single_brush_files_stay_as_they_were(tmp_path: Path) -> None:
    a = random_actions(5, rng=1)
    p = Painting(a, brush=PEN, stroke_brushes=[PEN] * 5)  # only the painting's brush
    assert p.stroke_brushes is None and not p.multi_brush and p.brushes == [PEN]
    p.save_npz(tmp_path / "s.npz")
    with np.load(tmp_path / "s.npz", allow_pickle=False) as z:
        assert "brush_index" not in z.files
    # a strokes.json written before per-stroke brushes: no "brush" in the strokes
    d = Painting(a, brush=PEN).to_json_dict()
    for s in d["strokes"]:
        assert s.pop("brush") == PEN
    q = Painting.from_json_dict(d)
    assert q.brush == PEN and q.brush_list() == [PEN] * 5 and not q.multi_brush
    # an old npz: actions only
    np.savez(tmp_path / "old.npz", actions=a)
    assert load_strokes(tmp_path / "old.npz").brush_list() == [DRY] * 5


def test_bad_stroke_brushes_are_rejected(tmp_path: Path) -> None:
    a = random_actions(3, rng=0)
    with pytest.raises(ValueError, match="one brush per stroke"):
        Painting(a, stroke_brushes=[PEN])
    with pytest.raises(ValueError, match="empty"):
        Painting(a, stroke_brushes=[PEN, "", DRY])
    d = mixed(3).to_json_dict()
    d["strokes"][1]["brush"] = 7
    with pytest.raises(StrokesError, match="stroke 1's brush"):
        Painting.from_json_dict(d)
    np.savez(tmp_path / "bad.npz", actions=a, brushes=np.asarray([PEN]), brush_index=[0, 1, 0])
    with pytest.raises(StrokesError, match="brush_index"):
        load_strokes(tmp_path / "bad.npz")


def test_svg_names_each_strokes_brush() -> None:
    svg = painters.to_svg(mixed(4))
    assert svg.count('data-brush="classic/pen"') == 2
    assert svg.count('data-brush="classic/dry_brush"') == 2
    assert "data-brush" not in painters.to_svg(Painting(random_actions(4, rng=0)))


# -- painters per brush --------------------------------------------------------------------------
def test_bundled_brush_painters_load_by_brush_name() -> None:
    assert DRY in bundled_brushes() and PEN in bundled_brushes()
    for brush in bundled_brushes():
        p = load_painter(brush)
        assert p.metadata.get("brush", DRY) == brush
        assert p is not None and load_painter(brush=brush).kind == p.kind
    assert load_painter(DRY).config == load_painter("default").config
    with pytest.raises(ValueError, match="neural-paint-train-painter --brush classic/knife"):
        load_painter(brush="classic/knife")
    for brush, folder in BUNDLED_BRUSHES.items():
        if brush in bundled_brushes():  # small enough to live in git
            weights = Path(painters.loading.PRETRAINED_DIR, folder, "model.safetensors")
            assert weights.stat().st_size <= 20 * 2**20


def test_multi_brush_painter_routes_each_stroke_and_is_differentiable() -> None:
    mb = load_painters([DRY, PEN])
    assert mb.brushes == [DRY, PEN] and len(mb) == 2
    a = torch.from_numpy(random_actions(10, rng=3)).requires_grad_()
    idx = torch.tensor([0, 1, 1, 0, 1, 0, 0, 1, 1, 1])
    out = render_brushes(mb, a, idx)
    with torch.no_grad():
        dry, pen = mb.painters[0](a), mb.painters[1](a)
    want = torch.where(idx[:, None, None, None] == 1, pen, dry)
    assert torch.allclose(out, want, rtol=0, atol=1e-5)  # grad and no-grad paths agree to 1e-5
    out[:, 3].sum().backward()
    assert a.grad is not None and a.grad.abs().sum() > 0
    # a one-hot relaxed choice draws the same strokes as the hard one
    w = torch.nn.functional.one_hot(idx, 2).float()
    assert torch.allclose(mb(a.detach(), weights=w), want, atol=1e-6)
    assert mb.index_of([PEN, DRY]).tolist() == [1, 0]
    with pytest.raises(ValueError, match="out of range"):
        mb(a.detach(), torch.full((10,), 2))
    with pytest.raises(ValueError, match="not among"):
        mb.index_of(["classic/knife"])
    # a mapping to painters (folders, names or modules) works for any brush
    mb2 = load_painters({DRY: "default", "my/brush": mb.painters[1]})
    assert isinstance(mb2, MultiBrushPainter) and mb2.brushes == [DRY, "my/brush"]


def test_neural_replay_uses_each_strokes_painter() -> None:
    p = mixed(8)
    mb = load_painters(p.brushes)
    got = painters.render(p, "neural")
    # by hand: each stroke from its own painter, laid over white in order
    a = torch.from_numpy(p.actions)
    canvas = painters.blank_canvas(1, 64)
    with torch.no_grad():
        for i, b in enumerate(p.brush_list()):
            canvas = painters.over(canvas, mb.painters[mb.brushes.index(b)](a[i : i + 1]))
    from painters.compositing import to_uint8

    np.testing.assert_array_equal(got, to_uint8(canvas[0]))
    # the dry brush's painter alone draws a different picture
    assert np.abs(got.astype(int) - painters.render(Painting(p.actions), "neural")).mean() > 1
    # any size: each stroke's window through its brush's painter
    assert painters.render(p, "neural", size=96).shape == (96, 96, 3)


def test_tiled_neural_replay_uses_each_strokes_painter() -> None:
    from painters.replaying import replay_windows

    local = random_actions(6, rng=4)
    windows = np.array([[0, 0], [64, 0], [32, 0], [0, 0], [64, 0], [32, 0]])
    glob = local.copy()
    xs = [A.START_X, A.CONTROL_X, A.END_X]
    glob[:, xs] = (local[:, xs] * 64 + windows[:, :1]) / 128  # the strokes on the 128 px canvas
    kw = {"width": 128, "height": 64, "local_actions": local, "windows": windows}
    brushes = [PEN, DRY, PEN, PEN, DRY, DRY]
    got = painters.replay(Painting(glob, stroke_brushes=brushes, **kw), "neural")
    pen, dry = load_painter(PEN), load_painter(DRY)
    assert np.array_equal(
        painters.replay(Painting(glob, stroke_brushes=[PEN] * 6, **kw), "neural"),
        replay_windows(pen, local, windows, 128, 64)[0],
    )
    # the dry-brush strokes drawn by their own painter: differs from all-pen and all-dry
    for single in (pen, dry):
        assert np.abs(got.astype(int) - replay_windows(single, local, windows, 128, 64)[0]).max()


# -- the real brush --------------------------------------------------------------------------------
@needs_mypaint
def test_real_rerender_paints_each_stroke_with_its_brush(tmp_path: Path) -> None:
    a = random_actions(10, rng=5)
    all_pen = Painting(a, stroke_brushes=[PEN] * 10)  # brush stays the dry brush
    assert all_pen.multi_brush
    np.testing.assert_array_equal(
        painters.render(all_pen, "mypaint"), painters.render(Painting(a, brush=PEN), "mypaint")
    )
    p = Painting(a, stroke_brushes=[PEN if i < 5 else DRY for i in range(10)])
    got = painters.render(p, "mypaint", size=96)
    for single in (DRY, PEN):
        other = painters.render(Painting(a, brush=single), "mypaint", size=96)
        assert np.abs(got.astype(int) - other).mean() > 0.5
    # the first five strokes alone, with the pen, are what the canvas shows before the rest
    frames: list[np.ndarray] = []
    from painters.renderers.mypaint import MyPaintRenderer

    r = MyPaintRenderer(64, brush=DRY)
    r.paint(a, width=96, height=96, brushes=p.brush_list(),
            callback=lambda i, c: frames.append(c) if i == 4 else None)  # fmt: skip
    first = painters.render(Painting(a[:5], brush=PEN), "mypaint", size=96)
    np.testing.assert_array_equal(frames[0], first)
    # render-strokes replays the saved painting the same way
    from painters.cli.render_strokes import main

    p.save_json(tmp_path / "strokes.json")
    assert (
        main([str(tmp_path / "strokes.json"), "--size", "96", "--out", str(tmp_path / "r.png")])
        == 0
    )
    from PIL import Image

    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "r.png").convert("RGB")), got)
    # --brush overrides every stroke's brush
    assert main([str(tmp_path / "strokes.json"), "--size", "96", "--brush", DRY,
                 "--out", str(tmp_path / "d.png")]) == 0  # fmt: skip
    dry = painters.render(Painting(a), "mypaint", size=96)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "d.png").convert("RGB")), dry)


@needs_mypaint
def test_unknown_stroke_brush_fails_before_painting() -> None:
    p = Painting(random_actions(3, rng=0), stroke_brushes=[PEN, "classic/nope", DRY])
    with pytest.raises(ValueError, match="unknown brush"):
        painters.render(p, "mypaint")


# -- training a painter for a brush --------------------------------------------------------------
@needs_mypaint
def test_train_painter_for_a_brush(tmp_path: Path, capsys, one_thread) -> None:
    from painters.cli.train_painter import main
    from painters.data import write_shards

    data = tmp_path / "pen"
    write_shards(data, 40, brush=PEN, seed=0, progress=False)
    out = tmp_path / "painter"
    args = ["--data", str(data), "--out", str(out), "--steps", "2", "--batch-size", "4",
            "--eval-every", "0", "--tensorboard", "none", "--no-progress"]  # fmt: skip
    assert main(args) == 0
    assert load_painter(out).metadata["brush"] == PEN  # the data's brush, recorded
    assert main([*args, "--brush", DRY, "--out", str(tmp_path / "x")]) == 2
    assert "rendered with brush classic/pen" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    # --brush alone renders that brush on the fly
    out2 = tmp_path / "otf"
    assert main(["--brush", PEN, "--out", str(out2), "--steps", "2", "--batch-size", "4",
                 "--eval-every", "0", "--tensorboard", "none", "--no-progress"]) == 0  # fmt: skip
    meta = load_painter(out2).metadata
    assert meta["brush"] == PEN and meta["data"] == "on-the-fly"
    with pytest.raises(SystemExit) as e:
        main(["--brush", "classic/nope", "--out", str(tmp_path / "y")])
    assert e.value.code == 2 and "unknown brush" in capsys.readouterr().err


@needs_mypaint
def test_brush_without_texture_has_no_ratio_but_a_relative_error() -> None:
    from painters.evaluation import evaluate_painter

    res = evaluate_painter(load_painter(PEN), 40, seed=3, brush=PEN)
    assert res["floor"] == 0 and res["ratio"] is None
    dry = evaluate_painter(load_painter("default"), 40, seed=3, brush=PEN)
    assert 0 < res["relative_error"] < 0.5 * dry["relative_error"]


# -- the strict two-sample test ------------------------------------------------------------------
@pytest.mark.slow
def test_strict_two_sample_test_tells_smooth_from_textured_and_repeats(one_thread) -> None:
    from painters.evaluation import STRICT_TWO_SAMPLE, two_sample_accuracy

    g = torch.Generator().manual_seed(0)
    ys, xs = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
    disc = (((xs - 32) ** 2 + (ys - 32) ** 2) < 200).float()[None, None].expand(120, 1, 64, 64)

    def speckled() -> torch.Tensor:
        return torch.cat([torch.zeros(120, 3, 64, 64), disc * (torch.rand(disc.shape, generator=g) < 0.5)], 1)  # fmt: skip

    smooth = torch.cat([torch.zeros(120, 3, 64, 64), 0.5 * disc], 1)
    textured, other = speckled(), speckled()
    quick = {**STRICT_TWO_SAMPLE, "epochs": 20, "ensemble": 2}
    acc = two_sample_accuracy(textured, smooth, seed=1, **quick)
    assert acc > 0.9
    assert two_sample_accuracy(textured, smooth, seed=1, **quick) == acc  # same seed, same result
    assert two_sample_accuracy(textured, other, seed=1, **quick) < 0.75  # same distribution
