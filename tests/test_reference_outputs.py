"""Today's painter and env against outputs stored from the implementation before the speed
work (tests/data/make_reference.py): strokes within 1e-5, same trajectories for the same seed."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

import painting_env  # noqa: F401  (registers Painting-v0)
from painters.loading import load_painter

OUT = Path(__file__).parent / "data" / "speed_reference.npz"
TOL = 1e-5


# -- the runs (tests/data/make_reference.py stores their outputs) -------------------------
def reference_actions() -> np.ndarray:
    acts = np.random.default_rng(2024).uniform(0, 1, (14, 12)).astype(np.float32)
    acts[10], acts[11], acts[12] = 0.0, 1.0, 0.5
    acts[13] = acts[3]
    acts[13, [2, 4, 9]] = 0.3  # start = control = end
    acts[13, [3, 5, 10]] = 0.7
    return acts


def painter_outputs() -> dict[str, np.ndarray]:
    acts = reference_actions()
    p = load_painter("default")
    x = torch.from_numpy(acts).requires_grad_(True)
    y = p(x)
    w = torch.from_numpy(np.random.default_rng(7).uniform(-1, 1, (64, 64)).astype(np.float32))
    (y[:, 3] * w).sum().backward()
    with torch.no_grad():
        gan = load_painter("gan")(torch.from_numpy(acts), sample=False)[:, 3].numpy()
    return {
        "actions": acts,
        "default_alpha": y[:, 3].detach().numpy(),
        "default_grad": x.grad.numpy().copy(),
        "gan_alpha": gan,
    }


def obs_sums(o) -> np.ndarray:
    """Per observation: target sum, canvas sum and 255 x step, as int64."""
    if isinstance(o, dict):
        step = round(float(o["step"][..., 0].sum()) * 255)
        return np.array(
            [o["target"].astype(np.int64).sum(), o["canvas"].astype(np.int64).sum(), step]
        )
    o = o.astype(np.int64)
    return np.array([o[..., 3:6, :, :].sum(), o[..., :3, :, :].sum(), o[..., 6, :, :].sum()])


def single_env_run() -> dict[str, np.ndarray]:
    """2.4 episodes of the default env (dict observations), actions beyond [-1, 1] included."""
    env = gym.make("Painting-v0")
    obs, _ = env.reset(seed=3)
    acts = np.random.default_rng(5).uniform(-1.2, 1.2, (120, 12)).astype(np.float32)
    rewards, sums = [], [obs_sums(obs)]
    for a in acts:
        obs, r, _, truncated, _ = env.step(a)
        rewards.append(r)
        sums.append(obs_sums(obs))
        if truncated:
            obs, _ = env.reset()
            sums.append(obs_sums(obs))
    return {
        "single_rewards": np.array(rewards),
        "single_obs_sums": np.array(sums),
        "single_painting": env.unwrapped.painting(),
        "single_last_obs_canvas": obs["canvas"],
        "single_last_obs_target": obs["target"],
    }


def vector_env_run() -> dict[str, np.ndarray]:
    """5 envs, 2 strokes a step, 6 strokes an episode (autoreset), compact obs, l1."""
    venv = gym.make_vec(
        "Painting-v0", num_envs=5, vectorization_mode="vector_entry_point", strokes_per_step=2,
        max_strokes=6, obs_mode="compact", distance="l1", device="cpu",
    )  # fmt: skip
    obs, info = venv.reset(seed=11)
    acts = np.random.default_rng(6).uniform(-1, 1, (8, 5, 24)).astype(np.float32)
    rewards, sums = [], [obs_sums(obs)]
    for a in acts:
        obs, r, _, _, info = venv.step(a)
        rewards.append(r)
        sums.append(obs_sums(obs))
    return {
        "vector_rewards": np.array(rewards),
        "vector_obs_sums": np.array(sums),
        "vector_distance": info["distance"],
        "vector_last_obs": obs,
    }


def ssim_env_run() -> dict[str, np.ndarray]:
    """SSIM distance, a coloured background, 32 px."""
    env = gym.make("Painting-v0", distance="ssim", size=32, background=(10, 200, 30), max_strokes=7)
    obs, _ = env.reset(seed=1)
    acts = np.random.default_rng(6).uniform(-1, 1, (8, 5, 24)).astype(np.float32)
    rewards, sums = [], [obs_sums(obs)]
    for t in range(7):
        obs, r, *_ = env.step(acts[t, 0, :12])
        rewards.append(r)
        sums.append(obs_sums(obs))
    return {"ssim_rewards": np.array(rewards), "ssim_obs_sums": np.array(sums)}


REF = np.load(OUT, allow_pickle=False) if OUT.is_file() else None


@pytest.fixture(scope="module")
def painter():
    return load_painter("default")


def same_sums(got: np.ndarray, want: np.ndarray) -> None:
    """Targets and steps exactly; canvases up to a few pixels that round the other way (the
    strokes may differ in the last float bit, which moves a value sitting on .5 of a level)."""
    np.testing.assert_array_equal(got[:, [0, 2]], want[:, [0, 2]])
    assert np.abs(got[:, 1] - want[:, 1]).max() <= 8


def close_images(got: np.ndarray, want: np.ndarray) -> None:
    diff = np.abs(got.astype(np.int16) - want.astype(np.int16))
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-3


def test_single_env_trajectory_is_unchanged():
    run = single_env_run()
    np.testing.assert_allclose(run["single_rewards"], REF["single_rewards"], atol=1e-6, rtol=0)
    same_sums(run["single_obs_sums"], REF["single_obs_sums"])
    np.testing.assert_array_equal(run["single_painting"], REF["single_painting"])
    np.testing.assert_array_equal(run["single_last_obs_target"], REF["single_last_obs_target"])
    close_images(run["single_last_obs_canvas"], REF["single_last_obs_canvas"])


def test_vector_env_trajectory_is_unchanged():
    run = vector_env_run()
    np.testing.assert_allclose(run["vector_rewards"], REF["vector_rewards"], atol=1e-6, rtol=0)
    np.testing.assert_allclose(run["vector_distance"], REF["vector_distance"], atol=1e-6)
    same_sums(run["vector_obs_sums"], REF["vector_obs_sums"])
    close_images(run["vector_last_obs"], REF["vector_last_obs"])


def test_ssim_env_trajectory_is_unchanged():
    run = ssim_env_run()
    np.testing.assert_allclose(run["ssim_rewards"], REF["ssim_rewards"], atol=1e-6, rtol=0)
    same_sums(run["ssim_obs_sums"], REF["ssim_obs_sums"])


def test_default_painter_strokes_match_the_reference_with_and_without_gradients(painter):
    a = torch.from_numpy(REF["actions"])
    with torch.no_grad():
        y = painter(a)
    assert torch.equal(y[:, :3], a[:, 6:9, None, None].expand(-1, 3, 64, 64))
    np.testing.assert_allclose(y[:, 3].numpy(), REF["default_alpha"], atol=TOL, rtol=0)
    with torch.no_grad():
        alpha = painter.paint_alpha(a)
    np.testing.assert_allclose(alpha.numpy(), REF["default_alpha"], atol=TOL, rtol=0)
    x = a.clone().requires_grad_(True)
    y = painter(x)
    np.testing.assert_allclose(y[:, 3].detach().numpy(), REF["default_alpha"], atol=TOL, rtol=0)
    w = torch.from_numpy(np.random.default_rng(7).uniform(-1, 1, (64, 64)).astype(np.float32))
    (y[:, 3] * w).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), REF["default_grad"], rtol=1e-4, atol=1e-3)


def test_numpy_path_matches_the_reference_alone_and_batched(painter):
    acts = REF["actions"]
    np.testing.assert_allclose(painter.paint_alpha_numpy(acts), REF["default_alpha"], atol=TOL)
    one = np.stack([painter.paint_alpha_numpy(acts[i : i + 1])[0] for i in range(len(acts))])
    np.testing.assert_allclose(one, REF["default_alpha"], atol=TOL, rtol=0)


def test_numpy_weights_follow_a_weight_change(painter):
    p = load_painter("default")
    before = p.paint_alpha_numpy(REF["actions"][:2])
    with torch.no_grad():
        p.head2.bias.add_(1.0)
    after = p.paint_alpha_numpy(REF["actions"][:2])
    with torch.no_grad():
        want = p.paint_alpha(torch.from_numpy(REF["actions"][:2]))
    assert np.abs(after - before).max() > 0.01
    np.testing.assert_allclose(after, want.numpy(), atol=TOL, rtol=0)


def test_chunked_batches_match_single_strokes(painter):
    acts = torch.from_numpy(np.random.default_rng(0).random((300, 12), dtype=np.float32))
    with torch.no_grad():
        whole = painter(acts)[:, 3]
        parts = torch.cat([painter(acts[i : i + 1])[:, 3] for i in range(0, 300, 37)])
    np.testing.assert_allclose(whole[::37].numpy(), parts.numpy(), atol=TOL, rtol=0)


def test_texture_painter_matches_the_reference():
    gan = load_painter("gan")
    with torch.no_grad():
        y = gan(torch.from_numpy(REF["actions"]), sample=False)
    np.testing.assert_allclose(y[:, 3].numpy(), REF["gan_alpha"], atol=TOL, rtol=0)


def test_fused_gaussians_backward_matches_finite_differences():
    from painters.models.structured import SeparableGaussians

    g = torch.Generator().manual_seed(0)
    xy = torch.rand(2, 2, 5, dtype=torch.double, generator=g).requires_grad_(True)
    inv = (torch.rand(2, 3, 5, dtype=torch.double, generator=g) * 20 + 1).requires_grad_(True)
    pix = (torch.arange(7, dtype=torch.double) + 0.5) / 7
    assert torch.autograd.gradcheck(SeparableGaussians.apply, (xy, inv, pix))


def test_fused_alpha_gradients_match_finite_differences(monkeypatch) -> None:
    """The hand-written backward of the pixel work (Gaussians → densities → linear head), over
    more strokes than one chunk, including the logit clamp's flat parts."""
    from painters.models.fused_alpha import FusedAlpha

    monkeypatch.setattr(FusedAlpha, "chunk", 2)
    g = torch.Generator().manual_seed(1)
    b, c, k, s = 5, 2, 4, 6
    xy = torch.rand(b, 2, k, dtype=torch.double, generator=g).requires_grad_(True)
    neg_inv = (-torch.rand(b, c, k, dtype=torch.double, generator=g) * 30 - 2).requires_grad_(True)
    amount = (-torch.rand(b, c, k, dtype=torch.double, generator=g) * 3).requires_grad_(True)
    weight = torch.tensor([0.7, -1.3], dtype=torch.double, requires_grad=True)
    bias = torch.tensor([0.2], dtype=torch.double, requires_grad=True)
    pix = (torch.arange(s, dtype=torch.double) + 0.5) / s
    args = (xy, neg_inv, amount, weight, bias, pix)
    assert torch.autograd.gradcheck(FusedAlpha.apply, args, atol=1e-6)


