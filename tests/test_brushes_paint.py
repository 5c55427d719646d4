"""Gradient painting with several brushes: strokes move to the brush that lowers the loss, in
the steps of one brush, every stroke carries its brush, and neural-paint --brushes writes it (tiny budgets)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import needs_mypaint
from PIL import Image

import painters
from agents.cli.paint import main as paint_main
from agents.gradient import GradientConfig, optimise_strokes, paint_images
from agents.gradient.multibrush import AssignedBrushes, reassign, swap_losses
from agents.gradient.optimiser import composite
from painters.replaying import replay_windows

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "painting_env" / "samples" / "astronaut.jpg"
BRUSHES = ["classic/dry_brush", "classic/pen"]
FAST = ["--strokes", "6", "--steps", "3", "--groups", "2", "--render-size", "64", "--quiet"]


@pytest.fixture(scope="module")
def mb():
    return painters.load_painters(BRUSHES)


def _target(seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    t = torch.rand(1, 3, 8, 8, generator=g)
    return torch.nn.functional.interpolate(t, size=(64, 64), mode="nearest")


def test_assigned_brushes_draw_each_stroke_with_its_painter(mb):
    acts = torch.rand(4, 12, generator=torch.Generator().manual_seed(1))
    idx = torch.tensor([0, 1, 1, 0])
    out = AssignedBrushes(mb, idx)(acts)
    with torch.no_grad():
        assert torch.allclose(out[1], mb.painters[1](acts[1:2])[0], atol=1e-4)
        assert torch.allclose(out[0], mb.painters[0](acts[0:1])[0], atol=1e-4)


def _mse_of(mb, acts, idx, base, target):
    """MSE of the full composite of ``acts`` (B, n, 12) with brushes ``idx`` (B, n)."""
    b, n, _ = acts.shape
    with torch.no_grad():
        strokes = AssignedBrushes(mb, idx)(acts.reshape(b * n, 12)).view(b, n, 4, 64, 64)
        return ((composite(base, strokes) - target) ** 2).flatten(1).mean(1)


def test_swap_losses_are_the_losses_of_the_swapped_paintings(mb):
    g = torch.Generator().manual_seed(4)
    acts = torch.rand(2, 5, 12, generator=g)
    idx = torch.randint(0, 2, (2, 5), generator=g)
    base = torch.rand(2, 3, 64, 64, generator=g)
    target = torch.cat([_target(0), _target(1)])
    losses, colours = swap_losses(mb, acts, idx, base, target)
    assert losses.shape == (2, 5, 2) and colours.shape == (2, 5, 2, 3)
    for i in (0, 2, 4):
        for k in (0, 1):
            a, ix = acts.clone(), idx.clone()
            a[:, i, 6:9], ix[:, i] = colours[:, i, k], k
            assert torch.allclose(losses[:, i, k], _mse_of(mb, a, ix, base, target), rtol=1e-4)
    # the colour is the best one for the stroke there: nudging it costs
    a, ix = acts.clone(), idx.clone()
    a[:, 2, 6:9] = (colours[:, 2, 1] + 0.05).clamp(0, 1)
    ix[:, 2] = 1
    assert (_mse_of(mb, a, ix, base, target) >= losses[:, 2, 1] - 1e-7).all()


def test_reassign_moves_strokes_only_when_it_lowers_the_loss(mb):
    g = torch.Generator().manual_seed(5)
    acts = torch.rand(2, 8, 12, generator=g)
    idx = torch.zeros(2, 8, dtype=torch.long)
    base = torch.ones(2, 3, 64, 64)
    target = torch.cat([_target(2), _target(3)])
    before = _mse_of(mb, acts, idx, base, target)
    new, moved, moves = reassign(mb, acts, idx, base, target)
    after = _mse_of(mb, moved, new, base, target)
    assert moves == int((new != idx).sum()) > 0
    assert (after <= before + 1e-9).all() and (after < before).any()
    unmoved = new == idx
    assert torch.equal(moved[unmoved], acts[unmoved])  # only moved strokes change (colour)


def test_mixed_painting_takes_the_steps_of_one_brush_and_uses_both(mb):
    cfg = GradientConfig(strokes=12, groups=2, steps=10, refine_steps=5, seed=3)
    targets = torch.cat([_target(0), _target(1)])
    counts = []
    for p in (mb.painters[0], mb):
        steps: list[int] = []
        optimise_strokes(p, targets, cfg, callback=lambda ev, out=steps: out.append(ev["step"]))
        counts.append(len(steps))
    assert counts[0] == counts[1] == 2 * 10 + 5
    chosen: list[torch.Tensor] = []
    _, canvas = optimise_strokes(mb, targets, cfg, brush_out=chosen)
    assert chosen[0].shape == (2, 12) and set(chosen[0].unique().tolist()) == {0, 1}


def test_painting_records_brushes_and_replays_exactly(mb):
    t = (np.random.default_rng(0).random((8, 12, 3)) * 255).astype(np.uint8)
    t = np.kron(t, np.ones((8, 8, 1), np.uint8))  # 64 x 96: two overlapping tiles
    cfg = GradientConfig(strokes=12, groups=3, steps=3, refine_steps=2, seed=0)
    p = paint_images(mb, [t], cfg)[0]
    a = paint_images(mb, [t], cfg)[0]
    assert len(p.brush_list()) == 12 and set(p.brush_list()) <= set(BRUSHES)
    assert p.brush_list() == a.brush_list() and np.array_equal(p.actions, a.actions)
    canvas, _ = replay_windows(
        mb, p.local_actions, p.windows, p.width, p.height, brush_index=p.brush_index(BRUSHES)
    )
    assert np.abs(canvas.astype(int) - p.canvas.astype(int)).max() <= 2


def test_mixed_painting_paints_for_the_real_brushes_in_every_group(mb):
    """With several brushes the real brushes' coverage (straight-through) is used from the
    first group on: each group asks for its own strokes (offset = strokes before it, brushes
    as assigned then), the refinement for all of them."""
    cfg = GradientConfig(strokes=12, groups=3, steps=5, refine_steps=5, seed=3)
    calls = []

    def real(acts, brush_index, offset=0):
        calls.append((tuple(acts.shape[:2]), tuple(brush_index.shape), offset))
        return torch.zeros(*acts.shape[:2], 64, 64)  # no paint: the proxy pulls to the base

    targets = torch.cat([_target(0), _target(1)])
    optimise_strokes(mb, targets, cfg, real_alphas=real)
    groups = cfg.group_sizes(12)
    starts = [sum(groups[:g]) for g in range(len(groups))]
    for n, start in zip(groups, starts, strict=True):
        assert ((2, n), (2, n), start) in calls
    assert ((2, 12), (2, 12), 0) in calls
    # every 5 steps: once per group and once more for its real canvas, once refining
    assert len(calls) == len(groups) * 2 + 1
    single = []

    def one(acts):
        single.append(tuple(acts.shape[:2]))
        return torch.zeros(*acts.shape[:2], 64, 64)

    optimise_strokes(mb.painters[0], targets, cfg, real_alphas=one)
    assert single == [(2, 12)]  # one brush: the refinement only


@needs_mypaint
def test_mixed_real_alphas_render_at_the_re_render_scale():
    """mixed_alphas(scale=k) is each stroke's MyPaint coverage at k × 64 px, averaged back to
    64 px, with global index first + offset + i; the pen's mark is thinner there than at 64 px."""
    from agents.gradient.real_brush import mixed_alphas
    from painters.renderers import get_renderer

    g = torch.Generator().manual_seed(2)
    acts = torch.rand(1, 6, 12, generator=g)
    acts[..., 3] = 0.3 + 0.4 * acts[..., 3]  # mid sizes
    idx = torch.tensor([[0, 1, 1, 0, 1, 1]])
    again = mixed_alphas(0, [0], BRUSHES, scale=4)(acts, idx, 0)
    for i in (0, 1):
        r = get_renderer("mypaint", 256, brush=BRUSHES[int(idx[0, i])], seed=0)
        fine = torch.from_numpy(r.render_alpha(acts[0, i : i + 1].numpy(), start_index=i))
        ref = torch.nn.functional.avg_pool2d(fine[:, None], 4)[0, 0]
        assert torch.allclose(again[0, i], ref, atol=1e-6)
    shifted = mixed_alphas(0, [2], BRUSHES, scale=4)(acts, idx, 3)  # indices 5, 6, ...
    assert shifted.shape == (1, 6, 64, 64) and not torch.allclose(shifted, again)  # dry texture
    pen = idx[0] == 1
    coarse = mixed_alphas(0, [0], BRUSHES)(acts, idx)
    assert again[0, pen].sum() < 0.95 * coarse[0, pen].sum()
    odd = mixed_alphas(0, [0], BRUSHES, scale=2.5)(acts, idx)  # 160 px, area-averaged
    assert odd.shape == (1, 6, 64, 64) and odd.max() <= 1.0


