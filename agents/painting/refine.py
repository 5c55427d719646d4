"""Agent + gradient painting (re-exported by :mod:`agents.painting`): the agent's strokes
refined jointly by gradient descent (:func:`refine_painting`), or the agent proposing each
group's first strokes to the gradient painter (:func:`agent_init_fn`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from agents.painting.levels import AgentView, InitFn, _resize_tiles, paint_with_agent
from painters import actions as A
from painters.compositing import from_uint8, over_sequence, to_uint8
from painters.distances import mse_uint8

#: Stroke-pixels above which the gradient painter skips its real-brush colour fit
#: (``agents.gradient.finish_colours``); agent + gradient then fits the colours to the neural
#: canvas itself (:mod:`agents.painting.colours`, which needs no dense coverage maps).
FINISH_LIMIT = 40_000_000
#: Strokes × canvas pixels up to which ``mode="auto"`` refines every stroke jointly (each
#: stroke's layer is held at the canvas's size: about 1 GB of tensors at this limit).
REFINE_LIMIT = 8_000_000
#: Steps and learning rate of the joint refinement (chosen on validation photos, see
#: docs/BRUSHES.md).
REFINE_STEPS = 120
REFINE_LR = 0.05
#: Weight of the real brushes' canvas in the joint refinement with a real seed (the neural
#: canvas has 1): lower than gradient painting's ``GradientConfig.real_weight`` (8), because
#: the refinement starts from a finished painting, where 8 costs the neural painting more than
#: it gains the real one (docs/BRUSHES.md).
REFINE_REAL_WEIGHT = 4.0
#: A painting of several brushes whose real re-render (at the fit's scale, area-averaged back
#: to the painting's size) is more than this many times the neural painting's MSE is refined
#: once more (:data:`RETRY_STEPS` at :data:`RETRY_LR`, real weight :data:`RETRY_REAL_WEIGHT`)
#: and its colours fitted again; the second painting is kept when its re-render is closer to
#: the target and its neural painting no worse than :data:`RETRY_KEEP` × the first's. Smooth
#: images are where this happens: there the dry brush's speckle is most of the re-render's
#: error (docs/BRUSHES.md).
RETRY_RATIO = 1.25
RETRY_STEPS = 120
RETRY_LR = 0.02
RETRY_REAL_WEIGHT = 5.0
RETRY_KEEP = 1.02


def refines_jointly(strokes: int, width: int, height: int, palette: Any = None) -> bool:
    """Whether agent + gradient painting of ``strokes`` strokes on a ``width`` × ``height``
    canvas refines the agent's whole painting (``mode="refine"``) rather than letting the agent
    propose the gradient painter's strokes (``"init"``): while strokes × canvas pixels stays
    within :data:`REFINE_LIMIT`, without a palette (the gradient painter snaps its colours)."""
    return palette is None and int(strokes) * int(width) * int(height) <= REFINE_LIMIT


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
    steps: int = REFINE_STEPS,
    lr: float = REFINE_LR,
    mode: str = "auto",
    config: Any = None,
    levels: Sequence[int] | None = None,
    shares: Sequence[float] | None = None,
    painter: torch.nn.Module | None = None,
    device: str | torch.device = "cpu",
    loss_fn: Any = None,
    real_seed: int | None = None,
    callback: Callable[[dict], None] | None = None,
    plan_steps: int = 0,
):
    """Agent + gradient painting of ``image`` at ``canvas_size(W, H, grid)`` px; returns the
    same ``Painting`` type as :func:`paint_with_agent` and :func:`agents.gradient.paint_images`.

    ``mode="auto"`` (default): ``"refine"`` while strokes × canvas pixels stays within
    :data:`REFINE_LIMIT` (e.g. 200 strokes at 64 × 96 px), ``"init"`` above it (refining
    every stroke of a big painting at once holds every stroke's full-canvas layer: 7.5 GB and
    over 10 minutes for 2,000 strokes at 256 px; ``"init"`` costs what gradient painting costs,
    tile batch by tile batch), and ``"init"`` with a palette in ``config``.
    ``mode="refine"``: the agent paints (:func:`paint_with_agent`, ``levels``, ``shares`` and
    ``plan_steps``: its planning steps per step), then gradient descent refines all its
    strokes jointly on the whole canvas for ``steps`` steps (:func:`refine_painting`, ``lr``).
    With a :class:`painters.brushes.MultiBrushPainter` of several brushes the agent paints
    with the first brush and the refinement moves each stroke to the brush that lowers the
    loss most (:mod:`agents.gradient.multibrush`).
    ``mode="init"``: the gradient painter (:func:`agents.gradient.paint_images` with
    ``config``, a ``GradientConfig`` whose ``strokes`` is replaced) with each group's initial
    strokes proposed by the agent (:func:`agent_init_fn`) instead of sampled where the error is
    largest (with several brushes it picks each stroke's brush as gradient painting does),
    and, where the real-brush colour fit does not run (no ``real_seed``, or a painting too big
    for it), every colour fitted to the target over the whole canvas at the end
    (:func:`agents.painting.colours.fit_colours`, with its penalty on seams).

    ``real_seed``: paint for the real brush's re-render with that seed: the refinement adds
    the real brushes' coverage (straight-through, at ``config.finish_scale`` × the painting's
    size) and the colours are fitted last for the neural and the real canvas
    (:func:`agents.gradient.finish_colours`; needs libmypaint, skipped without it). With
    several brushes the re-render is then measured (:func:`real_mse`), and the strokes refined
    once more if it misses the neural painting by more than :data:`RETRY_RATIO`."""
    from dataclasses import replace

    from agents.gradient import (
        GradientConfig,
        canvas_size,
        finish_colours,
        paint_images,
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
        mode = "refine" if refines_jointly(strokes, width, height, cfg.palette) else "init"
    if mode == "refine" and cfg.palette is not None:
        raise ValueError("a palette needs mode='init' (the gradient painter snaps the colours)")
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
    first = painter.painters[0] if several else painter
    painting = paint_with_agent(img, model, strokes, grid=grid, levels=levels, shares=shares,
                                painter=first, plan_steps=plan_steps)  # fmt: skip
    if several:
        painting.brush = painter.brushes[0]
    painting = refine_painting(painting, target, painter, steps=steps, lr=lr, loss_fn=loss_fn,
                               callback=callback, real_seed=real_seed, config=cfg)  # fmt: skip
    if real_seed is not None and len(painting.actions) and cfg.finish_steps > 0:

        def finish(p):
            pdev = next(iter(painter.parameters()), torch.empty(0)).device
            index = p.brush_index(painter.brushes) if several else None
            local, finished = finish_colours(
                painter, p.local_actions, p.windows, from_uint8(target, pdev),
                replace(cfg, background=p.background), real_seed, callback, brush_index=index,
            )  # fmt: skip
            if finished is not None:
                p.local_actions = np.clip(local, 0.0, 1.0).astype(np.float32)
                p.actions = to_global(p.local_actions, p.windows, width, height)
                p.canvas = to_uint8(finished)
            return p

        painting = finish(painting)
        if several:
            painting = _retry_for_real(painting, target, painter, cfg, real_seed, finish, callback)
    painting.info = {**painting.info, "made_by": "agents.painting (agent + gradient)"}
    return painting


def real_mse(painting: Any, target: np.ndarray, scale: float, seed: int) -> float | None:
    """MSE to ``target`` (the painting's size, uint8) of the painting's real MyPaint re-render
    at ``scale`` × its size with texture ``seed``, area-averaged back to the painting's size
    (:func:`painters.images.resize`), as the re-render is compared with the painting; ``None``
    without libmypaint."""
    from painters.images import resize
    from painters.renderers.mypaint import MyPaintUnavailable
    from painters.rerender import render_painting

    h, w = painting.height, painting.width
    side = max(w, h, round(max(w, h) * float(scale)))
    try:
        image = render_painting(painting, "mypaint", *painting.output_size(side), seed=int(seed))
    except MyPaintUnavailable:
        return None
    return mse_uint8(resize(image, w, h), np.asarray(target))


def _retry_for_real(painting, target, painter, cfg, real_seed, finish, callback):
    """Refine a painting of several brushes once more when its real re-render misses the
    neural painting by more than :data:`RETRY_RATIO` (see there); returns the painting kept,
    the measurements in its ``info["real_retry"]``."""
    neural = mse_uint8(painting.canvas, target)
    real = real_mse(painting, target, cfg.finish_scale, real_seed)
    if real is None or real <= RETRY_RATIO * max(neural, 1e-12):
        return painting

    def relay(ev: dict) -> None:  # the progress bar names the second refinement
        callback({**ev, "phase": "refine again"} if ev.get("phase") == "refine" else ev)

    again = refine_painting(painting, target, painter, steps=RETRY_STEPS, lr=RETRY_LR,
                            callback=relay if callback else None, real_seed=real_seed, config=cfg,
                            real_weight=RETRY_REAL_WEIGHT)  # fmt: skip
    again = finish(again)
    neural2 = mse_uint8(again.canvas, target)
    real2 = real_mse(again, target, cfg.finish_scale, real_seed)
    kept = real2 is not None and real2 < real and neural2 <= RETRY_KEEP * neural
    note = {"neural": [neural, neural2], "real": [real, real2], "kept": bool(kept)}
    out = again if kept else painting
    steps = int(painting.info.get("refine_steps", 0)) + (RETRY_STEPS if kept else 0)
    out.info = {**out.info, "refine_steps": steps, "real_retry": note}
    return out


def refine_painting(
    painting: Any,
    target: np.ndarray,
    painter: torch.nn.Module,
    *,
    steps: int = REFINE_STEPS,
    lr: float = REFINE_LR,
    loss_fn: Any = None,
    callback: Callable[[dict], None] | None = None,
    real_seed: int | None = None,
    config: Any = None,
    real_weight: float | None = None,
):
    """Gradient descent on all strokes of a tiled painting at once, each in its 64 px window
    (:func:`agents.gradient.joint.refine_jointly`): Adam on the gradient painter's logits,
    cosine schedule ``lr`` → ``lr/10``, loss on the whole canvas (default MSE). Returns a new
    painting (same windows and order, refined actions, its exact replay as ``canvas``, the loss
    per step appended to ``history``).

    With a :class:`painters.brushes.MultiBrushPainter` of several brushes each stroke may move
    to another brush (it starts with its own in ``painting``, or the first); the result
    carries every stroke's brush. ``real_seed``: paint for the real brushes too (the
    re-render's seed; ``config.finish_scale`` × the painting's size, weight ``real_weight``,
    default :data:`REFINE_REAL_WEIGHT`).

    Why joint and not tile by tile: an agent's painting interleaves levels and tiles whose
    strokes overlap, so only the whole canvas tells a stroke what it covers."""
    from dataclasses import replace

    from agents.gradient import GradientConfig, Painting, to_global
    from agents.gradient.joint import refine_jointly
    from agents.gradient.multibrush import is_multi
    from painters.replaying import replay_windows

    target_u8 = np.asarray(target)
    h, w = painting.height, painting.width
    if target_u8.shape != (h, w, 3):
        raise ValueError(f"target must be the painting's size ({h}, {w}, 3), got {target_u8.shape}")
    several = is_multi(painter)
    index = None
    if several:
        brushes = painting.brush_list()
        known = all(b in painter.brushes for b in brushes)
        index = painting.brush_index(painter.brushes) if known else np.zeros(len(painting), int)
    cfg = replace(config or GradientConfig(), background=tuple(painting.background),
                  real_weight=REFINE_REAL_WEIGHT if real_weight is None else float(real_weight))  # fmt: skip
    if not several:
        cfg = replace(cfg, brush=painting.brush)
    pdev = next(iter(painter.parameters()), torch.empty(0)).device
    history: list[float] = []

    def relay(ev: dict) -> None:
        history.append(float(ev["loss"]))
        if callback is not None:
            callback(ev)

    local, index, _ = refine_jointly(
        painter, painting.local_actions, painting.windows, from_uint8(target_u8, pdev),
        background=painting.background, brush_index=index, config=cfg, steps=steps, lr=lr,
        loss_fn=loss_fn, real_seed=real_seed, real_scale=cfg.finish_scale, callback=relay,
    )  # fmt: skip
    wi = np.asarray(painting.windows, np.int64)
    canvas_u8, _ = replay_windows(painter, local, wi, w, h, painting.background,
                                  brush_index=index if several else None)  # fmt: skip
    brushes = [painter.brushes[i] for i in index] if several else None
    one = {"brush": brushes[0]} if brushes and len(set(brushes)) == 1 else {}
    return Painting(
        actions=to_global(local, wi, w, h), local_actions=local, windows=wi, width=w, height=h,
        canvas=canvas_u8, stroke_scale=painting.stroke_scale, background=painting.background,
        brush=one.get("brush", painting.brush), stroke_brushes=brushes,
        info={**painting.info, "refine_steps": int(steps)}, history=[*painting.history, *history],
    )  # fmt: skip
