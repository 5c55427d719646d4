"""The batched painting state shared by :class:`PaintingEnv` (batch 1) and
:class:`PaintingVectorEnv` (batch N).

Both envs run the same code on the same tensors, so a sub-env of the vector env and a single env
with the same seed draw the same target, paint the same strokes and earn the same rewards. The
canvas stays a torch tensor on ``device`` the whole episode; the only host transfers per step
are the actions in, and the observation and distances out.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces

from painters.actions import ACTION_DIM, from_env_action
from painters.compositing import blank_canvas, from_uint8, over_in_place
from painters.distances import NUMPY_DISTANCES, get_distance
from painters.loading import load_painter, painter_name_for, resolve_device
from painting_env.config import PaintingConfig
from painting_env.limits import check_env_numbers
from painting_env.observation import (
    canvas_to_uint8,
    canvas_to_uint8_into,
    encode_observation,
    observation_space,
)
from painting_env.targets import TargetSet

#: Upper bound of the per-episode stroke index base drawn for real renderers' texture seeds.
STROKE_BASE_RANGE = 2**31
#: Most rows of a batch processed together in a step (painter, compositing, distance, the
#: observation's uint8 canvas): few enough that their temporaries stay in cache, so 1,024
#: envs cost no more per stroke than 256, and enough to spread the painter's per-call cost.
ROW_CHUNK = 128
#: Up to this many strokes per step on the CPU, the default painter, compositing and distance
#: run in numpy, whose per-operation cost is a fraction of torch's (the single env's case).
NUMPY_STROKES = 4

#: Rows per thread below which a reset draws its targets on the calling thread.
RESET_ROWS = 16

_POOL: ThreadPoolExecutor | None = None
_POOL_KEY = (0, 0)  # (process id, workers) of _POOL
_POOL_LOCK = threading.Lock()


def _one_torch_thread() -> None:
    torch.set_num_threads(1)  # per worker: its chunk's operations run on this thread alone


def _row_pool(workers: int) -> ThreadPoolExecutor:
    """The process's pool of threads that step chunks of rows (grown on demand, shared by all
    envs). Each worker runs its torch operations single-threaded; torch releases the GIL
    inside each operation, so the workers' chunks run side by side."""
    global _POOL, _POOL_KEY
    with _POOL_LOCK:
        pid, size = _POOL_KEY
        if pid != os.getpid():  # a forked child has none of its parent's threads
            _POOL, size = None, 0
        if _POOL is None or size < workers:
            if _POOL is not None:
                _POOL.shutdown(wait=False)
            _POOL = ThreadPoolExecutor(
                workers, thread_name_prefix="painting-env", initializer=_one_torch_thread
            )
            _POOL_KEY = (os.getpid(), workers)
        return _POOL


def _run_parallel(workers: int, fn, jobs: list[tuple]) -> None:
    """``fn(*args)`` for each of ``jobs`` on the row pool; returns when all are done and
    raises the first error."""
    threads = torch.get_num_threads()
    futures = [_row_pool(workers).submit(fn, *args) for args in jobs]
    try:
        wait(futures)
        for f in futures:
            f.result()
    finally:
        # a worker's set_num_threads(1) also sets the default of threads not yet started
        torch.set_num_threads(threads)


