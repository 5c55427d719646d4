"""A painting actor that places strokes where it looks: a residual CNN with spatial soft-argmax.

Why this shape: what a painting policy must output are stroke *positions* on the canvas and the
*colours* found there. A CNN followed by a flatten and an MLP has to learn to map a feature map to
coordinates, which takes millions of samples (Learning to Paint trains for GPU-days). Here each
of the ``k`` strokes of a step gets a heat map over the canvas; its soft-argmax is the stroke's
anchor point (translation-equivariant, exact coordinates for free, the "spatial soft-argmax" of
deep spatial autoencoders), and the features, target colour and canvas colour *at* that anchor
(attention-pooled with the same heat map) feed a small per-stroke MLP shared by all slots. That
MLP outputs the stroke relative to its anchor: start, control and end offsets, pressure, size,
colour. Input planes follow Learning to Paint: canvas, target, their difference, two coordinate
channels and the episode step.

The module is an SB3 ``BaseFeaturesExtractor`` whose output *is* the pre-tanh action, so an SB3
SAC/TD3 actor built with ``net_arch=[]`` and an identity-initialised ``mu``
(:func:`init_identity_head`) acts exactly as this network; ``model.predict`` and
``agents.load_agent`` work as for any SB3 agent.
"""

from __future__ import annotations

import math

import gymnasium as gym
import torch
import torch.nn.functional as F
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from painters.actions import ACTION_DIM

#: Action layout (see painters/actions.py): indices of the coordinates and the rest.
_PRESSURE, _SIZE, _CX, _CY, _EX, _EY, _R, _G, _B, _SX, _SY, _ENTRY = range(ACTION_DIM)
#: Largest offset of a stroke's points from its anchor, as a fraction of the canvas.
MAX_OFFSET = 0.5
#: Pre-tanh values are clamped so tanh(pre) stays inside (-1, 1) with usable gradients.
_EDGE = 0.995


def _image(x: torch.Tensor, channel_first: bool, scale: float) -> torch.Tensor:
    x = x.float()
    if not channel_first:
        x = x.permute(0, 3, 1, 2)
    return x * scale