def test_over_backward_matches_autograd() -> None:
    """``over``'s hand-written backward equals autograd's on the same arithmetic, a broadcast
    canvas included."""
    from painters.compositing import over

    g = torch.Generator().manual_seed(2)
    canvas = torch.rand(1, 3, 6, 6, dtype=torch.double, generator=g).requires_grad_(True)
    strokes = torch.rand(4, 4, 6, 6, dtype=torch.double, generator=g).requires_grad_(True)
    assert torch.autograd.gradcheck(over, (canvas, strokes))
    w = torch.rand(4, 3, 6, 6, dtype=torch.double, generator=g)
    (over(canvas.expand(4, -1, -1, -1), strokes) * w).sum().backward()
    got = canvas.grad.clone(), strokes.grad.clone()
    canvas.grad = strokes.grad = None
    a = strokes[:, 3:4]
    ((strokes[:, :3] * a + canvas * (1.0 - a)) * w).sum().backward()
    torch.testing.assert_close(got, (canvas.grad, strokes.grad))


def test_over_sequence_backward_matches_autograd() -> None:
    """Several strokes laid in order: the hand-written backward equals autograd's."""
    from painters.compositing import over_sequence

    g = torch.Generator().manual_seed(3)
    canvas = torch.rand(2, 3, 5, 5, dtype=torch.double, generator=g).requires_grad_(True)
    strokes = torch.rand(2, 3, 4, 5, 5, dtype=torch.double, generator=g).requires_grad_(True)
    assert torch.autograd.gradcheck(over_sequence, (canvas, strokes))
    w = torch.rand(2, 3, 5, 5, dtype=torch.double, generator=g)
    out = over_sequence(canvas, strokes)
    (out * w).sum().backward()
    got = out.detach(), canvas.grad.clone(), strokes.grad.clone()
    canvas.grad = strokes.grad = None
    c = canvas
    for t in range(3):
        a = strokes[:, t, 3:4]
        c = strokes[:, t, :3] * a + c * (1.0 - a)
    (c * w).sum().backward()
    torch.testing.assert_close(got, (c.detach(), canvas.grad, strokes.grad), rtol=0, atol=1e-12)


def test_painter_gradients_under_bfloat16_autocast() -> None:
    """The fused pixel work runs in float32 under autocast: strokes and gradients exist and
    stay close to the float32 ones."""
    p = load_painter("default")
    x = torch.from_numpy(reference_actions()).requires_grad_(True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = p(x)
    (y[:, 3] * 1.0).sum().backward()
    assert y.dtype == torch.float32 and torch.isfinite(x.grad).all()
    got = x.grad.clone()
    x.grad = None
    p(x)[:, 3].sum().backward()
    assert (got - x.grad).abs().max() < 0.2 * x.grad.abs().max()  # bfloat16 per-dab work
