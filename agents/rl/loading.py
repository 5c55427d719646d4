"""``load_agent``: a trained painting agent (bundled ``"default"`` or a folder/zip), offline."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from stable_baselines3.common.base_class import BaseAlgorithm

from agents.rl.sb3_zip import safe_custom_objects
from agents.rl.validation import check_env_kwargs, check_policy_kwargs
from agents.rl.zoo_format import parse_policy_kwargs
from painters.io import atomic_write_bytes, atomic_write_text, first_line

PRETRAINED_DIR = Path(__file__).resolve().parent.parent / "pretrained"
#: What SB3's loading raises for a zip that does not match its agent.json or env kwargs.
LOAD_ERRORS = (ValueError, KeyError, RuntimeError, EOFError, OSError, TypeError, AssertionError)


def bundled_agents() -> list[str]:
    """Names of the agents shipped inside the package."""
    if not PRETRAINED_DIR.is_dir():
        return []
    return sorted(p.name for p in PRETRAINED_DIR.iterdir() if (p / "env_kwargs.json").is_file())


def _resolve(name_or_path: str | os.PathLike) -> tuple[Path, Path]:
    """(model zip, env_kwargs.json) for a bundled name, a run/model folder or a zip path."""
    p = Path(name_or_path)
    if not p.exists() and (PRETRAINED_DIR / str(name_or_path)).is_dir():
        p = PRETRAINED_DIR / str(name_or_path)
    if p.is_dir():
        for cand in ("model.zip", "best_model.zip", "best/best_model.zip"):
            if (p / cand).is_file():
                p = p / cand
                break
    if not p.is_file() or p.suffix != ".zip":
        names = ", ".join(bundled_agents()) or "none"
        raise FileNotFoundError(
            f"no agent at {name_or_path!s}: give a model .zip or a folder holding model.zip "
            f"(scripts/train_agent.py writes one) or a bundled name ({names})"
        )
    kw = p.parent / "env_kwargs.json"
    if not kw.is_file() and (p.parent.parent / "env_kwargs.json").is_file():
        kw = p.parent.parent / "env_kwargs.json"
    if not kw.is_file():
        raise FileNotFoundError(
            f"no env_kwargs.json beside {p}; the agent's env cannot be recreated"
        )
    return p, kw


def _algo_of(zip_path: Path) -> str:
    """The algorithm that saved ``zip_path``: from ``agent.json`` beside it (written by
    training), else from the policy class named in the zip's JSON (read without unpickling)."""
    import zipfile

    meta = _meta(zip_path)
    if meta and meta.get("algo") in ("sac", "td3", "ppo", "through-painter"):
        return meta["algo"]
    with zipfile.ZipFile(zip_path) as z:
        data = json.loads(z.read("data"))
    name = json.dumps(data.get("policy_class", {})).lower()
    if "sac.policies" in name:
        return "sac"
    if "td3.policies" in name:
        return "td3"
    if "actorcritic" in name or "common.policies" in name:
        return "ppo"
    raise ValueError(f"cannot tell which algorithm saved {zip_path} (expected SAC, TD3 or PPO)")


def _meta(zip_path: Path) -> dict[str, Any] | None:
    for folder in (zip_path.parent, zip_path.parent.parent):
        f = folder / "agent.json"
        if f.is_file():
            try:
                meta = json.loads(f.read_text())
            except (OSError, UnicodeDecodeError, ValueError) as e:
                raise ValueError(
                    f"{f} is not valid JSON ({first_line(e)}); re-train or re-package the agent"
                ) from None
            if not isinstance(meta, dict):
                raise ValueError(f"{f} must hold a JSON object; re-train or re-package the agent")
            return meta
    return None


