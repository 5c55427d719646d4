"""Painting any image with an agent (agents.painting): shapes for square and non-square
images, the exact stroke budget for any strokes_per_step, determinism, the tile → window →
image mapping, an exact replay of the saved strokes, and agent + gradient beating the agent."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
import torch

from agents.gradient import GradientConfig, canvas_size, tile_windows, to_global
from agents.painting import (
    AgentView,
    agent_init_fn,
    level_tiles,
    paint_with_agent,
    paint_with_agent_and_gradient,
    split_budget,
    tile_to_window,
    tile_window,
    write_painting_outputs,
)
from painters import actions as A
from painters.replaying import replay_windows


class FakeAgent:
    """An SB3-like agent that reads its observation: stroke j of a step goes to a fixed spot
    (set by the step), in the target's mean colour over the canvas's, small and opaque. Any
    strokes_per_step, Dict or compact observations, channel-first or -last."""

    def __init__(self, k: int = 3, max_strokes: int = 12, size: int = 64, compact: bool = False):
        self.env_kwargs = {"strokes_per_step": k, "max_strokes": max_strokes, "size": size}
        img = gym.spaces.Box(0, 255, (3, size, size), np.uint8)
        if compact:
            self.observation_space = gym.spaces.Box(0, 255, (7, size, size), np.uint8)
        else:
            step = gym.spaces.Box(0.0, 1.0, (1,), np.float32)
            self.observation_space = gym.spaces.Dict(canvas=img, target=img, step=step)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (12 * k,), np.float32)
        self.k, self.compact, self.calls = k, compact, []

    def predict(self, obs, deterministic=True):
        if self.compact:
            target, step = obs[:, 3:6], obs[:, 6, 0, 0] / 255.0
        else:
            target, step = obs["target"], obs["step"][:, 0]
        self.calls.append(len(target))
        colour = target.reshape(len(target), 3, -1).mean(-1) / 255.0  # (B, 3)
        b = len(target)
        act = np.zeros((b, self.k, 12), np.float32)
        for j in range(self.k):
            u = 0.2 + 0.6 * ((j + 7 * step) % 1.0)
            v = 0.2 + 0.6 * ((0.37 * j + 3 * step) % 1.0)
            act[:, j, [A.START_X, A.CONTROL_X, A.END_X]] = np.stack([u - 0.1, u, u + 0.1], 1)
            act[:, j, A.START_Y] = act[:, j, A.CONTROL_Y] = act[:, j, A.END_Y] = v
            act[:, j, A.SIZE] = 0.5
            act[:, j, [A.PRESSURE, A.ENTRY_PRESSURE]] = 0.9
            act[:, j, A.COLOR] = colour
        return act.reshape(b, -1) * 2 - 1, None


def photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth random colour field with a dark disc: structure an agent can paint."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    img = np.stack([0.5 + 0.4 * np.sin(6 * xx + rng.random() * 6 + c) for c in range(3)], -1)
    img[(yy - 0.5 * h / max(h, w)) ** 2 + (xx - 0.4) ** 2 < 0.05] *= 0.2
    return (img * 255).clip(0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def painter():
    import painters

    return painters.load_painter("default")


@pytest.fixture(scope="module")
def default_agent():
    from agents import load_agent

    return load_agent("default")


def mse(painting, image) -> float:
    from painters.images import prepare_target

    target = prepare_target(image, painting.width, painting.height)
    return float(np.mean((painting.canvas / 255.0 - target / 255.0) ** 2))


@pytest.mark.parametrize("shape", [(80, 80), (90, 150), (200, 120)])
def test_shapes_square_and_non_square(shape, painter, one_thread):
    image = photo(*shape)
    p = paint_with_agent(image, FakeAgent(), 40, painter=painter)
    w, h = canvas_size(shape[1], shape[0], 1)
    assert (p.width, p.height) == (w, h) and p.canvas.shape == (h, w, 3)
    assert p.actions.shape == p.local_actions.shape == (40, 12)
    assert p.windows.shape == (40, 2)
    assert p.windows[:, 0].max() <= w - 64 and p.windows[:, 1].max() <= h - 64
    assert p.windows.min() >= 0
    assert p.stroke_scale == pytest.approx(64 / min(w, h))
    assert 0.0 <= p.actions.min() and p.actions.max() <= 1.0


@pytest.mark.parametrize("strokes", [1, 7, 13, 64, 101])
@pytest.mark.parametrize("k", [1, 3, 8])
def test_stroke_count_is_the_budget(strokes, k, painter, one_thread):
    p = paint_with_agent(photo(64, 96), FakeAgent(k=k, max_strokes=4 * k), strokes, painter=painter)
    assert len(p.actions) == strokes


def test_split_budget_adds_up():
    for n in (1, 5, 256, 999):
        assert sum(split_budget(n, (0.25, 0.75))) == n
        assert sum(split_budget(n, (1, 2, 5))) == n


def test_compact_observation_and_batched_tiles(painter, one_thread):
    agent = FakeAgent(k=2, max_strokes=8, compact=True)
    p = paint_with_agent(photo(64, 64), agent, 40, levels=(1, 2), shares=(1, 4), painter=painter)
    assert len(p.actions) == 40
    # level 1: one tile; level 2: the four 32 px tiles go through the policy together
    assert max(agent.calls) == 4 and agent.calls[0] == 1


def test_deterministic(default_agent, painter, one_thread):
    image = photo(70, 110, seed=3)
    a = paint_with_agent(image, default_agent, 48, painter=painter)
    b = paint_with_agent(image, default_agent, 48, painter=painter)
    np.testing.assert_array_equal(a.actions, b.actions)
    np.testing.assert_array_equal(a.canvas, b.canvas)


def test_canvas_is_the_replay_of_the_saved_strokes(default_agent, painter, one_thread):
    p = paint_with_agent(photo(64, 100, seed=1), default_agent, 40, painter=painter)
    replayed, _ = replay_windows(painter, p.local_actions, p.windows, p.width, p.height)
    np.testing.assert_array_equal(replayed, p.canvas)


def test_agent_reads_the_target(default_agent, painter, one_thread):
    """Different targets, different paintings, and better than the blank canvas."""
    a, b = photo(64, 64, seed=1), photo(64, 64, seed=2)
    pa = paint_with_agent(a, default_agent, 64, painter=painter)
    pb = paint_with_agent(b, default_agent, 64, painter=painter)
    assert not np.array_equal(pa.actions, pb.actions)
    blank = float(np.mean((1.0 - a / 255.0) ** 2))
    assert mse(pa, a) < 0.5 * blank


def test_level_tiles_reuse_the_gradient_layout():
    w, h = canvas_size(300, 200, 1)  # 96 x 64
    assert level_tiles(w, h, 1) == [(x, y, 64) for x, y in tile_windows(w, h)]
    tiles = level_tiles(w, h, 2)
    assert all(s == 32 for _, _, s in tiles)
    covered = np.zeros((h, w), bool)
    for x, y, s in tiles:
        assert 0 <= x <= w - s and 0 <= y <= h - s
        covered[y : y + s, x : x + s] = True
    assert covered.all()
    with pytest.raises(ValueError, match="divide"):
        level_tiles(w, h, 3)


@pytest.mark.parametrize("division", [2, 4])
def test_a_stroke_in_a_tile_lands_inside_it(division):
    """Tile (i, j) → its 64 px window → global image fractions: every point of a stroke drawn
    inside tile (i, j) lands inside that tile, and the brush keeps its share of the tile."""
    w, h = canvas_size(320, 200, 1)
    rng = np.random.default_rng(0)
    for tile in level_tiles(w, h, division):
        x, y, side = tile
        win = tile_window(tile, w, h)
        assert win[0] <= x and x + side <= win[0] + 64 and win[1] <= y and y + side <= win[1] + 64
        local = rng.uniform(0.0, 1.0, (20, 12)).astype(np.float32)
        # sizes the window can hold (smaller ones clip at the painter's smallest brush)
        local[:, A.SIZE] = rng.uniform(0.5 * math.log(division) + 1e-3, 1.0, 20)
        in_window = tile_to_window(local, tile, win)
        glob = to_global(in_window, np.tile(np.array([win]), (20, 1)), w, h)
        for ix, iy in ((A.START_X, A.START_Y), (A.CONTROL_X, A.CONTROL_Y), (A.END_X, A.END_Y)):
            gx, gy = glob[:, ix] * w, glob[:, iy] * h
            assert np.all((gx >= x - 1e-3) & (gx <= x + side + 1e-3))
            assert np.all((gy >= y - 1e-3) & (gy <= y + side + 1e-3))
            np.testing.assert_allclose(gx, x + local[:, ix] * side, atol=1e-3)
        # radius as a share of the tile: exp(2·size)/64 of the tile = exp(2·size')/64 of 64 px
        radius_tile = np.exp(2 * local[:, A.SIZE]) * side / 64
        radius_win = np.exp(2 * in_window[:, A.SIZE]) * 64 / 64
        np.testing.assert_allclose(radius_win, radius_tile, rtol=1e-4)


def test_strokes_of_level_two_stay_in_their_tiles(painter, one_thread):
    """End to end: with a FakeAgent (strokes inside its canvas), every level-2 stroke's points
    lie inside one of the 32 px tiles of that level."""
    image = photo(64, 64)
    p = paint_with_agent(image, FakeAgent(k=4, max_strokes=8), 40, levels=(2,), painter=painter)
    pts = [p.actions[:, [ix, iy]] * 64 for ix, iy in ((2, 3), (4, 5), (9, 10))]
    tiles = level_tiles(64, 64, 2)
    for i in range(len(p.actions)):
        inside = [
            all(x <= q[i, 0] <= x + s and y <= q[i, 1] <= y + s for q in pts) for x, y, s in tiles
        ]
        assert any(inside)


def test_any_strokes_per_step_and_canvas_size(painter, one_thread):
    agent = FakeAgent(k=5, max_strokes=10, size=32)
    p = paint_with_agent(photo(50, 80), agent, 33, painter=painter)
    assert len(p.actions) == 33
    assert AgentView(agent).size == 32


def test_bad_inputs(painter):
    agent = FakeAgent()
    with pytest.raises(ValueError, match="uint8"):
        paint_with_agent(np.zeros((64, 64, 3), np.float32), agent, 8, painter=painter)
    with pytest.raises(ValueError, match="strokes"):
        paint_with_agent(photo(64, 64), agent, 0, painter=painter)
    with pytest.raises(ValueError, match="size"):
        paint_with_agent(photo(64, 64), agent, 8, size=128, painter=painter)
    with pytest.raises(ValueError, match="share"):
        paint_with_agent(photo(64, 64), agent, 8, levels=(1, 2), shares=(1,), painter=painter)


def test_agent_init_fn_gives_the_agents_strokes(default_agent, painter, one_thread):
    init = agent_init_fn(default_agent, painter)
    canvas = torch.ones(2, 3, 64, 64)
    target = torch.rand(2, 3, 64, 64)
    acts = init(canvas, target, 11, 0.5, torch.Generator())
    assert acts.shape == (2, 11, 12)
    assert float(acts.min()) >= 0.0 and float(acts.max()) <= 1.0


def test_agent_plus_gradient_beats_the_agent(default_agent, painter, one_thread):
    image = photo(64, 96, seed=4)
    agent_only = paint_with_agent(image, default_agent, 32, painter=painter)
    both = paint_with_agent_and_gradient(image, default_agent, 32, steps=10, painter=painter)
    assert len(both.actions) == 32
    assert (both.width, both.height) == (agent_only.width, agent_only.height)
    assert mse(both, image) < 0.9 * mse(agent_only, image)
    # the refined canvas is the replay of the refined strokes: the optimiser composites in
    # closed form, the replay stroke by stroke, so a value on a rounding edge may differ by 1
    replayed, _ = replay_windows(painter, both.local_actions, both.windows, both.width, both.height)
    diff = np.abs(replayed.astype(np.int16) - both.canvas.astype(np.int16))
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-3


def test_agent_init_hook_of_the_gradient_painter(default_agent, painter, one_thread):
    """mode="init": the gradient painter's groups start from the agent's strokes (the
    paint_images init_fn hook), still the exact stroke budget."""
    calls = []
    init = agent_init_fn(default_agent, painter)

    def spy(canvas, target, n, size, gen):
        calls.append(n)
        return init(canvas, target, n, size, gen)

    from agents.gradient import paint_images

    cfg = GradientConfig(strokes=24, groups=2, steps=3, refine_steps=2)
    p = paint_images(painter, [photo(64, 64)], cfg, init_fn=spy)[0]
    assert len(p.actions) == 24 and sum(calls) == 24
    q = paint_with_agent_and_gradient(photo(64, 64), default_agent, 24, mode="init",
                                      config=cfg, painter=painter)  # fmt: skip
    assert len(q.actions) == 24


def test_write_painting_outputs(tmp_path, default_agent, painter, one_thread):
    from painters.export import load_strokes

    p = paint_with_agent(photo(64, 100), default_agent, 24, painter=painter)
    paths = write_painting_outputs(tmp_path / "out", p, painter, render_size=128)
    names = {q.name for q in paths}
    assert {"painting.png", "strokes.npz", "strokes.json", "painting.svg", "animation.gif"} <= names
    back = load_strokes(tmp_path / "out" / "strokes.npz")
    np.testing.assert_allclose(back.actions, p.actions, atol=1e-6)
    assert (back.width, back.height) == (p.width, p.height)
    assert not any(q.name.startswith(".") for q in (tmp_path).iterdir())


def test_size_shift_is_the_radius_law():
    tile = (0, 0, 32)
    a = np.full((1, 12), 0.5, np.float32)
    b = tile_to_window(a, tile, (0, 0))
    assert b[0, A.SIZE] == pytest.approx(0.5 + 0.5 * math.log(0.5), abs=1e-6)
