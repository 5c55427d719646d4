"""Paint any image with a trained ``Painting-v0`` agent: the whole image first, then tiles of it
for detail (Learning to Paint's "divide"), in the gradient painter's representation.

Why this shape: an agent paints a ``size`` px square canvas in ``max_strokes`` strokes, which is
far too few strokes and pixels for a photo. Like Learning to Paint (Huang et al. 2019), the same
agent paints the image in levels: level ``d`` cuts the painting into tiles of ``64 / d`` px
(``d`` = 1: the painter's 64 px windows, which for a square image at ``grid=1`` is the whole
image), crops the current painting and the target to each tile, resizes both to the agent's
canvas and lets the agent paint on that crop; its strokes (fractions of the tile) are mapped
back onto the painting. All tiles of a level are one batch: one policy forward pass and one
painter call per step, whatever the number of tiles.

Representation. Every stroke is stored the way :func:`agents.gradient.paint_images` stores
its strokes: a 12-number action local to a 64 px window of the painting (``local_actions``,
``windows``) and the same action in global coordinates (``actions``: x, y fractions of the
painting's width and height), with ``stroke_scale = 64 / min(W, H)``. A stroke painted in a
tile of side ``T`` px is drawn in the 64 px window around that tile, its points mapped affinely
and its size shifted by ``0.5·ln(T / 64)`` (the radius law ``exp(2·size)`` × side / 64), clipped
to the painter's range [0, 1]. The painting canvas (``canvas``, painting.png) is rendered
stroke by stroke exactly as :func:`painters.replaying.replay_windows` replays the saved
strokes, and the agent observes that canvas, so what is saved is exactly what the agent saw.
Levels are therefore tiles of at most 64 px: for a non-square image the first level is the
gradient painter's row of overlapping 64 px tiles along the longer side (see
:func:`agents.gradient.tile_windows`) instead of one squashed pass, which the 64 px stroke
windows could not store. The stroke order is: level by level, step by step, tile by tile.

Budget. ``strokes`` is the total; :data:`DEFAULT_SHARES` splits it across the levels (chosen by
measurement, see ``benchmarks/bench_agent_paint.py``), and within a level tiles get strokes in
proportion to the error they hold (:func:`tile_weights`, :func:`agents.gradient.allocate`), so the
painting has exactly ``strokes`` strokes for any ``strokes_per_step`` (the last step of a tile
keeps only the strokes it still has budget for).

Usage::

    import agents, painters
    from agents.agent_painting import (paint_with_agent, paint_with_agent_and_gradient,
                                       write_painting_outputs)
    from agents.gradient import GradientConfig
    from agents.images import load_image

    model = agents.load_agent("default")          # any SB3 agent with model.env_kwargs
    image = load_image("photo.jpg")                # uint8 (H, W, 3), any size and aspect ratio
    painting = paint_with_agent(image, model, strokes=256)        # painting.canvas: (64, 96, 3)
    write_painting_outputs("out/agent", painting, painters.load_painter("default"))

    # agent + gradient: the agent paints, then gradient descent refines all its strokes
    painting = paint_with_agent_and_gradient(image, model, strokes=256, steps=60)
    # or the gradient painter with the agent proposing each group's first strokes (the
    # paint_images init_fn hook):
    painting = paint_with_agent_and_gradient(image, model, 256, mode="init",
                                             config=GradientConfig(steps=15))

Signatures (stable; ``scripts/paint.py --method agent|agent+gradient`` calls them)::

    paint_with_agent(image, model, strokes, size=None, *, grid=1, levels=None, shares=None,
                     painter=None, device="cpu", seed=0, callback=None) -> Painting
    paint_with_agent_and_gradient(image, model, strokes, *, grid=1, steps=60, lr=0.1,
                                  mode="refine", config=None, levels=None, shares=None,
                                  painter=None, device="cpu", loss_fn=None, real_seed=None,
                                  callback=None) -> Painting
    refine_painting(painting, target, painter, *, steps=60, lr=0.1, loss_fn=None,
                    callback=None) -> Painting
    agent_init_fn(model, painter) -> init_fn(canvas, target, n, size, generator) -> (B, n, 12)
    write_painting_outputs(folder, painting, painter, *, brush=..., render_size=512, seed=0,
                           info=None) -> list[Path]

``Painting`` is the gradient painter's result type (``agents.gradient.Painting``, i.e.
:class:`painters.painting.Painting`: ``actions``, ``local_actions``, ``windows``, ``width``,
``height``, ``canvas``, ``stroke_scale``, ``background``, ``info``, ``history``), so everything
that writes a gradient painting writes an agent painting.

Measured (12 validation photos, 256 strokes, 64 px shorter side; ratio = MSE / MSE of a
16 x 16 flat-colour grid at the painting's size; see ``benchmarks/bench_agent_paint.py``): the
shipped ``default`` agent is far from the target (its strokes are mostly saturated, huge
washes); a model-based agent part-way through training reaches ~1.4. Painting takes ~0.2 s CPU;
the outputs (512 px real-brush re-render, GIF) ~1-2.5 s; ``scripts/paint.py --method agent``
~6-7 s CPU in all, of which ~1.5 s is ``torch._dynamo``, imported by the Adam optimisers that
SB3 builds when ``load_agent`` loads a model (unused for painting).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from painters import actions as A
from painters.compositing import from_uint8, over, to_uint8

TILE = 64
#: Levels of the divide, as divisions of the painter's 64 px tile: 1 = 64 px tiles (the whole
#: image when it is square and ``grid=1``), 2 = 32 px tiles, ...
DEFAULT_LEVELS: tuple[int, ...] = (1, 2, 4)
#: Share of the stroke budget each level gets (same order as the levels). Measured on the 12
#: validation photos at 256 strokes (ratio to a 16 x 16 flat grid, mean; a model-based agent
#: part-way through training / the shipped default agent): (1,): 2.13 / 10.7; (1, 2) 1/4-3/4:
#: 1.53 / 9.7; (1, 2) 1/8-7/8: 1.43; (1, 2, 4) 1/4-1/2-1/4: 1.54 / 5.0; (1, 2, 4)
#: 1/8-5/8-1/4: 1.42 / see benchmarks/bench_agent_paint.py --sweep.
DEFAULT_SHARES: tuple[float, ...] = (0.125, 0.625, 0.25)
#: Called as ``callback(event)`` after every agent step: ``{"level": i, "step": s, "mse": float}``.
Callback = Callable[[dict], None]
#: ``init_fn(canvas (B, 3, 64, 64), target (B, 3, 64, 64), n, size, generator)`` → (B, n, 12).
InitFn = Callable[[torch.Tensor, torch.Tensor, int, float, torch.Generator], torch.Tensor]


# -- the agent's view ------------------------------------------------------------------------
class AgentView:
    """How an SB3 painting agent sees and acts: its canvas size, strokes per step, episode
    length and observation layout, read from ``model.env_kwargs`` and
    ``model.observation_space`` (so any ``Painting-v0`` agent works, Dict or compact obs,
    channel-first or channel-last, any ``strokes_per_step`` and ``max_strokes``)."""

    def __init__(self, model: Any) -> None:
        kw = dict(getattr(model, "env_kwargs", None) or {})
        if not hasattr(model, "predict") or not hasattr(model, "observation_space"):
            raise ValueError("model must be an SB3 model from agents.load_agent (with .predict)")
        self.model = model
        self.k = int(kw.get("strokes_per_step", 1))
        max_strokes = kw.get("max_strokes")
        if max_strokes is None:  # the env's default: 50 rounded up to a multiple of k
            max_strokes = -(-50 // self.k) * self.k
        self.max_strokes = int(max_strokes)
        self.size = int(kw.get("size", 64))
        self.background = tuple(int(c) for c in kw.get("background", (255, 255, 255)))
        space = model.observation_space
        if hasattr(space, "spaces"):
            self.dict_obs = True
            shape = tuple(space["canvas"].shape)
            self.has_step = "step" in space.spaces
        else:
            self.dict_obs = False
            shape = tuple(space.shape)
            self.has_step = shape[0] == 7 or shape[-1] == 7
        self.channel_first = shape[0] in (3, 6, 7) and shape[-1] not in (3, 6, 7)
        side = shape[1] if self.channel_first else shape[0]
        if side != self.size:
            self.size = int(side)
        acts = int(np.prod(model.action_space.shape))
        if acts != A.ACTION_DIM * self.k:
            raise ValueError(
                f"the agent acts with {acts} numbers per step but env_kwargs say "
                f"strokes_per_step={self.k}; load it with agents.load_agent"
            )

    def observe(self, canvas: torch.Tensor, target_u8: np.ndarray, step: np.ndarray):
        """Observations for B tiles: ``canvas`` float (B, 3, s, s) in [0, 1], ``target_u8``
        uint8 (B, s, s, 3), ``step`` (B,) fractions of the episode."""
        c = canvas.detach().cpu().numpy().transpose(0, 2, 3, 1) * np.float32(255.0)
        c = np.rint(c, out=c).clip(0, 255).astype(np.uint8)
        t = target_u8
        if self.dict_obs:
            if self.channel_first:
                c, t = c.transpose(0, 3, 1, 2), t.transpose(0, 3, 1, 2)
            obs = {"canvas": np.ascontiguousarray(c), "target": np.ascontiguousarray(t)}
            if self.has_step:
                obs["step"] = step.astype(np.float32)[:, None]
            return obs
        planes = [c.transpose(0, 3, 1, 2), t.transpose(0, 3, 1, 2)]
        if self.has_step:
            b, s = len(c), self.size
            plane = np.rint(step * 255.0).astype(np.uint8)[:, None, None, None]
            planes.append(np.broadcast_to(plane, (b, 1, s, s)))
        out = np.concatenate(planes, axis=1)
        return np.ascontiguousarray(out if self.channel_first else out.transpose(0, 2, 3, 1))

    def act(self, obs) -> np.ndarray:
        """Deterministic actions for a batch: stroke actions (B, k, 12) in [0, 1], fractions
        of the agent's canvas."""
        action, _ = self.model.predict(obs, deterministic=True)
        action = np.asarray(action, np.float32).reshape(-1, A.ACTION_DIM * self.k)
        return A.from_env_action(action)


