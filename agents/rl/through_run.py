"""Run folders of :class:`agents.rl.through_painter.ThroughPainter`: the recipe, resume,
``torchrun`` data parallelism, and loading without unpickling.

Folder layout (the same as SB3 runs of :mod:`agents.rl.training`)::

    model.zip, env_kwargs.json, agent.json   the latest agent and its run summary
    best/best_model.zip, best/env_kwargs.json, best/agent.json   best on held-out targets
    checkpoints/latest.zip   resume state: weights, Adam states, step, every process's
                             target-generator state (JSON inside the zip)
    run.json                 the resolved hyperparameters; a rerun must match them
    tb/ThroughPainter_1/     TensorBoard: train/*, rollout/*, time/*, images/painting, eval/*

Running the same command again continues from ``checkpoints/latest.zip``; the result is the
same, bit for bit, as a run that was never interrupted (same process count and threads).
"""

from __future__ import annotations

import copy
import json
import os
import time
from pathlib import Path
from typing import Any

import torch

from agents.rl.building import ENV_ID
from agents.rl.hyperparams import HYPERPARAMS_DIR, read_hyperparams
from agents.rl.through_painter import ThroughPainter
from agents.rl.through_policy import policy_kwargs_of
from painters.io import atomic_write_text

ALGO = "through-painter"
RECIPE = HYPERPARAMS_DIR / "through_painter.yaml"
#: Recipe keys that configure the run, not ThroughPainter's constructor.
RUN_KEYS = ("n_timesteps", "n_envs", "policy", "env_kwargs")
#: Keys a rerun of a run folder may change (length of the run only shifts where it ends).
MUTABLE = ("n_timesteps",)


