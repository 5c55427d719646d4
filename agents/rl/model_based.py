"""Long, resumable model-based training of a painting agent through the differentiable painter.

Learning to Paint trains its actor through a differentiable renderer; here the whole episode is
differentiable (the neural painter draws, "over" composites), so the actor is trained by
backpropagating the distance to the target after every step of whole episodes
(:func:`agents.rl.differentiable.rollout`). This module turns that into a workflow for days of
CPU (or a GPU): a varied target mix (photo crops from ``scripts/make_targets.py`` shards,
procedural shapes and gradients, the painter's own random paintings), checkpoints every few
minutes that resume *exactly* (weights, Adam state, step, random generators), TensorBoard
scalars and painting grids, and a validation split scored regularly; the best-so-far agent is
packaged as an ordinary SB3 model (``load_agent`` / ``model.predict``).

    python scripts/train_agent_model_based.py --out runs/agent --targets data/targets/train \\
        --val data/targets/val --hours 2          # again with the same --out to resume
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from painters.io import atomic_write, atomic_write_text, first_line
from painters.schedule import cosine_lr

#: Settings a resumed run may change (schedule length, data mix, logging cadence).
MUTABLE = (
    "total_steps",
    "photo_fraction",
    "procedural_fraction",
    "val_every",
    "ckpt_every",
    "image_every",
)
#: Files of a run folder.
CKPT_DIR, BEST_DIR, STATE = "checkpoint", "best", "state.json"


@dataclass
class RunConfig:
    """Everything that defines a run; saved as ``config.json`` and checked on resume."""

    size: int = 64
    max_strokes: int = 64
    strokes_per_step: int = 8
    channels: tuple[int, int] = (24, 48)
    blocks: tuple[int, int] = (0, 2)
    hidden: int = 128
    batch_size: int = 32
    learning_rate: float = 5e-4
    min_learning_rate: float = 3e-5
    total_steps: int = 20_000
    warmup_steps: int = 50
    final_weight: float = 1.0
    photo_fraction: float = 0.6
    procedural_fraction: float = 0.2
    val_every: int = 250
    ckpt_every: int = 100
    image_every: int = 500
    seed: int = 0
    painter: str = "default"
    extra: dict[str, Any] = field(default_factory=dict)

    def env_kwargs(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "max_strokes": self.max_strokes,
            "strokes_per_step": self.strokes_per_step,
        }

    def hyperparams(self) -> dict[str, Any]:
        """SB3 hyperparameters (the agent.json format ``load_agent`` rebuilds models from)."""
        return {
            "policy": "MultiInputPolicy",
            "buffer_size": 1,
            "learning_starts": 0,
            "policy_kwargs": {
                "features_extractor_class": "SpatialPainter",
                "features_extractor_kwargs": {
                    "strokes_per_step": self.strokes_per_step,
                    "channels": list(self.channels),
                    "blocks": list(self.blocks),
                    "hidden": self.hidden,
                },
                "net_arch": [],
            },
        }


def build_agent(config: RunConfig, device: str | torch.device = "cpu"):
    """A fresh SB3 SAC whose actor is :class:`agents.rl.spatial.SpatialPainter`."""
    from stable_baselines3.common.vec_env import DummyVecEnv

    from agents.rl.spatial import init_identity_head
    from agents.rl.training import build_model, make_env

    size = config.size
    env = DummyVecEnv(
        [lambda: make_env(target=np.zeros((size, size, 3), np.uint8), **config.env_kwargs())]
    )
    model = build_model("sac", env, config.hyperparams(), seed=config.seed, device=device)
    init_identity_head(model)
    model.env_kwargs = config.env_kwargs()
    return model


class TargetMix:
    """Training targets: photo crops, procedural images and the painter's random paintings."""

    def __init__(self, photos: str | None, config: RunConfig, painter: torch.nn.Module) -> None:
        from painting_env.target_shards import TargetShards, is_shard_folder
        from painting_env.targets import TargetSet

        self.config, self.painter = config, painter
        self.shards = TargetShards(photos) if photos and is_shard_folder(photos) else None
        # other sources (or None: the bundled samples) as random crops of whole images
        self.images = (
            None if self.shards else TargetSet(photos or None, config.size, random_crop=True)
        )

    def _photos(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if n == 0:
            return np.zeros((0, self.config.size, self.config.size, 3), np.uint8)
        if self.shards is not None:
            return self.shards.sample(rng, n, self.config.size)
        return np.stack([self.images.sample(rng) for _ in range(n)])

    def sample(self, rng: np.random.Generator, n: int, device: torch.device) -> torch.Tensor:
        from agents.rl.differentiable import synthetic_targets

        c = self.config
        n_photo = int(round(n * c.photo_fraction))
        n_proc = int(round(n * c.procedural_fraction))
        n_paint = n - n_photo - n_proc
        parts = [self._photos(rng, n_photo)]
        if n_proc:
            from painting_env.target_shards import procedural_targets

            parts.append(procedural_targets(rng, n_proc, c.size))
        images = np.concatenate(parts)
        t = torch.from_numpy(images).to(device).permute(0, 3, 1, 2).float() / 255.0
        if n_paint:
            syn = synthetic_targets(self.painter, rng, n_paint, c.size, device)
            t = torch.cat([t, (syn * 255.0).round() / 255.0])
        return t


def validation_targets(source: str | None, size: int, n: int = 128, seed: int = 1234) -> np.ndarray:
    """A fixed validation batch: crops from a shard folder, or whole images squashed to size."""
    rng = np.random.default_rng(seed)
    if source is None:
        from painting_env.targets import TargetSet, bundled_targets

        ts = TargetSet([bundled_targets()[-1]], size, random_crop=False)
        return np.stack([ts.sample(rng)])
    from painting_env.target_shards import TargetShards, is_shard_folder
    from painting_env.targets import TargetSet

    if is_shard_folder(source):
        return TargetShards(source).sample(rng, n, size)

    ts = TargetSet(source, size, random_crop=False)
    return np.stack([ts.sample(rng) for _ in range(min(n, len(ts)))])


class ModelBasedRun:
    """One run folder: ``config.json``, ``checkpoint/`` (latest), ``best/`` (packaged agent),
    ``tb/`` (TensorBoard). Creating it on an existing folder resumes from its checkpoint."""

    def __init__(
        self,
        out: str | Path,
        config: RunConfig,
        *,
        targets: str | None = None,
        val: str | None = None,
        device: str | torch.device = "cpu",
        init_from: str | None = None,
    ) -> None:
        from painters.loading import load_painter

        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        cfg_path = self.out / "config.json"
        if cfg_path.is_file():
            saved = json.loads(cfg_path.read_text())
            saved["channels"] = tuple(saved["channels"])
            saved["blocks"] = tuple(saved["blocks"])
            if {k: v for k, v in saved.items() if k not in MUTABLE} != {
                k: v for k, v in asdict(config).items() if k not in MUTABLE
            }:
                raise ValueError(
                    f"{cfg_path} holds another configuration; resume with the same options or "
                    "choose a new --out"
                )
        atomic_write_text(cfg_path, json.dumps(asdict(config), indent=2) + "\n")
        self.config, self.device = config, torch.device(device)
        self.painter = load_painter(config.painter, self.device)
        for p in self.painter.parameters():
            p.requires_grad_(False)
        self.model = build_agent(config, self.device)
        self.actor = self.model.policy.actor
        self.params = [p for p in self.actor.parameters() if p.requires_grad]
        self.opt = torch.optim.Adam(self.params, lr=config.learning_rate)
        self.mix = TargetMix(targets, config, self.painter)
        self.val = torch.from_numpy(validation_targets(val, config.size)).permute(0, 3, 1, 2)
        self.val = self.val.float().div(255.0).to(self.device)
        self.targets_source, self.val_source = targets, val
        self.step, self.best = 0, math.inf
        self.rng = np.random.default_rng(config.seed)
        torch.manual_seed(config.seed)
        self.history: list[dict[str, float]] = []
        self.init_from = init_from
        if (self.out / CKPT_DIR / STATE).is_file():
            self._load_checkpoint()
        elif init_from is not None:
            self._init_actor(init_from)

    def _init_actor(self, source: str) -> None:
        """Start from another agent's actor (same architecture): a warm restart with a new
        schedule, e.g. from the bundled ``default`` agent."""
        from agents.rl.loading import load_agent

        src = load_agent(source, device=str(self.device))
        try:
            self.actor.load_state_dict(src.policy.actor.state_dict())
        except RuntimeError as exc:
            raise ValueError(
                f"--init-from {source}: its actor has another architecture "
                f"({first_line(exc)}); use the same --channels/--blocks/--strokes-per-step"
            ) from None

    # -- checkpoints -------------------------------------------------------------------------
    def _save_checkpoint(self) -> None:
        d = self.out / CKPT_DIR
        d.mkdir(exist_ok=True)
        weights = {k: v.detach().cpu().contiguous() for k, v in self.actor.state_dict().items()}
        atomic_write(d / "actor.safetensors", lambda f: f.write(_st_bytes(weights)), fsync=True)
        atomic_write(d / "optimizer.pt", lambda f: torch.save(self.opt.state_dict(), f), fsync=True)
        state = {
            "step": self.step,
            "best": self.best,
            "val_source": str(self.val_source),
            "rng": self.rng.bit_generator.state,
            "torch_rng": torch.get_rng_state().tolist(),
            "history": self.history[-2000:],
            "init_from": self.init_from,
        }
        atomic_write_text(d / STATE, json.dumps(state) + "\n")

    def _load_checkpoint(self) -> None:
        from safetensors.torch import load_file

        d = self.out / CKPT_DIR
        try:
            state = json.loads((d / STATE).read_text())
            self.actor.load_state_dict(load_file(d / "actor.safetensors", device=str(self.device)))
            self.opt.load_state_dict(
                torch.load(d / "optimizer.pt", map_location=self.device, weights_only=True)
            )
        except Exception as exc:  # noqa: BLE001 - any corruption gets the same advice
            raise RuntimeError(
                f"cannot resume from {d}: {first_line(exc)}; "
                "delete that folder to restart the run, or pick a new --out"
            ) from None
        self.step, self.best = int(state["step"]), float(state["best"])
        if state.get("val_source") != str(self.val_source):
            self.best = math.inf  # another validation set: earlier scores do not compare
        self.rng.bit_generator.state = state["rng"]
        torch.set_rng_state(torch.tensor(state["torch_rng"], dtype=torch.uint8))
        self.history = state.get("history", [])
        self.init_from = state.get("init_from", self.init_from)

    # -- training ----------------------------------------------------------------------------
    def _lr(self) -> float:
        c = self.config
        if self.step < c.warmup_steps:
            return c.learning_rate * (self.step + 1) / c.warmup_steps
        span = max(1, c.total_steps - c.warmup_steps)
        floor = c.min_learning_rate / c.learning_rate
        return cosine_lr(c.learning_rate, self.step - c.warmup_steps, span, floor=floor)

    def _rollout(self, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        from agents.rl.differentiable import rollout
        from painters.distances import get_distance

        c = self.config
        return rollout(
            self.model,
            self.painter,
            targets,
            max_strokes=c.max_strokes,
            strokes_per_step=c.strokes_per_step,
            distance=get_distance("mse"),
        )

    def train_step(self) -> dict[str, float]:
        c = self.config
        lr = self._lr()
        for g in self.opt.param_groups:
            g["lr"] = lr
        self.model.policy.set_training_mode(True)
        targets = self.mix.sample(self.rng, c.batch_size, self.device)
        dists, _ = self._rollout(targets)
        loss = dists.mean() + c.final_weight * dists[-1].mean()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(self.params, 1.0)
        self.opt.step()
        self.step += 1
        return {
            "loss": float(loss.detach()),
            "final_mse": float(dists[-1].detach().mean()),
            "grad_norm": float(gnorm),
            "lr": lr,
        }

    @torch.no_grad()
    def validate(self) -> tuple[float, torch.Tensor]:
        self.model.policy.set_training_mode(False)
        finals, canvases = [], []
        for chunk in self.val.split(64):
            dists, canvas = self._rollout(chunk)
            finals.append(dists[-1])
            canvases.append(canvas)
        return float(torch.cat(finals).mean()), torch.cat(canvases)

    def save_best(self, val_mse: float) -> None:
        from agents.rl.training import save_model

        d = self.out / BEST_DIR
        d.mkdir(exist_ok=True)
        self.model.policy.set_training_mode(False)
        save_model(self.model, d / "model.zip")
        atomic_write_text(d / "env_kwargs.json", json.dumps(self.config.env_kwargs(), indent=2))
        meta = {
            "algo": "sac",
            "env_id": "Painting-v0",
            "env_kwargs": self.config.env_kwargs(),
            "hyperparams": self.config.hyperparams(),
            "trained_by": "agents.rl.model_based (backpropagation through the painter)",
            "init_from": self.init_from,
            "through_painter_steps": self.step,
            "episodes": self.step * self.config.batch_size,
            "val_final_mse": val_mse,
            "val_source": str(self.val_source),
            "train_targets": str(self.targets_source),
            "config": asdict(self.config),
        }
        atomic_write_text(d / "agent.json", json.dumps(meta, indent=2, default=list) + "\n")

    def run(self, *, hours: float | None = None, steps: int | None = None, progress: bool = True):
        from torch.utils.tensorboard import SummaryWriter
        from tqdm.auto import tqdm

        c = self.config
        end_step = c.total_steps if steps is None else min(c.total_steps, self.step + steps)
        deadline = None if hours is None else time.monotonic() + hours * 3600
        writer = SummaryWriter(str(self.out / "tb"), purge_step=self.step + 1)
        bar = tqdm(total=end_step, initial=self.step, desc="agent", disable=not progress)
        t0, n0 = time.perf_counter(), self.step
        try:
            while self.step < end_step and (deadline is None or time.monotonic() < deadline):
                stats = self.train_step()
                for k, v in stats.items():
                    writer.add_scalar(f"train/{k}", v, self.step)
                bar.update(1)
                bar.set_postfix(mse=f"{stats['final_mse']:.4f}", best=f"{self.best:.4f}")
                if self.step % c.val_every == 0 or self.step == end_step:
                    self._validate_and_log(writer, t0, n0)
                if self.step % c.ckpt_every == 0:
                    self._save_checkpoint()
        finally:
            self._save_checkpoint()
            writer.close()
            bar.close()
        return self.best

    def _validate_and_log(self, writer, t0: float, n0: int) -> None:
        val_mse, canvases = self.validate()
        rate = (self.step - n0) / max(1e-9, time.perf_counter() - t0)
        writer.add_scalar("val/final_mse", val_mse, self.step)
        writer.add_scalar("time/steps_per_s", rate, self.step)
        self.history.append({"step": self.step, "val_final_mse": val_mse})
        if self.step % self.config.image_every == 0 or val_mse < self.best:
            writer.add_image("val/paintings", painting_pairs(self.val, canvases), self.step)
        if val_mse < self.best:
            self.best = val_mse
            self.save_best(val_mse)


def painting_pairs(targets: torch.Tensor, canvases: torch.Tensor, n: int = 16) -> torch.Tensor:
    """A CHW grid for TensorBoard: rows of (target | painting) pairs, ``n`` of them."""
    pairs = torch.cat([targets[:n], canvases[:n]], dim=3)  # (n, 3, H, 2W)
    rows = [torch.cat(list(pairs[i : i + 4]), dim=2) for i in range(0, len(pairs), 4)]
    width = max(r.shape[2] for r in rows)
    rows = [torch.nn.functional.pad(r, (0, width - r.shape[2]), value=1.0) for r in rows]
    return torch.cat(rows, dim=1).clamp(0, 1).cpu()


def _st_bytes(weights: dict[str, torch.Tensor]) -> bytes:
    from safetensors.torch import save

    return save(weights)
