"""Gradient painter: tiny budgets (few strokes, few steps) so the suite stays fast."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import painters
from agents.gradient import (
    GradientConfig,
    StrokeParams,
    allocate,
    canvas_size,
    composite,
    fraction_for_size,
    make_loss,
    optimise_strokes,
    paint_images,
    plan_passes,
    refine_colours,
    size_for_fraction,
    tile_windows,
    to_global,
    window_classes,
)
from agents.gradient.perceptual import PerceptualLoss, layer_names, make_features
from painters.compositing import from_uint8, over_sequence
from painters.images import ImageError, load_image, save_png

torch.set_num_threads(1)
TINY = dict(strokes=6, groups=2, steps=3, refine_steps=2)


@pytest.fixture(scope="module")
def painter():
    return painters.load_painter("default")


def _target(seed: int = 0, size: int = 64) -> np.ndarray:
    """A smooth two-colour image with an edge: something strokes can match."""
    rng = np.random.default_rng(seed)
    img = np.zeros((size, size, 3), np.uint8)
    img[:] = rng.integers(0, 255, 3)
    img[:, size // 2 :] = rng.integers(0, 255, 3)
    return img


def test_vectorised_composite_matches_over(painter):
    acts = torch.rand(2, 5, 12, generator=torch.Generator().manual_seed(0))
    strokes = painter(acts.view(-1, 12)).view(2, 5, 4, 64, 64)
    base = torch.rand(2, 3, 64, 64)
    assert torch.allclose(composite(base, strokes), over_sequence(base, strokes), atol=1e-5)


def test_loss_decreases(painter):
    t = from_uint8(_target(1))[None]
    losses = []
    cfg = GradientConfig(strokes=8, groups=1, steps=12, refine_steps=0)
    optimise_strokes(painter, t, cfg, callback=lambda ev: losses.append(ev["loss"]))
    assert len(losses) == 12
    assert losses[-1] < 0.8 * losses[0]


def test_actions_in_range_and_deterministic(painter):
    t = from_uint8(_target(2))[None]
    cfg = GradientConfig(**TINY, seed=3)
    a1, c1 = optimise_strokes(painter, t, cfg)
    a2, c2 = optimise_strokes(painter, t, cfg)
    assert a1.shape == (1, 6, 12)
    assert float(a1.min()) >= 0.0 and float(a1.max()) <= 1.0
    assert torch.equal(a1, a2) and torch.equal(c1, c2)
    a3, _ = optimise_strokes(painter, t, GradientConfig(**TINY, seed=4))
    assert not torch.equal(a1, a3)


def test_batch_of_images_is_one_painting_each(painter):
    targets = [_target(5), _target(6)]
    out = paint_images(painter, targets, GradientConfig(**TINY))
    assert len(out) == 2
    for p, t in zip(out, targets, strict=True):
        assert p.actions.shape == (6, 12) and p.stroke_scale == 1.0
        replayed = painters.replay(p.actions, painter, size=64)
        assert np.abs(replayed.astype(int) - p.canvas.astype(int)).max() <= 3
        blank = np.mean((255.0 - t) ** 2)
        assert np.mean((p.canvas.astype(float) - t) ** 2) < blank


def test_grid_strokes_in_global_coordinates(painter):
    local = np.full((2, 12), 0.5, np.float32)
    local[:, 9], local[:, 10] = 0.0, 0.25  # start at the window's left edge, 16 px down
    windows = np.array([[0, 0], [64, 64]])
    g = to_global(local, windows, 128, 128)
    assert g[0, 9] == pytest.approx(0.0) and g[0, 10] == pytest.approx(16 / 128)
    assert g[1, 9] == pytest.approx(64 / 128) and g[1, 10] == pytest.approx(80 / 128)
    assert g[1, 2] == pytest.approx((64 + 32) / 128)  # control x: window centre
    assert g[1, 1] == pytest.approx(0.5)  # size is untouched: stroke_scale carries it
    assert tile_windows(128, 128) == [(0, 0), (64, 0), (0, 64), (64, 64)]
    # the junction tile, then border tiles over the boundary lines' ends
    assert tile_windows(128, 128, shifted=True) == [(32, 32), (32, 0), (32, 64), (0, 32), (64, 32)]
    seam = tile_windows(256, 256, shifted=True)
    for x in (64, 128, 192):  # every boundary column is covered from top to bottom
        rows = set()
        for wx, wy in seam:
            if wx < x < wx + 64:
                rows.update(range(wy, wy + 64))
        assert rows == set(range(256))


def test_grid_painting(painter):
    target = np.concatenate([_target(7, 128)[:, :64], _target(8, 128)[:, 64:]], 1)
    cfg = GradientConfig(strokes=4, groups=2, steps=2, refine_steps=1, seam_fraction=0.5)
    passes = plan_passes(cfg, 128, 128)
    assert [len(w) for w, _ in passes] == [4, 4, 5]  # coarse, fine, then the seams
    p = paint_images(painter, [target], cfg)[0]
    assert p.canvas.shape == (128, 128, 3) and p.stroke_scale == 0.5
    assert len(p.actions) == 4  # --strokes is the painting's total, split across tiles
    # every stroke's start lies inside its window, in global coordinates
    start = p.actions[:, 9:11] * 128
    assert np.all(start >= p.windows - 1e-3) and np.all(start <= p.windows + 64 + 1e-3)


def test_refine_colours_improves_fit(painter):
    t = from_uint8(_target(9))[None]
    acts = torch.rand(1, 10, 12, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        alpha = painter(acts[0])[:, 3][None]
    loss = make_loss("mse")

    def fit(a):
        s = painter(a[0]).view(1, 10, 4, 64, 64)
        return float(loss(composite(torch.ones_like(t), s), t))

    new = refine_colours(acts, t, [alpha], steps=30, lr=0.1)
    assert torch.equal(new[..., :6], acts[..., :6])  # geometry untouched
    assert fit(new) < fit(acts)


def test_loss_specs():
    c, t = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    mix = make_loss("mse+0.5*l1")(c, t)
    expected = painters.get_distance("mse")(c, t) + 0.5 * painters.get_distance("l1")(c, t)
    assert torch.allclose(mix, expected)
    with pytest.raises(ValueError, match="unknown distance"):
        make_loss("mse+bogus")
    with pytest.raises(ValueError, match="perceptual-weights"):
        make_loss("perceptual")


def test_perceptual_loss_random_weights_has_gradients():
    loss = PerceptualLoss("vgg16", random_init=True, resize=64)
    canvas = torch.rand(2, 3, 64, 64, requires_grad=True)
    target = torch.rand(2, 3, 64, 64)
    v = loss(canvas, target)
    assert v.shape == (2,) and torch.all(v > 0)
    v.sum().backward()
    assert canvas.grad is not None and float(canvas.grad.abs().sum()) > 0
    assert float(loss(target, target).abs().max()) == 0.0


def test_vgg_keys_match_torchvision(tmp_path):
    feats = make_features("vgg19")
    keys = [k for k in feats.state_dict() if k.endswith("weight")]
    assert keys[0] == "features.0.weight"[len("features.") :] and len(keys) == 16
    assert layer_names("vgg16")["relu2_2"] == 8 and layer_names("vgg19")["relu5_4"] == 35
    # a torchvision-style file (features.* + classifier.*) loads with weights_only
    state = {f"features.{k}": v for k, v in make_features("vgg16").state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(1)
    path = tmp_path / "vgg16-397923af.pth"
    torch.save(state, path)
    PerceptualLoss(weights=path, layers=("relu1_2",))
    with pytest.raises(FileNotFoundError, match="perceptual-weights"):
        PerceptualLoss(weights=tmp_path / "missing.pth")


def test_load_image_errors(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    with pytest.raises(ImageError, match="cannot read"):
        load_image(bad)
    with pytest.raises(ImageError, match="no image file"):
        load_image(tmp_path / "missing.png")
    rgba = np.zeros((4, 4, 4), np.uint8)  # fully transparent -> white
    save_png(rgba, tmp_path / "t.png")
    assert load_image(tmp_path / "t.png").min() == 255


def test_canvas_size_keeps_aspect():
    assert canvas_size(512, 341) == (96, 64)
    assert canvas_size(341, 512) == (64, 96)
    assert canvas_size(512, 341, grid=2) == (192, 128)
    assert canvas_size(300, 300) == (64, 64)
    w, h = canvas_size(1920, 1080, grid=3)
    assert h == 192 and abs((w / h) / (1920 / 1080) - 1) < 0.01


def test_overlapping_tiles_and_classes():
    assert tile_windows(96, 64) == [(0, 0), (32, 0)]
    assert tile_windows(96, 64, shifted=True) == [(16, 0)]
    assert tile_windows(64, 64, shifted=True) == []
    assert tile_windows(200, 64) == [(0, 0), (45, 0), (91, 0), (136, 0)]
    # overlapping tiles go to different classes; disjoint ones share a class
    assert window_classes([(0, 0), (32, 0)]) == [[0], [1]]
    assert window_classes(tile_windows(128, 128)) == [[0, 1, 2, 3]]
    assert window_classes(tile_windows(200, 64)) == [[0, 2], [1, 3]]
    with pytest.raises(ValueError, match="at least 64"):
        tile_windows(60, 64)


def test_allocate_exact_total():
    assert allocate(10, [1, 1, 2]) == [3, 2, 5]
    assert sum(allocate(301, [0.3, 1.7, 2.2, 0.1])) == 301
    assert allocate(2, [1, 1, 1]) == [1, 1, 0]


def test_non_square_painting_total_strokes_and_consistent_canvas(painter):
    rng = np.random.default_rng(0)
    target = np.repeat(np.repeat(rng.integers(0, 255, (4, 6, 3)), 16, 0), 16, 1).astype(np.uint8)
    cfg = GradientConfig(strokes=9, groups=2, steps=2, refine_steps=1, seam_fraction=0.25)
    p = paint_images(painter, [target], cfg)[0]
    assert p.canvas.shape == (64, 96, 3) and len(p.actions) == 9
    assert p.stroke_scale == 1.0 and p.actions.min() >= 0 and p.actions.max() <= 1
    # the stored canvas is exactly the strokes laid in order, overlapping tiles included
    from agents.gradient import composite_windows

    again, _ = composite_windows(painter, p.local_actions, p.windows, 96, 64)
    assert np.abs(again.astype(int) - p.canvas.astype(int)).max() <= 2


def test_size_bounds_hold(painter):
    t = from_uint8(_target(3))[None]
    cfg = GradientConfig(**TINY, min_size=0.3, max_size=0.45)
    acts, _ = optimise_strokes(painter, t, cfg)
    sizes = acts[..., 1]
    assert float(sizes.min()) >= 0.3 - 1e-6 and float(sizes.max()) <= 0.45 + 1e-6
    assert size_for_fraction(fraction_for_size(0.7, 0.5), 0.5) == pytest.approx(0.7)
    assert fraction_for_size(0.0) == pytest.approx(1 / 64)
    with pytest.raises(ValueError, match="min <= max"):
        GradientConfig(min_size=0.6, max_size=0.5)


def test_palette_colours_only(painter):
    t = from_uint8(_target(4))[None]
    pal = ((1.0, 0.0, 0.0), (0.1, 0.2, 0.9), (0.5, 0.5, 0.5))
    acts, canvas = optimise_strokes(painter, t, GradientConfig(**TINY, palette=pal))
    colours = acts[0, :, 6:9]
    d = (colours[:, None] - torch.tensor(pal)[None]).abs().sum(-1).min(1).values
    assert float(d.max()) < 1e-6
    strokes = painter(acts[0]).view(1, -1, 4, 64, 64)
    assert torch.allclose(composite(torch.ones_like(t), strokes), canvas, atol=1e-4)


def test_stroke_params_round_trip():
    cfg = GradientConfig(min_size=0.2, max_size=0.6)
    params = StrokeParams(cfg)
    acts = torch.rand(2, 5, 12, generator=torch.Generator().manual_seed(0)) * 0.9 + 0.05
    acts[..., 1] = 0.2 + 0.4 * acts[..., 1]
    assert torch.allclose(params.decode(params.encode(acts)), acts, atol=1e-5)