def _no_pickle_objects(
    zip_path: Path, algo: str, meta: dict[str, Any], env_kwargs: dict[str, Any]
) -> dict[str, Any]:
    """Replacements for every cloudpickled entry of an SB3 zip, rebuilt from ``agent.json`` and
    the env, so loading a shipped agent never unpickles anything (tensors load with
    ``weights_only=True`` inside SB3). Entries only training needs become ``None``.
    """
    import numpy as np
    from stable_baselines3.common.buffers import DictReplayBuffer, ReplayBuffer
    from stable_baselines3.common.type_aliases import TrainFreq, TrainFrequencyUnit
    from stable_baselines3.common.utils import ConstantSchedule
    from stable_baselines3.common.vec_env import DummyVecEnv, VecTransposeImage

    from agents.rl.building import ALGOS, make_env, policy_kwargs_for

    hp = meta.get("hyperparams", {})
    size = int(env_kwargs.get("size", 64))
    env = make_env(target=np.zeros((size, size, 3), np.uint8), **env_kwargs)
    try:
        venv = DummyVecEnv([lambda: env])
        obs_space = (
            VecTransposeImage(venv).observation_space
            if _needs_transpose(env)
            else env.observation_space
        )
        act_space = env.action_space
    finally:
        env.close()
    dict_obs = hasattr(obs_space, "spaces")
    freq = hp.get("train_freq", 1)
    freq = (freq, "step") if isinstance(freq, int) else tuple(freq)
    policy = hp.get("policy", "MultiInputPolicy")
    if policy not in ALGOS[algo].policy_aliases:
        raise ValueError(
            f"agent.json: unknown policy {policy!r}; use one of "
            f"{', '.join(ALGOS[algo].policy_aliases)}"
        )
    known: dict[str, Any] = {
        "policy_class": ALGOS[algo].policy_aliases[policy],
        "policy_kwargs": policy_kwargs_for(hp),
        "observation_space": obs_space,
        "action_space": act_space,
        "lr_schedule": ConstantSchedule(float(hp.get("learning_rate", 3e-4))),
        "learning_rate": float(hp.get("learning_rate", 3e-4)),
        "clip_range": ConstantSchedule(float(hp.get("clip_range", 0.2))),
        "replay_buffer_class": DictReplayBuffer if dict_obs else ReplayBuffer,
        "train_freq": TrainFreq(int(freq[0]), TrainFrequencyUnit(freq[1])),
    }
    structural = ("policy_class", "policy_kwargs", "observation_space", "action_space")
    objects = safe_custom_objects(zip_path, {k: known[k] for k in structural})
    for key in objects:
        if key not in structural:
            objects[key] = known.get(key)
    return objects


def _needs_transpose(env: Any) -> bool:
    from stable_baselines3.common.preprocessing import is_image_space, is_image_space_channels_first

    spaces = getattr(env.observation_space, "spaces", {"obs": env.observation_space})
    return any(is_image_space(s) and not is_image_space_channels_first(s) for s in spaces.values())


def _load_through_painter(
    zip_path: Path, meta: dict[str, Any], env_kwargs: dict[str, Any], device: str
) -> BaseAlgorithm:
    """A saved :class:`~agents.rl.through_painter.ThroughPainter`, its pickled zip entries
    rebuilt from ``agent.json`` and the env (never unpickled)."""
    import numpy as np
    from stable_baselines3.common.utils import ConstantSchedule
    from stable_baselines3.common.vec_env import DummyVecEnv, VecTransposeImage

    from agents.rl.building import make_env
    from agents.rl.through_painter import ThroughPainter
    from agents.rl.through_policy import ThroughPainterPolicy, policy_kwargs_of

    hp = meta.get("hyperparams", {})
    if hp.get("policy", "MultiInputPolicy") not in ThroughPainter.policy_aliases:
        raise ValueError(f"agent.json: unknown policy {hp.get('policy')!r}; use MultiInputPolicy")
    size = int(env_kwargs.get("size", 64))
    env = make_env(target=np.zeros((size, size, 3), np.uint8), **env_kwargs)
    try:
        obs_space = VecTransposeImage(DummyVecEnv([lambda: env])).observation_space
        act_space = env.action_space
    finally:
        env.close()
    known = {
        "policy_class": ThroughPainterPolicy,
        "policy_kwargs": policy_kwargs_of(hp),
        "observation_space": obs_space,
        "action_space": act_space,
        "lr_schedule": ConstantSchedule(float(hp.get("learning_rate", 5e-4))),
    }
    objects = safe_custom_objects(zip_path, known)
    return _load_zip(ThroughPainter, zip_path, device, objects, env_kwargs)


