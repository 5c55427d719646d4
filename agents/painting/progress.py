"""Progress you can trust: one bar per named phase of a painting ("agent", "seams", "gradient",
"refine", "real-brush fit", "re-render", ...), each with its own total.

Painting functions report events (dicts) to a callback; an event that names its ``phase`` (with
the phase's ``total`` and the units it ``advance``s, default 1) moves that phase's bar, and a
new phase name closes the previous bar. A bar that closes short of its total (a phase that
needed fewer steps than planned) is closed at what it did, so no bar ever ends at 60/330. The
last figure shown is the result: :meth:`Progress.finish` prints the painting's own MSE on its
own line, the figure the summary repeats.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Progress:
    """Phase-by-phase tqdm bars on stderr (nothing when ``disable``)."""

    def __init__(self, disable: bool = False) -> None:
        self.disable = disable
        self.bar: Any = None
        self.phase: str | None = None

    def start(self, phase: str, total: int | None, unit: str = "step") -> None:
        """Close the current bar and open one for ``phase``."""
        self.close()
        from tqdm import tqdm

        self.phase = phase
        self.bar = tqdm(
            total=total, desc=f"{phase:<14}", unit=unit, disable=self.disable, file=sys.stderr,
            leave=True, dynamic_ncols=True,
        )  # fmt: skip

    def event(self, ev: dict) -> None:
        """Move the bar of ``ev["phase"]`` (opened on its first event) by ``ev["advance"]``; a
        ``loss`` or ``mse`` figure is shown beside it."""
        phase = ev.get("phase")
        if phase is None:
            return
        if phase != self.phase or self.bar is None:
            self.start(phase, ev.get("total"), ev.get("unit", "step"))
        self.bar.update(int(ev.get("advance", 1)))
        for key in ("mse", "loss"):
            if ev.get(key) is not None:
                self.bar.set_postfix({key: f"{float(ev[key]):.5f}"}, refresh=False)
                break

    @contextmanager
    def task(self, phase: str) -> Iterator[None]:
        """A phase of one unit that reports nothing itself (re-render, GIF, ...): its bar opens
        before the work and is full after it."""
        self.start(phase, 1, "file")
        yield
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is None:
            return
        if self.bar.total is not None and self.bar.n < self.bar.total:
            self.bar.total = self.bar.n  # the phase did less than planned: say so, not n/total
        self.bar.refresh()
        self.bar.close()
        self.bar = None
        self.phase = None

    def finish(self, mse: float) -> None:
        """Close the last bar; the result's MSE as the last figure shown."""
        self.close()
        if not self.disable:
            print(f"{'result':<14}: MSE to target {mse:.5f}", file=sys.stderr)
