"""The optimiser: Adam with a cosine schedule on stroke parameters, through the painter and
vectorised "over" compositing; progressive groups (:func:`optimise_strokes`) and the colour fit
with coverage fixed (:func:`refine_colours`)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from agents.gradient.config import TILE, Callback, GradientConfig, Loss, RealAlphas
from agents.gradient.losses import make_loss
from agents.gradient.multibrush import (
    REASSIGN_EVERY,
    REASSIGN_UNTIL,
    AssignedBrushes,
    Reassigner,
    is_multi,
)
from agents.gradient.parametrisation import StrokeParams, _logit, init_actions
from painters import actions as A
from painters.compositing import coverage_weights
from painters.schedule import cosine_lr


def composite(base: torch.Tensor, strokes: torch.Tensor, alpha: torch.Tensor | None = None):
    """Lay strokes (B, n, 4, H, W) over ``base`` (B, 3, H, W) in order, vectorised.

    Same result as n calls of :func:`painters.compositing.over`, but as one reverse cumulative
    product (the weight of stroke i is a_i · Π_{j>i} (1 − a_j)), which is several times faster
    to differentiate than a Python loop of n small operations. ``alpha`` (B, n, H, W) overrides
    the strokes' own alpha (used for the real-brush proxy).
    """
    a = strokes[:, :, 3] if alpha is None else alpha
    w, t_bg = coverage_weights(a)
    return base * t_bg[:, None] + (w[:, :, None] * strokes[:, :, :3]).sum(1)


def _composite(
    painter,
    base: torch.Tensor,
    raw: torch.Tensor,
    params: StrokeParams,
    mask: torch.Tensor | None = None,
    residual: torch.Tensor | None = None,
    real_base: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Lay the strokes of ``raw`` (B, n, P) over ``base``: (neural canvas, proxy canvas).

    ``mask`` (B, n) of 0/1 switches strokes off (items of a batch with fewer strokes). With
    ``residual`` (B, n, H, W) = real alpha − neural alpha at the last real render, the proxy
    canvas uses the real brush's coverage (straight-through: values of the real brush,
    gradients of the painter), laid over ``real_base`` (default ``base``); without it the
    proxy is ``None``.
    """
    b, n, _ = raw.shape
    strokes = painter(params.decode(raw).reshape(b * n, A.ACTION_DIM))
    strokes = strokes.view(b, n, *strokes.shape[1:])
    alpha = strokes[:, :, 3]
    if mask is not None:
        alpha = alpha * mask[:, :, None, None]
    canvas = composite(base, strokes, alpha)
    if residual is None:
        return canvas, None
    a = alpha + residual
    a = a + (a.clamp(0.0, 1.0) - a).detach()
    if mask is not None:
        a = a * mask[:, :, None, None]
    return canvas, composite(base if real_base is None else real_base, strokes, a)


