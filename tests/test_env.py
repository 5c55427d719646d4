"""Painting-v0: checkers, spaces, determinism, rewards, bad actions, renderers, targets."""

from __future__ import annotations

import warnings

import cv2
import gymnasium as gym
import numpy as np
import pytest
import torch

import painting_env
from painting_env.env import PaintingEnv
from painting_env.targets import TargetSet

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def png(tmp_path_factory) -> str:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)
    path = tmp_path_factory.mktemp("targets") / "target.png"
    cv2.imwrite(str(path), image[..., ::-1])
    return str(path)


def make(png, **kwargs) -> gym.Env:
    kwargs.setdefault("max_strokes", 4)
    return gym.make("Painting-v0", target=png, **kwargs)


def rollout(env: gym.Env, seed: int, steps: int):
    obs, info = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    out = [(obs, 0.0, info)]
    for _ in range(steps):
        action = rng.uniform(-1, 1, env.action_space.shape).astype(np.float32)
        obs, reward, terminated, truncated, info = env.step(action)
        out.append((obs, reward, info))
    return out


@pytest.mark.parametrize("obs_mode", ["dict", "compact"])
def test_both_checkers_pass_without_warnings(png, obs_mode):
    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    env = make(png, obs_mode=obs_mode, render_mode="rgb_array")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
        sb3_check_env(env.unwrapped)
    assert [str(w.message) for w in caught] == []


def test_registered_ids_and_spaces(png):
    env = gym.make("painting_env:Painting-v0", target=png)
    assert isinstance(env.unwrapped, PaintingEnv)
    assert env.spec.max_episode_steps is None  # the env truncates itself
    space = env.observation_space
    assert space["canvas"] == gym.spaces.Box(0, 255, (64, 64, 3), np.uint8)
    assert space["target"] == gym.spaces.Box(0, 255, (64, 64, 3), np.uint8)
    assert space["step"] == gym.spaces.Box(0.0, 1.0, (1,), np.float32)
    assert env.action_space == gym.spaces.Box(-1.0, 1.0, (12,), np.float32)
    obs, info = env.reset(seed=0)
    assert space.contains(obs) and "distance" in info
    compact = make(png, obs_mode="compact")
    assert compact.observation_space == gym.spaces.Box(0, 255, (7, 64, 64), np.uint8)
    assert make(png, strokes_per_step=3, max_strokes=6).action_space.shape == (36,)


def test_bundled_targets_are_the_default():
    env = gym.make("Painting-v0", max_strokes=2)
    obs, _ = env.reset(seed=1)
    assert obs["target"].std() > 10  # a real photo, not a blank
    assert len(env.unwrapped.core.targets) == len(painting_env.bundled_targets()) >= 2


def test_determinism_same_seed_same_canvases_and_rewards(png):
    a, b = rollout(make(png), 7, 4), rollout(make(png), 7, 4)
    for (oa, ra, ia), (ob, rb, ib) in zip(a, b, strict=True):
        for key in oa:
            np.testing.assert_array_equal(oa[key], ob[key])
        assert ra == rb and ia["distance"] == ib["distance"]
    c = rollout(make(png), 8, 4)
    assert not np.array_equal(a[-1][0]["canvas"], c[-1][0]["canvas"])


def test_rewards_sum_to_change_of_distance_and_truncate_at_max_strokes(png):
    env = make(png, max_strokes=5)
    _, info = env.reset(seed=0)
    first, total, steps = info["distance"], 0.0, 0
    truncated = False
    while not truncated:
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert not terminated
        total += reward
        steps += 1
    assert steps == 5 and obs["step"][0] == pytest.approx(1.0)
    assert total == pytest.approx(first - info["distance"], abs=1e-9)
    with pytest.raises(RuntimeError, match="reset"):
        env.unwrapped.step(env.action_space.sample())


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_action_raises_value_error(png, bad):
    env = make(png)
    env.reset(seed=0)
    action = np.zeros(12, np.float32)
    action[3] = bad
    with pytest.raises(ValueError, match="NaN or inf"):
        env.unwrapped.step(action)


def test_wrong_action_shape_raises_and_out_of_range_is_clipped(png):
    env = make(png).unwrapped
    env.reset(seed=0)
    with pytest.raises(ValueError, match="12 numbers per env"):
        env.step(np.zeros(13, np.float32))
    action = np.linspace(-3, 3, 12).astype(np.float32)
    env.reset(seed=0)
    far = env.step(action)
    env.reset(seed=0)
    edge = env.step(np.clip(action, -1, 1))
    np.testing.assert_array_equal(far[0]["canvas"], edge[0]["canvas"])


def _skip_unavailable(name):
    from painters.renderers import get_renderer

    try:
        get_renderer(name, size=64)
    except RuntimeError as e:  # MyPaintUnavailable: libmypaint is not installed
        pytest.skip(str(e))


class TinyPainter(torch.nn.Module):
    """Any module (B, 12) -> (B, 4, s, s) can paint; this one draws 32 px squares."""

    def forward(self, actions):
        b = actions.shape[0]
        alpha = torch.zeros(b, 1, 32, 32)
        alpha[:, :, 8:24, 8:24] = actions[:, :1, None, None]
        return torch.cat([actions[:, 6:9, None, None].expand(b, 3, 32, 32), alpha], 1)


