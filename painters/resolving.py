"""Read a renderer spec: :func:`resolve_renderer` turns every spec the project accepts into a
renderer or a neural painter, and :func:`neural_spec` picks the painters of a saved painting.

Why one reader: the env, the replay, the re-render at any size and the scripts all take a
``renderer`` argument; with one reader they accept the same vocabulary (``"mypaint"``,
``"simple"``, ``"neural"``, a painter folder or bundled name, a :class:`Renderer`, a painter
module) and fail with the same message.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from painters.renderers.base import DEFAULT_BRUSH

#: Renderer names drawn by a real (non-neural) renderer.
REAL_RENDERERS = ("mypaint", "simple")


def resolve_renderer(
    spec: Any,
    size: int = 64,
    *,
    brush: str | os.PathLike | None = None,
    seed: int = 0,
    device: Any = "cpu",
):
    """A renderer spec → a :class:`painters.renderers.Renderer` or a neural painter module.

    ``"mypaint"`` / ``"simple"``: the real renderer at ``size`` px (``brush``, texture ``seed``);
    ``"neural"``: the bundled default painter; a bundled painter name or a painter folder: that
    painter (eval mode, frozen, on ``device``); a :class:`Renderer` or a ``torch.nn.Module``:
    itself. Anything else: one-line ``ValueError`` listing the choices (a path that does not
    exist: ``FileNotFoundError`` from :func:`painters.load_painter`, naming the fix).
    """
    from painters.renderers import Renderer, get_renderer

    if isinstance(spec, Renderer):
        return spec
    if isinstance(spec, str) and spec in REAL_RENDERERS:
        return get_renderer(spec, size=size, brush=brush or DEFAULT_BRUSH, seed=seed)
    if is_module(spec):
        return spec
    if isinstance(spec, str | os.PathLike):
        from painters.bundled import PRETRAINED_DIR
        from painters.loading import load_painter

        name = "default" if spec == "neural" else spec
        looks_like_path = isinstance(spec, os.PathLike) or os.sep in str(spec) or "/" in str(spec)
        if looks_like_path or Path(name).exists() or (PRETRAINED_DIR / str(name)).is_dir():
            return load_painter(name, device)
    raise ValueError(
        f"unknown renderer {spec!r}; use 'mypaint', 'simple', 'neural', a painter folder or "
        "bundled name, a Renderer or a neural painter module"
    )


def is_module(obj: Any) -> bool:
    """Whether ``obj`` is a torch module (a neural painter)."""
    import torch

    return isinstance(obj, torch.nn.Module)


def neural_spec(renderer: Any, painting: Any, device: Any = "cpu") -> Any:
    """``"neural"`` for ``painting``: the default painter, or for a painting that mixes brushes
    each brush's bundled painter (a :class:`painters.brushes.MultiBrushPainter`); any other
    spec is returned as it is."""
    if not (isinstance(renderer, str) and renderer == "neural"):
        return renderer
    if getattr(painting, "multi_brush", False):
        from painters.brushes import load_painters

        return load_painters(painting.brushes, device)
    return resolve_renderer(renderer, device=device)