@needs_mypaint
def test_canvas_alphas_are_the_strokes_of_the_re_render():
    """canvas_alphas draws each stroke alone on the whole canvas at the re-render's scale, so
    a stroke that goes on past its tile keeps that part, and laying the strokes in order over
    white in their colours gives the re-render (averaged down) up to uint8 rounding."""
    from agents.gradient.real_brush import canvas_alphas
    from agents.gradient.tiles import to_global
    from painters.compositing import coverage_weights

    g = np.random.default_rng(3)
    local = g.random((8, 12)).astype(np.float32)
    local[:, 3] = 0.2 + 0.3 * local[:, 3]
    windows = np.array([[0, 0], [32, 0]] * 4)
    idx = np.array([0, 1] * 4)
    w, h = 96, 64
    acts = to_global(local, windows, w, h)
    alphas = canvas_alphas(BRUSHES, idx, acts, w, h, 2.0, 0)
    assert alphas.shape == (8, h, w)
    p = painters.Painting(acts, width=w, height=h, stroke_scale=64 / h,
                          stroke_brushes=[BRUSHES[i] for i in idx])  # fmt: skip
    real = painters.render(p, "mypaint", width=2 * w, height=2 * h, seed=0) / 255.0
    real = real.reshape(h, 2, w, 2, 3).mean((1, 3))
    wt, t = coverage_weights(alphas[None].double())
    cols = torch.from_numpy(np.clip(local[:, 6:9], 0, 1)).double()
    model = (t[0][..., None] + torch.einsum("nhw,nc->hwc", wt[0], cols)).numpy()
    err = np.abs(model - real)
    assert err.mean() < 0.002 and err.max() < 0.1


