"""Perceptual (VGG feature) content loss, as in Nakano's *Neural Painters* and the course project
it inspired: compare canvas and target in the feature space of an ImageNet VGG, which rewards
painting the same structures rather than the same pixels.

Why our own VGG: torchvision is not a dependency (it is large and pins torch). The ``features``
stack below has torchvision's layer indices, so its state-dict keys (``features.0.weight`` ...)
match torchvision's ``vgg16-397923af.pth`` / ``vgg19-dcbb9e9d.pth`` files, which load with
``torch.load(path, weights_only=True)``. Nothing is ever downloaded: weights come from a path
the user gives, or from torch hub's local cache if a torchvision download already left them
there.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from painters.io import first_line

CONFIGS: dict[str, list[int | str]] = {
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
              512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"],
}  # fmt: skip
DEFAULT_LAYERS = ("relu2_2", "relu3_3")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
HOW_TO = (
    "give --perceptual-weights PATH to torchvision's vgg16-397923af.pth or vgg19-dcbb9e9d.pth "
    "(or put it in {cache}); nothing is downloaded"
)


def layer_names(arch: str) -> dict[str, int]:
    """Map ``relu{block}_{conv}`` names to their index in ``features`` (torchvision layout)."""
    names, idx, block, conv = {}, 0, 1, 0
    for v in CONFIGS[arch]:
        if v == "M":
            idx += 1
            block, conv = block + 1, 0
        else:
            conv += 1
            names[f"conv{block}_{conv}"] = idx
            names[f"relu{block}_{conv}"] = idx + 1
            idx += 2
    return names


def make_features(arch: str = "vgg16") -> nn.Sequential:
    """VGG ``features`` with torchvision's indices (conv, ReLU, ..., max-pool)."""
    if arch not in CONFIGS:
        raise ValueError(f"unknown VGG {arch!r}; choose one of {', '.join(CONFIGS)}")
    layers: list[nn.Module] = []
    c = 3
    for v in CONFIGS[arch]:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(c, int(v), 3, padding=1), nn.ReLU(inplace=False)]
            c = int(v)
    return nn.Sequential(*layers)


def hub_checkpoint_dir() -> Path:
    """torch hub's local checkpoint folder (``$TORCH_HOME/hub/checkpoints``); never fetched."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def find_vgg_weights(arch: str = "vgg16") -> Path | None:
    """A torchvision VGG file already on this machine (torch hub cache), or ``None``."""
    d = hub_checkpoint_dir()
    found = sorted(d.glob(f"{arch}-*.pth")) if d.is_dir() else []
    return found[0] if found else None


def arch_from_path(path: str | os.PathLike) -> str | None:
    """``vgg16`` / ``vgg19`` from a file name like ``vgg19-dcbb9e9d.pth``, else ``None``."""
    name = Path(path).name.lower()
    return next((a for a in CONFIGS if name.startswith(a)), None)


class PerceptualLoss(nn.Module):
    """Content loss: mean over ``layers`` of the MSE between VGG features of canvas and target.

    Call as ``loss(canvas, target) -> (B,)`` with float (B, 3, H, W) in [0, 1], like the
    distances in :mod:`painters.distances`. Weights are frozen; gradients flow to the canvas.

    Args:
        arch: ``"vgg16"`` or ``"vgg19"``.
        weights: path to a torchvision state dict; ``None`` looks in the torch hub cache.
        layers: ReLU outputs to compare, e.g. ``("relu2_2", "relu3_3")``.
        resize: side the images are resized to before VGG (64 px is small for ImageNet
            filters; 128 gives the deeper layers a few pixels of room).
        random_init: use seeded random weights instead (tests, smoke runs: not a real loss).
    """

    def __init__(
        self,
        arch: str = "vgg16",
        weights: str | os.PathLike | None = None,
        *,
        layers: tuple[str, ...] = DEFAULT_LAYERS,
        resize: int | None = 128,
        random_init: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if weights is not None and arch_from_path(weights) is not None:
            arch = arch_from_path(weights) or arch
        features = make_features(arch)
        names = layer_names(arch)
        unknown = [n for n in layers if n not in names]
        if unknown or not layers:
            raise ValueError(
                f"unknown VGG layers {unknown or list(layers)}; choose from {', '.join(names)}"
            )
        if random_init:
            gen = torch.Generator().manual_seed(seed)
            for m in features:
                if isinstance(m, nn.Conv2d):
                    fan_in = m.in_channels * 9
                    with torch.no_grad():
                        m.weight.copy_(torch.randn(m.weight.shape, generator=gen) / fan_in**0.5)
                        m.bias.zero_()
        else:
            path = Path(weights) if weights is not None else find_vgg_weights(arch)
            if path is None:
                raise FileNotFoundError(
                    f"no {arch} weights found: " + HOW_TO.format(cache=hub_checkpoint_dir())
                )
            load_vgg_features(features, path)
        self.arch = arch
        self.indices = sorted(names[n] for n in layers)
        self.features = features[: self.indices[-1] + 1]
        self.resize = resize
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.eval()
        for p in self.parameters():
            p.requires_grad_(False)

    def feats(self, x: torch.Tensor) -> list[torch.Tensor]:
        if self.resize and x.shape[-1] != self.resize:
            x = F.interpolate(
                x, size=(self.resize, self.resize), mode="bilinear", align_corners=False
            )
        x = (x - self.mean) / self.std
        out = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.indices:
                out.append(x)
        return out

    def forward(self, canvas: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        fc = self.feats(canvas)
        with torch.no_grad():
            ft = self.feats(target)
        return sum((a - b).pow(2).flatten(1).mean(1) for a, b in zip(fc, ft, strict=True)) / len(fc)


def load_vgg_features(features: nn.Sequential, path: str | os.PathLike) -> None:
    """Load the ``features.*`` part of a torchvision VGG state dict into ``features``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no VGG weights file at {path}; " + HOW_TO.format(cache=hub_checkpoint_dir())
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # corrupt file, pickle with disallowed objects, ...
        raise ValueError(
            f"cannot read {path} as a torchvision VGG state dict ({type(e).__name__}); "
            + HOW_TO.format(cache=hub_checkpoint_dir())
        ) from None
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    feats = {k[len("features.") :]: v for k, v in state.items() if k.startswith("features.")}
    try:
        features.load_state_dict(feats, strict=True)
    except RuntimeError as e:
        raise ValueError(
            f"{path} does not fit this VGG layout ({first_line(e)}); name the file vgg16-*.pth or "
            "vgg19-*.pth after its architecture"
        ) from None
