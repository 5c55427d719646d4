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

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"

PAINTER_KINDS: dict[str, type[NeuralPainter]] = {}


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
        """Rebuild a painter from a folder written by :meth:`save_pretrained`."""
        import painters.models  # noqa: F401  (registers every kind)

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
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"{cfg_file} is not a painter config ({e})") from None
        if kind not in PAINTER_KINDS:
            raise ValueError(
                f"{cfg_file}: unknown painter kind {kind!r}; known: {', '.join(PAINTER_KINDS)}"
            )
        klass = PAINTER_KINDS[kind]
        if cls is not NeuralPainter and not issubclass(klass, cls):
            raise ValueError(f"{path} holds a {kind!r} painter, not a {cls.kind!r} one")
        try:
            model = klass(**config)
        except TypeError as e:
            raise ValueError(f"{cfg_file}: config does not fit a {kind!r} painter ({e})") from None
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
