"""The GAN, VAE and supervised painters: the forward contract, persistence and their losses."""

from __future__ import annotations

import pytest
import torch

import painters
from painters.models import PAINTER_KINDS, GANPainter, SupervisedPainter, VAEPainter
from painters.models.supervised import composite_mse, tiny_config, white_weight

KINDS = ("gan", "vae", "supervised")


pytestmark = pytest.mark.usefixtures("one_thread")


def tiny(kind: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return PAINTER_KINDS[kind](**tiny_config(kind))


def fake_strokes(actions: torch.Tensor) -> torch.Tensor:
    """A disc of alpha 0.5 at each action's end point, coloured by the action."""
    b = actions.shape[0]
    ys, xs = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
    cx, cy = actions[:, 4, None, None] * 64, actions[:, 5, None, None] * 64
    alpha = 0.5 * (((xs - cx) ** 2 + (ys - cy) ** 2) < 64).float()
    rgb = actions[:, 6:9, None, None].expand(b, 3, 64, 64)
    return torch.cat([rgb, alpha[:, None]], 1)


def test_kinds_are_registered() -> None:
    assert PAINTER_KINDS["gan"] is GANPainter
    assert PAINTER_KINDS["vae"] is VAEPainter
    assert PAINTER_KINDS["supervised"] is SupervisedPainter


@pytest.mark.parametrize("kind", KINDS)
def test_forward_contract(kind: str) -> None:
    m = tiny(kind).eval()
    a = torch.rand(5, 12, requires_grad=True)
    y = m(a)
    assert y.shape == (5, 4, 64, 64)
    assert float(y.detach().min()) >= 0.0 and float(y.detach().max()) <= 1.0
    # colour is the action's; gradient w.r.t. the actions flows through alpha
    assert torch.allclose(y[:, :3, 0, 0], a[:, 6:9])
    y[:, 3].sum().backward()
    g = a.grad
    assert g is not None and torch.isfinite(g).all() and float(g.abs().sum()) > 0
    assert torch.equal(m(a.detach()), m(a.detach())), "eval mode must be deterministic"


@pytest.mark.parametrize("kind", KINDS)
def test_save_load_round_trip(kind: str, tmp_path) -> None:
    m = tiny(kind).eval()
    m.save_pretrained(tmp_path / kind, steps=3)
    back = painters.load_painter(tmp_path / kind)
    assert type(back) is type(m) and back.config == m.config
    a = torch.rand(3, 12)
    assert torch.equal(back(a), m(a))


@pytest.mark.parametrize("kind", KINDS)
def test_training_loss_decreases_on_a_fixed_batch(kind: str) -> None:
    torch.manual_seed(1)
    m = tiny(kind).train()
    a = torch.rand(8, 12)
    s = fake_strokes(a)
    phases = getattr(m, "phase_schedule", m.phases)
    opts = {ph: torch.optim.Adam(m.phase_parameters(ph), lr=3e-3) for ph in set(phases)}
    key = "recon_ratio" if kind == "vae" else "ratio_est"

    def ratio() -> float:
        m.eval()
        with torch.no_grad():
            r = float(composite_mse(m(a)[:, 3:4], s[:, 3:4], a)) / 0.002
        m.train()
        return r

    before = ratio()
    for _ in range(25):
        for ph in phases:
            opts[ph].zero_grad()
            loss, logs = m.training_loss(a, s, ph)
            assert torch.isfinite(loss)
            loss.backward()
            opts[ph].step()
    assert key in logs
    assert ratio() < 0.8 * before


def test_composite_mse_is_mse_on_white() -> None:
    a = torch.rand(6, 12)
    p, y = torch.rand(6, 1, 64, 64), torch.rand(6, 1, 64, 64)
    rgb = a[:, 6:9, None, None]
    on_white = lambda al: rgb * al + (1 - al)  # noqa: E731
    direct = (on_white(p) - on_white(y)).pow(2).mean()
    assert torch.allclose(composite_mse(p, y, a), direct, rtol=1e-5)
    assert white_weight(torch.ones(1, 12)).item() == 0.0


def test_gan_forward_uses_only_the_generator_and_zero_noise() -> None:
    m = tiny("gan").eval()
    assert any(k.startswith("critic.") for k in m.state_dict()), "critic must be checkpointed"
    a = torch.rand(4, 12)
    before = m(a)
    with torch.no_grad():
        for p in m.critic.parameters():
            p.add_(1.0)
    assert torch.equal(m(a), before)
    assert torch.equal(m.alpha(a, torch.zeros(4, m.noise_dim)), before[:, 3:4])
    m.train()
    assert not torch.equal(m.alpha(a), m.alpha(a)), "training mode samples noise"


def test_vae_infers_at_the_prior_mean() -> None:
    m = tiny("vae").eval()
    a = torch.rand(4, 12)
    assert torch.equal(m(a)[:, 3:4], m.alpha(a, torch.zeros(4, m.latent_dim)))
    assert not torch.equal(m(a)[:, 3:4], m.alpha(a, torch.full((4, m.latent_dim), 3.0)))


def test_default_sizes_are_cpu_friendly() -> None:
    for kind in KINDS:
        n = PAINTER_KINDS[kind]().num_parameters()
        assert 200_000 <= n <= 2_500_000, (kind, n)


def test_decoder_rejects_bad_size() -> None:
    with pytest.raises(ValueError, match="size"):
        SupervisedPainter(size=48)
