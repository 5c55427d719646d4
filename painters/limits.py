"""Bounds on user-controlled numbers, checked before any work starts.

Every number a user can type (a command-line option, a field of ``strokes.json``, a painter's
``config.json``, an agent's ``env_kwargs.json``, a keyword of ``Painting-v0``) passes through
one of these checks. Each bound is derived from the memory the number implies: a canvas side
costs its pixels times the bytes each pixel needs while painting; an episode length costs one
action row per stroke; and so on. A request over :data:`MEMORY_BUDGET` is refused with a
one-line :class:`LimitError` (a ``ValueError``) that names the option and the fix, instead of
running until the kernel's out-of-memory killer ends it or raising ``MemoryError`` half-way.

The budget is 4 GiB (half of an 8 GB machine); set ``NEURAL_PAINTING_MEMORY_GB`` to change it.
"""

from __future__ import annotations

import math
import numbers
import os
from typing import Any

#: Longest side in px of anything rendered or painted (also PNG- and GIF-safe).
MAX_SIDE = 16_384


class LimitError(ValueError):
    """A number outside what can be done (malformed, or needing more memory than allowed)."""


def memory_budget() -> int:
    """Bytes one request may use: ``NEURAL_PAINTING_MEMORY_GB`` (default 4) GiB."""
    raw = os.environ.get("NEURAL_PAINTING_MEMORY_GB", "4")
    try:
        gb = float(raw)
    except ValueError:
        gb = 4.0
    if not math.isfinite(gb) or gb <= 0:
        gb = 4.0
    return int(gb * 2**30)


def _show(value: Any) -> str:
    """``repr`` of ``value``, shortened (``10**400`` has 401 digits)."""
    text = repr(value)
    return text if len(text) <= 24 else text[:20] + "..."


def whole_number(
    name: str, value: Any, *, low: int | None = None, high: int | None = None, fix: str = ""
) -> int:
    """``value`` as an ``int`` when it is a whole number in [low, high] (a float such as
    ``64.0`` is accepted, ``2.5``, ``nan``, ``1e400``, ``True`` or ``"3"`` are not); ``fix``
    ends the message of a number out of range."""
    tail = f"; {fix}" if fix else ""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise LimitError(f"{name} must be a whole number, got {_show(value)}")
    if isinstance(value, numbers.Integral):
        n = int(value)
    else:
        f = float(value)
        if not math.isfinite(f) or f != int(f):
            raise LimitError(f"{name} must be a whole number, got {_show(value)}")
        n = int(f)
    if (low is not None and n < low) or (high is not None and n > high):
        span = _span(low, high)
        raise LimitError(f"{name} must be {span}, got {_show(value)}{tail}")
    return n


def real_number(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    above: float | None = None,
    fix: str = "",
) -> float:
    """``value`` as a finite ``float`` in [low, high] (and > ``above`` when given)."""
    tail = f"; {fix}" if fix else ""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise LimitError(f"{name} must be a number, got {_show(value)}")
    try:
        f = float(value)
    except OverflowError:
        f = math.inf
    if not math.isfinite(f):
        raise LimitError(f"{name} must be a finite number, got {_show(value)}")
    if above is not None and f <= above:
        raise LimitError(f"{name} must be greater than {above:g}, got {_show(value)}{tail}")
    if (low is not None and f < low) or (high is not None and f > high):
        raise LimitError(f"{name} must be {_span(low, high)}, got {_show(value)}{tail}")
    return f


def _span(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"between {low:,} and {high:,}"
    if low is not None:
        return f"at least {low:,}"
    return f"at most {high:,}"


def check_memory(what: str, nbytes: float, fix: str) -> None:
    """Refuse ``what`` when it needs more than :func:`memory_budget` bytes."""
    budget = memory_budget()
    if nbytes > budget:
        raise LimitError(
            f"{what} needs about {_gib(nbytes)} of memory, more than the {_gib(budget)} "
            f"allowed (NEURAL_PAINTING_MEMORY_GB); {fix}"
        )


def _gib(nbytes: float) -> str:
    if nbytes >= 2**50:
        return f"{nbytes / 2**50:,.1f} PiB"
    if nbytes >= 2**40:
        return f"{nbytes / 2**40:,.1f} TiB"
    return f"{nbytes / 2**30:,.1f} GiB"


def image_size(
    name: str, width: Any, height: Any, *, bytes_per_px: float, fix: str, max_side: int = MAX_SIDE
) -> tuple[int, int]:
    """(width, height) checked as whole numbers in [1, ``max_side``] whose pixels, at
    ``bytes_per_px`` each, fit the memory budget."""
    w = whole_number(f"{name} width", width, low=1, high=max_side, fix=fix)
    h = whole_number(f"{name} height", height, low=1, high=max_side, fix=fix)
    check_memory(f"{name} of {w}x{h} px", w * h * bytes_per_px, fix)
    return w, h
