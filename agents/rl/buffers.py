"""Replay buffers saved as plain ``.npz`` arrays, so resuming a run never unpickles anything.

SB3's own ``save_replay_buffer`` pickles the whole buffer object; loading such a file runs
whatever code it names. Here only the buffer's arrays (observations, actions, rewards, dones,
timeouts; dict observations as ``observations/<key>``) and its position are written, and they
are copied back into the fresh, empty buffer of a model built from our hyperparameters.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from painters.io import atomic_write, first_line

#: Per-transition arrays of SB3's ReplayBuffer / DictReplayBuffer (dict ones hold one per key).
ARRAYS = ("observations", "next_observations", "actions", "rewards", "dones", "timeouts")


def _filled(buffer: Any) -> int:
    return int(buffer.buffer_size if buffer.full else buffer.pos)


def buffer_arrays(buffer: Any) -> dict[str, np.ndarray]:
    """The filled part of ``buffer``'s arrays, keyed as they are stored in the npz."""
    n = _filled(buffer)
    out: dict[str, np.ndarray] = {
        "pos": np.int64(buffer.pos),
        "full": np.bool_(buffer.full),
        "buffer_size": np.int64(buffer.buffer_size),
    }
    for name in ARRAYS:
        value = getattr(buffer, name, None)
        if isinstance(value, dict):
            for key, arr in value.items():
                out[f"{name}/{key}"] = np.asarray(arr[:n])
        elif isinstance(value, np.ndarray):
            out[name] = value[:n]
    return out


def save_replay_buffer(buffer: Any, path: str | os.PathLike) -> Path:
    """Write ``buffer`` to ``path`` (an ``.npz``) atomically, fsynced: a kill never leaves half
    a file, and the checkpoint's model zip is written after it."""
    arrays = buffer_arrays(buffer)
    return atomic_write(path, lambda f: np.savez(f, **arrays), fsync=True)


def load_replay_buffer(buffer: Any, path: str | os.PathLike) -> None:
    """Fill the (fresh) ``buffer`` in place from ``path``; ``ValueError`` naming the file and
    the fix when it is unreadable or was saved for another env. A buffer of another size gets
    the stored transitions oldest first (the newest ones if it is smaller)."""
    p = Path(path)
    fix = "delete it to resume with an empty buffer, or drop --resume"
    try:
        with np.load(p, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except Exception as e:  # OSError, BadZipFile, zlib.error, bad CRC, ...: a damaged file
        raise ValueError(f"cannot read the replay buffer {p} ({first_line(e)}); {fix}") from None
    try:
        pos, full, size = int(data["pos"]), bool(data["full"]), int(data["buffer_size"])
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"{p} is not a replay buffer written by training; {fix}") from None
    n = size if full else pos
    keep = min(n, buffer.buffer_size)
    # same size: copied slot for slot (a resumed run samples as an uninterrupted one would);
    # another size (a longer run's larger buffer, fit_to_budget): oldest first, newest kept
    same = size == buffer.buffer_size
    for name in ARRAYS:
        target = getattr(buffer, name, None)
        slots = target.items() if isinstance(target, dict) else [(None, target)]
        for key, arr in slots:
            if not isinstance(arr, np.ndarray):
                continue
            stored = name if key is None else f"{name}/{key}"
            if stored not in data:
                raise ValueError(f"{p} lacks {stored!r}; {fix}")
            src = data[stored]
            if src.shape != (n, *arr.shape[1:]) or src.dtype != arr.dtype:
                raise ValueError(
                    f"{p}: {stored!r} is {src.dtype}{list(src.shape)}, this run needs "
                    f"{arr.dtype}{[n, *arr.shape[1:]]} (the env or --n-envs changed); {fix}"
                )
            if same:
                arr[:n] = src
            else:
                ordered = np.concatenate([src[pos:], src[:pos]]) if full else src
                arr[:keep] = ordered[n - keep :]
    if same:
        buffer.pos, buffer.full = pos, full
    else:
        buffer.pos, buffer.full = keep % buffer.buffer_size, keep == buffer.buffer_size
