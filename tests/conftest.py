"""Shared test helpers: skip the real-brush tests where libmypaint is not installed, and run
the tiny CPU models on one thread."""

from __future__ import annotations

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
