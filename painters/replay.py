"""Replay a painting: lay its actions in order with any renderer or neural painter."""

from __future__ import annotations

import numpy as np
import torch

from painters import actions as A
from painters.compositing import blank_canvas, over, to_uint8


def replay(
    actions,
    renderer="mypaint",
    size: int = 64,
    seed: int = 0,
    background: tuple[int, int, int] = (255, 255, 255),
    *,
    brush: str = "classic/dry_brush",
    width: int | None = None,
    height: int | None = None,
    stroke_scale: float = 1.0,
    batch_size: int = 256,
) -> np.ndarray:
    """Re-render a painting: uint8 (H, W, 3).

    ``renderer`` is a renderer name (``"mypaint"``, ``"simple"``), a :class:`Renderer`, or a
    neural painter module ``(B, 12) -> (B, 4, 64, 64)`` (then ``size`` must be the painter's).
    Real renderers paint at any ``size`` (or ``width`` × ``height``); this is how a painting made
    with a neural painter is re-rendered with the real brush.
    """
    a = A.validate_actions(actions)
    if isinstance(renderer, torch.nn.Module):
        return _replay_neural(a, renderer, size, background, batch_size)
    from painters.renderers import Renderer, get_renderer

    r = (
        renderer
        if isinstance(renderer, Renderer)
        else get_renderer(renderer, size=size, brush=brush, seed=seed)
    )
    kwargs = {"background": background, "width": width or size, "height": height or size}
    if stroke_scale != 1.0:
        kwargs["stroke_scale"] = stroke_scale
    return r.paint(a, **kwargs)


@torch.no_grad()
def _replay_neural(a, painter, size, background, batch_size) -> np.ndarray:
    dev = next(iter(painter.parameters()), torch.empty(0)).device
    psize = getattr(painter, "size", 64)
    if size != psize:
        raise ValueError(f"a neural painter draws {psize} px strokes; replay it with size={psize}")
    canvas = blank_canvas(1, size, background, device=dev)
    acts = torch.from_numpy(a).to(dev)
    for i in range(0, len(acts), batch_size):
        strokes = painter(acts[i : i + batch_size])
        for s in strokes:
            canvas = over(canvas, s[None])
    return to_uint8(canvas[0])
