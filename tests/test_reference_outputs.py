"""Today's painter and env against outputs stored from the implementation before the speed
work (tests/data/make_reference.py): strokes within 1e-5, same trajectories for the same seed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from painters.loading import load_painter

REF = np.load(Path(__file__).parent / "data" / "speed_reference.npz", allow_pickle=False)
TOL = 1e-5


@pytest.fixture(scope="module")
def painter():
    return load_painter("default")


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
