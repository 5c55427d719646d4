"""Training SB3 agents (SAC, TD3, PPO) on Painting-v0: hyperparameters, envs, callbacks, resume.

The script ``scripts/train_agent.py`` only parses arguments and calls :func:`train`; everything
that can be tested lives here. Output folder layout (all under ``out``)::

    model.zip, env_kwargs.json, agent.json   final model, its env kwargs, run summary
    best/best_model.zip, best/env_kwargs.json   best model on held-out targets (EvalCallback)
    checkpoints/latest.zip (+ latest_replay_buffer.npz)   resume state, replaced atomically
    tb/<algo>_1/events.out.tfevents.*   TensorBoard: SB3 scalars, painting/*, images/painting
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList, EvalCallback
from stable_baselines3.common.noise import NormalActionNoise
from stable_baselines3.common.utils import set_random_seed
from stable_baselines3.common.vec_env import (
    VecEnv,
    VecTransposeImage,
)

from agents.rl.building import ALGOS, ENV_ID, make_env, make_vec_env, policy_kwargs_for
from agents.rl.callbacks import (
    EpisodeDistanceCallback,
    ImageGridCallback,
    ProgressBarCallback,
)
from agents.rl.checkpoints import CheckpointCallback, resume_run, save_model
from agents.rl.hyperparams import HYPERPARAMS_DIR, read_hyperparams
from agents.rl.validation import check_env_kwargs, check_hyperparams
from agents.rl.zoo_format import (
    apply_vec_env_wrappers,
    reward_scale_of,
    schedule,
)
from painters.io import atomic_write_text, first_line
from painters.limits import whole_number

#: Hyperparameter keys that configure the run, not the algorithm's constructor.
RUN_KEYS = (
    "n_envs",
    "n_timesteps",
    "policy",
    "env_kwargs",
    "noise_type",
    "noise_std",
    "reward_scale",
    "vec_env_wrapper",
    "init_from",
)
#: Env kwargs that name the images; they are per run, so they are not saved with the agent.
TARGET_KEYS = ("target", "targets")


def _check_algo(algo: str) -> str:
    algo = algo.lower()
    if algo not in ALGOS:
        raise ValueError(f"unknown algorithm {algo!r}; choose one of {', '.join(ALGOS)}")
    return algo


def load_hyperparams(
    algo: str,
    path: str | os.PathLike | None = None,
    overrides: dict[str, Any] | None = None,
    env_id: str = ENV_ID,
) -> dict[str, Any]:
    """Hyperparameters for ``algo``: the bundled YAML, then ``path`` (an RL Zoo file keyed by
    env id, or a flat mapping), then ``overrides`` (nested dicts merge, e.g. policy_kwargs).
    A file's ``policy_kwargs`` (the zoo's ``"dict(...)"`` string, parsed without ``eval`` by
    :mod:`agents.rl.zoo_format`) replaces the bundled one whole
    (:func:`agents.rl.hyperparams.read_hyperparams`).
    """
    algo = _check_algo(algo)
    return read_hyperparams(HYPERPARAMS_DIR / f"{algo}.yaml", path, overrides, env_id)


def fit_to_budget(
    algo: str, hp: dict[str, Any], total_timesteps: int, n_envs: int
) -> dict[str, Any]:
    """Shrink sizes that a tiny budget cannot fill, so a 256-step smoke run still learns, logs and
    saves: learning starts within the first quarter, the replay buffer holds no more than the run,
    and a PPO rollout (n_steps × n_envs) fits in the budget.
    """
    hp = copy.deepcopy(hp)
    algo = _check_algo(algo)
    if algo in ("sac", "td3"):
        hp["learning_starts"] = int(min(hp.get("learning_starts", 100), total_timesteps // 4))
        cap = max(total_timesteps + n_envs, 2 * n_envs)
        hp["buffer_size"] = int(min(hp.get("buffer_size", 1_000_000), cap))
    else:
        n_steps = int(hp.get("n_steps", 2048))
        n_steps = max(2, min(n_steps, total_timesteps // max(n_envs, 1)))
        hp["n_steps"] = n_steps
        hp["batch_size"] = int(min(hp.get("batch_size", 64), n_steps * n_envs))
    return hp


def bundled_targets() -> list[str]:
    """Paths of the sample images shipped with painting_env (sorted, so splits are stable)."""
    try:
        from painting_env.targets import bundled_targets as env_bundled

        return [str(p) for p in env_bundled()]
    except ImportError:
        spec = importlib.util.find_spec("painting_env")
        root = Path(list(spec.submodule_search_locations)[0]) / "samples"
        return sorted(str(p) for p in root.iterdir() if p.suffix.lower() in (".jpg", ".png"))


def split_targets(env_kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(training kwargs, held-out kwargs). Without explicit targets, the bundled samples are split:
    all but the last for training, the last for evaluation and previews (never trained on).
    """
    if any(k in env_kwargs for k in TARGET_KEYS):
        return dict(env_kwargs), dict(env_kwargs)
    samples = bundled_targets()
    if len(samples) < 2:
        return dict(env_kwargs), dict(env_kwargs)
    return {**env_kwargs, "targets": samples[:-1]}, {**env_kwargs, "targets": samples[-1:]}


