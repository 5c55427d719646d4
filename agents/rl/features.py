"""The CNN features extractor the SB3 agents use over a painting observation.

Why this shape: what an agent must see is *where the canvas still differs from the target*
and *what colour belongs there*. Stacking canvas, target and their signed difference gives the
first convolution that signal directly instead of making it learn a subtraction, and a small
strided CNN keeps SAC's many critic/actor passes cheap on a CPU. The episode progress
(``step``) is appended after the convolutions so the policy can pace its strokes.
"""

from __future__ import annotations

import gymnasium as gym
import torch
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn


def _image_layout(space: gym.spaces.Box) -> tuple[bool, int, int, int]:
    """(channel_first, channels, height, width) of an image Box, HWC or CHW."""
    if len(space.shape) != 3:
        raise ValueError(
            f"image observations must be 3-D (H, W, C) or (C, H, W), got {space.shape}"
        )
    c_first = space.shape[0] in (3, 6, 7) and space.shape[-1] not in (3, 6, 7)
    if c_first:
        c, h, w = space.shape
    else:
        h, w, c = space.shape
    return c_first, c, h, w


class PaintingCNN(BaseFeaturesExtractor):
    """Features of (canvas, target, step): a strided CNN over [canvas, target, target − canvas].

    Accepts the env's Dict observation (``canvas`` and ``target`` images, ``step``) in HWC or
    CHW layout (SB3's ``VecTransposeImage`` makes them CHW), uint8 in [0, 255] or already
    scaled floats in [0, 1]: use it with ``normalize_images=False`` in ``policy_kwargs`` so the
    division by 255 happens here, once. A single Box image with 6 channels (canvas then target,
    a compact observation) works too. The linear layer is sized with a dry forward pass.

    Args:
        observation_space: the (possibly transposed) observation space.
        features_dim: size of the output vector.
        cnn_channels: output channels of the stride-2 convolutions, one entry per layer.
        downsample: average-pool factor applied first. On a CPU the convolutions dominate an
            off-policy update (SAC runs ~8 extractor passes per gradient step); pooling 64 px
            observations by 4 makes them ~6x cheaper, and coarse colour is what early strokes need.
        scale_images: divide uint8 pixels by 255 (set False if SB3 normalises them already).
    """

    def __init__(
        self,
        observation_space: gym.spaces.Space,
        features_dim: int = 128,
        cnn_channels: tuple[int, ...] | list[int] = (16, 32, 32),
        downsample: int = 2,
        scale_images: bool = True,
    ) -> None:
        super().__init__(observation_space, features_dim)
        if isinstance(observation_space, gym.spaces.Dict):
            keys = set(observation_space.spaces)
            if not {"canvas", "target"} <= keys:
                raise ValueError(
                    f"PaintingCNN needs 'canvas' and 'target' observations, got keys {sorted(keys)}"
                )
            self.dict_obs = True
            self.has_step = "step" in keys
            self.channel_first, c, h, w = _image_layout(observation_space["canvas"])
            if c != 3:
                raise ValueError(f"canvas must have 3 channels, got {c}")
        elif isinstance(observation_space, gym.spaces.Box):
            self.dict_obs = False
            self.channel_first, c, h, w = _image_layout(observation_space)
            if c not in (6, 7):
                raise ValueError(
                    f"a Box observation must stack canvas, target (and a step plane): 6 or 7 "
                    f"channels, got {c}; use obs_mode='compact' or the Dict observation"
                )
            self.has_step = c == 7
        else:
            raise ValueError(f"unsupported observation space {observation_space!r}")
        self.scale = 1.0 / 255.0 if scale_images else 1.0
        if downsample < 1 or h % downsample or w % downsample:
            raise ValueError(
                f"downsample must be a positive divisor of the image size {h}x{w}, got {downsample}"
            )
        layers: list[nn.Module] = [nn.AvgPool2d(downsample)] if downsample > 1 else []
        in_ch = 9
        for out_ch in cnn_channels:
            layers += [nn.Conv2d(in_ch, out_ch, 4, stride=2, padding=1), nn.ReLU()]
            in_ch = out_ch
        layers.append(nn.Flatten())
        self.cnn = nn.Sequential(*layers)
        with torch.no_grad():
            n_flat = self.cnn(torch.zeros(1, 9, h, w)).shape[1]
        extra = 1 if self.has_step else 0
        self.head = nn.Sequential(nn.Linear(n_flat + extra, features_dim), nn.ReLU())

    def _chw(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float()
        if not self.channel_first:
            x = x.permute(0, 3, 1, 2)
        return x * self.scale

    def forward(self, observations: dict[str, torch.Tensor] | torch.Tensor) -> torch.Tensor:
        if self.dict_obs:
            canvas = self._chw(observations["canvas"])
            target = self._chw(observations["target"])
            step = (
                observations["step"].float().view(canvas.shape[0], -1)[:, :1]
                if self.has_step
                else None
            )
        else:
            both = self._chw(observations)
            canvas, target = both[:, :3], both[:, 3:6]
            # the step plane is constant: its mean is the step (scaled like the pixels)
            step = (
                both[:, 6].mean(dim=(1, 2))[:, None] * (255.0 * self.scale) / 255.0
                if self.has_step
                else None
            )
        x = torch.cat([canvas, target, target - canvas], dim=1)
        z = self.cnn(x)
        if step is not None:
            z = torch.cat([z, step], dim=1)
        return self.head(z)


class PaintingGridMLP(BaseFeaturesExtractor):
    """Features for model-free agents: the target and what is still missing, on a coarse grid.

    Why: model-free SAC learns a stroke from reward alone, so the observation must make "which
    colour goes where" nearly linear. This extractor average-pools the target and the signed
    residual ``target − canvas`` to ``grid × grid`` cells (a cell's place in the flat vector is
    its position, so no coordinate channels are needed), adds their global averages (the image's mean colour
    and the mean residual: what a first big stroke needs) and the episode step, and passes the
    flat vector through one linear layer. No convolutions: an update costs a few
    matrix products, so a CPU can afford many gradient steps per env step.

    Args:
        observation_space: the env's Dict observation (HWC or CHW, uint8 or floats in [0, 1]).
        features_dim: size of the output vector.
        grid: cells per side of the pooled views (must divide the canvas size).
        scale_images: divide uint8 pixels by 255 (use with ``normalize_images=False``).
    """

    def __init__(
        self,
        observation_space: gym.spaces.Space,
        features_dim: int = 256,
        grid: int = 8,
        scale_images: bool = True,
    ) -> None:
        super().__init__(observation_space, features_dim)
        if not isinstance(observation_space, gym.spaces.Dict) or not {
            "canvas",
            "target",
        } <= set(observation_space.spaces):
            raise ValueError(
                "PaintingGridMLP needs the Dict observation (obs_mode='dict') with 'canvas' and "
                f"'target', got {observation_space!r}"
            )
        self.has_step = "step" in observation_space.spaces
        self.channel_first, c, h, w = _image_layout(observation_space["canvas"])
        if c != 3 or h != w or grid < 1 or h % grid:
            raise ValueError(
                f"grid must divide the canvas size {h}x{w} (3 channels), got grid={grid}"
            )
        self.grid = int(grid)
        self.scale = 1.0 / 255.0 if scale_images else 1.0
        self.pool = nn.AdaptiveAvgPool2d(self.grid)
        cells = self.grid * self.grid
        n_in = 6 * cells + 6 + (1 if self.has_step else 0)
        self.head = nn.Sequential(nn.Linear(n_in, features_dim), nn.ReLU())

    def _chw(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float()
        if not self.channel_first:
            x = x.permute(0, 3, 1, 2)
        return x * self.scale

    def forward(self, observations: dict[str, torch.Tensor]) -> torch.Tensor:
        canvas = self._chw(observations["canvas"])
        target = self._chw(observations["target"])
        n = canvas.shape[0]
        t, r = self.pool(target), self.pool(target - canvas)
        parts = [
            t.reshape(n, -1),
            r.reshape(n, -1),
            t.mean(dim=(2, 3)),
            r.mean(dim=(2, 3)),
        ]
        if self.has_step:
            parts.append(observations["step"].float().view(n, -1)[:, :1])
        return self.head(torch.cat(parts, dim=1))
