"""Stroke datasets: (action, stroke) pairs to learn neural painters from.

Three sources, one item format — ``(actions float32 (12,), strokes float32 (4, S, S) in [0, 1])``,
straight-alpha RGBA:

* :func:`write_shards` renders a dataset to compressed npz shards plus ``manifest.json``
  (``scripts/make_dataset.py`` is its command line), and :class:`StrokeDataset` reads it back
  lazily;
* :class:`StrokeDataset` also reads the public Kaggle MyPaintBrushstrokes files
  (``episodes_*.npz``, RGB on white), recovering alpha with :func:`recover_alpha`;
* :class:`OnTheFlyStrokes` renders an endless stream inside DataLoader workers.

Reproducibility: the action with global index i is the same for every shard size and worker
count (actions come in fixed blocks of :data:`ACTION_BLOCK`, each from a generator seeded by
``(seed, block)``), and its stroke is rendered with ``start_index = i``, so its texture seed is
(seed, i). A dataset's arrays are therefore identical bytes for any ``--workers``.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import math
import os
import subprocess
import sys
import time
import zipfile
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from painters import actions as A
from painters.io import atomic_write, atomic_write_bytes

if TYPE_CHECKING:
    import torch

FORMAT = "neural-painting-strokes"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
#: Actions are drawn in blocks of this many from a generator seeded by (seed, block index).
ACTION_BLOCK = 1000
#: Shards written when ``shard_size`` is not given: about this many, within the bounds below.
AUTO_SHARDS = 32
MIN_AUTO_SHARD, MAX_AUTO_SHARD = 250, 10000
#: Strokes rendered between two progress reports from a worker.
PROGRESS_CHUNK = 250
#: Salt that keeps :class:`OnTheFlyStrokes` streams apart from written datasets of the same seed.
ON_THE_FLY_SALT = 0x5EED
#: Colours with Σ(1 − c)² below this are too close to white to recover alpha from RGB on white.
NEAR_WHITE = 0.03
KAGGLE_SIZE = 64


# --------------------------------------------------------------------------------------------
# actions and rendering (used by the parent, pool workers and DataLoader workers)
# --------------------------------------------------------------------------------------------
def actions_for_range(seed: int, start: int, stop: int, *, salt: int | None = None) -> np.ndarray:
    """Actions with global indices [start, stop) of the stream fixed by ``seed``: float32 (n, 12).

    The stream does not depend on how it is cut into shards or chunks.
    """
    if start < 0 or stop < start:
        raise ValueError(f"bad action range [{start}, {stop})")
    out = np.empty((stop - start, A.ACTION_DIM), np.float32)
    first, last = start // ACTION_BLOCK, (stop - 1) // ACTION_BLOCK if stop > start else -1
    for block in range(first, last + 1):
        key = (int(seed), block) if salt is None else (int(seed), block, int(salt))
        acts = A.random_actions(ACTION_BLOCK, np.random.default_rng(key))
        lo, hi = max(start, block * ACTION_BLOCK), min(stop, (block + 1) * ACTION_BLOCK)
        out[lo - start : hi - start] = acts[lo - block * ACTION_BLOCK : hi - block * ACTION_BLOCK]
    return out


def _make_renderer(renderer: str, brush: str | None, size: int, seed: int):
    from painters.renderers import get_renderer

    if renderer == "mypaint":
        return get_renderer("mypaint", size, brush=brush, seed=seed)
    return get_renderer(renderer, size, seed=seed)


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """Send file descriptor 1 to /dev/null for the block.

    libmypaint prints "Time is running backwards!" with C ``printf`` now and then; it changes
    nothing in the output but breaks progress bars and logs. Anything else written to fd 1 in
    the block is lost too, so keep the block to rendering.
    """
    fd = 1  # C stdout, whatever Python's sys.stdout is
    try:
        sys.stdout.flush()
        saved = os.dup(fd)
    except (AttributeError, OSError, ValueError):  # no stdout at all (pythonw, closed fd 1)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        _flush_c_stdio()
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


def _flush_c_stdio() -> None:
    try:
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):  # pragma: no cover - non-POSIX
        pass


# --------------------------------------------------------------------------------------------
# writing shards
# --------------------------------------------------------------------------------------------
def shard_name(k: int) -> str:
    return f"shard_{k:05d}.npz"


def auto_shard_size(num_strokes: int) -> int:
    """Shard size used when none is given: ~32 shards (so any worker count stays busy), a
    multiple of 250, between 250 and 10,000 strokes. Depends on ``num_strokes`` only, never on
    the worker count, so the files are the same for any ``--workers``."""
    per = math.ceil(num_strokes / AUTO_SHARDS / MIN_AUTO_SHARD) * MIN_AUTO_SHARD
    return int(min(MAX_AUTO_SHARD, max(MIN_AUTO_SHARD, per)))


def libmypaint_version() -> str | None:
    """The installed libmypaint's version (from dpkg or pkg-config), or None if unknown."""
    try:
        res = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", "libmypaint-1.5-1"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if res.returncode == 0 and res.stdout.strip():
            return res.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    for pc in Path("/usr").glob("**/pkgconfig/libmypaint*.pc"):
        for line in pc.read_text(errors="replace").splitlines():
            if line.startswith("Version:"):
                return line.split(":", 1)[1].strip()
    return None


