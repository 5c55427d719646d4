"""The fidelity figure of a neural painter, measured against the real brush.

The real brush is random given the action (texture), so a painter's error alone says little.
Render the same fresh random actions twice with independent texture seeds: the MSE between the
two renders (composited on white) is the **noise floor**, what no painter can predict. The
painter's error is its MSE to one of the renders; **ratio = error / floor**. A perfect predictor
of the expected stroke scores 0.5 (its error is half the floor), copying another real render
scores 1.0, and drawing nothing scores about 35.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from painters import actions as A
from painters.compositing import to_uint8
from painters.io import atomic_write, atomic_write_text


def composite_on_white(strokes: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Strokes alone on white → float (N, 3, H, W) in [0, 1].

    Accepts uint8 (N, H, W, 4) from a renderer or float (N, 4, H, W) in [0, 1] from a painter.
    """
    if isinstance(strokes, np.ndarray):
        if strokes.dtype != np.uint8 or strokes.ndim != 4 or strokes.shape[-1] != 4:
            raise ValueError(
                f"numpy strokes must be uint8 (N, H, W, 4), got {strokes.dtype} {strokes.shape}"
            )
        s = torch.from_numpy(np.ascontiguousarray(strokes)).permute(0, 3, 1, 2).float() / 255.0
    else:
        s = strokes.detach().float().cpu()
        if s.ndim != 4 or s.shape[1] != 4:
            raise ValueError(f"torch strokes must be (N, 4, H, W), got {tuple(s.shape)}")
    alpha = s[:, 3:4]
    return s[:, :3] * alpha + (1.0 - alpha)


def painter_strokes(painter: torch.nn.Module, actions, batch_size: int = 256) -> torch.Tensor:
    """The painter's strokes for ``actions`` (N, 12) as float (N, 4, H, W) on the CPU."""
    a = torch.from_numpy(A.validate_actions(actions))
    param = next(iter(painter.parameters()), None)
    device = param.device if param is not None else torch.device("cpu")
    was_training = painter.training
    painter.eval()
    try:
        with torch.no_grad():
            outs = [painter(a[i : i + batch_size].to(device)).float().cpu() for i in range(0, len(a), batch_size)]  # fmt: skip
    finally:
        painter.train(was_training)
    return torch.cat(outs)


def fidelity(
    painter: torch.nn.Module,
    actions,
    real_a: np.ndarray | torch.Tensor,
    real_b: np.ndarray | torch.Tensor,
) -> dict[str, Any]:
    """Fidelity of ``painter`` on ``actions`` (N, 12) against two real renders of them.

    ``real_a`` / ``real_b``: the same actions rendered with two texture seeds (uint8
    (N, H, W, 4) or float (N, 4, H, W)). Returns ``error`` (painter vs A), ``floor`` (A vs B),
    ``ratio`` = error / floor, and ``n``.
    """
    a = A.validate_actions(actions)
    wa, wb = composite_on_white(real_a), composite_on_white(real_b)
    if wa.shape != wb.shape or len(wa) != len(a):
        raise ValueError(
            f"real_a {tuple(wa.shape)}, real_b {tuple(wb.shape)} and {len(a)} actions must match"
        )
    pred = composite_on_white(painter_strokes(painter, a))
    if pred.shape != wa.shape:
        raise ValueError(f"painter draws {tuple(pred.shape)}, real strokes are {tuple(wa.shape)}")
    floor = float((wa - wb).pow(2).mean())
    error = float((pred - wa).pow(2).mean())
    if floor <= 0:
        raise ValueError("the two real renders are identical; render them with different seeds")
    return {"error": error, "floor": floor, "ratio": error / floor, "n": len(a)}


def render_real_pair(
    actions, *, seed: int = 0, brush: str = "classic/dry_brush", size: int = 64
) -> tuple[np.ndarray, np.ndarray]:
    """Render ``actions`` with the real brush under two independent texture seeds."""
    from painters.renderers import get_renderer

    real_a = get_renderer("mypaint", size, brush=brush, seed=2 * seed + 1).render(actions)
    real_b = get_renderer("mypaint", size, brush=brush, seed=2 * seed + 2).render(actions)
    return real_a, real_b


def stroke_grid(columns: list[torch.Tensor], rows: int = 8, pad: int = 2) -> np.ndarray:
    """uint8 HWC image: one column per float (N, 3, H, W) batch, one row per stroke, grey gaps."""
    n = min(rows, *(len(c) for c in columns))
    h, w = columns[0].shape[-2:]
    img = np.full((n * (h + pad) + pad, len(columns) * (w + pad) + pad, 3), 128, np.uint8)
    for j, col in enumerate(columns):
        tiles = to_uint8(col[:n])
        for i in range(n):
            y, x = pad + i * (h + pad), pad + j * (w + pad)
            img[y : y + h, x : x + w] = tiles[i]
    return img


def save_png(image: np.ndarray, path: str | os.PathLike) -> Path:
    """Write a uint8 HWC image as PNG atomically."""
    from PIL import Image

    return atomic_write(path, lambda f: Image.fromarray(image).save(f, format="PNG"))


def save_json(obj: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write ``obj`` as JSON atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=2))


def evaluate_painter(
    painter: torch.nn.Module,
    num_strokes: int = 1500,
    *,
    seed: int = 0,
    brush: str = "classic/dry_brush",
    out_grid: str | os.PathLike | None = None,
    grid_rows: int = 8,
) -> dict[str, Any]:
    """Fresh uniform random actions (from ``seed``), two real renders, :func:`fidelity`; and
    optionally the grid real A | real B | painter written to ``out_grid``."""
    if num_strokes < 1:
        raise ValueError(f"--num-strokes must be at least 1, got {num_strokes}")
    actions = A.random_actions(num_strokes, rng=np.random.default_rng([seed, 7]))
    real_a, real_b = render_real_pair(actions, seed=seed, brush=brush)
    result = fidelity(painter, actions, real_a, real_b)
    result.update(seed=seed, brush=brush)
    if out_grid is not None:
        pred = painter_strokes(painter, actions[:grid_rows])
        cols = [composite_on_white(real_a[:grid_rows]), composite_on_white(real_b[:grid_rows])]
        save_png(stroke_grid(cols + [composite_on_white(pred)], rows=grid_rows), out_grid)
        result["grid"] = str(out_grid)
    return result
