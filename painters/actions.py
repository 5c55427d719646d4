"""The stroke action: 12 numbers in [0, 1], defined once for the whole project.

The order is the public MyPaintBrushstrokes dataset's (Nakano, *Neural Painters*), so its
``episodes_N.npz`` files load without reordering. Coordinates are fractions of the canvas
(x to the right, y downwards), so one action is the same stroke at any resolution.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

ACTION_DIM = 12

PRESSURE = 0
SIZE = 1
CONTROL_X, CONTROL_Y = 2, 3
END_X, END_Y = 4, 5
RED, GREEN, BLUE = 6, 7, 8
START_X, START_Y = 9, 10
ENTRY_PRESSURE = 11

ACTION_NAMES: tuple[str, ...] = (
    "pressure",
    "size",
    "control_x",
    "control_y",
    "end_x",
    "end_y",
    "red",
    "green",
    "blue",
    "start_x",
    "start_y",
    "entry_pressure",
)
COLOR = slice(RED, BLUE + 1)

#: Values this far outside [0, 1] are float noise and are clipped; anything further is an error.
TOLERANCE = 1e-3


def validate_actions(actions, *, name: str = "actions") -> np.ndarray:
    """Return ``actions`` as float32 (N, 12) in [0, 1], or raise a one-line ``ValueError``.

    A single action of shape (12,) is promoted to (1, 12). Values within ``TOLERANCE`` of
    [0, 1] are clipped (float noise from optimisers and squashing); further out is an error,
    because silently clipping a wrong layout would paint garbage.
    """
    a = np.asarray(actions, dtype=np.float32)
    if a.ndim == 1 and a.shape[0] == ACTION_DIM:
        a = a[None]
    if a.ndim != 2 or a.shape[1] != ACTION_DIM:
        raise ValueError(
            f"{name} must have shape (N, {ACTION_DIM}) (layout: {', '.join(ACTION_NAMES)}), "
            f"got {tuple(a.shape)}"
        )
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contain NaN or inf; every action value must be finite")
    lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 1.0)
    if lo < -TOLERANCE or hi > 1.0 + TOLERANCE:
        raise ValueError(
            f"{name} must lie in [0, 1] (got min {lo:.4g}, max {hi:.4g}); "
            "map env actions in [-1, 1] with painters.actions.from_env_action"
        )
    return np.clip(a, 0.0, 1.0)


def from_env_action(action) -> np.ndarray:
    """Map an env/policy action in [-1, 1] to stroke actions in [0, 1] (the one mapping).

    Accepts (12·k,) or (..., 12·k) arrays and returns float32 (k, 12) (or (..., k, 12)).
    Non-finite values raise ``ValueError``; values outside [-1, 1] are clipped, as SB3's
    unsquashed policies (PPO) emit them and the Box bounds say they mean the edge.
    """
    a = np.asarray(action, dtype=np.float32)
    if a.ndim == 0 or a.shape[-1] % ACTION_DIM != 0:
        raise ValueError(
            f"env action must have a last dimension that is a multiple of {ACTION_DIM}, "
            f"got shape {tuple(a.shape)}"
        )
    if not np.all(np.isfinite(a)):
        raise ValueError("env action contains NaN or inf; every action value must be finite")
    a = (np.clip(a, -1.0, 1.0) + 1.0) * 0.5
    return a.reshape(*a.shape[:-1], a.shape[-1] // ACTION_DIM, ACTION_DIM)


def from_env_action_torch(action: torch.Tensor) -> torch.Tensor:
    """:func:`from_env_action` for torch policies, differentiable: (..., 12·k) in [-1, 1] →
    (..., k, 12) strokes in [0, 1] (values outside [-1, 1] clipped to the edge)."""
    a = (action.clamp(-1.0, 1.0) + 1.0) * 0.5
    return a.reshape(*a.shape[:-1], a.shape[-1] // ACTION_DIM, ACTION_DIM)


def to_env_action(actions) -> np.ndarray:
    """Inverse of :func:`from_env_action`: stroke actions in [0, 1] → flat env action in [-1, 1]."""
    a = validate_actions(actions)
    return (a.reshape(-1) * 2.0 - 1.0).astype(np.float32)


def random_actions(n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
    """``n`` uniform random actions, float32 (n, 12): the distribution the painters learn."""
    rng = np.random.default_rng(rng)
    return rng.random((n, ACTION_DIM), dtype=np.float32)
