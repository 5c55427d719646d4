"""Hyperparameter files: the one reader of the YAML recipes in ``agents/hyperparams/`` (SB3
algorithms and the through-painter) and of the user's ``--hyperparams FILE`` / ``--hp k=v``.

A recipe is the bundled file's mapping under the env id, then the user's file (keyed by env id
like an RL Zoo file, or a flat mapping), then the ``--hp`` overrides; nested mappings merge
key by key. ``policy_kwargs`` may be the RL Zoo's ``"dict(...)"`` string, parsed without
``eval`` by :mod:`agents.rl.zoo_format`.
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path
from typing import Any

import yaml

from agents.rl.building import ENV_ID
from agents.rl.zoo_format import parse_policy_kwargs
from painters.io import first_line

HYPERPARAMS_DIR = Path(__file__).resolve().parent.parent / "hyperparams"


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader reading numbers as YAML 1.2 does: ``5e-5`` and ``1E3`` are floats
    (YAML 1.1, PyYAML's default, wants a dot and a signed exponent, so ``learning_rate=5e-5``
    would arrive as the string "5e-5")."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def _load(text_or_file: Any) -> Any:
    return yaml.load(text_or_file, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


def merge(base: dict, extra: dict) -> dict:
    """``base`` updated by ``extra`` (copies; nested dicts merge key by key)."""
    out = copy.deepcopy(base)
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def read_hyperparams(
    bundled: str | os.PathLike,
    path: str | os.PathLike | None = None,
    overrides: dict[str, Any] | None = None,
    env_id: str = ENV_ID,
    *,
    replace_policy_kwargs: bool = True,
) -> dict[str, Any]:
    """The recipe in ``bundled`` (keyed by ``env_id``), then ``path`` (a file keyed by env id,
    or a flat mapping), then ``overrides``.

    ``replace_policy_kwargs``: a file's ``policy_kwargs`` replaces the bundled one whole (the RL
    Zoo's rule, for SB3 recipes, whose files carry the full ``"dict(...)"``); ``False`` merges
    it key by key (the through-painter recipe, where a file usually changes one extractor
    setting). A missing file is ``FileNotFoundError``, malformed YAML or a file that is not a
    mapping ``ValueError``, each naming the file.
    """
    hp = _parsed(_read_yaml(Path(bundled))[env_id])
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(
                f"no hyperparameter file at {p}; give a YAML file (see agents/hyperparams/)"
            )
        extra = _read_yaml(p)
        if not isinstance(extra, dict):
            raise ValueError(f"{p} must hold a mapping of hyperparameters")
        extra = _parsed(extra.get(env_id, extra))
        if replace_policy_kwargs and "policy_kwargs" in extra:
            hp.pop("policy_kwargs", None)
        hp = merge(hp, extra)
    return merge(hp, overrides or {})


def parse_overrides(pairs: list[str] | None) -> dict[str, Any]:
    """``["batch_size=64", "policy_kwargs.net_arch=[64, 64]"]`` → nested dict (values via YAML)."""
    out: dict[str, Any] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ValueError(f"override {pair!r} must look like key=value (e.g. batch_size=64)")
        key, value = pair.split("=", 1)
        node = out
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"override {pair!r} sets a key inside {part!r}, a value")
        try:
            node[parts[-1]] = _load(value)
        except (yaml.YAMLError, RecursionError):
            raise ValueError(f"override {pair!r}: the value is not valid YAML") from None
    return out


def _read_yaml(p: Path) -> Any:
    """A YAML file's content (safe loader); ``ValueError`` naming the file when malformed."""
    try:
        with open(p, encoding="utf-8") as f:
            return _load(f) or {}
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError) as e:
        raise ValueError(f"{p} is not valid YAML ({first_line(e)}); fix the file") from None


def _parsed(hp: dict[str, Any]) -> dict[str, Any]:
    """A file's mapping with ``policy_kwargs`` parsed (zoo string → JSON-friendly dict)."""
    hp = dict(hp)
    if "policy_kwargs" in hp:
        hp["policy_kwargs"] = parse_policy_kwargs(hp["policy_kwargs"])
    return hp
