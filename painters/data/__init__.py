"""Stroke datasets: (action, stroke) pairs to learn neural painters from.

Three sources, one item format — ``(actions float32 (12,), strokes float32 (4, S, S) in [0, 1])``,
straight-alpha RGBA:

* :func:`write_shards` renders a dataset to compressed npz shards plus ``manifest.json``
  (``scripts/make_dataset.py`` is its command line; :mod:`painters.data.shards`), and
  :class:`StrokeDataset` reads it back lazily;
* :class:`StrokeDataset` also reads the public Kaggle MyPaintBrushstrokes files
  (``episodes_*.npz``, RGB on white), recovering alpha with :func:`recover_alpha`
  (:mod:`painters.data.kaggle`);
* :class:`OnTheFlyStrokes` renders an endless stream inside DataLoader workers.

The torch classes (:mod:`painters.data.datasets`) are imported on first use (PEP 562), which
keeps ``import torch`` (seconds) out of ``scripts/make_dataset.py`` and its workers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from painters.data.kaggle import load_kaggle_npz, recover_alpha
from painters.data.shards import (
    ACTION_BLOCK,
    AUTO_SHARDS,
    FORMAT,
    FORMAT_VERSION,
    KAGGLE_SIZE,
    MANIFEST,
    MAX_AUTO_SHARD,
    MIN_AUTO_SHARD,
    NEAR_WHITE,
    ON_THE_FLY_SALT,
    PROGRESS_CHUNK,
    actions_for_range,
    auto_shard_size,
    libmypaint_version,
    npz_shapes,
    quiet_stdout,
    shard_name,
    write_shards,
)

_TORCH_NAMES = ("OnTheFlyStrokes", "ShardShuffleSampler", "StrokeDataset")

if TYPE_CHECKING:
    from painters.data.datasets import OnTheFlyStrokes, ShardShuffleSampler, StrokeDataset


def __getattr__(name: str) -> Any:
    if name in _TORCH_NAMES:
        value = getattr(importlib.import_module("painters.data.datasets"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ACTION_BLOCK",
    "AUTO_SHARDS",
    "FORMAT",
    "FORMAT_VERSION",
    "KAGGLE_SIZE",
    "MANIFEST",
    "MAX_AUTO_SHARD",
    "MIN_AUTO_SHARD",
    "NEAR_WHITE",
    "ON_THE_FLY_SALT",
    "PROGRESS_CHUNK",
    "OnTheFlyStrokes",
    "ShardShuffleSampler",
    "StrokeDataset",
    "actions_for_range",
    "auto_shard_size",
    "libmypaint_version",
    "load_kaggle_npz",
    "npz_shapes",
    "quiet_stdout",
    "recover_alpha",
    "shard_name",
    "write_shards",
]