def _optimise(
    painter,
    base: torch.Tensor,
    target: torch.Tensor,
    logits: torch.Tensor,
    loss_fn: Loss,
    steps: int,
    lr: float,
    callback: Callback | None,
    info: dict,
    snapshot_every: int,
    real_alphas: RealAlphas | None = None,
    real_weight: float = 1.0,
    refresh_every: int = 5,
    *,
    params: StrokeParams,
    mask: torch.Tensor | None = None,
    hook=None,
    real_base: torch.Tensor | None = None,
    real_out: list | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Adam with a cosine schedule (lr → lr/10) on the parameters ``logits`` (see
    :class:`StrokeParams`); returns (parameters, canvas).

    With ``real_alphas`` (actions (B, n, 12) → real brush coverage (B, n, H, W)), the loss adds
    ``real_weight`` × the loss of the real-brush proxy canvas, re-rendered every
    ``refresh_every`` steps: the optimiser then paints for the real brush, texture included.
    ``hook(step, logits)``, if given, runs before each step and may change the parameters in
    place (e.g. :class:`agents.gradient.multibrush.Reassigner`). ``real_base``: the real
    canvas under these strokes for the proxy (default ``base``); ``real_out`` (a list, with
    ``real_alphas``) receives the proxy canvas of the final strokes, freshly rendered.
    """
    logits = logits.detach().clone().requires_grad_(True)
    opt = torch.optim.Adam([logits], lr=lr)
    residual = None

    def refresh() -> torch.Tensor:
        with torch.no_grad():
            acts = params.decode(logits)
            neural = painter(acts.reshape(-1, A.ACTION_DIM))[:, 3].view(*acts.shape[:2], -1)
            real = real_alphas(acts).to(neural).flatten(2)
            return (real - neural).view(*acts.shape[:2], *target.shape[-2:])

    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = cosine_lr(lr, step, max(1, steps))
        if hook is not None:
            hook(step, logits)
        if real_alphas is not None and step % refresh_every == 0:
            residual = refresh()
        canvas, proxy = _composite(painter, base, logits, params, mask, residual, real_base)
        loss = loss_fn(canvas, target).sum()
        if proxy is not None:
            loss = loss + real_weight * loss_fn(proxy, target).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if callback is not None:
            snap = step % snapshot_every == 0 or step == steps - 1
            callback(
                {**info, "kind": "step", "step": step, "steps": steps,
                 "loss": float(loss.detach()) / len(target), "canvas": canvas.detach() if snap else None}
            )  # fmt: skip
    with torch.no_grad():
        canvas, _ = _composite(painter, base, logits, params, mask)
        if real_out is not None and real_alphas is not None:
            _, proxy = _composite(painter, base, logits, params, mask, refresh(), real_base)
            real_out.append(proxy)
    return logits.detach(), canvas


def _assigned_real(mixed, assigned: AssignedBrushes, offset: int) -> RealAlphas:
    """``mixed(actions, brush_index, offset)`` (:func:`agents.gradient.real_brush.mixed_alphas`)
    as a ``real_alphas`` of the actions alone: each stroke's brush is the one ``assigned`` to it
    at the time of the call, and stroke i of a batch item is the item's stroke ``offset + i``."""

    def real(acts: torch.Tensor) -> torch.Tensor:
        return mixed(acts, assigned.index.view(acts.shape[:2]), offset)

    return real


def optimise_strokes(
    painter: torch.nn.Module,
    targets: torch.Tensor,
    config: GradientConfig | None = None,
    *,
    backgrounds: torch.Tensor | None = None,
    n_strokes: int | None = None,
    loss_fn: Loss | None = None,
    callback: Callback | None = None,
    generator: torch.Generator | None = None,
    real_alphas: RealAlphas | None = None,
    counts: Sequence[int] | None = None,
    init_fn=None,
    brush_out: list | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Paint a batch of 64 px targets: returns (actions (B, N, 12) in [0, 1], canvas (B, 3, H, W)).

    With a :class:`painters.brushes.MultiBrushPainter` of several brushes the strokes move to
    the brush that lowers the loss while they are optimised, in as many steps as with one brush
    (:mod:`agents.gradient.multibrush`); ``real_alphas`` then takes ``(actions, brush_index,
    offset)`` (see :func:`agents.gradient.real_brush.mixed_alphas`) and is used in every group
    as well as in the refinement (one brush: in the refinement only), and ``brush_out`` (a
    list) receives the brush indices (B, N) (one brush: all zeros).

    ``targets`` float (B, 3, 64, 64) in [0, 1]; ``backgrounds`` the canvases to paint on
    (default: blank). The painter runs once per step on all B·group strokes. ``counts``: strokes
    of each batch item (≤ N; default N): item b keeps its first ``counts[b]`` strokes, the others
    are switched off (zero coverage) and should be dropped by the caller.
    """
    cfg = config or GradientConfig()
    n_strokes = cfg.strokes if n_strokes is None else n_strokes
    if targets.ndim != 4 or targets.shape[1] != 3:
        raise ValueError(f"targets must be (B, 3, H, W) in [0, 1], got {tuple(targets.shape)}")
    psize = getattr(painter, "size", TILE)
    if targets.shape[-2:] != (psize, psize):
        raise ValueError(
            f"this painter draws {psize} px strokes; give {psize} px targets, "
            f"got {tuple(targets.shape[-2:])}"
        )
    dev = targets.device
    loss_fn = loss_fn or make_loss(cfg.loss)
    gen = generator or torch.Generator().manual_seed(cfg.seed)
    if backgrounds is None:
        bg = torch.tensor(cfg.background, dtype=torch.float32, device=dev) / 255.0
        backgrounds = bg.view(1, 3, 1, 1).expand_as(targets).clone()
    canvas = backgrounds.detach()
    sizes = cfg.group_sizes(n_strokes)
    steps = cfg.steps_per_group(n_strokes)
    mask = None
    if counts is not None:
        if len(counts) != len(targets) or max(counts) > n_strokes or min(counts) < 0:
            raise ValueError(f"counts must be {len(targets)} values in [0, {n_strokes}]")
        idx = torch.arange(n_strokes, device=dev)
        mask = (idx[None] < torch.as_tensor(list(counts), device=dev)[:, None]).float()
    palette = None
    if cfg.palette is not None:
        palette = torch.tensor(cfg.palette, dtype=torch.float32, device=dev)
    params = StrokeParams(cfg, palette)
    multi = is_multi(painter)
    all_logits, all_brushes = [], []
    first = 0
    real_canvas = canvas  # the real brushes' canvas under each group (for the proxy)
    for g, n in enumerate(sizes):
        frac = g / max(1, len(sizes) - 1)
        size = cfg.size_range(cfg.coarse_size + (cfg.fine_size - cfg.coarse_size) * frac)
        # init_fn (same arguments as init_actions) proposes a group's first strokes instead,
        # e.g. a trained agent's (agents.painting.agent_init_fn)
        init = (init_fn or init_actions)(canvas.cpu(), targets.cpu(), n, size, gen).to(dev)
        info = {"stage": "group", "group": g, "groups": len(sizes)}
        m = None if mask is None else mask[:, first : first + n]
        if multi:  # every stroke starts with the first brush and moves when another is better
            painter_g = assigned = AssignedBrushes(
                painter, torch.zeros(len(targets), n, dtype=torch.long, device=dev)
            )
            hook = Reassigner(assigned, params, canvas, targets, m, REASSIGN_EVERY,
                              int(steps * REASSIGN_UNTIL))  # fmt: skip
        else:
            painter_g, hook = painter, None
        real_g, real_out = None, []
        if multi and real_alphas is not None:  # the real brushes forward from the first group
            real_g = _assigned_real(real_alphas, assigned, first)
        logits, canvas = _optimise(
            painter_g, canvas, targets, params.encode(init), loss_fn, steps, cfg.lr, callback,
            info, cfg.snapshot_every, real_g, cfg.group_real_weight, params=params, mask=m,
            hook=hook, real_base=real_canvas, real_out=real_out,
        )  # fmt: skip
        if real_out:
            real_canvas = real_out[0]
        all_logits.append(logits)
        if multi:
            all_brushes.append(assigned.index.view(len(targets), n).clone())
        else:
            all_brushes.append(torch.zeros(len(targets), n, dtype=torch.long, device=dev))
        first += n
    logits = torch.cat(all_logits, 1)
    brush_index = torch.cat(all_brushes, 1)
    if brush_out is not None:
        brush_out.append(brush_index)
    base = backgrounds.detach()
    hook = None
    if multi:  # the refinement moves every stroke, and its brush while it pays
        painter = assigned = AssignedBrushes(painter, brush_index)
        hook = Reassigner(assigned, params, base, targets, mask, REASSIGN_EVERY,
                          int(cfg.refine() * REASSIGN_UNTIL))  # fmt: skip
        if real_alphas is not None:
            real_alphas = _assigned_real(real_alphas, assigned, 0)
    if cfg.refine() > 0:
        info = {"stage": "refine", "group": len(sizes), "groups": len(sizes)}
        logits, canvas = _optimise(
            painter, base, targets, logits, loss_fn, cfg.refine(), cfg.lr * 0.2, callback,
            info, cfg.snapshot_every, real_alphas, cfg.real_weight, params=params, mask=mask,
            hook=hook,
        )  # fmt: skip
    if multi and brush_out is not None:
        brush_out[0].copy_(assigned.index.view(brush_index.shape))
    if palette is not None:
        # snap every stroke to its strongest palette colour, then let the geometry adapt
        fixed = StrokeParams(cfg, colours=params.snap(logits))
        logits = fixed.encode(params.decode(logits))
        params = fixed
        info = {"stage": "palette", "group": len(sizes), "groups": len(sizes)}
        logits, canvas = _optimise(
            painter, base, targets, logits, loss_fn, cfg.snap_steps(), cfg.lr * 0.2, callback,
            info, cfg.snapshot_every, real_alphas, cfg.real_weight, params=params, mask=mask,
        )  # fmt: skip
    return params.decode(logits).clamp(0.0, 1.0), canvas


def refine_colours(
    actions: torch.Tensor,
    targets: torch.Tensor,
    alphas: Sequence[torch.Tensor],
    *,
    backgrounds: torch.Tensor | None = None,
    weights: Sequence[float] | None = None,
    steps: int = 150,
    lr: float = 0.05,
    callback: Callback | None = None,
) -> torch.Tensor:
    """Re-fit the strokes' colours, keeping their shapes: minimise Σ_k weight_k · MSE(canvas_k,
    target), where canvas_k composites the coverage maps ``alphas[k]`` (B, N, H, W).

    Why: with ``alphas = [neural, real]`` (the real brush's coverage of the same strokes, same
    texture seed) the colours compensate the brush texture the painter cannot predict, so the
    real re-render tells the same picture as the neural one. Geometry is untouched.
    """
    b, n, _ = actions.shape
    weights = list(weights) if weights is not None else [1.0] * len(alphas)
    if backgrounds is None:
        backgrounds = torch.ones_like(targets)
    terms = []
    for a in alphas:
        w, t_bg = coverage_weights(a.to(targets.dtype))
        terms.append((w.flatten(2), backgrounds * t_bg[:, None]))
    logits = _logit(actions[..., A.RED : A.BLUE + 1].detach()).requires_grad_(True)
    opt = torch.optim.Adam([logits], lr=lr)
    hw = targets.shape[-2:]
    for step in range(steps):
        col = torch.sigmoid(logits)  # (B, N, 3)
        loss = 0.0
        for k, (w, base) in enumerate(terms):
            canvas = base + torch.einsum("bnp,bnc->bcp", w, col).view(b, 3, *hw)
            loss = loss + weights[k] * (canvas - targets).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if callback is not None:
            callback({"kind": "step", "stage": "colours", "step": step, "steps": steps,
                      "loss": float(loss.detach()), "phase": "real-brush fit", "total": steps})  # fmt: skip
    out = actions.detach().clone()
    out[..., A.RED : A.BLUE + 1] = torch.sigmoid(logits.detach())
    return out