@pytest.mark.parametrize("renderer", ["neural", "default", "mypaint", "simple", "module"])
def test_every_renderer_option_steps_deterministically(png, renderer):
    if renderer in ("mypaint", "simple"):
        _skip_unavailable(renderer)
    make_renderer = TinyPainter if renderer == "module" else (lambda: renderer)
    a = rollout(make(png, renderer=make_renderer(), max_strokes=3), 3, 3)
    b = rollout(make(png, renderer=make_renderer(), max_strokes=3), 3, 3)
    np.testing.assert_array_equal(a[-1][0]["canvas"], b[-1][0]["canvas"])
    assert [r for _, r, _ in a] == [r for _, r, _ in b]
    assert not np.array_equal(a[0][0]["canvas"], a[-1][0]["canvas"])  # something was painted


def test_strokes_per_step(png):
    env = make(png, strokes_per_step=2, max_strokes=4)
    env.reset(seed=0)
    action = env.action_space.sample()
    _, _, _, truncated1, _ = env.step(action)
    _, _, _, truncated2, _ = env.step(action)
    assert (truncated1, truncated2) == (False, True)
    painting = env.unwrapped.painting()
    assert painting.shape == (4, 12)
    np.testing.assert_allclose(painting[:2], (action.reshape(2, 12) + 1) / 2, atol=1e-6)
    with pytest.raises(ValueError, match="multiple of strokes_per_step"):
        PaintingEnv(target=png, strokes_per_step=3, max_strokes=4)


def test_painting_replays_to_the_same_canvas(png):
    from painters import load_painter, replay

    env = make(png, max_strokes=4)
    out = rollout(env, 0, 4)
    again = replay(env.unwrapped.painting(), load_painter("default"))
    diff = np.abs(again.astype(int) - out[-1][0]["canvas"].astype(int))
    assert diff.max() <= 1


def test_render_is_target_beside_canvas(png):
    env = make(png, render_mode="rgb_array")
    obs, _ = env.reset(seed=0)
    obs, *_ = env.step(env.action_space.sample())
    frame = env.render()
    assert frame.shape == (64, 128, 3) and frame.dtype == np.uint8
    np.testing.assert_array_equal(frame[:, :64], obs["target"])
    np.testing.assert_array_equal(frame[:, 64:], obs["canvas"])


@pytest.mark.parametrize("distance", ["l1", "ssim"])
def test_other_distances(png, distance):
    env = make(png, distance=distance)
    _, info = env.reset(seed=0)
    assert 0 < info["distance"] <= 2
    with pytest.raises(ValueError, match="unknown distance"):
        make(png, distance="psnr")


def test_bad_arguments_fail_with_clear_messages(png):
    with pytest.raises(ValueError, match="either target"):
        PaintingEnv(target=png, targets=png)
    with pytest.raises(ValueError, match="obs_mode"):
        PaintingEnv(target=png, obs_mode="pixels")
    with pytest.raises(ValueError, match="unknown renderer"):
        PaintingEnv(target=png, renderer=3)
    with pytest.raises(ValueError, match="background"):
        PaintingEnv(target=png, background=(300, 0, 0))
    with pytest.raises(RuntimeError, match="reset"):
        PaintingEnv(target=png).step(np.zeros(12, np.float32))


# -- targets -------------------------------------------------------------------------------


def test_target_sources_and_errors(tmp_path, png):
    rng = np.random.default_rng(0)
    (tmp_path / "a" / "b").mkdir(parents=True)
    for name in ["a/one.png", "a/b/two.jpg"]:
        cv2.imwrite(str(tmp_path / name), rng.integers(0, 256, (30, 50, 3), dtype=np.uint8))
    (tmp_path / "a" / "notes.txt").write_text("not an image")
    assert len(TargetSet(tmp_path / "a")) == 2
    assert len(TargetSet([png, rng.integers(0, 256, (9, 9, 3), dtype=np.uint8)])) == 2
    with pytest.raises(FileNotFoundError, match="not found"):
        TargetSet(tmp_path / "missing.png")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no .jpg"):
        TargetSet(tmp_path / "empty")
    (tmp_path / "bad.png").write_bytes(b"not a png at all")
    with pytest.raises(ValueError, match="cannot read image"):
        TargetSet(tmp_path / "bad.png")
    with pytest.raises(ValueError, match=r"uint8 with shape \(H, W, 3\)"):
        TargetSet(np.zeros((8, 8), np.float32))


def test_single_target_is_used_whole_and_collections_are_cropped(png):
    whole = TargetSet(png, 64)
    a = whole.sample(np.random.default_rng(0))
    b = whole.sample(np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    crops = TargetSet([png, png], 64)
    c, d = crops.sample(np.random.default_rng(0)), crops.sample(np.random.default_rng(1))
    assert c.shape == (64, 64, 3) and not np.array_equal(c, d)
    np.testing.assert_array_equal(c, crops.sample(np.random.default_rng(0)))
