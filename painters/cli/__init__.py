"""The command-line programs of the painters half (installed as ``neural-paint-*`` commands;
``scripts/*.py`` are thin wrappers around them). Each module's ``main(argv)`` returns the exit
code: 0, or 2 with a one-line ``error:`` message naming the fix."""

from __future__ import annotations

import argparse
import errno
import os
import shutil
import sys
import tempfile
from pathlib import Path


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


def first_line(e: BaseException) -> str:
    """The first line of an exception's message (its type name when it has none)."""
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def fail(prog: str, msg: str, code: int = 2) -> int:
    """Print ``prog: error: msg`` (one line) to stderr and return ``code`` for ``main``."""
    print(f"{prog}: error: {msg.strip().splitlines()[0] if msg.strip() else msg}", file=sys.stderr)
    return code


class OutputError(ValueError):
    """``--out`` cannot hold the results (a file, not writable); the message says what to do."""


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
            self.tmp = Path(tempfile.mkdtemp(dir=out, prefix=self.prefix))
        except OSError as e:
            self.discard()
            reason = e.strerror or type(e).__name__
            raise OutputError(
                f"cannot write to --out {out} ({reason}); choose a folder you can write to"
            ) from None
        return self.tmp

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
