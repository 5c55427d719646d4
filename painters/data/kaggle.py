"""Reading the public Kaggle MyPaintBrushstrokes files (``episodes_*.npz``, RGB on white):
alpha is recovered from the stroke's known colour (:func:`recover_alpha`)."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from painters import actions as A
from painters.data.shards import NEAR_WHITE, _check_shapes, _load_arrays


def _kaggle_valid(actions: np.ndarray) -> np.ndarray:
    """Rows whose colour is far enough from white for alpha to be recovered."""
    c = np.clip(actions[:, A.COLOR].astype(np.float64), 0.0, 1.0)
    return ((1.0 - c) ** 2).sum(1) >= NEAR_WHITE


def recover_alpha(rgb: np.ndarray, colors: np.ndarray) -> np.ndarray:
    """Straight-alpha RGBA uint8 (N, H, W, 4) from strokes painted on white.

    ``rgb`` uint8 (N, H, W, 3), ``colors`` the actions' colours (N, 3) in [0, 1]. A pixel is
    p = c·α + (1 − α), so the least-squares α over the channels is
    Σ (1 − p)(1 − c) / Σ (1 − c)² (docs/actions.md). Colours near white (Σ(1 − c)² < NEAR_WHITE)
    have no usable α: their rows come back fully transparent; :class:`StrokeDataset` and
    :func:`load_kaggle_npz` drop them.
    """
    c = np.clip(np.asarray(colors, np.float32), 0.0, 1.0)
    w = 1.0 - c  # (N, 3)
    denom = (w * w).sum(1)
    ok = denom >= NEAR_WHITE
    inv = np.where(ok, 1.0 / np.maximum(denom, 1e-12), 0.0).astype(np.float32)
    dark = 1.0 - rgb.astype(np.float32) / 255.0  # (N, H, W, 3)
    alpha = np.einsum("nhwc,nc->nhw", dark, w) * inv[:, None, None]
    alpha8 = np.rint(np.clip(alpha, 0.0, 1.0) * 255.0).astype(np.uint8)
    out = np.zeros(rgb.shape[:3] + (4,), np.uint8)
    col8 = np.rint(c * 255.0).astype(np.uint8)
    painted = alpha8 > 0
    out[..., :3] = np.where(painted[..., None], col8[:, None, None, :], 0)
    out[..., 3] = alpha8
    return out


def load_kaggle_npz(
    path: str | os.PathLike, *, drop_near_white: bool = True, chunk: int = 2048
) -> tuple[np.ndarray, np.ndarray]:
    """A Kaggle MyPaintBrushstrokes file (``episodes_N.npz``) as our format:
    ``(actions float32 (N, 12), strokes uint8 (N, 64, 64, 4))`` straight alpha.

    Rows whose colour is near white are dropped (``drop_near_white``), since their alpha cannot
    be recovered from RGB on white. Memory: the file's RGB plus the RGBA result (about 2.2 GB
    for a 100,000-stroke file); use :class:`StrokeDataset` to stream instead.
    """
    p = Path(path)
    fmt, _, _ = _check_shapes(p)
    if fmt != "kaggle":
        raise ValueError(f"{p}: strokes are RGBA already (a painters.data shard), not Kaggle RGB")
    actions, rgb = _load_arrays(p)
    actions = np.clip(actions.astype(np.float32), 0.0, 1.0)
    keep = _kaggle_valid(actions) if drop_near_white else np.ones(len(actions), bool)
    idx = np.flatnonzero(keep)
    strokes = np.empty((len(idx), rgb.shape[1], rgb.shape[2], 4), np.uint8)
    for lo in range(0, len(idx), chunk):
        sel = idx[lo : lo + chunk]
        strokes[lo : lo + len(sel)] = recover_alpha(rgb[sel], actions[sel, A.COLOR])
    return actions[idx], strokes


def _load_actions_only(path: Path) -> tuple[np.ndarray, None]:
    try:
        with np.load(path, allow_pickle=False) as z:
            return np.asarray(z["actions"], np.float32), None
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
        raise ValueError(f"{path}: could not read actions ({e})") from None
