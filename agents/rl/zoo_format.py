"""The hyperparameter file format: RL Baselines3 Zoo's, read without ``eval``.

``agents/hyperparams/<algo>.yaml`` are RL Zoo files (``python -m agents.zoo train -conf ...``)
and ``scripts/train_agent.py`` reads the same files. Two zoo conventions need care here:

- ``policy_kwargs`` is a Python expression string, e.g.
  ``"dict(net_arch=[128, 128], features_extractor_class=PaintingCNN, ...)"``. The zoo
  ``eval``\\ s it (``agents.zoo`` puts the project's extractor names in its namespace); this
  module parses it with :mod:`ast` instead, accepting only literals, ``dict(...)`` and known
  names, so a hyperparameter file or an agent's ``agent.json`` can never run code. The result
  is a JSON-friendly dict that names classes by string (saved as is in ``agent.json``).
- ``vec_env_wrapper`` lists wrapper classes by import path, optionally with keyword arguments
  (reward scaling: :class:`agents.rl.wrappers.VecScaleReward`). Only wrappers from
  :data:`ALLOWED_WRAPPER_MODULES` are imported.

Learning-rate strings ``lin_<value>`` (the zoo's linear schedule) are supported too.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Callable
from typing import Any

#: Names a ``policy_kwargs`` string may use as values (classes are kept as these strings).
EXTRACTOR_NAMES = ("PaintingCNN", "PaintingGridMLP", "SpatialPainter")
ACTIVATION_NAMES = ("ReLU", "Tanh", "ELU", "LeakyReLU", "SiLU", "GELU")
#: Modules whose classes ``vec_env_wrapper`` entries may name.
ALLOWED_WRAPPER_MODULES = ("agents.rl.wrappers", "stable_baselines3.common.vec_env")


def _value(node: ast.AST, text: str) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        v = _value(node.operand, text)
        if isinstance(v, int | float) and not isinstance(v, bool):
            return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.List | ast.Tuple):
        return [_value(e, text) for e in node.elts]
    if isinstance(node, ast.Dict):
        return {
            _value(k, text): _value(v, text) for k, v in zip(node.keys, node.values, strict=True)
        }
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
        if node.args or any(k.arg is None for k in node.keywords):
            raise ValueError(f"policy_kwargs {text!r}: use dict(key=value, ...) only")
        return {k.arg: _value(k.value, text) for k in node.keywords}
    if isinstance(node, ast.Name) and node.id in EXTRACTOR_NAMES + ACTIVATION_NAMES:
        return node.id
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in ("nn", "th.nn", "torch.nn")
        and node.attr in ACTIVATION_NAMES
    ):
        return node.attr
    raise ValueError(
        f"policy_kwargs {text!r}: unsupported expression {ast.unparse(node)!r}; use literals, "
        f"dict(...), extractor names ({', '.join(EXTRACTOR_NAMES)}) or nn.<activation>"
    )


def parse_policy_kwargs(value: str | dict | None) -> dict[str, Any]:
    """``policy_kwargs`` as a JSON-friendly dict, from the zoo's expression string or a dict."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return dict(value)
    if not isinstance(value, str):
        raise ValueError(f"policy_kwargs must be a dict or a 'dict(...)' string, got {value!r}")
    try:
        tree = ast.parse(value.strip(), mode="eval")
    except SyntaxError as e:
        raise ValueError(f"policy_kwargs {value!r} is not a Python expression: {e.msg}") from None
    out = _value(tree.body, value)
    if not isinstance(out, dict):
        raise ValueError(f"policy_kwargs {value!r} must be a dict(...) expression")
    return out


def format_policy_kwargs(kwargs: dict[str, Any]) -> str:
    """The zoo's string form of a parsed ``policy_kwargs`` (inverse of :func:`parse_policy_kwargs`)."""

    def fmt(v: Any) -> str:
        if isinstance(v, dict):
            return "dict(" + ", ".join(f"{k}={fmt(x)}" for k, x in v.items()) + ")"
        if isinstance(v, list | tuple):
            return "[" + ", ".join(fmt(x) for x in v) + "]"
        if isinstance(v, str) and v in EXTRACTOR_NAMES:
            return v
        if isinstance(v, str) and v in ACTIVATION_NAMES:
            return f"nn.{v}"
        return repr(v)

    return fmt(kwargs)


def wrapper_entries(spec: Any) -> list[tuple[str, dict[str, Any]]]:
    """``vec_env_wrapper`` (a name, ``{name: kwargs}`` or a list of these) as (name, kwargs)."""
    if spec is None:
        return []
    items = spec if isinstance(spec, list) else [spec]
    out = []
    for item in items:
        if isinstance(item, str):
            out.append((item, {}))
        elif isinstance(item, dict) and len(item) == 1:
            name, kwargs = next(iter(item.items()))
            out.append((str(name), dict(kwargs or {})))
        else:
            raise ValueError(
                f"vec_env_wrapper entry {item!r} must be a class path or {{class path: kwargs}}"
            )
    return out


def _wrapper_class(name: str) -> Callable:
    module, _, cls = name.rpartition(".")
    if module not in ALLOWED_WRAPPER_MODULES:
        raise ValueError(
            f"vec_env_wrapper {name!r}: only wrappers from {', '.join(ALLOWED_WRAPPER_MODULES)} "
            "are loaded here (use python -m agents.zoo for others)"
        )
    try:
        return getattr(importlib.import_module(module), cls)
    except AttributeError:
        raise ValueError(f"vec_env_wrapper {name!r}: no class {cls!r} in {module}") from None


def apply_vec_env_wrappers(env: Any, hp: dict[str, Any]) -> Any:
    """``env`` wrapped as the file's ``vec_env_wrapper`` says (and by a legacy ``reward_scale``)."""
    for name, kwargs in wrapper_entries(hp.get("vec_env_wrapper")):
        env = _wrapper_class(name)(env, **kwargs)
    if float(hp.get("reward_scale", 1.0)) != 1.0:
        from agents.rl.wrappers import VecScaleReward

        env = VecScaleReward(env, float(hp["reward_scale"]))
    return env


def reward_scale_of(hp: dict[str, Any]) -> float:
    """The total reward scale the file's wrappers apply (to report unscaled returns)."""
    scale = float(hp.get("reward_scale", 1.0))
    for name, kwargs in wrapper_entries(hp.get("vec_env_wrapper")):
        if name.rpartition(".")[2] == "VecScaleReward":
            scale *= float(kwargs.get("scale", 100.0))
    return scale


def schedule(value: Any) -> Any:
    """A zoo learning-rate value: a number, or ``lin_<v>`` (linear from v to 0) as a callable."""
    if isinstance(value, str):
        kind, _, start = value.partition("_")
        if kind != "lin":
            raise ValueError(f"schedule {value!r} must be a number or lin_<value>")
        v0 = float(start)
        return lambda progress_remaining: progress_remaining * v0
    return value