class _Block(nn.Module):
    """Pre-activation residual block with GroupNorm (batch-size independent, stable at batch 1)."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.n1, self.c1 = nn.GroupNorm(8, ch), nn.Conv2d(ch, ch, 3, padding=1)
        self.n2, self.c2 = nn.GroupNorm(8, ch), nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.c1(F.relu(self.n1(x)))
        return x + self.c2(F.relu(self.n2(h)))


class SpatialPainter(BaseFeaturesExtractor):
    """Observation → ``strokes_per_step × 12`` pre-tanh action values (see the module docstring).

    Accepts ``Painting-v0``'s Dict observation (``canvas``, ``target``, ``step``; HWC or CHW,
    uint8 values). Use it with ``normalize_images=False``, ``net_arch=[]``.

    Args:
        observation_space: the (possibly transposed) Dict observation space.
        strokes_per_step: strokes per action (``k``); the output has ``12 k`` values.
        channels: trunk widths at 1/2 and 1/4 of the canvas size.
        blocks: residual blocks at those two resolutions (two numbers).
        hidden: width of the per-stroke MLP.
    """

    def __init__(
        self,
        observation_space: gym.spaces.Dict,
        strokes_per_step: int = 8,
        channels: tuple[int, int] | list[int] = (24, 48),
        blocks: tuple[int, int] | list[int] = (0, 2),
        hidden: int = 128,
    ) -> None:
        k = int(strokes_per_step)
        super().__init__(observation_space, k * ACTION_DIM)
        if not isinstance(observation_space, gym.spaces.Dict) or not {
            "canvas",
            "target",
            "step",
        } <= set(observation_space.spaces):
            raise ValueError(
                "SpatialPainter needs Painting-v0's Dict observation (canvas, target, step); "
                "use obs_mode='dict'"
            )
        shape = observation_space["canvas"].shape
        self.channel_first = shape[0] == 3 and shape[-1] != 3
        h, w = (shape[1], shape[2]) if self.channel_first else (shape[0], shape[1])
        if h != w or h % 4:
            raise ValueError(f"SpatialPainter needs a square canvas divisible by 4, got {h}x{w}")
        self.k, self.size = k, h
        c1, c2 = (int(c) for c in channels)
        b1, b2 = (int(b) for b in blocks)
        self.stem = nn.Conv2d(12, c1, 3, stride=2, padding=1)
        self.stage1 = nn.Sequential(*[_Block(c1) for _ in range(b1)])
        self.down = nn.Conv2d(c1, c2, 3, stride=2, padding=1)
        self.stage2 = nn.Sequential(*[_Block(c2) for _ in range(b2)])
        self.norm = nn.GroupNorm(8, c2)
        self.heat = nn.Conv2d(c2, k, 3, padding=1)
        self.log_temperature = nn.Parameter(torch.zeros(()))
        # per-stroke MLP input: anchor (2), pooled features (c2), pooled target/canvas/diff
        # colours (9), global features (c2), step (1), slot one-hot (k)
        n_in = 2 + c2 + 9 + c2 + 1 + k
        self.mlp = nn.Sequential(
            nn.Linear(n_in, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, ACTION_DIM),
        )
        with torch.no_grad():  # start with short horizontal strokes through the anchor
            self.mlp[-1].weight.mul_(0.1)
            self.mlp[-1].bias.zero_()
            self.mlp[-1].bias[_SX] = -math.atanh(0.1 / MAX_OFFSET)
            self.mlp[-1].bias[_EX] = math.atanh(0.1 / MAX_OFFSET)
        q = h // 4
        ys, xs = torch.meshgrid(
            (torch.arange(q) + 0.5) / q, (torch.arange(q) + 0.5) / q, indexing="ij"
        )
        self.register_buffer("grid_q", torch.stack([xs, ys]).reshape(2, -1), persistent=False)
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
        self.register_buffer("coords", torch.stack([xs, ys])[None], persistent=False)

    def forward(self, observations: dict[str, torch.Tensor]) -> torch.Tensor:
        canvas = _image(observations["canvas"], self.channel_first, 1 / 255)
        target = _image(observations["target"], self.channel_first, 1 / 255)
        b = canvas.shape[0]
        step = observations["step"].float().reshape(b, -1)[:, :1]
        diff = target - canvas
        planes = [
            canvas,
            target,
            diff,
            self.coords.expand(b, -1, -1, -1),
            step[:, :, None, None].expand(b, 1, self.size, self.size),
        ]
        x = self.stage1(F.relu(self.stem(torch.cat(planes, 1))))
        feat = F.relu(self.norm(self.stage2(self.down(x))))  # (b, c2, q, q)
        q2 = feat.shape[-1] * feat.shape[-2]
        logits = self.heat(feat).reshape(b, self.k, q2) * self.log_temperature.exp()
        att = torch.softmax(logits, dim=-1)  # (b, k, q²)
        anchor = att @ self.grid_q.T  # (b, k, 2) in [0, 1]: x, y
        pooled = att @ feat.reshape(b, -1, q2).transpose(1, 2)  # (b, k, c2)
        colours = F.adaptive_avg_pool2d(torch.cat([target, canvas, diff], 1), feat.shape[-2:])
        pooled_rgb = att @ colours.reshape(b, 9, q2).transpose(1, 2)  # (b, k, 9)
        glob = feat.mean(dim=(2, 3))[:, None].expand(-1, self.k, -1)
        slot = torch.eye(self.k, device=feat.device)[None].expand(b, -1, -1)
        inp = torch.cat(
            [anchor * 2 - 1, pooled, pooled_rgb, glob, step[:, None].expand(-1, self.k, 1), slot],
            -1,
        )
        out = self.mlp(inp)  # (b, k, 12)
        target_rgb = pooled_rgb[..., :3]
        return self._pre_tanh(out, anchor, target_rgb).reshape(b, self.k * ACTION_DIM)

    @staticmethod
    def _pre_tanh(
        out: torch.Tensor, anchor: torch.Tensor, target_rgb: torch.Tensor
    ) -> torch.Tensor:
        """Per-stroke outputs → values whose tanh is the env action in [-1, 1].

        Points are the anchor plus bounded offsets (as canvas fractions); the colour is the
        target's colour at the anchor plus a learned correction (strokes are translucent);
        pressures and size pass straight through (the policy's tanh squashes them).
        """
        pre = out.clone()
        for ix, iy in ((_SX, _SY), (_CX, _CY), (_EX, _EY)):
            for i, a in ((ix, anchor[..., 0]), (iy, anchor[..., 1])):
                frac = a + MAX_OFFSET * torch.tanh(out[..., i])
                env = (2 * frac - 1).clamp(-_EDGE, _EDGE)
                pre[..., i] = torch.atanh(env)
        colour = torch.atanh((2 * target_rgb - 1).clamp(-_EDGE, _EDGE))
        pre[..., _R : _B + 1] = colour + out[..., _R : _B + 1]
        return pre


def init_identity_head(model) -> None:
    """Make an SB3 SAC/TD3 actor built with ``net_arch=[]`` act as its features extractor:
    ``mu`` (and TD3's target actor) becomes the identity, SAC's ``log_std`` a small constant."""
    actor = model.policy.actor
    heads = [actor.mu[0] if isinstance(actor.mu, nn.Sequential) else actor.mu]
    target = getattr(model.policy, "actor_target", None)
    if target is not None:
        heads.append(target.mu[0] if isinstance(target.mu, nn.Sequential) else target.mu)
    for lin in heads:
        if lin.weight.shape[0] != lin.weight.shape[1]:
            raise ValueError("init_identity_head needs net_arch=[] (features_dim == action dim)")
        with torch.no_grad():
            lin.weight.copy_(torch.eye(lin.weight.shape[0]))
            lin.bias.zero_()
    log_std = getattr(actor, "log_std", None)
    if isinstance(log_std, nn.Linear):
        with torch.no_grad():
            log_std.weight.zero_()
            log_std.bias.fill_(math.log(0.1))