def _write_shard(path: Path, actions: np.ndarray, strokes: np.ndarray) -> None:
    atomic_write(
        path, lambda f: np.savez_compressed(f, actions=actions, strokes=strokes), fsync=True
    )


_WORKER: dict = {}


def _init_worker(progress_queue, quiet: bool) -> None:
    """Pool initializer: remember the progress queue; silence libmypaint's stdout for good."""
    _WORKER["queue"] = progress_queue
    _WORKER["renderers"] = {}
    if quiet:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)


def _render_shard(task: dict) -> tuple[int, int]:
    """Render and write one shard (in a pool worker or in-process). Returns (k, count)."""
    k, start, stop = task["k"], task["start"], task["stop"]
    cache = _WORKER.setdefault("renderers", {})
    key = (task["renderer"], task["brush"], task["size"], task["seed"])
    if key not in cache:
        cache[key] = _make_renderer(*key)
    renderer = cache[key]
    actions = actions_for_range(task["seed"], start, stop)
    strokes = np.empty((stop - start, task["size"], task["size"], 4), np.uint8)
    queue = _WORKER.get("queue")
    report = task.get("report")
    for lo in range(0, stop - start, PROGRESS_CHUNK):
        hi = min(stop - start, lo + PROGRESS_CHUNK)
        strokes[lo:hi] = renderer.render(actions[lo:hi], start_index=start + lo)
        if queue is not None:
            queue.put(hi - lo)
        elif report is not None:
            report(hi - lo)
    _write_shard(Path(task["out_dir"]) / shard_name(k), actions, strokes)
    return k, stop - start


def _shard_complete(path: Path, count: int, size: int) -> bool:
    """A shard on disk is complete if its headers say (count, 12) actions and (count, S, S, 4)
    uint8 strokes (files only appear by atomic rename, so this also catches foreign files)."""
    try:
        shapes = npz_shapes(path)
    except ValueError:
        return False
    a, s = shapes.get("actions"), shapes.get("strokes")
    return (
        a is not None
        and s is not None
        and a[0] == (count, A.ACTION_DIM)
        and s[0] == (count, size, size, 4)
        and s[1] == np.dtype(np.uint8)
    )


def _mp_context(start_method: str | None):
    """Fork where the platform has it: workers start in milliseconds instead of re-importing
    torch (seconds), which matters for small datasets. The worker code is spawn-safe (top-level
    functions, plain-data tasks), so ``start_method="spawn"``/"forkserver" work too."""
    import multiprocessing as mp

    method = start_method or os.environ.get("NEURAL_PAINTING_START_METHOD")
    if method is None:
        method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    return mp.get_context(method)


