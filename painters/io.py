"""Atomic file writes, the one implementation every writer in the project uses.

A file appears complete or not at all: it is written to a temp file in the same folder and
renamed into place, so a kill never leaves half a PNG, shard or checkpoint, and readers never see
a partial file. Files get ordinary permissions (temp files are created 0600).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(
    path: str | os.PathLike, write: Callable[[BinaryIO], object], *, fsync: bool = False
) -> Path:
    """Call ``write(binary_file)`` on a temp file beside ``path``, then rename it into place.

    ``fsync=True`` also flushes the data to disk before the rename (datasets and checkpoints
    that a resumed job trusts after a crash).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, fsync: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return atomic_write(path, lambda f: f.write(data), fsync=fsync)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def first_line(e: BaseException) -> str:
    """The first line of an exception's message (its type name if empty): errors are reported
    as one line naming the fix, never as a traceback or a multi-line dump."""
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
