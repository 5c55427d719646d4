"""Where the painters shipped with the package live (a leaf module: the models read their
bundled weights here and :mod:`painters.loading` finds the painters here)."""

from __future__ import annotations

from pathlib import Path

PRETRAINED_DIR = Path(__file__).parent / "pretrained"


def bundled_weights_path(name: str) -> Path:
    """The weights file of the bundled painter ``name`` (it may not exist)."""
    return PRETRAINED_DIR / name / "model.safetensors"
