"""What every neural painter shares: the forward contract and diffusers-style save/load.

A painter maps actions (B, 12) in [0, 1] to straight-alpha RGBA strokes (B, 4, 64, 64) in
[0, 1], differentiably. Its config is its constructor's keyword arguments; a checkpoint is a
folder with ``config.json`` (kind, config, metadata) and ``model.safetensors``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, ClassVar

import torch
from safetensors.torch import load_file, save
from torch import nn

from painters.io import atomic_write_bytes, atomic_write_text, first_line
from painters.limits import LimitError, real_number, whole_number

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"

PAINTER_KINDS: dict[str, type[NeuralPainter]] = {}

#: Largest value of a painter's size settings: the bundled painters use at most 64 (dabs),
#: 48 (widths) and 64 px; the bounds leave room for 4-16x larger painters while keeping a
#: config.json from allocating gigabytes (a layer of ``hidden`` 1e9, 1e7 dabs per stroke)
#: before the weights are even read.
CONFIG_BOUNDS: dict[str, int] = {
    "size": 512, "dabs": 256, "channels": 256, "hidden": 4096, "head_hidden": 4096,
    "conv_channels": 1024, "filter_taps": 256, "widths": 1024, "noise_channels": 64,
    "noise_size": 512, "latent_channels": 64, "latent_size": 512, "encoder_channels": 1024,
    "critic_channels": 1024, "critic_steps": 100, "dilation": 64, "lowpass_factor": 64,
}  # fmt: skip
#: Bound of any other whole number in a painter config.
OTHER_BOUND = 1 << 16


def check_config(
    config: Any,
    source: str,
    fix: str = "re-save the painter (scripts/train_painter.py writes a valid config.json)",
) -> dict[str, Any]:
    """``config`` (a painter's constructor keywords, from ``config.json``) checked before
    anything is built: a JSON object whose numbers are finite and whose sizes are within
    :data:`CONFIG_BOUNDS`; ``ValueError`` naming the key and the fix otherwise."""
    if not isinstance(config, dict):
        raise ValueError(f"{source}: 'config' must be a JSON object of the painter's settings")

    def check(key: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                check(str(k), v)
        elif isinstance(value, list | tuple):
            for v in value:
                check(key, v)
        elif isinstance(value, bool) or value is None or isinstance(value, str):
            return
        elif key in CONFIG_BOUNDS:
            whole_number(f"{source}: {key!r}", value, low=0, high=CONFIG_BOUNDS[key], fix=fix)
        elif isinstance(value, int):
            whole_number(f"{source}: {key!r}", value, low=-OTHER_BOUND, high=OTHER_BOUND, fix=fix)
        else:
            real_number(f"{source}: {key!r}", value, fix=fix)

    try:
        check("config", config)
    except RecursionError:
        raise LimitError(f"{source}: 'config' is nested too deeply; {fix}") from None
    return config


def register_painter(cls: type[NeuralPainter]) -> type[NeuralPainter]:
    """Class decorator: make a painter kind loadable by its ``kind`` name."""
    PAINTER_KINDS[cls.kind] = cls
    return cls


class NeuralPainter(nn.Module):
    """Base class. Subclasses set ``kind``, call ``super().__init__(**kwargs)`` with all their
    constructor keyword arguments (that dict *is* the config) and implement :meth:`forward`."""

    kind: ClassVar[str] = "base"
    #: Side of the strokes this painter draws.
    size: int = 64
    #: True when ``painter(actions)`` draws a random sample (GAN, VAE): such painters take
    #: ``sample=False`` (deterministic estimate), ``generator=`` and ``noise=``.
    stochastic: ClassVar[bool] = False

    def __init__(self, **config: Any) -> None:
        super().__init__()
        self.config: dict[str, Any] = dict(config)
        #: Free-form facts saved beside the config (brush, training steps, fidelity, ...).
        self.metadata: dict[str, Any] = {}

    def forward(self, actions: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def sample_noise(
        self,
        n: int,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
    ) -> torch.Tensor | None:
        """Noise for ``n`` strokes to pass as ``noise=`` (keeps their texture fixed across
        calls, as gradient painting needs); None for deterministic painters."""
        return None

    @staticmethod
    def rgba_from_alpha(actions: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        """RGBA = (action colour, alpha): the real brush paints exactly the action's colour."""
        b, _, h, w = alpha.shape
        rgb = actions[:, 6:9, None, None].expand(b, 3, h, w)
        return torch.cat([rgb, alpha], dim=1)

    # -- diffusers-style persistence -------------------------------------------------------
    def save_pretrained(self, path: str | os.PathLike, **metadata: Any) -> Path:
        """Write ``config.json`` + ``model.safetensors`` into ``path`` atomically."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.metadata.update(metadata)
        state = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}
        weights = save(state)  # safetensors bytes
        cfg = {"kind": self.kind, "config": self.config, "metadata": self.metadata}
        atomic_write_text(path / CONFIG_NAME, json.dumps(cfg, indent=2, default=str))
        atomic_write_bytes(path / WEIGHTS_NAME, weights)
        return path

    @classmethod
    def from_pretrained(
        cls, path: str | os.PathLike, device: str | torch.device = "cpu"
    ) -> NeuralPainter:
        """Rebuild a painter from a folder written by :meth:`save_pretrained`.

        Its kind must be registered: importing :mod:`painters.models` registers every built-in
        kind (:func:`painters.load_painter` does)."""
        path = Path(path)
        cfg_file, weights = path / CONFIG_NAME, path / WEIGHTS_NAME
        if not cfg_file.is_file() or not weights.is_file():
            raise FileNotFoundError(
                f"no painter at {path} (need {CONFIG_NAME} and {WEIGHTS_NAME}); train one with "
                "scripts/train_painter.py or use load_painter('default')"
            )
        try:
            cfg = json.loads(cfg_file.read_text())
            kind = cfg["kind"]
            config = cfg.get("config", {})
        except (ValueError, KeyError, TypeError, RecursionError) as e:
            raise ValueError(f"{cfg_file} is not a painter config ({first_line(e)})") from None
        if not isinstance(kind, str):
            raise ValueError(f"{cfg_file}: 'kind' must be a painter kind's name")
        check_config(config, str(cfg_file))
        if kind not in PAINTER_KINDS:
            raise ValueError(
                f"{cfg_file}: unknown painter kind {kind!r}; known: {', '.join(PAINTER_KINDS)}"
            )
        klass = PAINTER_KINDS[kind]
        if cls is not NeuralPainter and not issubclass(klass, cls):
            raise ValueError(f"{path} holds a {kind!r} painter, not a {cls.kind!r} one")
        try:
            model = klass(**config)
        except (TypeError, ValueError, RuntimeError) as e:
            raise ValueError(
                f"{cfg_file}: config does not fit a {kind!r} painter ({first_line(e)})"
            ) from None
        try:
            state = load_file(str(weights))
        except Exception as e:  # SafetensorError (bad header, truncated), OSError
            first = first_line(e)
            raise ValueError(
                f"{weights} is not a readable safetensors file ({first}); re-save or re-train "
                "the painter (scripts/train_painter.py)"
            ) from None
        bad = [k for k, v in state.items() if v.is_floating_point() and not v.isfinite().all()]
        if bad:
            raise ValueError(
                f"{weights} holds NaN or infinite weights ({', '.join(bad[:3])}); the training "
                "diverged: re-train the painter (lower --lr) or use an earlier checkpoint"
            )
        try:
            model.load_state_dict(state, strict=True)
        except (RuntimeError, OSError) as e:
            first = first_line(e)
            raise ValueError(
                f"{weights} does not match its {kind!r} config ({first}); re-save the painter"
            ) from None
        model.metadata = dict(cfg.get("metadata", {}))
        return model.to(device).eval()

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
