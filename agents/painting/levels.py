"""The core of painting with an agent (re-exported by :mod:`agents.painting`, whose
docstring explains the design): how an SB3 agent sees and acts (:class:`AgentView`), the tiles of
each level of the divide and how a tile's strokes map into its 64 px window, and
:func:`paint_with_agent`, which paints level by level, all tiles of a level in one batch."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from painters import actions as A
from painters.compositing import from_uint8, over, to_uint8
from painting_env.observation import encode_observation

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
#: Share of the strokes laid over the tile boundaries by gradient descent, and its steps (see
#: :mod:`agents.gradient.seams`; measured in ``docs/SEAMS.md``).
SEAM_SHARE = 0.1
SEAM_STEPS = 20
#: Called as ``callback(event)`` after every agent step: ``{"level": i, "step": s, "mse": float}``.
Callback = Callable[[dict], None]
#: ``init_fn(canvas (B, 3, 64, 64), target (B, 3, 64, 64), n, size, generator)`` → (B, n, 12).
InitFn = Callable[[torch.Tensor, torch.Tensor, int, float, torch.Generator], torch.Tensor]


# -- the agent's view ------------------------------------------------------------------------
class AgentView:
    """How an SB3 painting agent sees and acts: its canvas size, strokes per step, episode
    length and observation layout, read from ``model.env_kwargs`` and
    ``model.observation_space`` (so any ``Painting-v0`` agent works, Dict or compact obs,
    channel-first or channel-last, any ``strokes_per_step`` and ``max_strokes``). A planning
    agent acts with ``plan_steps`` planning steps (default 0: its actor alone, whatever its
    own ``plan_steps``), so paintings of thousands of strokes stay fast unless asked."""

    def __init__(self, model: Any, plan_steps: int = 0) -> None:
        kw = dict(getattr(model, "env_kwargs", None) or {})
        if not hasattr(model, "predict") or not hasattr(model, "observation_space"):
            raise ValueError("model must be an SB3 model from agents.load_agent (with .predict)")
        if int(plan_steps) < 0:
            raise ValueError(f"plan_steps must be >= 0, got {plan_steps}")
        #: planning steps per agent step (a ``ThroughPainter``'s ``predict(plan_steps=...)``);
        #: ``None`` for agents that cannot plan
        self.plan_steps: int | None = int(plan_steps) if hasattr(model, "plan_steps") else None
        if plan_steps and self.plan_steps is None:
            raise ValueError(
                f"planning needs a through-painter agent (such as the default), this one is "
                f"{type(model).__name__}: use plan_steps=0"
            )
        self.model = model
        #: what planning draws with (:class:`agents.rl.planning.PlanningModel`; None: the
        #: agent's env painter); a painting sets it to the painter it draws with
        self.planner: Any = None
        #: the actor's own action, however the agent plans by default
        self._bare = {} if self.plan_steps is None else {"plan_steps": 0}
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
        uint8 (B, s, s, 3), ``step`` (B,) fractions of the episode; encoded by the env's own
        encoder in this agent's layout."""
        return encode_observation(
            canvas,
            target_u8,
            step if self.has_step else None,
            "dict" if self.dict_obs else "compact",
            channel_first=self.channel_first,
        )

    def act(self, obs, strokes: np.ndarray | None = None) -> np.ndarray:
        """Deterministic actions for a batch: stroke actions (B, k, 12) in [0, 1], fractions
        of the agent's canvas; ``strokes`` (B,): how many of each row's strokes will be painted
        (what a planning agent plans for; default all)."""
        action, _ = self.model.predict(obs, deterministic=True, **self._bare)
        if self.plan_steps:
            counts = np.full(len(action), self.k) if strokes is None else np.asarray(strokes)
            for n in np.unique(counts):  # rows that paint the same number of strokes
                rows = np.flatnonzero(counts == n)
                sub = {key: v[rows] for key, v in obs.items()} if self.dict_obs else obs[rows]
                action[rows] = self.model.plan(
                    sub, action[rows], self.plan_steps, int(n), planner=self.planner
                )
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
    seam_share: float | None = None,
    seam_steps: int = SEAM_STEPS,
    fit_colours: bool = True,
    plan_steps: int = 0,
):
    """Paint ``image`` (uint8 (H, W, 3), any size and aspect ratio) with ``strokes`` strokes:
    the agent ``model`` paints the levels (:func:`paint_levels`, which documents the other
    arguments), then, where the painting has several working tiles, ``seam_share`` of the
    strokes (default :data:`SEAM_SHARE`) are laid by gradient descent over the lines where tiles
    meet, ``seam_steps`` steps (:func:`agents.gradient.seams.paint_seams`), so the tiles do not
    show. Last, with ``fit_colours`` (default), every stroke's colour is fitted to the target by
    least squares over the whole canvas (:func:`agents.painting.colours.fit_colours`, with a
    penalty on the error's jump across the tile boundaries where there are several tiles).
    ``callback`` also gets ``{"stage": "seams", "step", "steps", "loss"}`` events, then one
    ``{"phase": "colours", "mse"}``. ``plan_steps`` > 0 lets a planning agent refine each
    step's strokes through the painter (:func:`paint_levels`). Same arguments, same painting."""
    from agents.gradient import canvas_size
    from agents.gradient.seams import paint_seams, seam_strokes

    share = SEAM_SHARE if seam_share is None else float(seam_share)
    img = np.asarray(image)
    n_seam = 0
    if img.ndim == 3 and min(img.shape[:2]) >= 1 and int(strokes) > 1:
        w, h = canvas_size(img.shape[1], img.shape[0], grid)
        n_seam = seam_strokes(int(strokes), share, w, h)
    painting, canvas = _paint_levels(
        image, model, int(strokes) - n_seam, size, grid=grid, levels=levels, shares=shares,
        painter=painter, device=device, seed=seed, callback=callback, plan_steps=plan_steps,
    )  # fmt: skip
    from painters.images import prepare_target
    from painters.loading import load_painter, resolve_device

    painter = painter if painter is not None else load_painter("default", resolve_device(device))
    target = prepare_target(img, painting.width, painting.height)
    if n_seam > 0:
        painting = paint_seams(painting, target, painter, n_seam, steps=seam_steps, seed=seed,
                               callback=callback, canvas=canvas)  # fmt: skip
    if not fit_colours:
        return painting
    from agents.painting.colours import COLOUR_JUMP_WEIGHT
    from agents.painting.colours import fit_colours as fit

    painting = fit(painting, target, painter, jump_weight=COLOUR_JUMP_WEIGHT if n_seam else 0.0)
    if callback is not None:
        mse = float(np.mean((painting.canvas / 255.0 - target / 255.0) ** 2))
        callback({"phase": "colours", "total": 1, "advance": 1, "unit": "fit", "mse": mse})
    return painting