def write_shards(
    out_dir: str | os.PathLike,
    num_strokes: int,
    *,
    renderer: str = "mypaint",
    brush: str = "classic/dry_brush",
    seed: int = 0,
    workers: int = 1,
    shard_size: int | None = None,
    size: int = 64,
    progress: bool = True,
    start_method: str | None = None,
) -> Path:
    """Render ``num_strokes`` random strokes into ``out_dir`` as npz shards + ``manifest.json``.

    Each shard ``shard_00000.npz`` holds ``actions`` float32 (n, 12) and ``strokes`` uint8
    (n, size, size, 4). ``shard_size=None`` picks :func:`auto_shard_size` (from ``num_strokes``
    only). Rerunning the same call after a kill skips complete shards and removes leftover temp
    files; a different seed/renderer/brush/size/shard size/count in the same directory is an
    error. Returns the path of the manifest.
    """
    from painters.renderers import RENDERERS

    out = Path(out_dir)
    if renderer not in RENDERERS:
        raise ValueError(f"unknown renderer {renderer!r}; choose one of {', '.join(RENDERERS)}")
    if int(num_strokes) < 1:
        raise ValueError(f"num_strokes must be at least 1, got {num_strokes}")
    if int(workers) < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if int(seed) < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    if shard_size is not None and int(shard_size) < 1:
        raise ValueError(f"shard_size must be at least 1, got {shard_size}")
    num_strokes, workers, seed, size = int(num_strokes), int(workers), int(seed), int(size)
    shard_size = auto_shard_size(num_strokes) if shard_size is None else int(shard_size)
    brush_name: str | None = None
    lib_version = None
    if renderer == "mypaint":
        from painters.renderers.mypaint import find_brush, load_library

        load_library()  # MyPaintUnavailable names the apt packages
        find_brush(brush)  # unknown brush: ValueError now, not in a worker
        brush_name, lib_version = str(brush), libmypaint_version()
    if size < 8:
        raise ValueError(f"size must be at least 8 px, got {size}")

    counts = [min(shard_size, num_strokes - s) for s in range(0, num_strokes, shard_size)]
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "renderer": renderer,
        "brush": brush_name,
        "seed": seed,
        "size": size,
        "shard_size": shard_size,
        "num_strokes": num_strokes,
        "action_block": ACTION_BLOCK,
    }
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / MANIFEST
    if manifest_path.exists():
        old = _read_manifest(manifest_path)
        diff = [k for k in config if old.get(k) != config[k]]
        if diff:
            what = ", ".join(f"{k}={old.get(k)!r} (now {config[k]!r})" for k in diff)
            raise ValueError(
                f"{out} already holds a different dataset ({what}); "
                "use a new --out directory or rerun with the same arguments"
            )
    elif any(out.glob("shard_*.npz")):
        raise ValueError(f"{out} has shard files but no {MANIFEST}; use an empty --out directory")
    for leftover in out.glob(".*.tmp"):
        leftover.unlink()

    manifest = dict(config)
    manifest.update(
        {
            "libmypaint_version": lib_version,
            "shards": [{"file": shard_name(k), "count": c} for k, c in enumerate(counts)],
            "complete": False,
        }
    )
    atomic_write_bytes(manifest_path, (json.dumps(manifest, indent=1) + "\n").encode(), fsync=True)

    todo = [k for k, c in enumerate(counts) if not _shard_complete(out / shard_name(k), c, size)]
    tasks = [
        {
            "k": k,
            "start": k * shard_size,
            "stop": k * shard_size + counts[k],
            "renderer": renderer,
            "brush": brush_name,
            "size": size,
            "seed": seed,
            "out_dir": str(out),
        }
        for k in todo
    ]
    done_before = num_strokes - sum(counts[k] for k in todo)
    if tasks and workers > 1 and len(tasks) > 1:
        _run_pool(tasks, min(workers, len(tasks)), num_strokes, done_before, progress, start_method)
    elif tasks:
        bar = _progress_bar(num_strokes, done_before, progress)
        try:
            with quiet_stdout():
                for task in tasks:
                    _render_shard({**task, "report": bar.update})
        finally:
            bar.close()
    manifest["complete"] = True
    atomic_write_bytes(manifest_path, (json.dumps(manifest, indent=1) + "\n").encode(), fsync=True)
    return manifest_path


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, initial: int, enabled: bool):
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(
        total=total, initial=initial, unit="stroke", unit_scale=True, smoothing=0.1, file=sys.stderr
    )


