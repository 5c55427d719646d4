"""Seams: the seam ratio (agents.evaluation.seams) sees tiles that show and ignores smooth error;
an agent painting's seam strokes hide its tiles; the automatic grid; progress bars per phase."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from agents.evaluation.seams import grid_tiles, seam_lines, seam_ratio
from agents.gradient import auto_grid


def smooth(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / 40.0
    img = np.stack([np.sin(x + p) * np.cos(y * 0.7 + p) for p in rng.uniform(0, 6, 3)], -1)
    return np.clip(128 + 90 * img, 0, 255).astype(np.uint8)


def test_seam_lines_of_a_grid_and_of_overlapping_tiles():
    bx, by, mx, my = seam_lines(grid_tiles(256, 128), 256, 128)
    assert bx == [64, 128, 192] and by == [64]
    assert mx == [32, 96, 160, 224] and my == [32, 96]
    bx, _, mx, _ = seam_lines(grid_tiles(100, 64), 100, 64)
    assert bx == [36, 64] and mx == [32, 68]  # tiles at x = 0 and 36 overlap


def test_tiles_that_show_score_high_and_smooth_error_scores_one():
    target = smooth(256, 256)
    noise = np.random.default_rng(1).normal(0, 6, target.shape)
    good = np.clip(target + noise, 0, 255).astype(np.uint8)
    assert seam_ratio(good, target) == pytest.approx(1.0, abs=0.1)
    # each 64 px tile painted a little off in its own tone: the boundaries jump
    offset = np.random.default_rng(2).normal(0, 12, (4, 4, 3)).repeat(64, 0).repeat(64, 1)
    blocky = np.clip(target + noise + offset, 0, 255).astype(np.uint8)
    assert seam_ratio(blocky, target) > 1.5


def test_a_re_render_is_measured_on_the_paintings_lines():
    target = smooth(128, 128)
    offset = np.random.default_rng(2).normal(0, 12, (2, 2, 3)).repeat(128, 0).repeat(128, 1)
    noise = np.random.default_rng(1).normal(0, 6, (256, 256, 3))
    big_target = np.asarray(target.repeat(2, 0).repeat(2, 1), np.float64)
    real = np.clip(big_target + noise + offset, 0, 255).astype(np.uint8)
    assert seam_ratio(real, target, size=(128, 128)) > 1.5  # the line at 64 px is at 128 px
    one = smooth(64, 64)
    assert math.isnan(seam_ratio(one, one))  # one tile: no boundary


def test_auto_grid_keeps_small_paintings_on_one_tile():
    assert [auto_grid(n) for n in (1, 200, 300, 499, 500, 1999, 2000, 4000)] == [
        1,
        1,
        1,
        1,
        2,
        3,
        4,
        5,
    ]


@pytest.fixture(scope="module")
def painter():
    import painters

    torch.set_num_threads(1)
    return painters.load_painter("default", "cpu")


def test_seam_strokes_lower_the_seam_ratio_of_a_blocky_painting(painter):
    """A painting made of four flat tiles in slightly wrong tones (what an agent's first level
    leaves) gets its tile boundaries hidden by the seam strokes."""
    from agents.gradient import Painting
    from agents.gradient.seams import paint_seams
    from painters.replaying import replay_windows

    target = smooth(128, 128, seed=3)
    la, wins = [], []
    for x, y, _ in grid_tiles(128, 128):
        tile = target[y : y + 64, x : x + 64].reshape(-1, 3).mean(0) / 255.0
        for k in range(6):  # broad opaque strokes across the tile, a bit off its colour
            a = np.zeros(12, np.float32)
            a[[9, 2, 4]] = [0.05, 0.5, 0.95]
            a[[10, 3, 5]] = (k + 0.5) / 6
            a[1], a[0], a[11] = 0.9, 1.0, 1.0
            a[6:9] = np.clip(tile + 0.08 * np.sign(x - y + 1), 0, 1)
            la.append(a)
            wins.append((x, y))
    la, wins = np.array(la, np.float32), np.array(wins, np.int64)
    canvas, _ = replay_windows(painter, la, wins, 128, 128)
    blocky = Painting(actions=la, local_actions=la, windows=wins, width=128, height=128,
                      canvas=canvas, stroke_scale=0.5)  # fmt: skip
    before = seam_ratio(blocky.canvas, target)
    events = []
    fixed = paint_seams(blocky, target, painter, 24, steps=15, callback=events.append)
    assert len(fixed.actions) == len(la) + 24
    assert seam_ratio(fixed.canvas, target) < 0.8 * before
    # 15 steps on each of the 3 classes of seam tiles (junction, then border tiles)
    assert events[-1]["phase"] == "seams" and len(events) == events[-1]["total"] == 45
    replayed, _ = replay_windows(painter, fixed.local_actions, fixed.windows, 128, 128)
    assert np.abs(replayed.astype(int) - fixed.canvas).max() <= 1


def test_progress_bars_close_at_what_was_done(capsys):
    from agents.painting.progress import Progress

    p = Progress()
    for _ in range(3):
        p.event({"phase": "gradient", "total": 5, "loss": 0.5})
    bar = p.bar
    p.event({"phase": "real-brush fit", "total": 2, "loss": 0.25})
    assert bar.total == 3 and bar.n == 3  # the phase planned 5 steps and did 3
    with p.task("re-render"):
        pass
    p.finish(0.00123)
    err = capsys.readouterr().err
    assert "gradient" in err and "real-brush fit" in err and "re-render" in err
    assert err.rstrip().splitlines()[-1].endswith("MSE to target 0.00123")
