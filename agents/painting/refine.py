"""Agent + gradient painting (re-exported by :mod:`agents.painting`): the agent's strokes
refined jointly by gradient descent (:func:`refine_painting`), or the agent proposing each
group's first strokes to the gradient painter (:func:`agent_init_fn`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from agents.painting.levels import TILE, AgentView, InitFn, _resize_tiles, paint_with_agent
from painters import actions as A
from painters.compositing import from_uint8, over_sequence, to_uint8
from painters.schedule import cosine_lr

#: Stroke-pixels above which the gradient painter skips its real-brush colour fit
#: (``agents.gradient.finish_colours``); agent + gradient then fits the colours to the neural
#: canvas itself (:mod:`agents.painting.colours`, which needs no dense coverage maps).
FINISH_LIMIT = 40_000_000


def agent_init_fn(model: Any, painter: torch.nn.Module) -> InitFn:
    """An ``init_fn`` for the gradient painter (``paint_images(..., init_fn=...)``): each group's
    ``n`` initial strokes on a batch of 64 px tiles are the agent's, painted on the tile's
    current canvas (``ceil(n / strokes_per_step)`` policy steps, the painter drawing each step
    so the agent sees its own strokes), instead of strokes sampled where the error is largest.

    The episode progress the agent is told follows the gradient painter's: ``size`` runs from
    ``coarse_size`` (first group: the agent starts its episode) to ``fine_size`` (last group:
    the agent is near its episode's end, where it paints details over a finished canvas).
    ``generator`` is unused (the agent acts deterministically)."""
    from agents.gradient import GradientConfig

    view = AgentView(model)
    coarse, fine = GradientConfig.coarse_size, GradientConfig.fine_size

    @torch.no_grad()
    def init(
        canvas: torch.Tensor, target: torch.Tensor, n: int, size: float, generator: torch.Generator
    ) -> torch.Tensor:
        del generator
        progress = min(max((coarse - size) / (coarse - fine), 0.0), 1.0)
        first = round(progress * max(0, view.max_strokes - n))
        pdev = next(iter(painter.parameters()), torch.empty(0)).device
        canvas = canvas.detach().float().to(pdev).clone()
        b = len(canvas)
        tgt_obs = to_uint8(_resize_tiles(target.detach().float().cpu(), view.size))
        if tgt_obs.ndim == 3:
            tgt_obs = tgt_obs[None]
        out = []
        for done in range(0, n, view.k):
            frac = np.full(b, min((first + done) / view.max_strokes, 1 - view.k / view.max_strokes))
            obs = view.observe(_resize_tiles(canvas, view.size), tgt_obs, frac)
            acts = view.act(obs)[:, : min(view.k, n - done)]  # (B, k', 12)
            drawn = painter(torch.from_numpy(acts.reshape(-1, A.ACTION_DIM)).to(pdev)).float()
            drawn = drawn.view(b, acts.shape[1], *drawn.shape[1:])
            canvas = over_sequence(canvas, drawn)
            out.append(acts)
        return torch.from_numpy(np.concatenate(out, axis=1)).to(target.device)

    return init


def paint_with_agent_and_gradient(
    image: np.ndarray,
    model: Any,
    strokes: int,
    *,
    grid: int = 1,
    steps: int = 60,
    lr: float = 0.1,
    mode: str = "auto",
    config: Any = None,
    levels: Sequence[int] | None = None,
    shares: Sequence[float] | None = None,
    painter: torch.nn.Module | None = None,
    device: str | torch.device = "cpu",
    loss_fn: Any = None,
    real_seed: int | None = None,
    callback: Callable[[dict], None] | None = None,
):
    """Agent + gradient painting of ``image`` at ``canvas_size(W, H, grid)`` px; returns the
    same ``Painting`` type as :func:`paint_with_agent` and :func:`agents.gradient.paint_images`.

    ``mode="auto"`` (default): ``"refine"`` for a painting of one 64 px tile, ``"init"`` for
    several (refining every stroke of a big painting at once holds every stroke's full-canvas
    layer: 7.5 GB and over 10 minutes for 2,000 strokes at 256 px; ``"init"`` costs what
    gradient painting costs, tile batch by tile batch, and hides tiles the same way), and
    ``"init"`` too for a :class:`painters.brushes.MultiBrushPainter` of several brushes: the
    agent proposes strokes with the first brush, the gradient painter moves each stroke to the
    brush that lowers the loss most (:mod:`agents.gradient.multibrush`).
    ``mode="refine"``: the agent paints (:func:`paint_with_agent`, ``levels`` and
    ``shares``), then gradient descent refines all its strokes jointly for ``steps`` steps
    (:func:`refine_painting`, ``lr``); never worse than the agent's painting in practice, and
    cheap when ``steps`` is small. ``mode="init"``: the gradient painter
    (:func:`agents.gradient.paint_images` with ``config``, a ``GradientConfig`` whose
    ``strokes`` is replaced) with each group's initial strokes proposed by the agent
    (:func:`agent_init_fn`) instead of sampled where the error is largest, and, where the
    real-brush colour fit does not run (no ``real_seed``, or a painting too big for it), every
    colour fitted to the target over the whole canvas at the end
    (:func:`agents.painting.colours.fit_colours`, with its penalty on seams).

    ``real_seed``: also fit the colours for the real brush's re-render with that seed (the
    gradient painter's last step, :func:`agents.gradient.finish_colours`; needs libmypaint,
    skipped without it)."""
    from dataclasses import replace

    from agents.gradient import (
        GradientConfig,
        canvas_size,
        finish_colours,
        paint_images,
        tile_windows,
        to_global,
    )
    from agents.gradient.multibrush import is_multi
    from painters.images import prepare_target
    from painters.loading import load_painter, resolve_device

    img = np.asarray(image)
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(
            f"image must be uint8 RGB (H, W, 3), got {img.dtype} {img.shape}; "
            "load it with painters.images.load_image"
        )
    if mode not in ("auto", "refine", "init"):
        raise ValueError(f"mode must be 'auto', 'refine' or 'init', got {mode!r}")
    painter = painter if painter is not None else load_painter("default", resolve_device(device))
    cfg = replace(config or GradientConfig(), strokes=int(strokes))
    width, height = canvas_size(img.shape[1], img.shape[0], grid)
    target = prepare_target(img, width, height)
    several = is_multi(painter)
    if mode == "auto":
        one_tile = len(tile_windows(width, height)) == 1
        mode = "refine" if one_tile and not several else "init"
    if mode == "refine" and several:
        raise ValueError(
            "mode='refine' keeps the agent's brush; with several brushes use mode='init', where "
            "the gradient painter chooses each stroke's brush"
        )
    if mode == "init":
        painting = paint_images(
            painter, [target], cfg, loss_fn=loss_fn, real_seed=real_seed, callback=callback,
            init_fn=agent_init_fn(model, painter),
        )[0]  # fmt: skip
        n = len(painting.local_actions)
        if not hasattr(painter, "brushes") and (
            real_seed is None or n * width * height > FINISH_LIMIT
        ):  # the real-brush colour fit did not run: fit the colours (squared error) here
            from agents.painting.colours import REFINED_JUMP_WEIGHT, fit_colours

            painting = fit_colours(painting, target, painter, jump_weight=REFINED_JUMP_WEIGHT)
            if callback is not None:
                mse = float(np.mean((painting.canvas / 255.0 - target / 255.0) ** 2))
                callback({"phase": "colours", "total": 1, "advance": 1, "unit": "fit", "mse": mse})
        return painting
    painting = paint_with_agent(img, model, strokes, grid=grid, levels=levels, shares=shares,
                                painter=painter)  # fmt: skip
    painting = refine_painting(painting, target, painter, steps=steps, lr=lr, loss_fn=loss_fn,
                               callback=callback)  # fmt: skip
    if real_seed is not None and len(painting.actions):
        pdev = next(iter(painter.parameters()), torch.empty(0)).device
        local, finished = finish_colours(
            painter, painting.local_actions, painting.windows, from_uint8(target, pdev),
            replace(cfg, background=painting.background), real_seed, callback,
        )  # fmt: skip
        if finished is not None:
            painting.local_actions = np.clip(local, 0.0, 1.0).astype(np.float32)
            painting.actions = to_global(painting.local_actions, painting.windows, width, height)
            painting.canvas = to_uint8(finished)
    painting.info = {**painting.info, "made_by": "agents.painting (agent + gradient)"}
    return painting


def refine_painting(
    painting: Any,
    target: np.ndarray,
    painter: torch.nn.Module,
    *,
    steps: int = 60,
    lr: float = 0.1,
    loss_fn: Any = None,
    callback: Callable[[dict], None] | None = None,
):
    """Gradient descent on all strokes of a tiled painting at once (each stays in its 64 px
    window): Adam on the gradient painter's logits (:class:`agents.gradient.StrokeParams`),
    cosine schedule ``lr`` → ``lr/10``, loss on the whole canvas (default MSE). Returns a new
    painting (same windows and order, refined actions, its exact replay as ``canvas``, the loss
    per step as ``history``).

    Why joint and not tile by tile: an agent's painting interleaves levels and tiles whose
    strokes overlap, so only the whole canvas tells a stroke what it covers."""
    from agents.gradient import GradientConfig, Painting, StrokeParams, composite, to_global
    from painters.replaying import replay_windows

    target_u8 = np.asarray(target)
    h, w = painting.height, painting.width
    if target_u8.shape != (h, w, 3):
        raise ValueError(f"target must be the painting's size ({h}, {w}, 3), got {target_u8.shape}")
    pdev = next(iter(painter.parameters()), torch.empty(0)).device
    tgt = from_uint8(target_u8, pdev)[None]
    bg = torch.tensor(painting.background, dtype=torch.float32, device=pdev).view(1, 3, 1, 1)
    bg = (bg / 255.0).expand_as(tgt)
    wins = [tuple(int(v) for v in xy) for xy in np.asarray(painting.windows)]
    pads = [(x, w - TILE - x, y, h - TILE - y) for x, y in wins]
    params = StrokeParams(GradientConfig())
    la = torch.from_numpy(np.ascontiguousarray(painting.local_actions, np.float32)).to(pdev)
    raw = params.encode(la[None]).detach().requires_grad_(True)
    opt = torch.optim.Adam([raw], lr=lr)
    loss_fn = loss_fn or (lambda c, t: (c - t).pow(2).mean((1, 2, 3)))
    history: list[float] = []
    for step in range(max(0, int(steps))):
        for group in opt.param_groups:
            group["lr"] = cosine_lr(lr, step, max(1, steps))
        strokes = painter(params.decode(raw)[0])
        placed = torch.stack([F.pad(s, pad) for s, pad in zip(strokes, pads, strict=True)])
        canvas = composite(bg, placed[None])
        loss = loss_fn(canvas, tgt).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        history.append(float(loss.detach()))
        if callback is not None:
            callback({"kind": "step", "stage": "refine", "step": step, "steps": steps,
                      "loss": history[-1], "canvas": None, "phase": "refine",
                      "total": steps})  # fmt: skip
    with torch.no_grad():
        local = params.decode(raw)[0].clamp(0.0, 1.0).cpu().numpy().astype(np.float32)
    wi = np.asarray(painting.windows, np.int64)
    canvas_u8, _ = replay_windows(painter, local, wi, w, h, painting.background)
    return Painting(
        actions=to_global(local, wi, w, h), local_actions=local, windows=wi, width=w, height=h,
        canvas=canvas_u8, stroke_scale=painting.stroke_scale, background=painting.background,
        brush=painting.brush, info={**painting.info, "refine_steps": int(steps)},
        history=[*painting.history, *history],
    )  # fmt: skip