class StrokeSource:
    """Actions (M, 12) in [0, 1] on ``device`` → straight-alpha strokes (M, 4, S, S) float.

    ``renderer`` is ``"neural"`` (the bundled default painter), ``"mypaint"``, ``"simple"``, a
    painter folder or bundled name, a :class:`torch.nn.Module` (B, 12) → (B, 4, s, s), or a
    :class:`painters.renderers.Renderer`. Real renderers draw each stroke with its global
    ``index`` so its texture is reproducible; neural painters ignore the index.
    """

    def __init__(self, renderer, size: int, device: torch.device, brush: str) -> None:
        from painters.renderers import Renderer
        from painters.rendering import resolve_renderer

        self.size, self.device = size, device
        self.real: Renderer | None = None
        self.painter: torch.nn.Module | None = None
        self.clamp = False
        r = resolve_renderer(renderer, size, brush=brush, seed=0, device=device)
        if isinstance(r, Renderer):
            if r.size != size:
                raise ValueError(f"renderer draws {r.size} px strokes but size={size}")
            self.real = r
        elif not hasattr(r, "save_pretrained"):
            self.painter = r.to(device).eval()
            self.clamp = True  # an arbitrary module may leave [0, 1]
        else:
            self.painter = load_painter(r, device)
        self.name = self.real.name if self.real is not None else "neural"
        p = self.painter
        #: The painter draws alpha maps of this size directly (colour = the action's).
        self.alpha_only = (
            p is not None
            and not self.clamp
            and hasattr(p, "paint_alpha")
            and not getattr(p, "stochastic", False)
            and getattr(p, "size", None) == size
        )
        self.numpy_ok = (
            self.alpha_only
            and device.type == "cpu"
            and hasattr(p, "paint_alpha_numpy")
            and getattr(p, "head1", None) is None
        )

    def __call__(self, actions: torch.Tensor, indices: np.ndarray) -> torch.Tensor:
        if self.painter is not None:
            if getattr(self.painter, "stochastic", False):
                from painters.models.textured import noise_for_indices

                # texture noise seeded by each stroke's number, which the env draws from its
                # np_random: same seed → same episode
                noise = noise_for_indices(self.painter, indices, actions.device)
                strokes = self.painter(actions, noise=noise)
            else:
                strokes = self.painter(actions)
            if strokes.shape[-1] != self.size or strokes.shape[-2] != self.size:
                strokes = F.interpolate(
                    strokes, size=(self.size, self.size), mode="bilinear", antialias=True
                )
                return strokes.clamp_(0.0, 1.0)
            return strokes.clamp(0.0, 1.0) if self.clamp else strokes
        acts = actions.detach().cpu().numpy()
        out = np.empty((len(acts), self.size, self.size, 4), np.uint8)
        for j in range(len(acts)):
            out[j] = self.real.render(acts[j : j + 1], start_index=int(indices[j]))[0]
        return from_uint8(out, self.device)


