"""``load_painter``: the bundled default painter or any saved one, offline."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from painters.bundled import PRETRAINED_DIR
from painters.models import NeuralPainter  # the package: registers every painter kind
from painters.renderers.base import DEFAULT_BRUSH

#: MyPaint brush → the bundled painter (folder under ``painters/pretrained``) imitating it.
BUNDLED_BRUSHES: dict[str, str] = {
    DEFAULT_BRUSH: "default",
    "classic/pen": "pen",
    "classic/pencil": "pencil",
    "classic/charcoal": "charcoal",
}


def bundled_brushes() -> list[str]:
    """Brushes that have a bundled painter (those whose folder ships with the package)."""
    return [b for b, d in BUNDLED_BRUSHES.items() if (PRETRAINED_DIR / d / "config.json").is_file()]


def painter_name_for(brush: str) -> str:
    """The bundled painter's name for ``brush``; ``ValueError`` naming the fix when none is."""
    if brush in bundled_brushes():
        return BUNDLED_BRUSHES[brush]
    raise ValueError(
        f"no bundled painter for brush {brush!r} (bundled: {', '.join(bundled_brushes())}); "
        f"train one with neural-paint-train-painter --brush {brush} --out DIR and pass "
        "{brush: DIR}"
    )


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` → CUDA when available, else CPU; anything else as torch reads it."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        dev = None
    if dev is None or dev.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"unknown device {str(device)!r}; use auto, cpu or cuda (cuda:N)")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("device 'cuda' requested but CUDA is not available; use --device cpu")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(
                f"device {dev} does not exist ({torch.cuda.device_count()} CUDA devices); "
                "use cuda:0 or --device auto"
            )
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device 'mps' requested but MPS is not available; use --device cpu")
    return dev


def bundled_painters() -> list[str]:
    """Names of the painters shipped inside the package."""
    if not PRETRAINED_DIR.is_dir():
        return []
    return sorted(p.name for p in PRETRAINED_DIR.iterdir() if (p / "config.json").is_file())


def load_painter(
    name_or_path: str | os.PathLike | NeuralPainter | None = None,
    device: str | torch.device = "cpu",
    *,
    brush: str | None = None,
) -> NeuralPainter:
    """An eval-mode neural painter: a bundled name (``"default"``, ``"pen"``), the name of a
    brush that has a bundled painter (``"classic/pen"``, also as ``brush=``) or a checkpoint
    folder. Nothing given: the default painter (the dry brush's).

    Gradients still flow to the *actions*; the painter's own weights are frozen.
    """
    if brush is not None:
        if name_or_path is not None:
            raise ValueError("give a painter or brush=, not both")
        name_or_path = painter_name_for(brush)
    if name_or_path is None:
        name_or_path = "default"
    if isinstance(name_or_path, NeuralPainter):
        model = name_or_path.to(resolve_device(device))
    else:
        p = Path(name_or_path)
        if not p.exists() and str(name_or_path) in BUNDLED_BRUSHES:  # a brush name
            p = PRETRAINED_DIR / BUNDLED_BRUSHES[str(name_or_path)]
        if not p.exists() and (PRETRAINED_DIR / str(name_or_path)).is_dir():
            p = PRETRAINED_DIR / str(name_or_path)
        if not p.exists():
            names = ", ".join(bundled_painters()) or "none"
            raise FileNotFoundError(
                f"no painter at {name_or_path!s}: give a folder with config.json + "
                f"model.safetensors (scripts/train_painter.py writes one) or a bundled name ({names})"
            )
        model = NeuralPainter.from_pretrained(p, device=resolve_device(device))
    model.eval()
    for q in model.parameters():
        q.requires_grad_(False)
    return model