def _run_pool(
    tasks: list[dict],
    workers: int,
    total: int,
    done_before: int,
    progress: bool,
    start_method: str | None,
) -> None:
    ctx = _mp_context(start_method)
    queue = ctx.Queue()
    # The pool forks before the progress bar starts its monitor thread (fork safety).
    with ctx.Pool(workers, initializer=_init_worker, initargs=(queue, True)) as pool:
        pending = [pool.apply_async(_render_shard, (t,)) for t in tasks]
        bar = _progress_bar(total, done_before, progress)
        try:
            while pending:
                _drain(queue, bar, timeout=0.2)
                still = []
                for r in pending:
                    if r.ready():
                        r.get()  # re-raises a worker's exception here
                    else:
                        still.append(r)
                pending = still
            pool.close()
            pool.join()
            _drain(queue, bar, timeout=0.0)
        finally:
            bar.close()


def _drain(queue, bar, timeout: float) -> None:
    import queue as q

    deadline = time.monotonic() + timeout
    while True:
        try:
            bar.update(queue.get(timeout=max(0.0, deadline - time.monotonic())))
        except q.Empty:
            return
        timeout = 0.0
        deadline = time.monotonic()


def _read_manifest(path: Path) -> dict:
    try:
        m = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: not a readable dataset manifest ({e})") from None
    if not isinstance(m, dict) or m.get("format") != FORMAT:
        raise ValueError(f"{path}: not a {FORMAT} manifest (written by painters.data)")
    if m.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path}: dataset format version {m.get('format_version')} is not supported "
            f"(this code reads version {FORMAT_VERSION})"
        )
    return m


# --------------------------------------------------------------------------------------------
# reading npz files: ours and Kaggle's
# --------------------------------------------------------------------------------------------
def npz_shapes(path: str | os.PathLike) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Shape and dtype of every array in an npz file, read from the headers only (no
    decompression of the data), so indexing a large dataset is cheap."""
    out: dict[str, tuple[tuple[int, ...], np.dtype]] = {}
    try:
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                if not name.endswith(".npy"):
                    continue
                with z.open(name) as f:
                    version = np.lib.format.read_magic(f)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(f)
                    else:
                        shape, _, dtype = np.lib.format.read_array_header_2_0(f)
                out[name[:-4]] = (tuple(shape), np.dtype(dtype))
    except (OSError, zipfile.BadZipFile, ValueError, EOFError) as e:
        raise ValueError(f"{path}: not a readable npz file ({e})") from None
    return out


def _check_shapes(path: Path) -> tuple[str, int, int]:
    """Validate a file's arrays from their headers: returns (format, count, side) where format is
    ``"rgba"`` (ours) or ``"kaggle"`` (RGB on white)."""
    shapes = npz_shapes(path)
    expected = (
        "'actions' (N, 12) and 'strokes' uint8 (N, S, S, 4) (painters.data shards) "
        "or (N, 64, 64, 3) (Kaggle MyPaintBrushstrokes)"
    )
    missing = [k for k in ("actions", "strokes") if k not in shapes]
    if missing:
        raise ValueError(
            f"{path}: missing key(s) {', '.join(missing)}; expected {expected}, "
            f"found {sorted(shapes) or 'no arrays'}"
        )
    (a_shape, _), (s_shape, s_dtype) = shapes["actions"], shapes["strokes"]
    ok = (
        len(a_shape) == 2
        and a_shape[1] == A.ACTION_DIM
        and len(s_shape) == 4
        and s_shape[0] == a_shape[0]
        and s_shape[1] == s_shape[2]
        and s_shape[3] in (3, 4)
        and s_dtype == np.uint8
        and (s_shape[3] == 4 or s_shape[1] == KAGGLE_SIZE)
    )
    if not ok:
        raise ValueError(
            f"{path}: expected {expected}, got actions {a_shape} and strokes {s_shape} {s_dtype}"
        )
    return ("rgba" if s_shape[3] == 4 else "kaggle"), int(a_shape[0]), int(s_shape[1])


def _load_arrays(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as z:
            return z["actions"], z["strokes"]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
        raise ValueError(f"{path}: could not read actions/strokes ({e})") from None


def _kaggle_valid(actions: np.ndarray) -> np.ndarray:
    """Rows whose colour is far enough from white for alpha to be recovered."""
    c = np.clip(actions[:, A.COLOR].astype(np.float64), 0.0, 1.0)
    return ((1.0 - c) ** 2).sum(1) >= NEAR_WHITE


def recover_alpha(rgb: np.ndarray, colors: np.ndarray) -> np.ndarray:
    """Straight-alpha RGBA uint8 (N, H, W, 4) from strokes painted on white.

    ``rgb`` uint8 (N, H, W, 3), ``colors`` the actions' colours (N, 3) in [0, 1]. A pixel is
    p = c·α + (1 − α), so the least-squares α over the channels is
    Σ (1 − p)(1 − c) / Σ (1 − c)² (ACTIONS.md). Colours near white (Σ(1 − c)² < NEAR_WHITE)
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


