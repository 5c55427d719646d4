"""Torch datasets of (action, stroke) pairs: shards or Kaggle files read lazily
(:class:`StrokeDataset`, with :class:`ShardShuffleSampler`), and an endless freshly rendered
stream (:class:`OnTheFlyStrokes`). Items are ``(actions float32 (12,), strokes float32
(4, S, S) in [0, 1])``, straight-alpha RGBA.

This module imports torch; :mod:`painters.data` loads it only when one of these names is used,
so the dataset writer (and its workers) never pay torch's import time.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset, IterableDataset, Sampler

from painters import actions as A
from painters.data.kaggle import _kaggle_valid, _load_actions_only, recover_alpha
from painters.data.shards import (
    MANIFEST,
    ON_THE_FLY_SALT,
    _check_shapes,
    _init_worker,
    _load_arrays,
    _make_renderer,
    _read_manifest,
    actions_for_range,
)
from painters.renderers.base import DEFAULT_BRUSH


def _to_item(action: np.ndarray, stroke: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    a = torch.from_numpy(np.ascontiguousarray(action, dtype=np.float32))
    s = torch.from_numpy(np.ascontiguousarray(stroke)).permute(2, 0, 1).float().div_(255.0)
    return a, s


class StrokeDataset(Dataset):
    """(action, stroke) pairs from shard directories or files, loaded lazily.

    ``path_or_paths``: one or more directories (with a ``manifest.json`` from
    :func:`write_shards`, or holding ``shard_*.npz`` / ``episodes_*.npz`` files) or npz files.
    The format of each file is detected from its arrays: RGBA strokes (ours) or Kaggle RGB on
    white (alpha recovered per item with :func:`recover_alpha`; near-white colours skipped).

    Only array headers (and, for Kaggle files, the small ``actions`` array) are read up front;
    whole shards are decompressed on first use and kept in an LRU cache of at most
    ``cache_bytes`` (default 2 GiB, per DataLoader worker; at least one shard): a dataset that
    fits is read from disk once, whatever the sampling order. For larger datasets, random access
    reloads shards often: use :class:`ShardShuffleSampler`, which shuffles shards and then items
    within each shard, so each shard is decompressed once per epoch.
    Items are ``(actions float32 (12,), strokes float32 (4, S, S) in [0, 1])``.
    """

    def __init__(
        self,
        path_or_paths: str | os.PathLike | Sequence[str | os.PathLike],
        cache_bytes: int = 2 << 30,
    ) -> None:
        paths = (
            [path_or_paths]
            if isinstance(path_or_paths, (str, os.PathLike))
            else list(path_or_paths)
        )
        if not paths:
            raise ValueError("StrokeDataset needs at least one directory or npz file")
        self.files: list[Path] = []
        self.formats: list[str] = []
        self.rows: list[np.ndarray | None] = []  # kept rows (Kaggle) or None (all rows)
        counts: list[int] = []
        sides: set[int] = set()
        for p in map(Path, paths):
            for f, fmt, n, side, rows in self._index(p):
                self.files.append(f)
                self.formats.append(fmt)
                self.rows.append(rows)
                counts.append(n)
                sides.add(side)
        if len(sides) > 1:
            raise ValueError(f"stroke sizes differ between files ({sorted(sides)}); use one size")
        self.size = sides.pop()
        self.offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        if self.offsets[-1] == 0:
            raise ValueError(f"no strokes in {', '.join(map(str, paths))}")
        self.cache_bytes = int(cache_bytes)
        self._cache: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()

    @staticmethod
    def _index(p: Path):
        if not p.exists():
            raise FileNotFoundError(f"no dataset at {p}; write one with scripts/make_dataset.py")
        if p.is_file():
            files = [p]
        elif (p / MANIFEST).is_file():
            m = _read_manifest(p / MANIFEST)
            if not m.get("complete", False):
                raise ValueError(
                    f"{p}: dataset is incomplete (interrupted?); rerun the same "
                    "scripts/make_dataset.py command to finish it"
                )
            files = [p / s["file"] for s in m["shards"]]
            missing = [f.name for f in files if not f.is_file()]
            if missing:
                raise ValueError(f"{p}: manifest lists missing shard(s) {', '.join(missing[:3])}")
        else:
            files = sorted(p.glob("shard_*.npz")) + sorted(
                p.glob("episodes_*.npz"), key=lambda f: (len(f.name), f.name)
            )
            if not files:
                raise ValueError(
                    f"{p}: no shard_*.npz or episodes_*.npz files; write a dataset with "
                    "scripts/make_dataset.py or download the Kaggle MyPaintBrushstrokes files"
                )
        for f in files:
            fmt, n, side = _check_shapes(f)
            rows = None
            if fmt == "kaggle":
                acts, _ = _load_actions_only(f)
                rows = np.flatnonzero(_kaggle_valid(acts))
                n = len(rows)
            yield f, fmt, n, side, rows

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def shard_of(self, index: int) -> tuple[int, int]:
        """(file number, row within the file's kept rows) of a dataset index."""
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} strokes")
        k = int(np.searchsorted(self.offsets, index, side="right") - 1)
        return k, int(index - self.offsets[k])

    def _shard(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        if k in self._cache:
            self._cache.move_to_end(k)
            return self._cache[k]
        actions, strokes = _load_arrays(self.files[k])
        if self.rows[k] is not None:
            actions = np.clip(actions.astype(np.float32), 0.0, 1.0)
        entry = (actions.astype(np.float32, copy=False), strokes)
        size = entry[0].nbytes + entry[1].nbytes
        while self._cache and self._cached_bytes() + size > self.cache_bytes:
            self._cache.popitem(last=False)
        self._cache[k] = entry
        return entry

    def _cached_bytes(self) -> int:
        return sum(a.nbytes + s.nbytes for a, s in self._cache.values())

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        k, j = self.shard_of(int(index))
        actions, strokes = self._shard(k)
        rows = self.rows[k]
        if rows is None:
            return _to_item(actions[j], strokes[j])
        r = int(rows[j])
        rgba = recover_alpha(strokes[r : r + 1], actions[r : r + 1, A.COLOR])[0]
        return _to_item(actions[r], rgba)


class ShardShuffleSampler(Sampler):
    """Shuffles the order of shards, then items within each shard, so a :class:`StrokeDataset`
    decompresses each shard once per epoch instead of once per item. Deterministic per
    ``(seed, epoch)``; call :meth:`set_epoch` between epochs for a new order."""

    def __init__(self, dataset: StrokeDataset, seed: int = 0) -> None:
        self.offsets = dataset.offsets
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def __iter__(self) -> Iterator[int]:
        rng = np.random.default_rng((self.seed, self.epoch))
        for k in rng.permutation(len(self.offsets) - 1):
            lo, hi = int(self.offsets[k]), int(self.offsets[k + 1])
            yield from (lo + rng.permutation(hi - lo)).tolist()


class OnTheFlyStrokes(IterableDataset):
    """An endless stream of freshly rendered (action, stroke) pairs.

    Rendering happens where the iterator runs: inside DataLoader worker processes when
    ``num_workers > 0`` (one renderer per worker, created there). Chunk g of the stream (``chunk``
    strokes, actions from a generator seeded by (seed, g), textures by (seed, global index)) goes
    to worker ``g mod num_workers``, so each worker's stream is distinct and deterministic and
    the union does not depend on the worker count. The stream is salted: it never repeats the
    strokes :func:`write_shards` writes with the same seed, so a written dataset of the same
    seed is a fair validation set.
    """

    def __init__(
        self,
        renderer: str = "mypaint",
        brush: str = DEFAULT_BRUSH,
        seed: int = 0,
        size: int = 64,
        chunk: int = 256,
    ) -> None:
        from painters.renderers import RENDERERS

        if renderer not in RENDERERS:
            raise ValueError(f"unknown renderer {renderer!r}; choose one of {', '.join(RENDERERS)}")
        if int(chunk) < 1 or int(seed) < 0:
            raise ValueError("chunk must be ≥ 1 and seed a non-negative integer")
        if renderer == "mypaint":
            from painters.renderers.mypaint import find_brush, load_library

            load_library()
            find_brush(brush)
        self.renderer, self.brush = renderer, (str(brush) if renderer == "mypaint" else None)
        self.seed, self.size, self.chunk = int(seed), int(size), int(chunk)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        from torch.utils.data import get_worker_info

        info = get_worker_info()
        wid, nw = (0, 1) if info is None else (info.id, info.num_workers)
        if info is not None:
            _init_worker(None, quiet=True)  # a DataLoader worker: keep libmypaint quiet
        r = _make_renderer(self.renderer, self.brush, self.size, self.seed)
        g = wid
        while True:
            start = g * self.chunk
            actions = actions_for_range(self.seed, start, start + self.chunk, salt=ON_THE_FLY_SALT)
            strokes = r.render(actions, start_index=start)
            for a, s in zip(actions, strokes, strict=True):
                yield _to_item(a, s)
            g += nw
