"""Shared test helpers: skip the real-brush tests where libmypaint is not installed, run the
tiny CPU models on one thread, and the tiny painter configs (test-only, out of the package)."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from painters.renderers.mypaint import unavailable_reason

#: Mark for tests of the real brush (skips with the install hint if libmypaint is missing).
needs_mypaint = pytest.mark.skipif(
    unavailable_reason() is not None, reason=unavailable_reason() or ""
)


@pytest.fixture
def need_mypaint() -> None:
    """Use in tests of the real brush: skips with the install hint if libmypaint is missing."""
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)


@pytest.fixture
def one_thread():
    """The CPU is shared; tiny models run fastest on one thread anyway."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def tiny_config(kind: str) -> dict[str, Any]:
    """Constructor kwargs of a tiny GAN, VAE or supervised painter: tests of the painters and the
    trainer run in seconds on CPU (test-only: the package ships the real configs)."""
    small: dict[str, Any] = {"widths": [4, 4, 4]}
    if kind == "gan":
        return {**small, "noise_channels": 1, "critic_channels": 4}
    if kind == "vae":
        return {**small, "noise_channels": 1, "noise_size": 16, "encoder_channels": 4}
    return small
