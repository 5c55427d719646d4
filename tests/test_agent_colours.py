"""The colour fit of a finished tiled painting (agents.painting.colours): lower error than the
painting it starts from, colours in [0, 1], shapes untouched, the canvas an exact replay, the
visible-weight decomposition exact, and the seam penalty lowering the error's jump across tile
boundaries."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agents.evaluation.seams import seam_ratio
from agents.gradient import tile_windows, to_global
from agents.painting.colours import fit_colours, visible_weights
from painters import actions as A
from painters.compositing import from_uint8
from painters.painting import Painting
from painters.replaying import replay_windows


@pytest.fixture(scope="module")
def painter():
    import painters

    return painters.load_painter("default")


def target(h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    img = np.stack([0.5 + 0.4 * np.sin(7 * xx + 3 * yy + c) for c in range(3)], -1)
    return (img * 255).astype(np.uint8)


def painting_of(painter, n: int, w: int, h: int, seed: int = 0) -> Painting:
    rng = np.random.default_rng(seed)
    wins = np.array(tile_windows(w, h), np.int64)
    windows = wins[rng.integers(0, len(wins), n)]
    local = rng.random((n, A.ACTION_DIM)).astype(np.float32)
    local[:, A.SIZE] = 0.3 + 0.4 * local[:, A.SIZE]
    canvas, _ = replay_windows(painter, local, windows, w, h)
    return Painting(actions=to_global(local, windows, w, h), width=w, height=h,
                    local_actions=local, windows=windows, canvas=canvas,
                    stroke_scale=64 / min(w, h))  # fmt: skip


def mse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean((a / 255.0 - b / 255.0) ** 2))


def test_visible_weights_rebuild_the_canvas(painter, one_thread):
    p = painting_of(painter, 60, 96, 64)
    alphas = painter(torch.from_numpy(p.local_actions))[:, 3].float()
    w, trans = visible_weights(alphas, p.windows, 96, 64)
    canvas = torch.ones(3, 64, 96) * trans
    for i, (x, y) in enumerate(p.windows.tolist()):
        canvas[:, y : y + 64, x : x + 64] += (
            torch.from_numpy(p.local_actions[i, A.COLOR]).view(3, 1, 1) * w[i]
        )
    assert (canvas - from_uint8(p.canvas, "cpu")).abs().max() < 1.5 / 255


def test_fit_lowers_the_error_and_replays_exactly(painter, one_thread):
    p = painting_of(painter, 80, 128, 128)
    tgt = target(128, 128)
    q = fit_colours(p, tgt, painter)
    assert mse(q.canvas, tgt) < 0.7 * mse(p.canvas, tgt)
    assert q.local_actions.min() >= 0 and q.local_actions.max() <= 1
    keep = [i for i in range(A.ACTION_DIM) if i not in (A.RED, A.GREEN, A.BLUE)]
    np.testing.assert_array_equal(q.local_actions[:, keep], p.local_actions[:, keep])
    replayed, _ = replay_windows(painter, q.local_actions, q.windows, 128, 128)
    np.testing.assert_array_equal(replayed, q.canvas)
    np.testing.assert_allclose(q.actions, to_global(q.local_actions, q.windows, 128, 128))


def test_jump_weight_hides_the_boundaries(painter, one_thread):
    p = painting_of(painter, 120, 128, 128, seed=1)
    tgt = target(128, 128)
    plain = fit_colours(p, tgt, painter)
    smooth = fit_colours(p, tgt, painter, jump_weight=30.0)
    assert seam_ratio(smooth.canvas, tgt) < seam_ratio(plain.canvas, tgt)


def test_wrong_target_size_is_an_error(painter):
    p = painting_of(painter, 4, 64, 64)
    with pytest.raises(ValueError, match="painting's size"):
        fit_colours(p, target(32, 32), painter)