def _cannot_load(zip_path: Path, e: BaseException) -> ValueError:
    return ValueError(
        f"cannot load the agent {zip_path} ({first_line(e)}); its agent.json or "
        "env_kwargs.json may not match the model, re-package it from its training folder"
    )


def _load_zip(
    cls: type[BaseAlgorithm],
    zip_path: Path,
    device: str,
    custom_objects: dict[str, Any],
    env_kwargs: dict[str, Any],
) -> BaseAlgorithm:
    """``cls.load`` with the pickled entries given, ``model.env_kwargs`` set; a zip that does
    not match its agent.json is one ``ValueError`` naming the fix."""
    try:
        model = cls.load(zip_path, device=device, custom_objects=custom_objects)
    except LOAD_ERRORS as e:
        raise _cannot_load(zip_path, e) from None
    model.env_kwargs = env_kwargs
    return model


def load_agent(name_or_path: str | os.PathLike = "default", device: str = "cpu") -> BaseAlgorithm:
    """An SB3 model with ``model.env_kwargs``: the Painting-v0 kwargs it was trained with, so
    ``gymnasium.make("Painting-v0", target=..., **model.env_kwargs)`` recreates its env.

    Nothing is ever unpickled (an SB3 zip's pickled entries can run code): every pickled entry
    is rebuilt from the ``agent.json`` that training writes beside the zip (see
    :func:`_no_pickle_objects`), and a zip without one is refused with ``ValueError``.
    """
    from agents.rl.building import ALGOS

    zip_path, kw_path = _resolve(name_or_path)
    try:
        env_kwargs: dict[str, Any] = json.loads(kw_path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ValueError(f"{kw_path} is not valid JSON ({first_line(e)})") from None
    meta = _meta(zip_path)
    if meta is None:
        raise ValueError(
            f"refusing to load {zip_path}: no agent.json beside it, and a model zip's pickled "
            "entries can run code; load folders written by scripts/train_agent.py "
            "(model.zip + env_kwargs.json + agent.json), or write an agent.json naming its "
            '"algo" and "hyperparams"'
        )
    algo = meta.get("algo")
    check_env_kwargs(env_kwargs, str(kw_path))
    if algo == "through-painter":
        return _load_through_painter(zip_path, meta, env_kwargs, device)
    if algo not in ALGOS:
        raise ValueError(
            f"{zip_path.parent / 'agent.json'}: 'algo' must be one of {', '.join(ALGOS)}, "
            f"got {algo!r}"
        )
    hp = meta.get("hyperparams", {})
    where = f"{zip_path.parent / 'agent.json'}"
    if not isinstance(hp, dict):
        raise ValueError(f"{where}: 'hyperparams' must be a JSON object; re-package the agent")
    check_policy_kwargs(parse_policy_kwargs(hp.get("policy_kwargs")), f"{where}: policy_kwargs")
    try:
        custom = _no_pickle_objects(zip_path, algo, meta, env_kwargs)
    except LOAD_ERRORS as e:
        raise _cannot_load(zip_path, e) from None
    return _load_zip(ALGOS[algo], zip_path, device, custom, env_kwargs)


def package_agent(
    source: str | os.PathLike, dest: str | os.PathLike, extra: dict[str, Any] | None = None
) -> Path:
    """Copy a trained agent (a run folder, its ``best/`` or a zip) into ``dest`` as
    ``model.zip`` + ``env_kwargs.json`` + ``agent.json`` (image paths reduced to file names, and
    ``extra`` merged in), the layout :func:`load_agent` and the bundled ``default`` use.
    """

    zip_path, kw_path = _resolve(source)
    meta = dict(_meta(zip_path) or {"algo": _algo_of(zip_path)})
    for key in ("train_targets", "eval_targets"):
        if isinstance(meta.get(key), list):
            meta[key] = [Path(p).name for p in meta[key]]
    meta.update(extra or {})
    out = Path(dest)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out / "model.zip", zip_path.read_bytes())
    atomic_write_text(out / "env_kwargs.json", kw_path.read_text())
    atomic_write_text(out / "agent.json", json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return out