# --------------------------------------------------------------------------------------------
# torch datasets
#
# The logic lives in plain classes; the public names (StrokeDataset, ShardShuffleSampler,
# OnTheFlyStrokes) add torch's base classes on first access (module ``__getattr__`` below).
# That keeps ``import torch`` (seconds) out of scripts/make_dataset.py and its workers, which
# only write shards — start-up time decides how much a second worker helps on small datasets.
# --------------------------------------------------------------------------------------------
def _to_item(action: np.ndarray, stroke: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    import torch

    a = torch.from_numpy(np.ascontiguousarray(action, dtype=np.float32))
    s = torch.from_numpy(np.ascontiguousarray(stroke)).permute(2, 0, 1).float().div_(255.0)
    return a, s


class _StrokeDataset:
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


def _load_actions_only(path: Path) -> tuple[np.ndarray, None]:
    try:
        with np.load(path, allow_pickle=False) as z:
            return np.asarray(z["actions"], np.float32), None
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
        raise ValueError(f"{path}: could not read actions ({e})") from None


class _ShardShuffleSampler:
    """Shuffles the order of shards, then items within each shard, so a :class:`StrokeDataset`
    decompresses each shard once per epoch instead of once per item. Deterministic per
    ``(seed, epoch)``; call :meth:`set_epoch` between epochs for a new order."""

    def __init__(self, dataset: _StrokeDataset, seed: int = 0) -> None:
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


class _OnTheFlyStrokes:
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
        brush: str = "classic/dry_brush",
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


_TORCH_CLASSES = {
    "StrokeDataset": (_StrokeDataset, "Dataset"),
    "ShardShuffleSampler": (_ShardShuffleSampler, "Sampler"),
    "OnTheFlyStrokes": (_OnTheFlyStrokes, "IterableDataset"),
}


def __getattr__(name: str):
    """Build the torch dataset classes on first use (see the comment above ``_to_item``)."""
    if name not in _TORCH_CLASSES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import torch.utils.data as tud

    for public, (impl, base) in _TORCH_CLASSES.items():
        cls = type(public, (impl, getattr(tud, base)), {"__module__": __name__})
        cls.__doc__, cls.__qualname__ = impl.__doc__, public
        globals()[public] = cls
    return globals()[name]


if TYPE_CHECKING:
    StrokeDataset = _StrokeDataset
    ShardShuffleSampler = _ShardShuffleSampler
    OnTheFlyStrokes = _OnTheFlyStrokes


__all__ = [
    "ACTION_BLOCK",
    "OnTheFlyStrokes",
    "ShardShuffleSampler",
    "StrokeDataset",
    "actions_for_range",
    "auto_shard_size",
    "load_kaggle_npz",
    "recover_alpha",
    "write_shards",
]
