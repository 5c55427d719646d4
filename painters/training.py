"""The official painter trainer: any kind, any stroke data, one process or many.

Why it looks like this:

* Kinds differ in how a batch is used (the GAN alternates critic and generator updates), so a
  painter declares ``phases`` (optimiser steps per batch, in order), the parameters each phase
  updates (``phase_parameters``) and ``training_loss(actions, strokes, phase)``. The structured
  kind has none of these and gets the plain composited-on-white alpha MSE, the fidelity metric.
* Batches are drawn by (seed, rank, step), not by a stateful sampler, so a run killed at any
  point resumes on exactly the batches it would have seen, and two runs with one seed match.
* Under ``torchrun`` the loss module is wrapped in DistributedDataParallel (gloo on CPU, nccl on
  CUDA); ``--batch-size`` is per process. Only rank 0 evaluates, logs and writes checkpoints.
* A checkpoint is ``config.json`` + ``model.safetensors`` (what ``load_painter`` reads) and
  ``training_state.pt`` (model, optimisers, step, RNG), all written by temp file + rename and
  read back with ``weights_only=True``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, Dataset, IterableDataset, Sampler

from painters.io import atomic_write, first_line
from painters.loading import resolve_device
from painters.models.base import CONFIG_NAME, PAINTER_KINDS, WEIGHTS_NAME, NeuralPainter
from painters.models.supervised import NOISE_FLOOR, composite_mse, target_alpha
from painters.renderers.base import DEFAULT_BRUSH
from painters.schedule import cosine_lr
from painters.seeding import mix_seed

STATE_NAME = "training_state.pt"
STROKE_SHAPE = (4, 64, 64)


class TrainingError(ValueError):
    """Bad input to the trainer (data, checkpoint, options); the message says what to do."""


@dataclass
class TrainConfig:
    """Everything a training run needs; ``scripts/train_painter.py`` fills it from the CLI.

    ``tensorboard``: a log folder, ``""`` for ``<out>/tb``, or ``None`` to turn logging off.
    ``time_budget``: training seconds (summed over resumes) after which the run checkpoints
    and stops (for fixed-time comparisons); ``None`` runs all ``steps``.
    ``brush``: the MyPaint brush the painter learns: rendered on the fly, or checked against
    the brush a ``make_dataset.py`` folder was rendered with (None: the data's brush, else
    ``classic/dry_brush``); it is recorded in the painter's metadata.
    ``init``: a painter (bundled name or checkpoint folder) whose weights start a new run —
    fine-tuning; its config is the base that ``model_config`` overrides, and modules it lacks
    (e.g. a critic added by the new config) start fresh.
    """

    kind: str
    out: str
    data: str | None = None
    steps: int = 1000
    batch_size: int = 64
    device: str = "auto"
    resume: bool = False
    on_the_fly: bool = False
    brush: str | None = None
    lr: float | None = None
    eval_every: int = 200
    checkpoint_every: int = 500
    tensorboard: str | None = ""
    seed: int = 0
    model_config: dict[str, Any] = field(default_factory=dict)
    time_budget: float | None = None
    eval_strokes: int = 256
    num_workers: int = 0
    progress: bool = True
    init: str | None = None


# -- data ----------------------------------------------------------------------------------
def load_dataset(
    data: str | os.PathLike | None,
    *,
    on_the_fly: bool = False,
    brush: str = "classic/dry_brush",
    seed: int = 0,
) -> Dataset:
    """Stroke data: shards / Kaggle ``episodes_*.npz`` in ``data``, or real-brush strokes
    rendered on the fly. Any problem becomes a one-line :class:`TrainingError`."""
    try:
        from painters import data as pdata
    except ImportError as e:  # pragma: no cover - only before painters.data lands
        raise TrainingError(f"painters.data is not available ({e})") from None
    try:
        if on_the_fly:
            return pdata.OnTheFlyStrokes(renderer="mypaint", brush=brush, seed=seed, size=64)
        if data is None:
            raise TrainingError("give --data DIR (a make_dataset.py folder) or --on-the-fly")
        if not Path(data).exists():
            raise TrainingError(f"no data at {data}; make some with scripts/make_dataset.py")
        return pdata.StrokeDataset(data)
    except TrainingError:
        raise
    except (ValueError, OSError, KeyError, RuntimeError) as e:
        raise TrainingError(f"cannot read stroke data from {data}: {first_line(e)}") from None


def data_brush(data: str | os.PathLike | None) -> str | None:
    """The brush a ``make_dataset.py`` folder was rendered with (its manifest), else None."""
    manifest = Path(data) / "manifest.json" if data is not None else None
    if manifest is None or not manifest.is_file():
        return None
    try:
        brush = json.loads(manifest.read_text()).get("brush")
    except (OSError, ValueError, AttributeError):
        return None
    return str(brush) if brush else None


def resolve_brush(cfg: TrainConfig) -> str:
    """The brush of a run: ``cfg.brush``, the data's, or the default; a ``--brush`` that
    differs from the brush the data was rendered with is a :class:`TrainingError`."""
    rendered = None if cfg.on_the_fly else data_brush(cfg.data)
    if cfg.brush and rendered and cfg.brush != rendered:
        raise TrainingError(
            f"{cfg.data} was rendered with brush {rendered}, not {cfg.brush}; drop --brush, or "
            f"render data for it (make_dataset.py --brush {cfg.brush}) or use --on-the-fly"
        )
    return cfg.brush or rendered or DEFAULT_BRUSH


def check_item(item: Any, where: str = "data") -> None:
    """Raise :class:`TrainingError` unless ``item`` is (actions (12,), strokes (4, 64, 64))."""
    try:
        actions, strokes = item
        a_shape, s_shape = tuple(np.shape(actions)), tuple(np.shape(strokes))
    except (TypeError, ValueError):
        raise TrainingError(
            f"{where}: items must be (actions, strokes) pairs; got {type(item).__name__}"
        ) from None
    if a_shape != (12,) or s_shape != STROKE_SHAPE:
        raise TrainingError(
            f"{where}: expected actions (12,) and strokes {STROKE_SHAPE} per item, got "
            f"{a_shape} and {s_shape}; make 64 px data with scripts/make_dataset.py"
        )


class StepBatches(Sampler[list[int]]):
    """Index batches for steps ``start..stop-1``; batch ``s`` depends only on (seed, rank, s)."""

    def __init__(self, n: int, batch: int, seed: int, rank: int, start: int, stop: int) -> None:
        self.n, self.batch, self.seed, self.rank = n, batch, seed, rank
        self.start, self.stop = start, stop

    def __iter__(self) -> Iterator[list[int]]:
        for step in range(self.start, self.stop):
            rng = np.random.default_rng([self.seed, self.rank, step])
            yield rng.integers(0, self.n, self.batch).tolist()

    def __len__(self) -> int:
        return max(0, self.stop - self.start)


def _to_tensors(batch: Any, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    a, s = batch
    a = torch.as_tensor(a).to(device, torch.float32, non_blocking=True)
    s = torch.as_tensor(s).to(device, torch.float32, non_blocking=True)
    return a, s


# -- the loss module DDP wraps ---------------------------------------------------------------
def default_loss(
    painter: nn.Module, actions: torch.Tensor, strokes: torch.Tensor
) -> tuple[torch.Tensor, dict[str, float]]:
    """Composited-on-white alpha MSE ÷ noise floor: the metric itself, for kinds without a
    ``training_loss`` (the structured painter)."""
    mse = composite_mse(painter(actions)[:, 3:4], target_alpha(strokes), actions)
    loss = mse / NOISE_FLOOR
    return loss, {"loss": float(loss.detach()), "ratio_est": float(loss.detach())}


class Objective(nn.Module):
    """``forward(actions, strokes, phase) -> loss``: what DistributedDataParallel wraps, so
    gradient averaging happens for every phase of every kind."""

    def __init__(self, painter: NeuralPainter) -> None:
        super().__init__()
        self.painter = painter
        self.logs: dict[str, float] = {}

    def forward(self, actions: torch.Tensor, strokes: torch.Tensor, phase: str) -> torch.Tensor:
        if hasattr(self.painter, "training_loss"):
            loss, self.logs = self.painter.training_loss(actions, strokes, phase)
        else:
            loss, self.logs = default_loss(self.painter, actions, strokes)
        return loss


def phase_schedule(painter: nn.Module) -> tuple[str, ...]:
    """Optimiser steps per batch, in order (e.g. ``("critic", "generator")``)."""
    sched = getattr(painter, "phase_schedule", None) or getattr(painter, "phases", None)
    return tuple(sched) if sched else ("main",)


def phase_parameters(painter: nn.Module, phase: str) -> list[nn.Parameter]:
    if hasattr(painter, "phase_parameters"):
        return list(painter.phase_parameters(phase))
    return [p for p in painter.parameters() if p.requires_grad]


def phase_param_groups(painter: nn.Module, phase: str) -> list[dict[str, Any]]:
    """Optimiser parameter groups of a phase; a group's ``lr_scale`` (default 1) multiplies the
    learning-rate schedule for it."""
    groups = getattr(painter, "phase_param_groups", None)
    if groups is not None:
        return groups(phase)
    return [{"params": phase_parameters(painter, phase)}]


# -- checkpoints -------------------------------------------------------------------------------
def atomic_torch_save(obj: Any, path: Path) -> None:
    """``torch.save`` through a temp file in the same folder and a rename."""
    atomic_write(path, lambda f: torch.save(obj, f), fsync=True)


def load_training_state(out: Path) -> dict[str, Any]:
    path = out / STATE_NAME
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # corrupted or foreign file: say so in one line
        raise TrainingError(
            f"cannot resume from {path} ({first_line(e)}); delete it or drop --resume"
        ) from None


# -- the loop ------------------------------------------------------------------------------------
def _setup_distributed(device: torch.device) -> tuple[int, int, torch.device]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, device
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return dist.get_rank(), dist.get_world_size(), device


def build_painter(kind: str, model_config: dict[str, Any]) -> NeuralPainter:
    if kind not in PAINTER_KINDS:
        raise TrainingError(
            f"unknown painter kind {kind!r}; choose one of {', '.join(PAINTER_KINDS)}"
        )
    try:
        return PAINTER_KINDS[kind](**model_config)
    except TypeError as e:
        raise TrainingError(f"bad model config for {kind!r}: {first_line(e)}") from None


def init_painter(kind: str, source: str, overrides: dict[str, Any]) -> NeuralPainter:
    """A ``kind`` painter with the weights of painter ``source`` (bundled name or folder) and its
    config updated by ``overrides``; parameters the source lacks keep their fresh values."""
    from painters.loading import load_painter

    try:
        src = load_painter(source)
    except (FileNotFoundError, ValueError) as e:
        raise TrainingError(f"--init {source}: {first_line(e)}") from None
    if src.kind != kind:
        raise TrainingError(f"--init {source} is a {src.kind!r} painter, not {kind!r}")
    painter = build_painter(kind, {**src.config, **overrides})
    _, unexpected = painter.load_state_dict(src.state_dict(), strict=False)
    if unexpected:
        raise TrainingError(
            f"--init {source}: weights {', '.join(unexpected[:3])} do not fit this config; "
            "keep the architecture options of the source painter"
        )
    return painter


def stroke_grid_on_white(actions: torch.Tensor, real: torch.Tensor, *preds: torch.Tensor):
    """uint8 HWC grid, one row per stroke: real | predicted (| sample), composited on white."""
    from painters.evaluation import composite_on_white, stroke_grid

    return stroke_grid([composite_on_white(real)] + [composite_on_white(p) for p in preds])


def train(cfg: TrainConfig, dataset: Dataset | None = None) -> dict[str, Any]:
    """Train (or resume) a painter into ``cfg.out``; returns a summary (steps, eval ratio, ...).

    ``dataset`` overrides ``cfg.data`` (items: actions float (12,), strokes float (4, 64, 64)).
    """
    if cfg.steps < 0 or cfg.batch_size < 1:
        raise TrainingError("--steps must be ≥ 0 and --batch-size ≥ 1")
    device = resolve_device(cfg.device)
    out = Path(cfg.out)
    rank_env = int(os.environ.get("RANK", "0"))
    if dataset is None:
        brush = resolve_brush(cfg)
        dataset = load_dataset(
            cfg.data, on_the_fly=cfg.on_the_fly, brush=brush, seed=mix_seed(cfg.seed, rank_env)
        )
    else:
        brush = cfg.brush or data_brush(cfg.data) or DEFAULT_BRUSH
    cfg = replace(cfg, brush=brush)
    iterable = isinstance(dataset, IterableDataset)

    # held-out eval strokes (map-style: the tail of the data, excluded from training)
    if iterable:
        it = iter(dataset)
        first = next(it, None)
        if first is None:
            raise TrainingError("the on-the-fly stroke stream is empty")
        check_item(first, "on-the-fly data")
        eval_items = [first] + [next(it) for _ in range(max(0, min(cfg.eval_strokes, 64) - 1))]
        n_train = None
    else:
        n = len(dataset)  # type: ignore[arg-type]
        if n == 0:
            raise TrainingError(
                f"no strokes in {cfg.data}; make a dataset with scripts/make_dataset.py"
            )
        try:
            first = dataset[0]
        except (ValueError, OSError, KeyError, IndexError) as e:
            raise TrainingError(f"cannot read strokes from {cfg.data}: {first_line(e)}") from None
        check_item(first, str(cfg.data))
        n_eval = min(cfg.eval_strokes, n // 10) if n >= 20 else 0
        n_train = n - n_eval
        eval_idx = range(n_train, n) if n_eval else range(min(n, 16))
        eval_items = [dataset[i] for i in eval_idx]
    eval_a = torch.as_tensor(np.stack([np.asarray(x[0]) for x in eval_items])).float()
    eval_s = torch.as_tensor(np.stack([np.asarray(x[1]) for x in eval_items])).float()

    rank, world, device = _setup_distributed(device)
    try:
        return _train_loop(
            cfg, dataset, iterable, n_train, eval_a, eval_s, rank, world, device, out
        )
    finally:
        if world > 1 and dist.is_initialized():
            dist.destroy_process_group()


def _train_loop(cfg, dataset, iterable, n_train, eval_a, eval_s, rank, world, device, out):
    torch.manual_seed(cfg.seed)
    state: dict[str, Any] | None = None
    if cfg.resume and (out / STATE_NAME).is_file():
        state = load_training_state(out)
        if state.get("kind") != cfg.kind:
            raise TrainingError(
                f"{out} holds a {state.get('kind')!r} run, not {cfg.kind!r}; use another --out"
            )
        painter = build_painter(cfg.kind, dict(state["config"]))
        painter.load_state_dict(state["model"])
    elif cfg.init is not None:
        painter = init_painter(cfg.kind, cfg.init, cfg.model_config)
    else:
        painter = build_painter(cfg.kind, cfg.model_config)
    painter.to(device).train()
    step = int(state["step"]) if state else 0
    elapsed0 = float(state.get("elapsed", 0.0)) if state else 0.0

    lr0 = cfg.lr if cfg.lr is not None else float(getattr(painter, "default_lr", 1e-3))
    schedule = phase_schedule(painter)
    phases = list(dict.fromkeys(schedule))
    betas = (0.5, 0.999) if len(phases) > 1 else (0.9, 0.999)  # GAN practice
    groups = {ph: phase_param_groups(painter, ph) for ph in phases}
    # each group's factor on the schedule, from the painter's config (not from a resumed
    # optimiser state, which keeps the group keys it was saved with)
    lr_scales = {ph: [g.pop("lr_scale", 1.0) for g in groups[ph]] for ph in phases}
    opts = {ph: torch.optim.Adam(groups[ph], lr=lr0, betas=betas) for ph in phases}
    use_amp = device.type == "cuda"
    scalers = {ph: torch.amp.GradScaler("cuda", enabled=use_amp) for ph in phases}
    if state:
        for ph in phases:
            opts[ph].load_state_dict(state["optimizers"][ph])
            if use_amp and ph in state.get("scalers", {}):
                scalers[ph].load_state_dict(state["scalers"][ph])
        torch.set_rng_state(state["torch_rng"])
    else:
        torch.manual_seed(mix_seed(cfg.seed, rank))

    objective = Objective(painter)
    model: nn.Module = objective
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP

        model = DDP(
            objective,
            device_ids=[device.index] if device.type == "cuda" else None,
            find_unused_parameters=len(phases) > 1,
        )

    # the loader's own generator keeps it from drawing on the global RNG, which a resumed
    # run restores and the GAN's noise uses
    gen = torch.Generator().manual_seed(mix_seed(cfg.seed, rank, step))
    if iterable:
        loader = DataLoader(
            dataset, batch_size=cfg.batch_size, num_workers=cfg.num_workers, generator=gen
        )
    else:
        sampler = StepBatches(n_train, cfg.batch_size, cfg.seed, rank, step, cfg.steps)
        loader = DataLoader(
            dataset, batch_sampler=sampler, num_workers=cfg.num_workers, generator=gen
        )

    writer = None
    if rank == 0 and cfg.tensorboard is not None and str(cfg.tensorboard).lower() != "none":
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(str(cfg.tensorboard) if cfg.tensorboard else str(out / "tb"))

    stochastic = bool(getattr(painter, "stochastic", False))
    extra_eval: dict[str, float] = {}

    def evaluate() -> float:
        """Held-out ratio of the deterministic estimate; for stochastic painters also the
        ratio and texture (Laplacian energy ÷ real) of samples drawn with a fixed generator."""
        painter.eval()
        with torch.no_grad():
            ea, es = eval_a.to(device), eval_s.to(device)
            kw = {"sample": False} if stochastic else {}
            pred = torch.cat([painter(ea[i : i + 256], **kw) for i in range(0, len(ea), 256)])
            mse = composite_mse(pred[:, 3:4], target_alpha(es), ea)
            cols = [pred[:8].cpu()]
            if stochastic:
                from painters.models.textured import laplacian

                g = torch.Generator(device=device).manual_seed(cfg.seed)
                smp = torch.cat([painter(ea[i : i + 256], generator=g) for i in range(0, len(ea), 256)])  # fmt: skip
                real_lap = laplacian(target_alpha(es)).pow(2).mean().clamp(min=1e-12)
                extra_eval["ratio_sample"] = float(composite_mse(smp[:, 3:4], target_alpha(es), ea)) / NOISE_FLOOR  # fmt: skip
                extra_eval["texture_sample"] = float(laplacian(smp[:, 3:4]).pow(2).mean() / real_lap)  # fmt: skip
                cols.append(smp[:8].cpu())
        painter.train()
        if writer is not None:
            grid = stroke_grid_on_white(ea[:8], es[:8].cpu(), *cols)
            writer.add_image("strokes/real_vs_predicted", grid, step, dataformats="HWC")
            for k, v in extra_eval.items():
                writer.add_scalar(f"eval/{k}", v, step)
        return float(mse) / NOISE_FLOOR

    def checkpoint(eval_ratio: float | None) -> None:
        if rank != 0:
            return
        out.mkdir(parents=True, exist_ok=True)
        meta = {
            "steps": step,
            "batch_size": cfg.batch_size * world,
            "data": "on-the-fly" if cfg.on_the_fly else str(cfg.data),
            "brush": cfg.brush,
            "training_seconds": round(elapsed0 + time.perf_counter() - t0, 1),
            "device": str(device),
        }
        if eval_ratio is not None:
            meta["eval_ratio_est"] = round(eval_ratio, 4)
            meta.update({f"eval_{k}_est": round(v, 4) for k, v in extra_eval.items()})
        atomic_torch_save(
            {
                "kind": cfg.kind,
                "config": painter.config,
                "model": {k: v.detach().cpu() for k, v in painter.state_dict().items()},
                "optimizers": {ph: o.state_dict() for ph, o in opts.items()},
                "scalers": {ph: s.state_dict() for ph, s in scalers.items()} if use_amp else {},
                "step": step,
                "elapsed": elapsed0 + time.perf_counter() - t0,
                "torch_rng": torch.get_rng_state(),
            },
            out / STATE_NAME,
        )
        painter.save_pretrained(out, **meta)

    from tqdm.auto import tqdm

    bar = tqdm(total=cfg.steps, initial=step, disable=rank != 0 or not cfg.progress, desc=cfg.kind)
    t0 = time.perf_counter()
    t_log, step_log = t0, step
    eval_ratio: float | None = None
    stop_flag = torch.zeros(1)
    batches = iter(loader)
    while step < cfg.steps:
        try:
            batch = next(batches)
        except StopIteration:  # iterable streams may end; start another pass
            batches = iter(loader)
            batch = next(batches)
        actions, strokes = _to_tensors(batch, device)
        # cosine decay to 10 %; with a time budget it runs to whichever end comes first
        frac = step / max(1, cfg.steps)
        if cfg.time_budget:  # total seconds over all resumes, so a resumed run continues
            frac = max(frac, (elapsed0 + time.perf_counter() - t0) / cfg.time_budget)
        lr = cosine_lr(lr0, frac)
        logs: dict[str, float] = {}
        for ph in schedule:
            opt = opts[ph]
            for g, scale in zip(opt.param_groups, lr_scales[ph], strict=True):
                g["lr"] = lr * scale
            opt.zero_grad(set_to_none=True)
            with torch.autocast(device.type, dtype=torch.float16, enabled=use_amp):
                loss = model(actions, strokes, ph)
            if not torch.isfinite(loss):
                raise TrainingError(
                    f"loss became {float(loss)} at step {step} ({ph}); lower --lr or --resume "
                    "from the last checkpoint"
                )
            scalers[ph].scale(loss).backward()
            scalers[ph].unscale_(opt)
            torch.nn.utils.clip_grad_norm_(phase_parameters(painter, ph), 1.0)
            scalers[ph].step(opt)
            scalers[ph].update()
            logs.update(objective.logs)
        step += 1
        bar.update(1)
        if rank == 0 and step % 10 == 0:
            bar.set_postfix({k: f"{v:.3g}" for k, v in logs.items()})
        if writer is not None and (step % 10 == 0 or step == cfg.steps):
            now = time.perf_counter()
            for k, v in logs.items():
                writer.add_scalar(f"train/{k}", v, step)
            writer.add_scalar("train/lr", lr, step)
            rate = (step - step_log) * cfg.batch_size * world / max(now - t_log, 1e-9)
            writer.add_scalar("train/samples_per_s", rate, step)
            t_log, step_log = now, step
        if rank == 0 and cfg.eval_every > 0 and step % cfg.eval_every == 0:
            eval_ratio = evaluate()
            more = "".join(f", {k} {v:.3f}" for k, v in extra_eval.items())
            bar.write(f"step {step}: eval ratio ≈ {eval_ratio:.3f}{more}")
            if writer is not None:
                writer.add_scalar("eval/ratio", eval_ratio, step)
        if cfg.checkpoint_every > 0 and step % cfg.checkpoint_every == 0 and step < cfg.steps:
            checkpoint(eval_ratio)
        if cfg.time_budget is not None:
            stop_flag[0] = float(elapsed0 + time.perf_counter() - t0 >= cfg.time_budget)
            if world > 1:  # every rank must stop at the same step
                dist.all_reduce(stop_flag, op=dist.ReduceOp.MAX)
            if stop_flag[0] > 0:
                break
    bar.close()
    seconds = time.perf_counter() - t0
    if rank == 0:
        eval_ratio = evaluate()
        if writer is not None:
            writer.add_scalar("eval/ratio", eval_ratio, step)
            writer.close()
    checkpoint(eval_ratio)
    return {
        "kind": cfg.kind,
        "out": str(out),
        "steps": step,
        "seconds": round(seconds, 1),
        "eval_ratio_est": eval_ratio,
        "params": painter.num_parameters(),
        "world_size": world,
        "files": [CONFIG_NAME, WEIGHTS_NAME, STATE_NAME],
    }
