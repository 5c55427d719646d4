"""Checks of a training request or a saved agent before anything is built or written: env
keywords, hyperparameters and ``policy_kwargs``, each number against the memory it implies
(:mod:`painters.limits`). Every failure is a ``ValueError`` naming the key and the fix, so
``neural-paint-train-agent`` refuses before creating anything in ``--out`` and ``load_agent``
refuses a damaged ``agent.json`` / ``env_kwargs.json`` in one line."""

from __future__ import annotations

import difflib
import inspect
import math
from typing import Any

from painters.limits import LimitError, check_memory, real_number, whole_number
from painting_env.limits import check_env_numbers

#: Constructor arguments the run sets itself (or that would need a pickled class).
RESERVED = (
    "self", "env", "seed", "device", "verbose", "tensorboard_log", "_init_setup_model",
    "action_noise", "replay_buffer_class", "rollout_buffer_class",
)  # fmt: skip
#: Names ``policy_kwargs`` may give as ``activation_fn`` and ``optimizer_class``.
ACTIVATIONS = ("ReLU", "Tanh", "ELU", "LeakyReLU", "SiLU", "GELU")
OPTIMIZERS = ("Adam", "AdamW", "SGD", "RMSprop")
#: Widest layer of a policy network.
MAX_WIDTH = 1 << 14


def _unknown(kind: str, key: str, known: list[str], fix: str) -> ValueError:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return ValueError(f"unknown {kind} {key!r}{hint}; {fix}: {', '.join(sorted(known))}")


def env_keywords() -> list[str]:
    """The keyword arguments of ``Painting-v0`` (the fields of its configuration)."""
    from dataclasses import fields

    from painting_env.config import PaintingConfig

    return [f.name for f in fields(PaintingConfig)]


def check_env_kwargs(kwargs: Any, source: str = "env kwargs", n_envs: int = 1) -> dict[str, Any]:
    """``kwargs`` for ``Painting-v0`` checked: a JSON object of known keywords whose numbers
    fit (``size``, ``max_strokes``, ``strokes_per_step`` for ``n_envs`` envs)."""
    if not isinstance(kwargs, dict):
        raise ValueError(
            f"{source} must be a JSON object of Painting-v0 keywords, e.g. "
            f'{{"max_strokes": 40}}, got {type(kwargs).__name__}'
        )
    known = env_keywords()
    for key in kwargs:
        if key not in known:
            raise _unknown("Painting-v0 keyword", str(key), known, f"fix {source}; known")
    try:
        check_env_numbers(
            n_envs, kwargs.get("size", 64), kwargs.get("max_strokes"),
            kwargs.get("strokes_per_step", 1),
        )  # fmt: skip
    except LimitError as e:
        raise LimitError(f"{source}: {e}") from None
    return kwargs


def transition_bytes(env_kwargs: dict[str, Any]) -> int:
    """Bytes of one replay-buffer transition of ``Painting-v0`` (canvas and target, observation
    and next observation, uint8)."""
    size = int(env_kwargs.get("size", 64))
    return 2 * 2 * 3 * size * size + 64


