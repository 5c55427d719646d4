"""One image loader for the env, the painters and the scripts: RGBA laid on white, 16-bit
scaled (never an all-white target), grayscale spread to RGB, through every path."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

import painting_env.targets
from painters.images import ImageError, load_image
from painting_env.targets import TargetSet


@pytest.fixture
def files(tmp_path):
    ramp = np.linspace(0, 65535, 48 * 64).reshape(48, 64).astype(np.uint16)
    rgb16 = np.stack([ramp, ramp[::-1], np.full_like(ramp, 30000)], -1)
    cv2.imwrite(str(tmp_path / "rgb16.png"), rgb16[..., ::-1])
    cv2.imwrite(str(tmp_path / "grey16.png"), ramp)
    Image.fromarray((ramp // 257).astype(np.uint8)).save(tmp_path / "grey8.png")
    rgba = np.zeros((48, 64, 4), np.uint8)
    rgba[..., :3] = (200, 10, 10)  # red everywhere, but opaque only on the right half
    rgba[:, 32:, 3] = 255
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    return tmp_path, ramp


def test_one_loader_everywhere() -> None:
    assert painting_env.targets.load_image is load_image


def test_rgba_is_laid_on_white(files) -> None:
    folder, _ = files
    img = load_image(folder / "rgba.png")
    assert img.shape == (48, 64, 3) and img.dtype == np.uint8
    assert (img[:, :32] == 255).all() and (img[:, 32:] == (200, 10, 10)).all()


def test_sixteen_bit_is_scaled_not_white(files) -> None:
    folder, ramp = files
    expect = np.rint(ramp / 257.0).astype(np.uint8)
    grey = load_image(folder / "grey16.png")
    assert grey.shape == (48, 64, 3)
    assert np.abs(grey[..., 0].astype(int) - expect).max() <= 1
    assert (grey[..., 0] == grey[..., 2]).all()
    rgb = load_image(folder / "rgb16.png")
    assert np.abs(rgb[..., 0].astype(int) - expect).max() <= 1
    assert np.abs(rgb[..., 2].astype(int) - 117).max() <= 1
    assert 100 < rgb.mean() < 160  # not an all-white sheet


def test_grayscale_becomes_rgb(files) -> None:
    folder, ramp = files
    img = load_image(folder / "grey8.png")
    assert img.shape == (48, 64, 3)
    assert (img[..., 0] == (ramp // 257)).all() and (img[..., 1] == img[..., 0]).all()


@pytest.mark.parametrize("name", ["rgba.png", "rgb16.png", "grey16.png", "grey8.png"])
def test_env_target_is_the_same_image(files, name) -> None:
    folder, _ = files
    target = TargetSet(folder / name, size=32).sample(np.random.default_rng(0))
    square = load_image(folder / name)[:, 8:56]  # the centred 48 x 48 of the 64 x 48 image
    expect = cv2.resize(square, (32, 32), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(target, expect)
    assert target.mean() < 250  # none of these is a white sheet


def test_unreadable_is_one_line(tmp_path) -> None:
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(ImageError, match="cannot read image"):
        load_image(tmp_path / "bad.png")
    with pytest.raises(ImageError, match="no image file"):
        load_image(tmp_path / "missing.png")
