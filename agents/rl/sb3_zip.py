"""SB3 model zips read without unpickling: which entries are pickled, replacements for them,
and a training checkpoint loaded on a freshly built model."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from stable_baselines3.common.base_class import BaseAlgorithm

from painters.io import first_line

#: Entries of an SB3 zip that only describe the last rollout; a loaded model starts afresh.
TRANSIENT = (
    "_last_obs",
    "_last_episode_starts",
    "_last_original_obs",
    "ep_info_buffer",
    "ep_success_buffer",
)


def serialized_keys(
    zip_path: str | os.PathLike, fix: str = "re-train it or copy it again"
) -> list[str]:
    """Names of the cloudpickled entries of an SB3 zip's ``data`` (read as JSON, not
    unpickled); ``ValueError`` naming the file and ``fix`` when it is not a readable model zip."""
    import zipfile

    try:
        with zipfile.ZipFile(zip_path) as z:
            data = json.loads(z.read("data"))
    except Exception as e:  # BadZipFile, KeyError, zlib.error, bad CRC, JSON: a damaged file
        raise ValueError(
            f"{zip_path} is not a readable SB3 model zip ({first_line(e)}); {fix}"
        ) from None
    if not isinstance(data, dict):
        raise ValueError(f"{zip_path} is not an SB3 model zip (no JSON object inside); {fix}")
    return [k for k, v in data.items() if isinstance(v, dict) and ":serialized:" in v]


def safe_custom_objects(zip_path: str | os.PathLike, known: dict[str, Any]) -> dict[str, Any]:
    """``custom_objects`` for SB3's ``load`` that replace *every* pickled entry of the zip (and
    the structural ones even when stored as plain JSON): ``known`` values where given, ``None``
    otherwise. With it SB3 unpickles nothing (its tensors load with ``weights_only=True``)."""
    objects = {k: known.get(k) for k in serialized_keys(zip_path)}
    objects.update(known)
    return objects


def resume_model(
    checkpoint: str | os.PathLike,
    fresh: BaseAlgorithm,
    env: Any,
    *,
    device: Any = "cpu",
    tensorboard_log: str | None = None,
) -> BaseAlgorithm:
    """The training state of ``checkpoint`` (an SB3 zip written by training) on ``env``, without
    unpickling it: every pickled entry (policy class and kwargs, spaces, schedules, buffer class,
    action noise) is taken from ``fresh``, a model just built from this run's hyperparameters;
    the last rollout's observations and episode statistics start afresh. ``ValueError`` with the
    fix when the file is damaged or does not match the hyperparameters.
    """
    path = Path(checkpoint)
    fix = "delete it (or the whole checkpoints/ folder) to start over, or drop --resume"
    objects = {
        k: None if k in TRANSIENT else getattr(fresh, k, None) for k in serialized_keys(path, fix)
    }
    for key in ("policy_class", "policy_kwargs", "observation_space", "action_space"):
        objects[key] = getattr(fresh, key)
    try:
        return type(fresh).load(
            path, env=env, device=device, tensorboard_log=tensorboard_log, custom_objects=objects
        )
    except Exception as e:  # damaged zip members, mismatched state dicts or spaces
        raise ValueError(f"cannot resume from {path} ({first_line(e)}); {fix}") from None
