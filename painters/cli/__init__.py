"""The command-line programs of the painters half (installed as ``neural-paint-*`` commands;
``scripts/*.py`` are thin wrappers around them). Each module's ``main(argv)`` returns the exit
code: 0, or 2 with a one-line ``error:`` message naming the fix."""

from __future__ import annotations

import argparse
import errno
import functools
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from painters.io import first_line

__all__ = ["OutputError", "OutputFolder", "Terminated", "fail", "first_line", "guarded", "parser"]


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """``--help`` shows every option's default and keeps the description's examples as
    written; required options and options whose default is ``None`` (their help says what
    leaving them out does) show none."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.required or action.default is None:
            return action.help
        return super()._get_help_string(action)


def parser(doc: str | None, prog: str | None = None) -> argparse.ArgumentParser:
    """An ``ArgumentParser`` whose description is the module docstring ``doc`` (verbatim, with
    its examples) and whose help lists the defaults."""
    return argparse.ArgumentParser(prog=prog, description=doc, formatter_class=HelpFormatter)


def fail(prog: str, msg: str, code: int = 2) -> int:
    """Print ``prog: error: msg`` (one line) to stderr and return ``code`` for ``main``."""
    print(f"{prog}: error: {msg.strip().splitlines()[0] if msg.strip() else msg}", file=sys.stderr)
    return code


class Terminated(BaseException):  # noqa: N818  (like KeyboardInterrupt, not an error)
    """Raised in the main thread by SIGTERM (see :func:`guarded`), so ``finally`` blocks run
    (temporary folders are removed) before the program exits."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated


def describe_os_error(e: OSError) -> str:
    """One line for an ``OSError``: what failed on which file, and the fix for a full disk."""
    where = f" ({e.filename})" if getattr(e, "filename", None) else ""
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return (
            f"no space left on the device{where}; free some space or write to another disk "
            "(files written before this run are untouched)"
        )
    return f"{e.strerror or first_line(e)}{where}" if e.strerror else first_line(e)


def guarded(prog: str) -> Callable[[Callable[..., int]], Callable[..., int]]:
    """Wrap a command's ``main(argv) -> int`` so that nothing ends it with a traceback:

    - Ctrl-C prints ``prog: interrupted`` and returns 130; SIGTERM prints ``prog: terminated``
      and returns 143, after the ``finally`` blocks ran (temporary files removed);
    - a full disk, ``MemoryError``, input nested too deeply (``RecursionError``), numbers too
      large for a float (``OverflowError``) and any ``ValueError`` / ``OSError`` not handled
      inside ``main`` print one ``prog: error: ...`` line and return 2.
    """

    def wrap(main: Callable[..., int]) -> Callable[..., int]:
        @functools.wraps(main)
        def run(argv: list[str] | None = None) -> int:
            previous = None
            if threading.current_thread() is threading.main_thread():
                previous = signal.signal(signal.SIGTERM, _on_sigterm)
            try:
                return main(argv)
            except KeyboardInterrupt:
                print(f"{prog}: interrupted", file=sys.stderr)
                return 130
            except Terminated:
                print(f"{prog}: terminated", file=sys.stderr)
                return 143
            except MemoryError:
                return fail(prog, "out of memory; ask for less (fewer strokes, smaller sizes)")
            except RecursionError:
                return fail(prog, "input nested too deeply to read; give a well-formed file")
            except OverflowError as e:
                return fail(prog, f"a number is too large ({first_line(e)}); use smaller values")
            except OSError as e:
                return fail(prog, describe_os_error(e))
            except ValueError as e:
                return fail(prog, first_line(e))
            finally:
                if previous is not None:
                    signal.signal(signal.SIGTERM, previous)

        return run

    return wrap


class OutputError(ValueError):
    """``--out`` cannot hold the results (a file, not writable); the message says what to do."""


#: Age after which a temporary folder without a process id in its name counts as left over.
STALE_AFTER_S = 3600.0


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine (one we may not signal counts as alive)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True
    return True


class OutputFolder:
    """An ``--out`` folder written all at once, so a failure leaves nothing half-written.

    :meth:`open` probes it before any work (a file in the way or a folder that cannot be
    written fails in a second, not after the painting) and makes a hidden temporary folder
    *inside* it: on the same file system, so moving the finished files in is a rename even
    when ``--out`` is a mount point. :meth:`commit` moves the files in (replacing same-named
    ones); :meth:`discard` removes the temporary folder and any folder :meth:`open` created.
    """

    def __init__(self, path: str | os.PathLike, prefix: str = ".tmp-") -> None:
        self.path = Path(path)
        self.prefix = prefix
        self.tmp: Path | None = None
        self._created: Path | None = None

    def open(self) -> Path:
        """Create ``--out`` (and parents) if needed and a temporary folder inside; returns it."""
        out = self.path
        if out.exists() and not out.is_dir():
            raise OutputError(
                f"--out {out} is a file, not a folder; give a folder path (created if missing)"
            )
        top = out
        while not top.parent.exists() and top.parent != top:
            top = top.parent
        if top.parent.exists() and not top.parent.is_dir():
            raise OutputError(
                f"--out {out}: {top.parent} is a file, not a folder; give a folder path"
            )
        self._created = None if out.exists() else top
        try:
            out.mkdir(parents=True, exist_ok=True)
            self.remove_stale()
            self.tmp = Path(tempfile.mkdtemp(dir=out, prefix=f"{self.prefix}{os.getpid()}-"))
        except OSError as e:
            self.discard()
            reason = e.strerror or type(e).__name__
            raise OutputError(
                f"cannot write to --out {out} ({reason}); choose a folder you can write to"
            ) from None
        return self.tmp

    def remove_stale(self) -> list[Path]:
        """Remove temporary folders that killed runs left in ``--out``: those named after a
        process that no longer runs (``<prefix><pid>-*``), and unnamed ones an hour old. A
        concurrent run's folder (its process alive) is kept."""
        removed = []
        for entry in self.path.glob(f"{self.prefix}*"):
            if not entry.is_dir() or entry.is_symlink():
                continue
            pid_text = entry.name[len(self.prefix) :].split("-", 1)[0]
            if pid_text.isdigit() and "-" in entry.name[len(self.prefix) :]:
                stale = not _alive(int(pid_text))
            else:
                try:
                    stale = time.time() - entry.stat().st_mtime > STALE_AFTER_S
                except OSError:
                    stale = False
            if stale:
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
        return removed

    def commit(self) -> list[Path]:
        """Move every file of the temporary folder into ``--out``; returns their new paths."""
        assert self.tmp is not None, "open() first"
        moved = []
        for src in sorted(self.tmp.iterdir()):
            dst = self.path / src.name
            try:
                os.replace(src, dst)
            except OSError as e:  # another file system inside --out: copy instead
                if e.errno != errno.EXDEV:
                    raise
                shutil.move(str(src), str(dst))
            moved.append(dst)
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp, self._created = None, None
        return moved

    def discard(self) -> None:
        """Remove the temporary folder and the folders :meth:`open` created (if still empty)."""
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None
        if self._created is not None:
            folder = self.path
            while True:
                try:
                    folder.rmdir()
                except OSError:
                    break
                if folder == self._created:
                    break
                folder = folder.parent
            self._created = None
