"""Joint refinement of every stroke of a windowed painting on the whole canvas
(agents.gradient.joint), and agent + gradient painting built on it (tiny budgets)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import needs_mypaint
from PIL import Image

import painters
from agents.gradient import GradientConfig, window_alphas
from agents.gradient.joint import PlacedBrushes, PlacedStrokes, refine_jointly
from agents.gradient.multibrush import reassign
from painters.replaying import replay_windows

SAMPLE = Path(__file__).resolve().parents[1] / "painting_env" / "samples" / "astronaut.jpg"
BRUSHES = ["classic/dry_brush", "classic/pen"]


@pytest.fixture(scope="module")
def mb():
    return painters.load_painters(BRUSHES).eval()


def _strokes(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random((n, 12)).astype(np.float32)


def test_placed_strokes_put_each_stroke_in_its_window(mb):
    painter = mb.painters[0]
    acts = torch.from_numpy(_strokes(5, 0))
    wins = np.array([[0, 0], [32, 0], [0, 0], [32, 0], [16, 0]])
    with torch.no_grad():
        placed = PlacedStrokes(painter, wins, 96, 64)(acts)
        own = painter(acts)
    assert placed.shape == (5, 4, 64, 96)
    want = window_alphas(own[:, 3], wins, 96, 64)
    assert torch.equal(placed[:, 3], want)
    with pytest.raises(ValueError, match="3 strokes for 5 windows"):
        PlacedStrokes(painter, wins, 96, 64)(acts[:3])


def test_reassign_on_whole_canvases_matches_the_windows(mb):
    """The brush re-choice on placed strokes (one window: the same canvas) chooses as on 64 px
    windows."""
    acts = torch.from_numpy(_strokes(6, 1))[None]
    idx = torch.zeros(1, 6, dtype=torch.long)
    base = torch.ones(1, 3, 64, 64)
    target = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    wins = np.zeros((6, 2), np.int64)
    a = reassign(mb, acts, idx, base, target)
    b = reassign(PlacedBrushes(mb, wins, 64, 64), acts, idx, base, target)
    assert torch.equal(a[0], b[0]) and a[2] == b[2]
    assert torch.allclose(a[1], b[1], atol=1e-6)


def _pen_painting(mb, n=8, seed=3):
    """A 96 x 64 target painted with the pen, and a start: the same strokes, shifted and with
    other colours, all with the dry brush."""
    acts = _strokes(n, seed)
    wins = np.array([[0, 0], [32, 0]] * (n // 2))
    canvas, _ = replay_windows(mb, acts, wins, 96, 64, brush_index=np.ones(n, np.int64))
    start = acts.copy()
    start[:, :6] = np.clip(start[:, :6] + 0.05, 0, 1)
    start[:, 9:12] = 0.5
    return acts, wins, canvas, start


def test_refine_jointly_lowers_the_loss_and_moves_strokes_to_the_brush_that_drew_them(mb):
    _, wins, canvas, start = _pen_painting(mb)
    target = torch.from_numpy(canvas).permute(2, 0, 1).float() / 255.0

    def loss(local, index):
        img, _ = replay_windows(mb, local, wins, 96, 64, brush_index=index)
        return float(np.mean((img / 255.0 - canvas / 255.0) ** 2))

    before = loss(start, np.zeros(8, np.int64))
    local, index, final = refine_jointly(mb, start, wins, target, steps=30, lr=0.05)
    assert local.shape == (8, 12) and local.min() >= 0 and local.max() <= 1
    assert final.shape == (3, 64, 96)
    assert (index == 1).sum() >= 4  # most strokes found their brush
    assert loss(local, index) < 0.5 * before
    # one brush: no brush moves, the loss still falls; same inputs, same result
    one = refine_jointly(mb.painters[0], start, wins, target, steps=10, lr=0.05)
    assert (one[1] == 0).all() and loss(one[0], np.zeros(8, np.int64)) < before
    again = refine_jointly(mb.painters[0], start, wins, target, steps=10, lr=0.05)
    assert np.array_equal(one[0], again[0])
    with pytest.raises(ValueError, match="one brush per stroke"):
        refine_jointly(mb, start, wins, target, steps=1, brush_index=np.zeros(3, np.int64))


def test_agent_and_gradient_refines_small_paintings_and_mixes_brushes(mb, monkeypatch):
    from agents import load_agent
    from agents.painting import paint_with_agent_and_gradient
    from agents.painting import refine as refine_module

    image = np.asarray(Image.open(SAMPLE).convert("RGB").resize((96, 64)))
    model = load_agent("default")
    calls = []
    real_refine = refine_module.refine_painting
    monkeypatch.setattr(
        refine_module, "refine_painting", lambda *a, **k: calls.append(1) or real_refine(*a, **k)
    )
    p = paint_with_agent_and_gradient(image, model, 12, painter=mb, steps=20, plan_steps=2)
    assert calls and len(p) == 12 and set(p.brush_list()) <= set(BRUSHES)
    assert p.info["refine_steps"] == 20
    replay, _ = replay_windows(mb, p.local_actions, p.windows, p.width, p.height,
                               brush_index=p.brush_index(BRUSHES))  # fmt: skip
    assert np.abs(replay.astype(int) - p.canvas.astype(int)).max() <= 1
    # above the memory bound the agent proposes the gradient painter's strokes instead
    monkeypatch.setattr(refine_module, "REFINE_LIMIT", 10)
    calls.clear()
    cfg = GradientConfig(steps=2, groups=1, refine_steps=1)
    q = paint_with_agent_and_gradient(image, model, 6, painter=mb, config=cfg)
    assert not calls and len(q) == 6
    with pytest.raises(ValueError, match="mode='init'"):
        paint_with_agent_and_gradient(image, model, 6, config=GradientConfig(palette=((0, 0, 0),)),
                                      painter=mb, mode="refine")  # fmt: skip


def test_cli_several_brushes_paint_with_the_agent_and_refine_by_default(tmp_path, capsys):
    from agents.cli.paint import main as paint_main

    out = tmp_path / "mixed"
    args = [str(SAMPLE), "--out", str(out), "--brushes", ",".join(BRUSHES), "--strokes", "6"]
    rc = paint_main([*args, "--steps", "4", "--render-size", "64", "--no-real-fit", "--quiet"])
    assert rc == 0
    said = capsys.readouterr().out
    assert "(agent+gradient, planning 32 steps)" in said
    doc = __import__("json").loads((out / "strokes.json").read_text())
    assert [s["brush"] in BRUSHES for s in doc["strokes"]] == [True] * 6


@needs_mypaint
def test_real_retry_runs_when_the_re_render_misses_and_keeps_only_a_better_one(
    mb, monkeypatch, tmp_path
):
    from agents import load_agent
    from agents.painting import paint_with_agent_and_gradient, write_painting_outputs
    from agents.painting import refine as refine_module
    from painters.images import load_image, prepare_target, resize

    image = np.asarray(Image.open(SAMPLE).convert("RGB").resize((96, 64)))
    target = prepare_target(image, 96, 64)
    model = load_agent("default")
    cfg = GradientConfig(finish_scale=2.0, finish_steps=5)
    kw = dict(painter=mb, steps=4, plan_steps=1, real_seed=0, config=cfg)
    # a re-render within the ratio: no second refinement
    monkeypatch.setattr(refine_module, "RETRY_RATIO", 1e9)
    p = paint_with_agent_and_gradient(image, model, 8, **kw)
    assert "real_retry" not in p.info
    # the check measures what painting_real.png shows, area-averaged to the painting's size
    write_painting_outputs(tmp_path, p, mb, render_size=192, seed=0)
    real = resize(load_image(tmp_path / "painting_real.png"), 96, 64) / 255.0
    want = float(np.mean((real - target / 255.0) ** 2))
    assert refine_module.real_mse(p, target, 2.0, 0) == pytest.approx(want, rel=1e-6)
    # always retried: the painting kept is the better re-render, the numbers say which
    monkeypatch.setattr(refine_module, "RETRY_RATIO", 0.0)
    monkeypatch.setattr(refine_module, "RETRY_STEPS", 3)
    q = paint_with_agent_and_gradient(image, model, 8, **kw)
    note = q.info["real_retry"]
    (n0, n1), (r0, r1) = note["neural"], note["real"]
    assert note["kept"] == (r1 < r0 and n1 <= refine_module.RETRY_KEEP * n0)
    got = float(np.mean((q.canvas / 255.0 - target / 255.0) ** 2))
    assert got == pytest.approx(n1 if note["kept"] else n0, rel=1e-9)
    assert refine_module.real_mse(q, target, 2.0, 0) == pytest.approx(r1 if note["kept"] else r0)
    assert q.info["refine_steps"] == 4 + (3 if note["kept"] else 0)
