"""A benchmark as text: JSON (config, means, every row) and one markdown table."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

from agents.evaluation.scoring import Run, summarize
from painters.io import atomic_write_bytes


def to_json(runs: Sequence[Run], config: dict[str, Any]) -> dict[str, Any]:
    return {"config": config, "mean": summarize(runs), "rows": [r.row() for r in runs]}


def to_markdown(runs: Sequence[Run], strokes: int) -> str:
    """One table: per-image rows, then the mean per method."""
    head = (
        f"Stroke budget: {strokes}. MSE on [0, 1] pixels (64 px, lower is better); SSIM (higher is "
        "better); removed = share of the white canvas's MSE removed.\n\n"
        "| image | method | MSE | SSIM | removed | s / image | stroke renders |\n"
        "|---|---|---:|---:|---:|---:|---:|\n"
    )
    lines = [
        f"| {r.image} | {r.method} | {r.mse:.4f} | {r.ssim:.3f} | {100 * r.reduction:.1f} % | "
        f"{r.seconds:.2f} | {r.stroke_renders} |"
        for r in runs
    ]
    for method, m in summarize(runs).items():
        lines.append(
            f"| **mean** (white {m['white_mse']:.4f}) | **{method}** | **{m['mse']:.4f}** | "
            f"**{m['ssim']:.3f}** | **{100 * m['reduction']:.1f} %** | {m['seconds']:.2f} | "
            f"{m['stroke_renders']:.0f} |"
        )
    return head + "\n".join(lines) + "\n"


def write_atomic(path: str | os.PathLike, data: str | bytes) -> None:
    """Write via a temp file and ``os.replace`` so readers never see half a file."""
    atomic_write_bytes(path, data if isinstance(data, bytes) else data.encode("utf-8"))


def save_json(runs: Sequence[Run], path: str | os.PathLike, config: dict[str, Any]) -> None:
    write_atomic(path, json.dumps(to_json(runs, config), indent=2) + "\n")