def agent_env_kwargs(env_kwargs: dict[str, Any]) -> dict[str, Any]:
    """The kwargs saved with an agent: everything that defines its env except the images."""
    return {k: v for k, v in env_kwargs.items() if k not in TARGET_KEYS and k != "render_mode"}


def build_model(
    algo: str,
    env: VecEnv,
    hp: dict[str, Any],
    *,
    seed: int = 0,
    device: str | torch.device = "cpu",
    tensorboard_log: str | None = None,
    verbose: int = 0,
) -> BaseAlgorithm:
    """A fresh SB3 model with the painting CNN features extractor and ``hp``'s settings."""
    algo = _check_algo(algo)
    kwargs = {k: copy.deepcopy(v) for k, v in hp.items() if k not in RUN_KEYS}
    kwargs.pop("policy_kwargs", None)
    if "learning_rate" in kwargs:
        kwargs["learning_rate"] = schedule(kwargs["learning_rate"])
    policy_kwargs = policy_kwargs_for(hp)
    if algo == "td3" and hp.get("noise_type"):
        if hp["noise_type"] != "normal":
            raise ValueError(f"noise_type {hp['noise_type']!r} is not supported; use 'normal'")
        dim = int(np.prod(env.action_space.shape))
        kwargs["action_noise"] = NormalActionNoise(
            np.zeros(dim), float(hp.get("noise_std", 0.1)) * np.ones(dim)
        )
    return ALGOS[algo](
        hp.get("policy", "MultiInputPolicy"),
        env,
        policy_kwargs=policy_kwargs,
        seed=seed,
        device=device,
        tensorboard_log=tensorboard_log,
        verbose=verbose,
        **kwargs,
    )


def _write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def warm_start(model: BaseAlgorithm, source: str | os.PathLike) -> None:
    """Copy the networks (and SAC's learned entropy coefficient) of the agent ``source`` into
    ``model``, a model just built for a new run. ``ValueError`` naming the fix when the two
    differ in algorithm or architecture."""
    from agents.rl.loading import load_agent

    src = load_agent(source, device=str(model.device))
    if type(src) is not type(model):
        raise ValueError(
            f"--init-from {source}: a {type(src).__name__} agent; train it with "
            f"--algo {type(src).__name__.lower()} or start from another agent"
        )
    try:
        model.policy.load_state_dict(src.policy.state_dict())
    except RuntimeError as e:
        raise ValueError(
            f"--init-from {source}: its networks differ from this run's policy "
            f"({first_line(e)}); use the hyperparameters it was trained with"
        ) from None
    if (
        getattr(src, "log_ent_coef", None) is not None
        and getattr(model, "log_ent_coef", None) is not None
    ):
        with torch.no_grad():
            model.log_ent_coef.copy_(src.log_ent_coef)