def load_recipe(
    path: str | os.PathLike | None = None, overrides: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The bundled recipe, then ``path`` (a file keyed by env id or flat), then ``overrides``;
    nested mappings, ``policy_kwargs`` included, merge key by key
    (:func:`agents.rl.hyperparams.read_hyperparams`)."""
    return read_hyperparams(RECIPE, path, overrides, replace_policy_kwargs=False)


def algo_kwargs(hp: dict[str, Any]) -> dict[str, Any]:
    kwargs = {k: copy.deepcopy(v) for k, v in hp.items() if k not in RUN_KEYS}
    kwargs["policy_kwargs"] = policy_kwargs_of(hp)
    import inspect

    allowed = set(inspect.signature(ThroughPainter.__init__).parameters) - {"self", "policy", "env"}
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise ValueError(f"unknown through-painter hyperparameters {unknown}")
    return kwargs


# -- torch.distributed ---------------------------------------------------------------------
def init_distributed(device: str) -> tuple[int, int, str]:
    """(rank, world size, this process's device). Under ``torchrun`` (``WORLD_SIZE`` > 1) the
    process group starts here: NCCL on CUDA, gloo on CPU; each process takes its local GPU."""
    import torch.distributed as dist

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        from painters.loading import resolve_device

        dev = str(resolve_device(device))
        if dev.startswith("cuda"):
            local = int(os.environ.get("LOCAL_RANK", "0"))
            torch.cuda.set_device(local)
            device = f"cuda:{local}"
            dist.init_process_group("nccl")
        else:
            device = "cpu"
            dist.init_process_group("gloo")
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size(), device
    return 0, 1, device


# -- the trainer ---------------------------------------------------------------------------
class _StopAfter:
    """A callback factory: stop ``learn()`` after a wall time or a number of updates."""

    @staticmethod
    def make(hours: float | None, updates: int | None):
        from stable_baselines3.common.callbacks import BaseCallback

        class StopAfter(BaseCallback):
            def _on_training_start(self) -> None:
                self.deadline = None if hours is None else time.monotonic() + hours * 3600

            def _on_step(self) -> bool:
                if updates is not None and self.n_calls >= updates:
                    return False
                return self.deadline is None or time.monotonic() < self.deadline

        return StopAfter()


def _write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def train_run(
    out: str | os.PathLike,
    *,
    total_timesteps: int | None = None,
    seed: int = 0,
    device: str = "auto",
    env_kwargs: dict[str, Any] | None = None,
    hyperparams: str | os.PathLike | None = None,
    overrides: dict[str, Any] | None = None,
    eval_freq: int = 20_000,
    n_eval_episodes: int = 4,
    checkpoint_freq: int = 10_000,
    keep_checkpoints: int = 0,
    init_from: str | None = None,
    hours: float | None = None,
    max_updates: int | None = None,
    progress_bar: bool = True,
    verbose: int = 0,
) -> ThroughPainter:
    """Train a ThroughPainter into the run folder ``out`` (see the module docstring); continue
    from its checkpoint when there is one. ``hours`` / ``max_updates`` end this session early
    (the schedule still spans ``total_timesteps``; run the same command again to continue)."""
    from stable_baselines3.common.callbacks import CallbackList, EvalCallback
    from stable_baselines3.common.utils import set_random_seed
    from stable_baselines3.common.vec_env import VecTransposeImage

    from agents.rl.building import make_vec_env
    from agents.rl.checkpoints import CheckpointCallback, save_model
    from agents.rl.sb3_zip import resume_model
    from agents.rl.training import agent_env_kwargs, split_targets

    rank, world, device = init_distributed(device)
    from painters.loading import resolve_device

    dev = resolve_device(device)
    out = Path(out)
    hp = load_recipe(hyperparams, overrides)
    total = int(hp.get("n_timesteps", 1_000_000) if total_timesteps is None else total_timesteps)
    if total < 1:
        raise ValueError(f"--total-timesteps must be positive, got {total}")
    hp["n_timesteps"] = total
    kwargs = {**(hp.get("env_kwargs") or {}), **(env_kwargs or {})}
    hp["env_kwargs"] = kwargs
    ak = algo_kwargs(hp)  # validates the recipe before anything is written
    train_kwargs, eval_kwargs = split_targets(kwargs)
    run_cfg = {"hyperparams": hp, "seed": seed, "world_size": world}
    ckpt = out / "checkpoints" / "latest.zip"
    resume = ckpt.is_file()
    if resume:
        saved = json.loads((out / "run.json").read_text()) if (out / "run.json").is_file() else {}
        strip = lambda c: {  # noqa: E731
            **c,
            "hyperparams": {k: v for k, v in c.get("hyperparams", {}).items() if k not in MUTABLE},
        }
        if strip(json.loads(json.dumps(saved, default=str))) != strip(
            json.loads(json.dumps(run_cfg, default=str))
        ):
            raise ValueError(
                f"{out} holds a run with other settings (see its run.json); rerun with the same "
                "options and process count to continue it, or choose a new --out"
            )
    saved_kwargs = agent_env_kwargs(kwargs)
    meta = {
        "algo": ALGO,
        "env_id": ENV_ID,
        "env_kwargs": saved_kwargs,
        "hyperparams": {k: v for k, v in hp.items() if k != "env_kwargs"},
        "world_size": world,
    }
    if rank == 0:
        (out / "best").mkdir(parents=True, exist_ok=True)
        _write_json(out / "run.json", run_cfg)
        for folder in (out, out / "best"):
            _write_json(folder / "env_kwargs.json", saved_kwargs)
        _write_json(out / "best" / "agent.json", meta)  # lets load_agent read best/ mid-run
    set_random_seed(seed)
    env = make_vec_env(1, seed=seed, device=str(dev), **train_kwargs)
    tb = str(out / "tb") if rank == 0 else None
    fresh = ThroughPainter(
        hp.get("policy", "MultiInputPolicy"),
        env,
        seed=seed,
        device=dev,
        tensorboard_log=tb,
        verbose=verbose if rank == 0 else 0,
        **ak,
    )
    if resume:
        try:
            model = resume_model(ckpt, fresh, env, device=dev, tensorboard_log=tb)
        except ValueError as e:
            reason = str(e).split(" (", 1)[-1].split(");", 1)[0]
            raise ValueError(
                f"cannot resume from {ckpt} ({reason}); delete {ckpt.parent} to start the run "
                "over, or choose a new --out"
            ) from None
        model.verbose = fresh.verbose
    else:
        model = fresh
        if init_from is not None:
            warm_start(model, init_from)
    per_update = model.batch_size * (model._painting().max_strokes // model._run.k) * world
    remaining = max(total - model.num_timesteps, 0)
    callbacks: list[Any] = [_StopAfter.make(hours, max_updates)]
    eval_env = None
    if rank == 0:
        eval_env = make_vec_env(1, seed=seed + 10_000, device=str(dev), **eval_kwargs)
        if isinstance(model.get_env(), VecTransposeImage):
            eval_env = VecTransposeImage(eval_env)
        callbacks += [
            CheckpointCallback(
                out / "checkpoints",
                checkpoint_freq,
                save_replay_buffer=False,
                keep=keep_checkpoints,
            ),
            EvalCallback(
                eval_env,
                n_eval_episodes=n_eval_episodes,
                # at least once per session, so best/ always holds an agent
                eval_freq=max(min(eval_freq // per_update, -(-remaining // per_update)), 1),
                best_model_save_path=str(out / "best"),
                deterministic=True,
                verbose=0,
            ),
        ]
    start, t0 = model.num_timesteps, time.perf_counter()
    if remaining > 0:
        model.learn(
            remaining,
            callback=CallbackList(callbacks),
            reset_num_timesteps=not resume,
            progress_bar=progress_bar and rank == 0,
        )
    wall = time.perf_counter() - t0
    if rank == 0:
        save_model(model, out / "model.zip")
        session = {
            "steps": int(model.num_timesteps - start),
            "wall_s": round(wall, 2),
            "episodes_per_s": round((model.num_timesteps - start) / per_update * model.batch_size
                                    * world / max(wall, 1e-9), 2),
        }  # fmt: skip
        old = json.loads((out / "agent.json").read_text()) if (out / "agent.json").is_file() else {}
        summary = {
            **meta,
            "seed": seed,
            "device": str(dev),
            "num_timesteps": int(model.num_timesteps),
            "updates": int(model._n_updates),
            "init_from": init_from if not resume else old.get("init_from"),
            "torch_threads": torch.get_num_threads(),
            "last_session": session,
            "sessions": [*old.get("sessions", []), session] if resume else [session],
        }
        _write_json(out / "agent.json", summary)
        _write_json(out / "best" / "agent.json", summary)
    env.close()
    if eval_env is not None:
        eval_env.close()
    if world > 1:
        import torch.distributed as dist

        dist.barrier()
    return model


def warm_start(model: ThroughPainter, source: str) -> None:
    """Start ``model`` from the actor of the agent ``source`` (same architecture)."""
    from agents.rl.loading import load_agent
    from painters.cli import first_line

    src = load_agent(source, device=str(model.device))
    actor = getattr(getattr(src, "policy", None), "actor", None)
    if actor is None:
        raise ValueError(f"--init-from {source}: not an agent with an actor (SAC, TD3, ours)")
    state = {
        k: v
        for k, v in actor.state_dict().items()
        if k.split(".")[0] in ("features_extractor", "mu")
    }
    try:
        model.policy.actor.load_state_dict(state)
    except RuntimeError as e:
        raise ValueError(
            f"--init-from {source}: its actor has another architecture ({first_line(e)}); "
            "use the policy_kwargs it was trained with"
        ) from None


def distributed_done() -> None:
    """Leave the process group (end of a ``torchrun`` process)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def repackage_actor(
    source: str | os.PathLike, dest: str | os.PathLike, overrides: dict[str, Any] | None = None
) -> ThroughPainter:
    """Write the actor of an SB3 SAC/TD3 painting agent (e.g. one trained by the earlier
    plain-torch trainer, packaged as SAC) as a ThroughPainter agent folder ``dest``: the same
    extractor and ``mu`` weights, so it paints the same strokes; no critic. The recipe's
    hyperparameters (and ``overrides``) become the agent's, for further ``learn()``."""
    from agents.rl.building import make_vec_env
    from agents.rl.checkpoints import save_model
    from agents.rl.loading import _resolve, load_agent

    src = load_agent(source)
    _, kw_path = _resolve(source)
    env_kwargs = json.loads(kw_path.read_text())
    hp = load_recipe(None, overrides)
    src_meta_path = Path(_resolve(source)[0]).parent / "agent.json"
    src_hp = json.loads(src_meta_path.read_text()).get("hyperparams", {})
    hp["policy_kwargs"] = {
        **src_hp.get("policy_kwargs", {}),
        **(overrides or {}).get("policy_kwargs", {}),
    }
    hp["env_kwargs"] = env_kwargs
    env = make_vec_env(1, seed=0, **env_kwargs)
    model = ThroughPainter(hp.get("policy", "MultiInputPolicy"), env, seed=0, **algo_kwargs(hp))
    warm_start(model, str(source))
    del src
    out = Path(dest)
    out.mkdir(parents=True, exist_ok=True)
    save_model(model, out / "model.zip")
    _write_json(out / "env_kwargs.json", env_kwargs)
    meta = {
        "algo": ALGO,
        "env_id": ENV_ID,
        "env_kwargs": env_kwargs,
        "hyperparams": {k: v for k, v in hp.items() if k != "env_kwargs"},
        "world_size": 1,
    }
    _write_json(out / "agent.json", meta)
    env.close()
    return model