class PaintingCore:
    """State and rules of B independent paintings (see the env docstrings for the spec)."""

    def __init__(self, batch: int, config: PaintingConfig) -> None:
        self.config = config
        # whole numbers within bounds and the memory they imply within the budget
        self.batch, *_ = check_env_numbers(
            batch, config.size, config.max_strokes, config.strokes_per_step
        )
        self.size, self.k = config.size, config.strokes_per_step
        self.max_strokes = config.max_strokes
        self.obs_mode = config.obs_mode
        self.device = resolve_device(config.device)
        self.background = config.background
        self.distance_name = config.distance
        self.distance = get_distance(config.distance)
        source = config.target if config.target is not None else config.targets
        self.targets = TargetSet(source, self.size, random_crop=config.random_crop)
        #: brush names when each stroke picks its brush (12 + K action values), else None
        self.brushes = config.brushes
        if self.brushes is None:
            self.source = StrokeSource(config.renderer, self.size, self.device, config.brush)
            self.sources = [self.source]
        else:  # one source per brush: its bundled painter, or MyPaint with that brush
            self.sources = [
                StrokeSource(
                    config.renderer if config.renderer == "mypaint" else painter_name_for(b),
                    self.size,
                    self.device,
                    b,
                )
                for b in self.brushes
            ]
            self.source = self.sources[0]
        #: action values per stroke: 12, plus one per brush when the stroke picks its brush
        self.width = ACTION_DIM + (len(self.brushes) if self.brushes else 0)

        b, s, k = self.batch, self.size, self.k
        self.blank = blank_canvas(1, s, self.background, device=self.device)
        self.canvas = self.blank.expand(b, 3, s, s).clone()
        self.target = torch.zeros(b, 3, s, s, device=self.device)
        self.target_u8 = np.zeros((b, s, s, 3), np.uint8)
        self.count = np.zeros(b, np.int64)
        self.stroke_base = np.zeros(b, np.int64)
        self.dist = np.zeros(b, np.float64)
        self.actions = np.zeros((b, self.max_strokes, ACTION_DIM), np.float32)
        self.brush_idx = np.zeros((b, self.max_strokes), np.int64)
        self._rows_k = np.repeat(np.arange(b), k)
        self._offs_k = np.tile(np.arange(k), b)
        # small CPU batches run in numpy on views of the same memory as the torch tensors
        self._numpy = (
            self.brushes is None
            and self.source.numpy_ok
            and b * k <= NUMPY_STROKES
            and config.distance in NUMPY_DISTANCES
        )
        if self._numpy:
            self._canvas_np, self._target_np = self.canvas.numpy(), self.target.numpy()
            self._distance_np = NUMPY_DISTANCES[config.distance]
        # larger CPU batches convert each chunk's canvas to the observation's uint8 while it is
        # in cache; chunks of the default painter's strokes run on several threads
        self._fused = not self._numpy and self.device.type == "cpu"
        self._parallel = self._fused and self.brushes is None and self.source.alpha_only
        #: uint8 canvases (B, 3, H, W) of the current state (fused only); never written once
        #: handed out by :meth:`observe` (a reset copies them first)
        self._canvas_u8: np.ndarray | None = None
        self._u8_out = False
        if self._fused:
            self._blank_u8 = canvas_to_uint8(self.blank.numpy()).transpose(0, 3, 1, 2)
            self._canvas_u8 = np.broadcast_to(self._blank_u8, (b, 3, s, s)).copy()

    # -- spaces ----------------------------------------------------------------------------
    def observation_space(self) -> spaces.Space:
        return observation_space(self.size, self.obs_mode)

    def action_space(self) -> spaces.Box:
        return spaces.Box(-1.0, 1.0, (self.width * self.k,), np.float32)

    # -- episode ---------------------------------------------------------------------------
    @torch.inference_mode()
    def reset(self, rows: np.ndarray, rngs: Sequence[np.random.Generator]) -> None:
        """Start new paintings in ``rows``, drawing each target with the matching generator."""
        pairs = list(zip(rows, rngs, strict=True))
        workers = min(torch.get_num_threads(), len(pairs) // RESET_ROWS) if self._parallel else 1
        if workers > 1:  # each row draws from its own generator: any split gives the same
            _run_parallel(
                workers, self._draw_targets, [(pairs[j::workers],) for j in range(workers)]
            )
        else:
            self._draw_targets(pairs)
        idx = torch.as_tensor(rows, device=self.device)
        tu8 = torch.from_numpy(self.target_u8[rows]).to(self.device).permute(0, 3, 1, 2)
        self.target[idx] = tu8.float() / 255.0
        self.canvas[idx] = self.blank
        if self._canvas_u8 is not None:
            if self._u8_out:  # the handed-out observation keeps its canvases
                self._canvas_u8, self._u8_out = self._canvas_u8.copy(), False
            self._canvas_u8[rows] = self._blank_u8
        self.count[rows] = 0
        if self._numpy:
            self.dist[rows] = self._distance_np(self._canvas_np[rows], self._target_np[rows])
        else:  # the canvases are blank: no need to gather them; chunks keep temporaries small
            for lo in range(0, len(rows), ROW_CHUNK):
                target = self.target[idx[lo : lo + ROW_CHUNK]]
                d = self.distance(self.blank.expand_as(target), target)
                self.dist[rows[lo : lo + ROW_CHUNK]] = d.double().cpu().numpy()

    def _draw_targets(self, pairs: list[tuple[int, np.random.Generator]]) -> None:
        for i, rng in pairs:
            self.target_u8[i] = self.targets.sample(rng)
            self.stroke_base[i] = int(rng.integers(STROKE_BASE_RANGE))

    def step(self, action) -> np.ndarray:
        """Paint one env action per row; return the rewards (previous − new distance)."""
        a = np.asarray(action, dtype=np.float32)
        want = (self.batch, self.width * self.k)
        if a.size != want[0] * want[1]:
            raise ValueError(
                f"action must have {want[1]} numbers per env ({self.width} per stroke × "
                f"strokes_per_step {self.k}), got shape {tuple(a.shape)}"
            )
        if int(self.count.max()) + self.k > self.max_strokes:
            raise RuntimeError("the episode is over (max_strokes painted); call reset()")
        cols = self.count[self._rows_k] + self._offs_k  # stroke number within the episode
        brush = None
        if self.brushes is None:
            strokes = from_env_action(a.reshape(want)).reshape(-1, ACTION_DIM)  # (B·k, 12)
        else:  # (B·k, 12 + K): the stroke, then one value per brush (the largest wins)
            per = a.reshape(-1, self.width)
            strokes = from_env_action(per[:, :ACTION_DIM]).reshape(-1, ACTION_DIM)
            picks = per[:, ACTION_DIM:]
            if not np.all(np.isfinite(picks)):
                raise ValueError(
                    "env action contains NaN or inf; every action value must be finite"
                )
            brush = np.clip(picks, -1.0, 1.0).argmax(1)  # ties at the edge: the first brush
            self.brush_idx[self._rows_k, cols] = brush
        self.actions[self._rows_k, cols] = strokes
        indices = self.stroke_base[self._rows_k] + cols  # real renderers' texture seeds
        if self._numpy:  # numpy on the tensors' memory: no torch call, no inference mode
            new = self._step_numpy(strokes)
        else:
            new = self._step_chunks(strokes, indices, brush)
        self.count += self.k
        reward = self.dist - new
        self.dist = new
        return reward

    def _step_numpy(self, strokes: np.ndarray) -> np.ndarray:
        b, k, s = self.batch, self.k, self.size
        alpha = self.source.painter.paint_alpha_numpy(strokes).reshape(b, k, 1, s, s)
        colour = strokes.reshape(b, k, ACTION_DIM)[:, :, 6:9, None, None]
        canvas = self._canvas_np
        for j in range(k):
            a = alpha[:, j]
            canvas *= np.float32(1.0) - a
            canvas += colour[:, j] * a
        return self._distance_np(canvas, self._target_np).astype(np.float64)

    def _step_chunks(
        self, strokes: np.ndarray, indices: np.ndarray, brush: np.ndarray | None
    ) -> np.ndarray:
        """Paint every row in chunks of :data:`ROW_CHUNK`; return the new distances. On the
        CPU each chunk also writes its rows of a fresh uint8 canvas for the observation, and
        with the default painter the chunks are spread over ``torch.get_num_threads()``
        threads (one torch thread each: whole chunks in parallel instead of each operation)."""
        new = np.empty(self.batch, np.float64)
        u8 = None
        if self._fused:
            self._canvas_u8 = np.empty((self.batch, 3, self.size, self.size), np.uint8)
            self._u8_out = False
            u8 = torch.from_numpy(self._canvas_u8)
        threads = torch.get_num_threads() if self._parallel else 1
        per = min(ROW_CHUNK, -(-self.batch // threads))  # at least one chunk per thread
        chunks = [(lo, min(lo + per, self.batch)) for lo in range(0, self.batch, per)]
        workers = min(threads, len(chunks))
        if workers == 1:
            for lo, hi in chunks:
                self._step_rows(lo, hi, strokes, indices, brush, new, u8)
            return new
        jobs = [(lo, hi, strokes, indices, None, new, u8) for lo, hi in chunks]
        _run_parallel(workers, self._step_rows, jobs)
        return new

    def _step_rows(
        self,
        lo: int,
        hi: int,
        strokes: np.ndarray,
        indices: np.ndarray,
        brush: np.ndarray | None,
        new: np.ndarray,
        u8: torch.Tensor | None,
    ) -> None:
        """Paint rows lo:hi; write their distances into ``new`` and, when given, their uint8
        canvases into ``u8``."""
        with torch.inference_mode():
            self._paint_rows(lo, hi, strokes, indices, brush)
            canvas, target = self.canvas[lo:hi], self.target[lo:hi]
            if u8 is None:
                new[lo:hi] = self.distance(canvas, target).double().cpu().numpy()
                return
            scratch = torch.empty_like(canvas)
            new[lo:hi] = _fused_distance(self.distance_name, self.distance, canvas, target, scratch)
            canvas_to_uint8_into(canvas, u8[lo:hi], scratch)

    def _paint_rows(
        self, lo: int, hi: int, strokes: np.ndarray, indices: np.ndarray, brush: np.ndarray | None
    ) -> None:
        n, k, s = hi - lo, self.k, self.size
        acts = torch.from_numpy(strokes[lo * k : hi * k]).to(self.device)
        canvas = self.canvas[lo:hi]
        if brush is not None:  # each stroke through its brush's source, laid in order
            pick, idx = brush[lo * k : hi * k], indices[lo * k : hi * k]
            rgba = torch.empty(n * k, 4, s, s, device=self.device)
            for j in np.unique(pick):
                rows = np.flatnonzero(pick == j)
                rgba[torch.as_tensor(rows, device=self.device)] = self.sources[j](
                    acts[torch.as_tensor(rows, device=self.device)], idx[rows]
                )
            rgba = rgba.view(n, k, 4, s, s)
            for j in range(k):
                over_in_place(canvas, rgba[:, j, :3], rgba[:, j, 3:])
        elif self.source.alpha_only:
            alpha = self.source.painter.paint_alpha(acts).view(n, k, 1, s, s)
            colour = acts.view(n, k, ACTION_DIM)[:, :, 6:9, None, None]
            for j in range(k):
                over_in_place(canvas, colour[:, j], alpha[:, j])
        else:
            rgba = self.source(acts, indices[lo * k : hi * k]).view(n, k, 4, s, s)
            for j in range(k):
                over_in_place(canvas, rgba[:, j, :3], rgba[:, j, 3:])

    def truncated(self) -> np.ndarray:
        return self.count >= self.max_strokes

    # -- views -----------------------------------------------------------------------------
    def observe(self) -> dict[str, np.ndarray] | np.ndarray:
        """The batched observation of every row (fresh arrays, safe to keep)."""
        frac = (self.count / self.max_strokes).astype(np.float32)
        if self._canvas_u8 is not None:
            if self._u8_out:  # asked twice for the same state: fresh arrays again
                self._canvas_u8 = self._canvas_u8.copy()
            self._u8_out = True
            return encode_observation(self._canvas_u8, self.target_u8, frac, self.obs_mode)
        canvas = self._canvas_np if self._numpy else self.canvas
        with torch.inference_mode(not self._numpy):
            return encode_observation(canvas, self.target_u8, frac, self.obs_mode)

    @torch.inference_mode()
    def frames(self) -> np.ndarray:
        """target | canvas side by side: uint8 (B, H, 2W, 3)."""
        return np.concatenate([self.target_u8, canvas_to_uint8(self.canvas)], axis=2)

    def painting(self, row: int) -> np.ndarray:
        """The strokes painted so far in ``row``'s episode, float32 (n, 12) in [0, 1]."""
        return self.actions[row, : min(int(self.count[row]), self.max_strokes)].copy()

    def stroke_brushes(self, row: int) -> list[str] | None:
        """Each stroke's brush so far in ``row``'s episode, or None in a single-brush env."""
        if self.brushes is None:
            return None
        n = min(int(self.count[row]), self.max_strokes)
        return [self.brushes[j] for j in self.brush_idx[row, :n]]


def _fused_distance(
    name: str, distance, canvas: torch.Tensor, target: torch.Tensor, scratch: torch.Tensor
) -> np.ndarray:
    """``distance(canvas, target)`` as float64 numpy, mse and l1 computed in ``scratch``."""
    if name not in ("mse", "l1"):
        return distance(canvas, target).double().numpy()
    d = torch.sub(canvas, target, out=scratch)
    d = d.square_() if name == "mse" else d.abs_()
    return d.view(len(d), -1).mean(1).double().numpy()