def _resume(
    ckpt: Path,
    algo: str,
    env: VecEnv,
    hp: dict[str, Any],
    *,
    seed: int,
    device: Any,
    out: Path,
    verbose: int,
) -> tuple[BaseAlgorithm, dict[str, Any] | None]:
    """The checkpointed run and its random state (:func:`agents.rl.checkpoints.resume_run`),
    rebuilt on a model made from this run's hyperparameters: nothing is unpickled."""
    fresh = build_model(algo, env, hp, seed=seed, device=device, verbose=verbose)
    return resume_run(ckpt, fresh, env, device=device, tensorboard_log=str(out / "tb"))


def train(
    algo: str,
    out: str | os.PathLike,
    *,
    total_timesteps: int | None = None,
    n_envs: int | None = None,
    seed: int = 0,
    device: str = "auto",
    env_kwargs: dict[str, Any] | None = None,
    hyperparams: str | os.PathLike | None = None,
    overrides: dict[str, Any] | None = None,
    resume: bool = False,
    eval_freq: int = 10_000,
    n_eval_episodes: int = 4,
    image_freq: int = 10_000,
    checkpoint_freq: int = 10_000,
    progress_bar: bool = True,
    verbose: int = 0,
    init_from: str | os.PathLike | None = None,
    keep_checkpoints: int = 0,
) -> BaseAlgorithm:
    """Train ``algo`` on Painting-v0 and save everything under ``out`` (see module docstring).

    ``total_timesteps`` counts env steps summed over all envs (SB3's convention). With
    ``resume=True`` the run continues from ``out/checkpoints/latest.zip`` (and its replay
    buffer) up to the same total; the TensorBoard run continues too. ``init_from`` (an agent
    :func:`~agents.rl.loading.load_agent` accepts: a bundled name or a folder) starts a new
    run from that agent's networks and entropy coefficient, everything else (learning rate,
    schedule, an empty replay buffer) from this run's hyperparameters: a warm restart.
    ``keep_checkpoints`` > 0 keeps that many past checkpoints (``checkpoints/step_*.zip``) to
    average (:mod:`agents.rl.averaging`).
    Training through the differentiable painter is its own algorithm,
    :class:`agents.rl.through_painter.ThroughPainter` (``--algo through-painter``).
    """
    from painters.loading import resolve_device

    algo = _check_algo(algo)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file, not a folder; give a folder path")
    hp = load_hyperparams(algo, hyperparams, overrides)
    n_envs = whole_number("--n-envs", hp.get("n_envs", 8) if n_envs is None else n_envs, low=1)
    total = whole_number(
        "--total-timesteps",
        hp.get("n_timesteps", 100_000) if total_timesteps is None else total_timesteps,
        low=1,
    )
    if init_from is not None:
        hp["init_from"] = str(init_from)  # recorded in agent.json
    check_env_kwargs(hp.get("env_kwargs") or {}, "the hyperparameters' env_kwargs", n_envs)
    check_env_kwargs(env_kwargs or {}, "--env-kwargs", n_envs)
    kwargs = {**(hp.get("env_kwargs") or {}), **(env_kwargs or {})}
    check_env_kwargs(kwargs, "env_kwargs", n_envs)
    check_hyperparams(ALGOS[algo], hp, kwargs, RUN_KEYS)
    hp = fit_to_budget(algo, hp, max(total, 1), n_envs)
    hp["n_envs"], hp["n_timesteps"] = n_envs, total
    hp["env_kwargs"] = kwargs
    train_kwargs, eval_kwargs = split_targets(kwargs)
    dev = resolve_device(device)
    set_random_seed(seed)
    # everything that can be refused is built before anything is written into out
    env = make_vec_env(n_envs, seed=seed, device=str(dev), **train_kwargs)
    env = apply_vec_env_wrappers(env, hp)
    ckpt, state = out / "checkpoints" / "latest.zip", None
    if resume and ckpt.is_file():
        model, state = _resume(ckpt, algo, env, hp, seed=seed, device=dev, out=out, verbose=verbose)
        remaining = max(total - model.num_timesteps, 0)
    else:
        if resume and verbose:
            print(f"no checkpoint at {ckpt}; starting a new run")
        model = build_model(
            algo, env, hp, seed=seed, device=dev, tensorboard_log=str(out / "tb"), verbose=verbose
        )
        if init_from is not None:
            warm_start(model, init_from)
        remaining = total
    out.mkdir(parents=True, exist_ok=True)
    (out / "best").mkdir(exist_ok=True)
    saved_kwargs = agent_env_kwargs(kwargs)
    _write_json(out / "env_kwargs.json", saved_kwargs)
    _write_json(out / "best" / "env_kwargs.json", saved_kwargs)

    reward_scale = reward_scale_of(hp)
    meta = {
        "algo": algo,
        "env_id": ENV_ID,
        "env_kwargs": saved_kwargs,
        "hyperparams": {k: v for k, v in hp.items() if k != "env_kwargs"},
    }
    _write_json(out / "best" / "agent.json", meta)  # lets load_agent read best/ mid-run
    if not (out / "agent.json").is_file():
        _write_json(out / "agent.json", meta)

    preview_env = make_env(**eval_kwargs)
    eval_env = make_vec_env(1, seed=seed + 10_000, device=str(dev), **eval_kwargs)
    if isinstance(model.get_env(), VecTransposeImage):
        eval_env = VecTransposeImage(eval_env)
    per_call = max(n_envs, 1)
    callbacks: list[BaseCallback] = [
        EpisodeDistanceCallback(reward_scale=reward_scale),
        ImageGridCallback(preview_env, freq=image_freq, seed=seed),
        EvalCallback(
            eval_env,
            n_eval_episodes=n_eval_episodes,
            eval_freq=max(eval_freq // per_call, 1),
            best_model_save_path=str(out / "best"),
            deterministic=True,
            verbose=0,
        ),
    ]
    # last: on a resume it restores the random state after the others have started
    callbacks.append(
        CheckpointCallback(
            out / "checkpoints", checkpoint_freq, keep=keep_checkpoints, resume_state=state
        )
    )
    if progress_bar:
        callbacks.append(ProgressBarCallback(remaining))
    start_steps, t0 = model.num_timesteps, time.perf_counter()
    if remaining > 0:
        model.learn(
            total_timesteps=remaining,
            callback=CallbackList(callbacks),
            tb_log_name=algo,
            reset_num_timesteps=not (resume and ckpt.is_file()),
            log_interval=1 if algo == "ppo" else 4,
        )
    wall = time.perf_counter() - t0
    save_model(model, out / "model.zip")
    steps = model.num_timesteps - start_steps
    summary = {
        "algo": algo,
        "env_id": ENV_ID,
        "env_kwargs": saved_kwargs,
        "train_targets": train_kwargs.get("targets", train_kwargs.get("target")),
        "eval_targets": eval_kwargs.get("targets", eval_kwargs.get("target")),
        "hyperparams": {k: v for k, v in hp.items() if k != "env_kwargs"},
        "n_envs": n_envs,
        "seed": seed,
        "device": str(dev),
        "num_timesteps": int(model.num_timesteps),
        "last_session": {
            "steps": int(steps),
            "wall_s": round(wall, 2),
            "steps_per_s": round(steps / max(wall, 1e-9), 2),
        },
        "torch_threads": torch.get_num_threads(),
    }
    prev = out / "agent.json"
    old = json.loads(prev.read_text()) if resume and prev.is_file() else {}
    if old.get("sessions"):
        summary["sessions"] = old["sessions"] + [summary["last_session"]]
    else:
        summary["sessions"] = [summary["last_session"]]
    summary["total_wall_s"] = round(sum(s["wall_s"] for s in summary["sessions"] if s), 2)
    _write_json(prev, summary)
    _write_json(out / "best" / "agent.json", summary)
    for e in (env, eval_env, preview_env):
        e.close()
    return model
