"""Writing stroke datasets: compressed npz shards plus ``manifest.json``, rendered in a pool
of worker processes (``scripts/make_dataset.py`` is the command line), and reading their
headers back.

Reproducibility: the action with global index i is the same for every shard size and worker
count (actions come in fixed blocks of :data:`ACTION_BLOCK`, each from a generator seeded by
``(seed, block)``), and its stroke is rendered with ``start_index = i``, so its texture seed is
(seed, i). A dataset's arrays are therefore identical bytes for any ``--workers``.

No torch here: the writer and its workers start fast without it.
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
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from painters import actions as A
from painters.io import atomic_write, atomic_write_bytes
from painters.renderers.base import DEFAULT_BRUSH

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
    brush: str = DEFAULT_BRUSH,
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
