"""Whole paintings: :func:`paint_images` paints batches of images of any size, tile class by
tile class, and returns one :class:`painters.Painting` each (global coordinates, plus the
window-local actions for an exact neural replay)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import torch

from agents.gradient.config import TILE, Callback, GradientConfig, Loss
from agents.gradient.losses import make_loss
from agents.gradient.multibrush import is_multi
from agents.gradient.optimiser import optimise_strokes
from agents.gradient.real_brush import finish_colours, indexed_alphas, mixed_alphas
from agents.gradient.seams import GRADIENT_JUMP_WEIGHT, band_init, boundary_band, jump_loss
from agents.gradient.tiles import (
    _crops,
    allocate,
    batches,
    plan_passes,
    tile_windows,
    to_global,
    total_steps,
    window_classes,
    window_weights,
)
from painters import actions as A
from painters.compositing import from_uint8, to_uint8
from painters.painting import Painting


def paint_images(
    painter: torch.nn.Module,
    targets: Sequence[np.ndarray],
    config: GradientConfig | None = None,
    *,
    loss_fn: Loss | None = None,
    real_seed: int | None = None,
    callback: Callback | None = None,
    init_fn=None,
) -> list[Painting]:
    """Paint uint8 RGB targets (all the same size, at least 64 px per side, any aspect ratio;
    see :func:`canvas_size`) and return one :class:`Painting` each with ``config.strokes``
    strokes.

    The windows of a pass (see :func:`plan_passes`) are split into classes of non-overlapping
    tiles (:func:`window_classes`); all images and tiles of a class are one batch: one painter
    call per step. Each tile gets its share of the pass's strokes (:func:`window_weights`,
    :func:`allocate`). ``real_seed``: if given and libmypaint is present, the final refinement also
    fits the real brush's texture for re-renders with that seed (see :func:`mypaint_alphas`).
    ``init_fn``: proposes each group's initial strokes instead of :func:`init_actions` (same
    arguments), e.g. a trained agent's (:func:`agents.painting.agent_init_fn`).
    A :class:`painters.brushes.MultiBrushPainter` of several brushes gives each stroke the
    brush that lowers the loss (:mod:`agents.gradient.multibrush`); every stroke of the
    paintings then carries its brush (``Painting.stroke_brushes``).
    """
    cfg = config or GradientConfig()
    if not targets:
        raise ValueError("paint_images needs at least one target image")
    from painters.models.textured import fixed_noise

    # a stochastic painter (GAN, VAE) draws each stroke's noise once, kept while optimising
    painter = fixed_noise(painter, cfg.seed)
    h, w = targets[0].shape[:2]
    if any(t.shape != targets[0].shape for t in targets) or targets[0].ndim != 3:
        raise ValueError("targets must be uint8 (H, W, 3) images of one size")
    if w < TILE or h < TILE:
        raise ValueError(f"targets must be at least {TILE} px per side, got {w}x{h}")
    dev = next(iter(painter.parameters()), torch.empty(0)).device
    tgt = torch.stack([from_uint8(np.ascontiguousarray(t)) for t in targets]).to(dev)
    bg = torch.tensor(cfg.background, dtype=torch.float32, device=dev).view(1, 3, 1, 1) / 255.0
    canvas = bg.expand_as(tgt).clone()
    loss_fn = loss_fn or make_loss(cfg.loss)
    gen = torch.Generator().manual_seed(cfg.seed)
    passes = plan_passes(cfg, w, h)
    multi = is_multi(painter)
    planned = total_steps(cfg, w, h)  # as many steps with several brushes as with one
    local: list[list[np.ndarray]] = [[] for _ in targets]
    wins: list[list[np.ndarray]] = [[] for _ in targets]
    picks: list[list[np.ndarray]] = [[] for _ in targets]
    history: list[float] = []
    stage = 0

    seam_windows = tile_windows(w, h, shifted=True)
    band = boundary_band(w, h)

    def _paint_batch(jobs, n_job, pcfg, p, stage) -> None:
        """Optimise one batch of tiles (``jobs``: (image, x, y)) on the current canvas; on the
        seam pass, with the boundary-hiding loss and start (:mod:`agents.gradient.seams`)."""
        n = max(n_job)
        loss, init = loss_fn, init_fn
        if len(passes) > 1 and passes[p][0] == seam_windows:
            wins_xy = [(x, y) for _, x, y in jobs]
            loss = jump_loss(wins_xy, w, h, GRADIENT_JUMP_WEIGHT, base=loss_fn)
            init = band_init(torch.stack([band[y : y + TILE, x : x + TILE] for x, y in wins_xy]),
                             init_fn)  # fmt: skip
        # global index of stroke i of job j = strokes before it in the painting + i
        done = [sum(len(a) for a in local[b]) for b in range(len(targets))]
        first = []
        for (b, _, _), k in zip(jobs, n_job, strict=True):
            first.append(done[b])
            done[b] += k
        real = None
        if real_seed is not None and multi:
            real = mixed_alphas(real_seed, first, painter.brushes, cfg.finish_scale)
        elif real_seed is not None:
            real = indexed_alphas(real_seed, first, cfg.brush)

        def relay(ev: dict) -> None:
            history.append(ev["loss"])
            if callback is None:
                return
            if ev.get("canvas") is not None:
                full = canvas.clone()
                for (b, x, y), c in zip(jobs, ev["canvas"], strict=True):
                    full[b, :, y : y + TILE, x : x + TILE] = c
                ev = {**ev, "canvas": full}
            callback({**ev, "pass": p, "passes": len(passes), "stage_index": stage,
                      "phase": "gradient", "total": planned})  # fmt: skip

        chosen: list[torch.Tensor] = []
        acts, out = optimise_strokes(
            painter, _crops(tgt, jobs), replace(pcfg, strokes=n),
            backgrounds=_crops(canvas, jobs), n_strokes=n, loss_fn=loss,
            callback=relay, generator=gen, real_alphas=real, counts=n_job, init_fn=init,
            brush_out=chosen,
        )  # fmt: skip
        for (b, x, y), a, c, k, bi in zip(
            jobs, acts.cpu().numpy(), out, n_job, chosen[0].cpu().numpy(), strict=True
        ):
            canvas[b, :, y : y + TILE, x : x + TILE] = c
            local[b].append(a[:k].astype(np.float32))
            picks[b].append(bi[:k].astype(np.int64))
            wins[b].append(np.tile(np.array([[x, y]], np.int64), (k, 1)))

    for p, (windows, pcfg) in enumerate(passes):
        weights = window_weights(canvas.cpu(), tgt.cpu(), windows)
        counts = [allocate(pcfg.strokes, weights[b].tolist()) for b in range(len(targets))]
        for cls in window_classes(windows):
            every = [(b, *windows[i]) for b in range(len(targets)) for i in cls if counts[b][i]]
            n_every = [counts[b][i] for b in range(len(targets)) for i in cls if counts[b][i]]
            for batch in batches(every, n_every):
                jobs = [every[j] for j in batch]
                n_job = [n_every[j] for j in batch]
                _paint_batch(jobs, n_job, pcfg, p, stage)
                stage += 1
    paintings = []
    for b in range(len(targets)):
        la = np.concatenate(local[b]) if local[b] else np.zeros((0, A.ACTION_DIM), np.float32)
        wi = np.concatenate(wins[b]) if wins[b] else np.zeros((0, 2), np.int64)
        bi = np.concatenate(picks[b]) if picks[b] else np.zeros(0, np.int64)
        if real_seed is not None and cfg.palette is None and cfg.finish_steps > 0:
            la, finished = finish_colours(painter, la, wi, tgt[b], cfg, real_seed, callback,
                                          brush_index=bi if multi else None)  # fmt: skip
            if finished is not None:
                canvas[b] = finished
        brushes = [painter.brushes[i] for i in bi] if multi else None
        # a painting whose strokes all chose one brush is a single-brush painting of that brush
        one = {"brush": brushes[0]} if brushes and len(set(brushes)) == 1 else {}
        paintings.append(
            Painting(
                actions=to_global(la, wi, w, h), local_actions=np.clip(la, 0.0, 1.0),
                windows=wi, width=w, height=h, canvas=to_uint8(canvas[b]),
                stroke_scale=TILE / min(w, h), history=list(history),
                stroke_brushes=brushes, **one,
            )
        )  # fmt: skip
    return paintings
