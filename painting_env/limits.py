"""Bounds on the env's numbers, checked before anything is allocated (see
:mod:`painters.limits`): a canvas side costs its pixels in every sub-env, an episode length
one action row per stroke in every sub-env."""

from __future__ import annotations

from typing import Any

from painters.limits import MAX_SIDE, check_memory, whole_number

#: Bytes per canvas pixel and sub-env: float canvas and target, uint8 copies, observation.
ENV_BYTES_PER_PX = 64
#: Bytes per stroke of an episode and sub-env: the float32 action row kept for ``painting()``.
ENV_BYTES_PER_STROKE = 12 * 4
#: Sub-envs of one batched env at most.
MAX_BATCH = 1 << 16


def check_env_numbers(
    batch: Any, size: Any, max_strokes: Any, strokes_per_step: Any
) -> tuple[int, int, int | None, int]:
    """``(batch, size, max_strokes, strokes_per_step)`` as ints, each a whole number within
    bounds and their memory within the budget; ``LimitError`` (a ``ValueError``) naming the
    keyword and the fix otherwise. ``max_strokes`` may be ``None`` (the default length)."""
    b = whole_number("num_envs", batch, low=1, high=MAX_BATCH, fix="use fewer envs")
    s = whole_number("size", size, low=8, high=MAX_SIDE, fix="use a smaller canvas size")
    k = whole_number("strokes_per_step", strokes_per_step, low=1, high=4096, fix="use fewer")
    n = None
    if max_strokes is not None:
        n = whole_number("max_strokes", max_strokes, low=1, fix="use a shorter episode")
    check_memory(f"{b} env(s) of {s}x{s} px", b * s * s * ENV_BYTES_PER_PX, "use a smaller size")
    if n is not None:
        check_memory(
            f"{b} env(s) of max_strokes={n:,}", b * n * ENV_BYTES_PER_STROKE,
            "use a shorter episode (max_strokes)",
        )  # fmt: skip
    return b, s, n, k