@needs_mypaint
def test_cli_brushes_writes_a_brush_per_stroke(tmp_path):
    out = tmp_path / "mixed"
    args = [str(SAMPLE), "--out", str(out), "--brushes", ",".join(BRUSHES), *FAST]
    assert paint_main(args) == 0
    d = json.loads((out / "strokes.json").read_text())
    assert len(d["strokes"]) == 6
    assert all(s["brush"] in BRUSHES for s in d["strokes"])
    assert (out / "painting_real.png").is_file()


@needs_mypaint
def test_cli_one_brush_paints_with_its_painter(tmp_path):
    out = tmp_path / "pen"
    args = [str(SAMPLE), "--out", str(out), "--brushes", "classic/pen", "--method", "gradient"]
    assert paint_main([*args, *FAST]) == 0
    d = json.loads((out / "strokes.json").read_text())
    assert {s["brush"] for s in d["strokes"]} == {"classic/pen"}
    png = np.asarray(Image.open(out / "painting.png").convert("RGB"))
    pen = painters.replay(out / "strokes.npz", painters.load_painter("pen"))
    dry = painters.replay(out / "strokes.npz", painters.load_painter("default"))
    assert np.abs(pen.astype(int) - png.astype(int)).max() <= 3
    assert np.abs(dry.astype(int) - png.astype(int)).max() > 10


@needs_mypaint
def test_cli_agent_proposes_and_gradient_picks_the_brushes(tmp_path):
    out = tmp_path / "agent_mixed"
    args = [str(SAMPLE), "--out", str(out), "--brushes", ",".join(BRUSHES), *FAST]
    assert paint_main([*args, "--method", "agent+gradient"]) == 0
    d = json.loads((out / "strokes.json").read_text())
    assert len(d["strokes"]) == 6 and all(s["brush"] in BRUSHES for s in d["strokes"])


def test_agent_and_gradient_with_several_brushes_chooses_per_stroke(mb):
    from agents import load_agent
    from agents.painting import paint_with_agent_and_gradient

    image = np.asarray(Image.open(SAMPLE).convert("RGB"))
    cfg = GradientConfig(steps=10, groups=2, seed=0)
    model = load_agent("default")
    p = paint_with_agent_and_gradient(image, model, 24, config=cfg, painter=mb, mode="init")
    brushes = p.brush_list()
    assert len(brushes) == 24 and set(brushes) <= set(BRUSHES)


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--brushes", "classic/nope"], "no bundled painter"),
        (["--brushes", "classic/pen,classic/pen"], "repeats"),
        (["--brushes", ",".join(BRUSHES), "--method", "agent"], "--method agent+gradient"),
        (["--brushes", "classic/pen", "--painter", "default2"], "not both"),
    ],
)
def test_cli_bad_brushes_exit_2_before_painting(tmp_path, capsys, extra, says):
    out = tmp_path / "bad"
    assert paint_main([str(SAMPLE), "--out", str(out), *extra, *FAST]) == 2
    err = capsys.readouterr().err.strip()
    assert "error:" in err and says in err and "\n" not in err
    assert not out.exists()


def test_fit_scale_follows_the_render_size_within_a_memory_cap():
    from argparse import Namespace

    from agents.cli.paint import fit_scale

    assert fit_scale(Namespace(render_size=512, strokes=200), 64, 64) == 8
    assert fit_scale(Namespace(render_size=512, strokes=200), 96, 64) == 512 / 96
    assert fit_scale(Namespace(render_size=64, strokes=200), 64, 64) == 1
    assert fit_scale(Namespace(render_size=4096, strokes=4000), 128, 128) == 1