# -- tiles -----------------------------------------------------------------------------------
def level_tiles(
    width: int, height: int, division: int, grid: int = 1
) -> list[tuple[int, int, int]]:
    """(left, top, side) px of the tiles of one level on a ``width`` × ``height`` painting whose
    shorter side is ``grid`` 64 px tiles: the gradient painter's tile layout
    (:func:`agents.gradient.tile_windows`) of the same image at ``grid·division`` tiles along
    the shorter side, scaled down by ``division``; tiles of side ``64 / division`` px, evenly
    spread (overlapping where a side is not a multiple of the tile)."""
    from agents.gradient import canvas_size, tile_windows

    if division < 1 or TILE % division:
        raise ValueError(f"level divisions must divide {TILE} (1, 2, 4, 8, ...), got {division}")
    side = TILE // division
    big_w, big_h = canvas_size(width, height, grid * division)
    out = []
    for x, y in tile_windows(big_w, big_h):
        left = min(max(0, round(x / division)), width - side)
        top = min(max(0, round(y / division)), height - side)
        out.append((left, top, side))
    return out


def tile_window(tile: tuple[int, int, int], width: int, height: int) -> tuple[int, int]:
    """(left, top) of the 64 px painting window that holds a tile, centred on it where the
    canvas allows: the window its strokes are drawn and stored in."""
    x, y, side = tile
    wx = min(max(0, x + side // 2 - TILE // 2), width - TILE)
    wy = min(max(0, y + side // 2 - TILE // 2), height - TILE)
    return int(wx), int(wy)


def tile_to_window(
    actions: np.ndarray, tile: tuple[int, int, int], window: tuple[int, int]
) -> np.ndarray:
    """Map stroke actions (..., 12) in fractions of a tile to fractions of its 64 px window:
    points affinely, size shifted by ½·ln(side / 64) so the brush radius keeps its share of
    the tile (clipped to [0, 1], the painter's range)."""
    x, y, side = tile
    wx, wy = window
    out = np.array(actions, dtype=np.float64, copy=True)
    for ix, iy in ((A.CONTROL_X, A.CONTROL_Y), (A.END_X, A.END_Y), (A.START_X, A.START_Y)):
        out[..., ix] = (x - wx + out[..., ix] * side) / TILE
        out[..., iy] = (y - wy + out[..., iy] * side) / TILE
    out[..., A.SIZE] += 0.5 * math.log(side / TILE)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def tile_weights(canvas: torch.Tensor, target: torch.Tensor, tiles: Sequence[tuple]) -> list[float]:
    """Stroke shares of the tiles of a level: the squared error each tile owns (pixels under k
    tiles count 1/k to each) plus a floor of a quarter of the mean, so busy or badly painted
    tiles get more strokes and none gets none."""
    err = (canvas - target).pow(2).sum(0)  # (H, W)
    cover = torch.zeros_like(err)
    for x, y, s in tiles:
        cover[y : y + s, x : x + s] += 1
    owned = err / cover.clamp(min=1)
    w = np.array([float(owned[y : y + s, x : x + s].sum()) for x, y, s in tiles])
    return (w + 0.25 * (w.mean() + 1e-8)).tolist()


def split_budget(strokes: int, shares: Sequence[float]) -> list[int]:
    """Strokes of each level: ``strokes`` split by ``shares`` (largest remainders), adding up to
    exactly ``strokes``."""
    from agents.gradient import allocate

    return allocate(int(strokes), list(shares))


# -- painting --------------------------------------------------------------------------------
def _resize_tiles(x: torch.Tensor, size: int) -> torch.Tensor:
    if x.shape[-1] == size:
        return x
    mode = "area" if x.shape[-1] > size else "bilinear"
    kw = {} if mode == "area" else {"align_corners": False}
    return F.interpolate(x, size=(size, size), mode=mode, **kw).clamp(0.0, 1.0)


def _lay(canvas: torch.Tensor, strokes: torch.Tensor, windows: Sequence[tuple[int, int]]) -> None:
    """Composite strokes (N, 4, 64, 64) in order over ``canvas`` (3, H, W) at their windows, in
    place: the same operations as :func:`painters.replaying.replay_windows`."""
    for (x, y), s in zip(windows, strokes, strict=True):
        view = canvas[:, y : y + TILE, x : x + TILE]
        view.copy_(over(view[None], s[None])[0])


@torch.no_grad()
def paint_with_agent(
    image: np.ndarray,
    model: Any,
    strokes: int,
    size: int | None = None,
    *,
    grid: int = 1,
    levels: Sequence[int] | None = None,
    shares: Sequence[float] | None = None,
    painter: torch.nn.Module | None = None,
    device: str | torch.device = "cpu",
    seed: int = 0,
    callback: Callback | None = None,
):
    """Paint ``image`` (uint8 (H, W, 3), any size and aspect ratio) with ``strokes`` strokes of
    the agent ``model`` (from :func:`agents.load_agent`); returns an
    ``agents.gradient.Painting`` of the image at ``canvas_size(W, H, grid)`` px.

    Args:
        image: the target, uint8 RGB.
        model: SB3 agent with ``env_kwargs`` (strokes per step, episode length, canvas size).
        strokes: total strokes of the painting (split across levels by ``shares``).
        size: the agent's canvas side in px; ``None`` (default) reads it from the agent (it
            must match its observation space).
        grid: 64 px tiles along the painting's shorter side (the painting is 64·grid px there).
        levels: divisions of the 64 px tile, coarse first (default :data:`DEFAULT_LEVELS`).
        shares: share of ``strokes`` per level (default :data:`DEFAULT_SHARES`).
        painter: neural painter drawing the strokes (default: the bundled ``default``).
        device: torch device for the painter (the agent stays on its own device).
        seed: kept for a uniform interface; the agent acts deterministically, so the same
            image, agent and arguments always give the same painting.
        callback: called after every step with ``{"level", "step", "mse"}``.
    """
    from agents.gradient import Painting, canvas_size, to_global
    from agents.images import resize
    from painters.loading import load_painter, resolve_device

    del seed
    img = np.asarray(image)
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3 or min(img.shape[:2]) < 1:
        raise ValueError(
            f"image must be uint8 RGB (H, W, 3), got {img.dtype} {img.shape}; "
            "load it with agents.images.load_image"
        )
    if int(strokes) < 1:
        raise ValueError(f"strokes must be at least 1, got {strokes}")
    view = AgentView(model)
    if size is not None and int(size) != view.size:
        raise ValueError(
            f"this agent observes {view.size} px canvases, not size={size}; leave size unset"
        )
    levels = tuple(DEFAULT_LEVELS if levels is None else (int(d) for d in levels))
    if shares is None:
        shares = DEFAULT_SHARES if levels == DEFAULT_LEVELS else (1.0,) * len(levels)
    if len(shares) != len(levels) or not levels or min(shares) < 0 or sum(shares) <= 0:
        raise ValueError("give one non-negative share per level, e.g. levels=(1, 2), shares=(1, 3)")
    dev = resolve_device(device)
    painter = painter if painter is not None else load_painter("default", dev)
    pdev = next(iter(painter.parameters()), torch.empty(0)).device
    if getattr(painter, "size", TILE) != TILE:
        raise ValueError(f"the painter must draw {TILE} px strokes (the default painter does)")

    width, height = canvas_size(img.shape[1], img.shape[0], grid)
    target_u8 = resize(img, width, height)
    target = from_uint8(target_u8, pdev)
    bg = torch.tensor(view.background, dtype=torch.float32, device=pdev).view(3, 1, 1) / 255.0
    canvas = bg.expand(3, height, width).clone()
    local: list[np.ndarray] = []
    wins: list[tuple[int, int]] = []
    history: list[float] = []

    for li, (division, n_level) in enumerate(
        zip(levels, split_budget(strokes, shares), strict=True)
    ):
        if n_level == 0:
            continue
        tiles = level_tiles(width, height, division, grid)
        counts = _allocate(n_level, tile_weights(canvas, target, tiles))
        windows = [tile_window(t, width, height) for t in tiles]
        tgt_tiles = torch.stack([target[:, y : y + s, x : x + s] for x, y, s in tiles])
        tgt_obs = to_uint8(_resize_tiles(tgt_tiles, view.size))
        steps = -(-max(counts) // view.k)
        done = np.zeros(len(tiles), np.int64)
        for step in range(steps):
            active = [i for i, c in enumerate(counts) if c > done[i]]
            crops = torch.stack(
                [canvas[:, y : y + s, x : x + s] for x, y, s in (tiles[i] for i in active)]
            )
            frac = np.array([_step_fraction(done[i], counts[i], view) for i in active], np.float32)
            obs = view.observe(_resize_tiles(crops, view.size), tgt_obs[active], frac)
            acts = view.act(obs)  # (B, k, 12), tile fractions
            new_local, new_wins = [], []
            for j, i in enumerate(active):
                keep = min(view.k, counts[i] - int(done[i]))
                new_local.append(tile_to_window(acts[j, :keep], tiles[i], windows[i]))
                new_wins += [windows[i]] * keep
                done[i] += keep
            la = np.concatenate(new_local)
            drawn = painter(torch.from_numpy(la).to(pdev)).float()
            _lay(canvas, drawn, new_wins)
            local.append(la)
            wins += new_wins
            history.append(float((canvas - target).pow(2).mean()))
            if callback is not None:
                callback({"level": li, "division": division, "step": step, "mse": history[-1]})

    la = np.concatenate(local) if local else np.zeros((0, A.ACTION_DIM), np.float32)
    wi = np.asarray(wins, np.int64).reshape(-1, 2)
    return Painting(
        actions=to_global(la, wi, width, height), local_actions=la, windows=wi,
        width=width, height=height, canvas=to_uint8(canvas), stroke_scale=TILE / min(width, height),
        background=view.background, history=history,
        info={"made_by": "agents.agent_painting.paint_with_agent", "levels": list(levels),
              "shares": [float(s) for s in shares], "strokes_per_step": view.k},
    )  # fmt: skip


def _allocate(total: int, weights: Sequence[float]) -> list[int]:
    from agents.gradient import allocate

    return allocate(int(total), list(weights))


def _step_fraction(done: int, count: int, view: AgentView) -> float:
    """The episode progress the agent is told for a tile that has ``done`` of its ``count``
    strokes: its own count from 0, as in a fresh episode, held at the last step the agent was
    trained on when a tile gets more strokes than an episode has. (Aligning a tile's strokes
    with the *end* of the episode instead, where agents paint details, measured 3x worse.)"""
    del count
    last = (view.max_strokes - view.k) / view.max_strokes
    return min(done / view.max_strokes, last)


# -- agent + gradient ------------------------------------------------------------------------
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
            for j in range(acts.shape[1]):
                canvas = over(canvas, drawn[:, j])
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
    mode: str = "refine",
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

    ``mode="refine"`` (default): the agent paints (:func:`paint_with_agent`, ``levels`` and
    ``shares``), then gradient descent refines all its strokes jointly for ``steps`` steps
    (:func:`refine_painting`, ``lr``); never worse than the agent's painting in practice, and
    cheap when ``steps`` is small. ``mode="init"``: the gradient painter
    (:func:`agents.gradient.paint_images` with ``config``, a ``GradientConfig`` whose
    ``strokes`` is replaced) with each group's initial strokes proposed by the agent
    (:func:`agent_init_fn`) instead of sampled where the error is largest.

    ``real_seed``: also fit the colours for the real brush's re-render with that seed (the
    gradient painter's last step, :func:`agents.gradient.finish_colours`; needs libmypaint,
    skipped without it)."""
    from dataclasses import replace

    from agents.gradient import GradientConfig, canvas_size, finish_colours, paint_images, to_global
    from agents.images import resize
    from painters.loading import load_painter, resolve_device

    img = np.asarray(image)
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(
            f"image must be uint8 RGB (H, W, 3), got {img.dtype} {img.shape}; "
            "load it with agents.images.load_image"
        )
    if mode not in ("refine", "init"):
        raise ValueError(f"mode must be 'refine' or 'init', got {mode!r}")
    painter = painter if painter is not None else load_painter("default", resolve_device(device))
    cfg = replace(config or GradientConfig(), strokes=int(strokes))
    width, height = canvas_size(img.shape[1], img.shape[0], grid)
    target = resize(img, width, height)
    if mode == "init":
        return paint_images(
            painter, [target], cfg, loss_fn=loss_fn, real_seed=real_seed, callback=callback,
            init_fn=agent_init_fn(model, painter),
        )[0]  # fmt: skip
    painting = paint_with_agent(img, model, strokes, grid=grid, levels=levels, shares=shares,
                                painter=painter)  # fmt: skip
    painting = refine_painting(painting, target, painter, steps=steps, lr=lr, loss_fn=loss_fn,
                               callback=callback)  # fmt: skip
    if real_seed is not None and len(painting.actions):
        pdev = next(iter(painter.parameters()), torch.empty(0)).device
        local, finished = finish_colours(
            painter, painting.local_actions, painting.windows, from_uint8(target, pdev),
            replace(cfg, background=painting.background), real_seed,
        )  # fmt: skip
        if finished is not None:
            painting.local_actions = np.clip(local, 0.0, 1.0).astype(np.float32)
            painting.actions = to_global(painting.local_actions, painting.windows, width, height)
            painting.canvas = to_uint8(finished)
    painting.info = {**painting.info, "made_by": "agents.agent_painting (agent + gradient)"}
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
            group["lr"] = lr * (0.1 + 0.45 * (1 + math.cos(math.pi * step / max(1, steps))))
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
                      "loss": history[-1], "canvas": None})  # fmt: skip
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


# -- outputs ---------------------------------------------------------------------------------
def write_painting_outputs(
    folder: str | os.PathLike,
    painting: Any,
    painter: torch.nn.Module,
    *,
    brush: str | None = None,
    render_size: int = 512,
    seed: int = 0,
    info: dict | None = None,
) -> list[Path]:
    """Write what ``scripts/paint.py`` writes for a painting: painting.png (the neural canvas),
    strokes.npz / strokes.json / painting.svg, painting_real.png (the real brush, longer side
    ``render_size``; skipped without libmypaint) and animation.gif (stroke by stroke). Files are
    written into a temporary folder beside ``folder`` and moved in at the end, so a failure
    leaves nothing half-written. Returns the paths written."""
    import shutil
    import tempfile

    from agents.animation import frame_indices, write_gif
    from agents.export import write_stroke_files
    from agents.images import save_png
    from painters.export import render_painting
    from painters.replaying import replay_windows

    out = Path(folder)
    out.parent.mkdir(parents=True, exist_ok=True)
    if brush is not None:
        painting.brush = str(brush)
    painting.info = {**(painting.info or {}), **(info or {}), "render_seed": int(seed)}
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
    try:
        save_png(painting.canvas, tmp / "painting.png")
        write_stroke_files(painting, tmp)
        try:
            w, h = painting.output_size(render_size)
            real = render_painting(painting, "mypaint", width=w, height=h, seed=seed)
            save_png(real, tmp / "painting_real.png")
        except (OSError, RuntimeError, ImportError):
            pass  # no libmypaint: the neural painting and the strokes stand on their own
        at = frame_indices(len(painting.actions))
        _, frames = replay_windows(
            painter, painting.local_actions, painting.windows, painting.width, painting.height,
            painting.background, frames_at=at,
        )  # fmt: skip
        blank = np.full_like(painting.canvas, 255)
        blank[:] = np.asarray(painting.background, np.uint8)
        scale = max(1, 128 // min(painting.width, painting.height))
        write_gif([blank, *frames], tmp / "animation.gif", scale=scale)
        out.mkdir(parents=True, exist_ok=True)
        names = sorted(f.name for f in tmp.iterdir())
        for name in names:
            os.replace(tmp / name, out / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return [out / n for n in names]
