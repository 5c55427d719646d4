"""Shared test helpers: skip the real-brush tests where libmypaint is not installed."""

from __future__ import annotations

import pytest


def mypaint_missing_reason() -> str | None:
    """Why the real brush cannot run here (None if it can)."""
    try:
        from painters.renderers.mypaint import MyPaintUnavailable, find_brush, load_library

        load_library()
        find_brush("classic/dry_brush")
    except MyPaintUnavailable as e:
        return str(e)
    return None


@pytest.fixture
def need_mypaint() -> None:
    """Use in tests of the real brush: skips with the install hint if libmypaint is missing."""
    reason = mypaint_missing_reason()
    if reason:
        pytest.skip(reason)