def check_hyperparams(
    algo_class: type, hp: dict[str, Any], env_kwargs: dict[str, Any], run_keys: tuple[str, ...]
) -> None:
    """A run's hyperparameters checked before anything is built: known keys (the algorithm's
    constructor arguments and ``run_keys``, the keys that configure the run) and numbers within
    bounds and memory."""
    params = inspect.signature(algo_class.__init__).parameters
    known = [k for k in params if k not in RESERVED and k != "policy"] + list(run_keys)
    fix = "check --hyperparams / --hp; known"
    for key in hp:
        if key not in known:
            raise _unknown(f"{algo_class.__name__} hyperparameter", str(key), known, fix)
    _finite(hp, "hyperparameter")
    whole = {"n_envs": (1, 4096), "batch_size": (1, 1 << 20), "buffer_size": (1, None),
             "n_steps": (1, None), "learning_starts": (0, None), "n_epochs": (1, 10_000),
             "gradient_steps": (-1, 1 << 20), "n_timesteps": (0, None),
             "policy_delay": (1, 10_000), "target_update_interval": (1, None)}  # fmt: skip
    for key, (low, high) in whole.items():
        if key in hp:
            whole_number(f"hyperparameter {key}", hp[key], low=low, high=high)
    for key in ("gamma", "tau", "gae_lambda"):
        if key in hp:
            real_number(f"hyperparameter {key}", hp[key], low=0.0, high=1.0)
    if isinstance(hp.get("learning_rate"), int | float):
        real_number("hyperparameter learning_rate", hp["learning_rate"], above=0.0)
    per = transition_bytes(env_kwargs)
    if "buffer_size" in hp:
        check_memory(
            f"a replay buffer of {hp['buffer_size']:,} transitions", hp["buffer_size"] * per,
            "use a smaller buffer_size (--hp buffer_size=N) or a smaller canvas",
        )  # fmt: skip
    if "n_steps" in hp and "n_envs" in hp and algo_class.__name__ == "PPO":
        n = int(hp["n_steps"]) * int(hp["n_envs"])
        check_memory(
            f"a rollout of {n:,} steps", n * per * 2, "use a smaller n_steps or fewer --n-envs"
        )
    check_policy_kwargs(hp.get("policy_kwargs") or {}, "policy_kwargs")


def _finite(value: Any, where: str) -> None:
    """Every number inside ``value`` finite (JSON and YAML let ``.inf`` / ``1e400`` through)."""
    if isinstance(value, dict):
        for k, v in value.items():
            _finite(v, f"{where} {k}")
    elif isinstance(value, list | tuple):
        for v in value:
            _finite(v, where)
    elif isinstance(value, float) and not math.isfinite(value):
        raise LimitError(f"{where} must be a finite number, got {value!r}")


def check_policy_kwargs(policy_kwargs: Any, source: str) -> None:
    """``policy_kwargs`` (as saved in ``agent.json`` or parsed from a hyperparameter file)
    checked: ``net_arch`` a list of layer widths (or a dict of such lists), ``activation_fn`` and
    ``optimizer_class`` known names, extractor sizes within bounds."""
    if not isinstance(policy_kwargs, dict):
        raise ValueError(f"{source} must be a mapping, got {type(policy_kwargs).__name__}")
    arch = policy_kwargs.get("net_arch")
    if arch is not None:
        lists = list(arch.values()) if isinstance(arch, dict) else [arch]
        for layers in lists:
            if not isinstance(layers, list | tuple):
                raise ValueError(
                    f"{source} net_arch must be a list of layer widths such as [128, 128] (or "
                    f"dict(pi=[...], qf=[...])), got {arch!r}"
                )
            for w in layers:
                whole_number(f"{source} net_arch width", w, low=1, high=MAX_WIDTH)
    for key, names in (("activation_fn", ACTIVATIONS), ("optimizer_class", OPTIMIZERS)):
        value = policy_kwargs.get(key)
        if value is not None and value not in names:
            raise ValueError(f"{source} {key} must be one of {', '.join(names)}, got {value!r}")
    fe = policy_kwargs.get("features_extractor_kwargs") or {}
    if not isinstance(fe, dict):
        raise ValueError(f"{source} features_extractor_kwargs must be a mapping")
    for key, value in fe.items():
        for v in value if isinstance(value, list | tuple) else [value]:
            if isinstance(v, int) and not isinstance(v, bool):
                whole_number(f"{source} features_extractor_kwargs {key}", v, low=0, high=MAX_WIDTH)
            elif isinstance(v, float):
                real_number(f"{source} features_extractor_kwargs {key}", v)
    for key in ("optimizer_kwargs",):
        if key in policy_kwargs and not isinstance(policy_kwargs[key], dict):
            raise ValueError(f"{source} {key} must be a mapping")
        _finite(policy_kwargs.get(key) or {}, f"{source} {key}")