def paint_levels(*args, **kwargs):
    """The agent's painting alone, level by level, no seam strokes (:func:`_paint_levels`)."""
    return _paint_levels(*args, **kwargs)[0]


@torch.no_grad()
def _paint_levels(
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
    plan_steps: int = 0,
):
    """(painting, float canvas (3, H, W)): paint ``image`` (uint8 (H, W, 3), any size and aspect
    ratio) with ``strokes`` strokes of the agent ``model`` (from :func:`agents.load_agent`); returns an
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
        callback: called after every step with ``{"level", "step", "mse"}``, the canvas so far
            (``"canvas"``, (1, 3, H, W), valid during the call: the frames of an animation)
            and, for progress bars (:mod:`agents.painting.progress`), ``{"phase": "agent", "total",
            "advance"}`` in strokes.
        plan_steps: a planning agent's Adam steps through the painter per agent step
            (:mod:`agents.rl.planning`; 0: the actor alone).
    """
    from agents.gradient import Painting, canvas_size, to_global
    from agents.gradient.multibrush import is_multi
    from painters.images import prepare_target
    from painters.loading import load_painter, resolve_device

    del seed
    img = np.asarray(image)
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3 or min(img.shape[:2]) < 1:
        raise ValueError(
            f"image must be uint8 RGB (H, W, 3), got {img.dtype} {img.shape}; "
            "load it with painters.images.load_image"
        )
    if int(strokes) < 1:
        raise ValueError(f"strokes must be at least 1, got {strokes}")
    view = AgentView(model, plan_steps)
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
    if view.plan_steps and not is_multi(painter):
        from agents.rl.planning import PlanningModel

        view.planner = PlanningModel.from_painter(painter)  # plan with what will be drawn

    width, height = canvas_size(img.shape[1], img.shape[0], grid)
    target_u8 = prepare_target(img, width, height)
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
            keeps = [min(view.k, counts[i] - int(done[i])) for i in active]
            acts = view.act(obs, np.array(keeps))  # (B, k, 12), tile fractions
            new_local, new_wins = [], []
            for j, i in enumerate(active):
                keep = keeps[j]
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
                callback({"level": li, "division": division, "step": step, "mse": history[-1],
                          "phase": "agent", "total": int(strokes), "advance": len(la),
                          "unit": "stroke", "canvas": canvas[None]})  # fmt: skip

    la = np.concatenate(local) if local else np.zeros((0, A.ACTION_DIM), np.float32)
    wi = np.asarray(wins, np.int64).reshape(-1, 2)
    painting = Painting(
        actions=to_global(la, wi, width, height), local_actions=la, windows=wi,
        width=width, height=height, canvas=to_uint8(canvas), stroke_scale=TILE / min(width, height),
        background=view.background, history=history,
        info={"made_by": "agents.painting.paint_with_agent", "levels": list(levels),
              "shares": [float(s) for s in shares], "strokes_per_step": view.k,
              "plan_steps": int(view.plan_steps or 0)},
    )  # fmt: skip
    return painting, canvas


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
