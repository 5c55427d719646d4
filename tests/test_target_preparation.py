"""One target preparation: the env and neural-paint make the same target array from the same
photo (centred crop to the canvas's aspect ratio, never a squash, then one resampler)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import painting_env  # noqa: F401  (registers Painting-v0)
from agents.cli.paint import working_target
from painters.images import crop_to_aspect, prepare_target, resize
from painting_env.targets import TargetSet

RED, BLUE, BLACK = (220, 30, 30), (30, 30, 220), (0, 0, 0)


def photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth, non-symmetric test photo (gradients plus noise), uint8 RGB."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    rng = np.random.default_rng(seed)
    img = np.stack([255 * x / w, 255 * y / h, 128 + 60 * np.sin(x / 7 + y / 11)], -1)
    return np.clip(img + rng.normal(0, 12, img.shape), 0, 255).astype(np.uint8)


def halves_with_square(h: int, w: int) -> np.ndarray:
    """Left half red, right half blue, a black square of side min(h, w) / 2 in the centre."""
    img = np.empty((h, w, 3), np.uint8)
    img[:, : w // 2], img[:, w // 2 :] = RED, BLUE
    s = min(h, w) // 2
    img[(h - s) // 2 : (h + s) // 2, (w - s) // 2 : (w + s) // 2] = BLACK
    return img


def env_target(image: np.ndarray, size: int) -> np.ndarray:
    env = gym.make("Painting-v0", target=image, size=size, renderer="neural")
    try:
        obs, _ = env.reset(seed=0)
        return np.asarray(obs["target"]).copy()
    finally:
        env.close()


def test_env_and_neural_paint_make_the_same_target_from_a_non_square_photo() -> None:
    image = photo(128, 129)  # neural-paint's canvas at --grid 1 is 64 x 64 (rounded)
    by_paint = working_target(image, 1)
    assert by_paint.shape == (64, 64, 3)
    by_env = env_target(image, 64)
    np.testing.assert_array_equal(by_env, by_paint)
    np.testing.assert_array_equal(by_env, prepare_target(image, 64, 64))
    # the env's target set prepares it the same way (no pre-shrink of a single target)
    np.testing.assert_array_equal(TargetSet(image, 64).sample(np.random.default_rng(3)), by_env)


def test_large_non_square_photo_same_target_at_the_same_size() -> None:
    image = photo(300, 480, seed=1)  # 8:5, shrunk by more than 4x: the env no longer pre-shrinks
    np.testing.assert_array_equal(env_target(image, 64), prepare_target(image, 64, 64))
    w, h = working_target(image, 1).shape[1::-1]
    assert (w, h) == (102, 64)
    np.testing.assert_array_equal(working_target(image, 1), prepare_target(image, w, h))


@pytest.mark.parametrize("shape", [(64, 128), (128, 64)])
def test_a_wide_or_tall_photo_is_cropped_not_squashed(shape) -> None:
    image = halves_with_square(*shape)
    target = env_target(image, 32)
    # the centred square of the photo: a 32 px square holding a 16 px black square, which a
    # squash would have turned into a 16 x 8 (or 8 x 16) bar
    black = np.all(target == 0, axis=-1)
    rows, cols = np.nonzero(black)
    assert black.sum() == 16 * 16
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (8, 23, 8, 23)
    if shape[1] > shape[0]:  # the wide photo's crop keeps half red, half blue
        assert (target[0, :16] == RED).all() and (target[0, 16:] == BLUE).all()
    np.testing.assert_array_equal(target, prepare_target(image, 32, 32))


def test_crop_keeps_the_requested_aspect_ratio() -> None:
    image = photo(341, 512)
    assert crop_to_aspect(image, 96, 64).shape[:2] == (341, 512)  # 3:2 within rounding: whole
    crop = crop_to_aspect(image, 64, 64)
    assert crop.shape[:2] == (341, 341)
    np.testing.assert_array_equal(crop, image[:, 85:426])
    tall = crop_to_aspect(image, 64, 128)
    assert tall.shape[:2] == (341, 170)  # 170.5 rounded (half to even)
    np.testing.assert_array_equal(tall, image[:, 171:341])


def test_one_resampler_area_when_shrinking_cubic_when_enlarging() -> None:
    image = photo(64, 64)
    small = resize(image, 16, 16)
    means = image.reshape(16, 4, 16, 4, 3).astype(np.float64).mean(axis=(1, 3))
    assert np.abs(small.astype(np.float64) - means).max() <= 0.5 + 1e-9  # 4 x 4 box means
    big = resize(image[:8, :8], 32, 32)
    assert big.shape == (32, 32, 3) and big.dtype == np.uint8
    np.testing.assert_array_equal(resize(image, 64, 64), image)
    grey = resize(image[..., :1], 16, 8)
    assert grey.shape == (8, 16, 1)
    with pytest.raises(ValueError, match="uint8 RGB"):
        prepare_target(image.astype(np.float32), 32)
