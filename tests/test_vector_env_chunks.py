"""The vector env's chunked step: chunks on several threads give the same episodes as one
thread, the observation's uint8 canvases are the encoder's, and observations already returned
never change."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from painters.distances import get_distance
from painting_env import core as core_module
from painting_env.observation import canvas_to_uint8, canvas_to_uint8_into, encode_observation
from painting_env.vector_env import PaintingVectorEnv

N = 11


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 4 rows and threaded resets from 2 rows, so 11 envs use every path."""
    monkeypatch.setattr(core_module, "ROW_CHUNK", 4)
    monkeypatch.setattr(core_module, "RESET_ROWS", 2)


def run(threads: int, obs_mode: str, distance: str) -> list:
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        envs = PaintingVectorEnv(
            N, device="cpu", max_strokes=3, obs_mode=obs_mode, distance=distance
        )
        out = [envs.reset(seed=4)]
        acts = np.random.default_rng(1).uniform(-1, 1, (7, N, 12)).astype(np.float32)
        for a in acts:  # two autoresets
            out.append(envs.step(a))
            assert torch.get_num_threads() == threads  # the caller's setting is kept
        return out
    finally:
        torch.set_num_threads(before)


def flat(x) -> list[np.ndarray]:
    if isinstance(x, dict):
        return [a for key in sorted(x) for a in flat(x[key])]
    if isinstance(x, tuple | list):
        return [a for item in x for a in flat(item)]
    if isinstance(x, np.ndarray) and x.dtype == object:
        return [a for item in x if item is not None for a in flat(item)]
    return [np.asarray(x)]


@pytest.mark.parametrize(("obs_mode", "distance"), [("dict", "mse"), ("compact", "l1")])
def test_threaded_chunks_give_the_one_thread_episodes(small_chunks, obs_mode, distance):
    one, two = run(1, obs_mode, distance), run(2, obs_mode, distance)
    a, b = flat(one), flat(two)
    assert len(a) == len(b) > 8 * 3
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_uint8_canvas_and_distance_are_the_encoder_and_the_distance(small_chunks):
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        envs = PaintingVectorEnv(N, device="cpu", max_strokes=5)
        envs.reset(seed=0)
        acts = np.random.default_rng(2).uniform(-1, 1, (2, N, 12)).astype(np.float32)
        for a in acts:
            obs, _, _, _, info = envs.step(a)
    finally:
        torch.set_num_threads(before)
    core = envs.core
    want = encode_observation(core.canvas, core.target_u8, np.full(N, 0.4, np.float32))
    for key in ("canvas", "target", "step"):
        np.testing.assert_array_equal(obs[key], want[key])
    with torch.no_grad():
        d = get_distance("mse")(core.canvas, core.target).double().numpy()
    np.testing.assert_allclose(info["distance"], d, rtol=0, atol=1e-7)


def test_returned_observations_never_change(small_chunks):
    envs = PaintingVectorEnv(N, device="cpu", max_strokes=2)
    kept = [envs.reset(seed=3)[0]]
    acts = np.random.default_rng(3).uniform(-1, 1, (5, N, 12)).astype(np.float32)
    for a in acts:
        obs, _, _, truncated, info = envs.step(a)
        kept.append(obs)
        if truncated.any():  # the final observation shows the painting, not the new canvas
            assert not np.array_equal(info["final_obs"][0]["canvas"], obs["canvas"][0])
            kept.append(info["final_obs"][0])
    snapshot = [{key: value.copy() for key, value in o.items()} for o in kept]
    envs.step(acts[0])
    again = envs.core.observe(), envs.core.observe()
    assert not np.shares_memory(again[0]["canvas"], again[1]["canvas"])
    for o, s in zip(kept, snapshot, strict=True):
        for key in o:
            np.testing.assert_array_equal(o[key], s[key])
    # painting changed the canvases between the kept observations
    assert not np.array_equal(kept[1]["canvas"], kept[2]["canvas"])


def test_uint8_conversion_in_place_rounds_like_the_encoder():
    x = torch.cat(
        [
            torch.rand(20_000, generator=torch.Generator().manual_seed(0)),
            (torch.arange(256) + 0.5) / 255,  # halves: round to even
            torch.arange(256) / 255,
            torch.tensor([0.0, 1.0, -1e-8, 1 + 1e-7, -3.0, 7.0, 127.5 / 255, 128.5 / 255]),
        ]
    )
    canvas = x.view(1, 1, 1, -1).expand(2, 3, 1, -1).contiguous()
    out = torch.empty(canvas.shape, dtype=torch.uint8)
    canvas_to_uint8_into(canvas, out, torch.empty_like(canvas))
    want = canvas_to_uint8(canvas).transpose(0, 3, 1, 2)
    np.testing.assert_array_equal(out.numpy(), want)
    assert out.max() == 255 and out.min() == 0
