"""The structured painter: a differentiable dab rasteriser with the real brush's geometry.

Why this design (see shared/design/NEURAL_PAINTER.md): a plain MLP + deconvolution painter
must *learn* that a stroke is a curve, which takes hundreds of thousands of GPU steps; this one
knows it. It samples the same quadratic Bézier (through the control point) and the same pressure
ramp as the MyPaint renderer, smooths the path with a learned causal filter (MyPaint's
``slow_tracking`` makes the brush lag behind the pointer), and lets a tiny MLP turn each dab's
(pressure, size, t, spacing) into C Gaussian "ink densities" (width and amount). Gaussians are
separable, so the density maps of all dabs are one batched matrix product
(B·C, H, K) @ (B·C, K, W) instead of a (B, K, H, W) tensor: that is what makes it fast. A
pointwise network on the C densities (plus a small 3×3 convolution) gives the alpha map; colour
is the action's (the real brush paints exactly that colour), so RGBA = (r, g, b, alpha).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from painters.models.base import NeuralPainter, register_painter

PRESSURE_SCALE = 0.8


def bezier_and_pressure(actions: torch.Tensor, t: torch.Tensor):
    """Curve points (B, K, 2) in canvas fractions and pressure (B, K), as the real renderer."""
    p0 = actions[:, None, 9:11]
    p2 = actions[:, None, 4:6]
    c = actions[:, None, 2:4]
    p1 = 2.0 * c - 0.5 * (p0 + p2)
    tt = t[None, :, None]
    pts = (1 - tt) ** 2 * p0 + 2 * (1 - tt) * tt * p1 + tt**2 * p2
    ramp = torch.minimum(t / 0.25, (1 - t) / 0.25).clamp(0.0, 1.0)[None]
    entry, middle = actions[:, 11:12], actions[:, 0:1]
    pressure = PRESSURE_SCALE * (entry + (middle - entry) * ramp)
    return pts, pressure


@register_painter
class StructuredPainter(NeuralPainter):
    """Dab-rasteriser painter (see module docstring).

    Args:
        size: stroke side in px.
        dabs: points sampled along the curve.
        channels: Gaussian densities per dab (C).
        hidden: width of the per-dab MLP.
        head_hidden: width of the pointwise head on the C densities.
        conv_channels: channels of the 3×3 refinement (0 disables it).
        filter_taps: length of the learned causal path filter (slow tracking).
    """

    kind = "structured"

    def __init__(
        self,
        size: int = 64,
        dabs: int = 40,
        channels: int = 4,
        hidden: int = 32,
        head_hidden: int = 16,
        conv_channels: int = 8,
        filter_taps: int = 8,
    ) -> None:
        super().__init__(
            size=size,
            dabs=dabs,
            channels=channels,
            hidden=hidden,
            head_hidden=head_hidden,
            conv_channels=conv_channels,
            filter_taps=filter_taps,
        )
        self.size, self.dabs, self.channels = size, dabs, channels
        self.register_buffer("t", torch.linspace(0.0, 1.0, dabs), persistent=False)
        self.register_buffer(
            "pix", (torch.arange(size, dtype=torch.float32) + 0.5) / size, persistent=False
        )
        # Causal FIR over the dab sequence, initialised to identity (no lag).
        taps = torch.zeros(filter_taps)
        taps[-1] = 4.0
        self.path_filter = nn.Parameter(taps)
        self.dab_mlp = nn.Sequential(
            nn.Linear(5, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(),
            nn.Linear(hidden, 2 * channels),
        )  # fmt: skip
        with torch.no_grad():
            last = self.dab_mlp[-1]
            last.weight.mul_(0.1)
            # log width (in px at 64) around exp(2·size) radius; amount around 1 per px
            last.bias[:channels] = torch.linspace(0.0, 1.0, channels)
            last.bias[channels:] = -1.0
        # pointwise head on the C coverages, as matrix products (1×1 convolutions are slow on
        # CPU at these shapes), plus an optional 3×3 refinement
        self.head1 = nn.Linear(channels, head_hidden)
        self.conv = (
            nn.Conv2d(head_hidden, conv_channels, 3, padding=1) if conv_channels > 0 else None
        )
        self.head2 = nn.Linear(conv_channels if conv_channels > 0 else head_hidden, 1)
        nn.init.zeros_(self.head2.weight)
        nn.init.zeros_(self.head2.bias)

    def densities(self, actions: torch.Tensor) -> torch.Tensor:
        """Per-channel ink density maps (B, C, H, W) ≥ 0."""
        b, k, c, s = actions.shape[0], self.dabs, self.channels, self.size
        pts, pressure = bezier_and_pressure(actions, self.t)
        # learned causal smoothing of the path (MyPaint's slow tracking)
        w = torch.softmax(self.path_filter, 0)
        taps = w.numel()
        seq = pts.transpose(1, 2).reshape(b * 2, 1, k)
        seq = F.pad(seq, (taps - 1, 0), mode="replicate")
        pts = F.conv1d(seq, w.view(1, 1, -1)).view(b, 2, k).transpose(1, 2)
        # arc length per dab, in px at 64: spacing decides how much ink lands per px
        seg = (pts[:, 1:] - pts[:, :-1]).norm(dim=-1) * 64.0
        ds = torch.cat([seg[:, :1], seg], 1) * 0.5 + torch.cat([seg, seg[:, -1:]], 1) * 0.5
        size = actions[:, 1:2].expand(b, k)
        feats = torch.stack(
            [pressure, size, self.t.expand(b, k), torch.log1p(ds), torch.ones_like(ds)], -1
        )
        out = self.dab_mlp(feats)  # (B, K, 2C)
        # width in px at 64: exp(2·size) radius × learned factor; amount per px of path
        log_sigma = out[..., :c] + 2.0 * size[..., None] - 0.5
        sigma = torch.exp(log_sigma).clamp(0.3, 40.0) / 64.0  # canvas fractions
        amount = F.softplus(out[..., c:]) * ds[..., None] * pressure[..., None]
        # separable Gaussians: gx (B, C, K, W), gy (B, C, K, H)
        inv = (0.5 / sigma**2).permute(0, 2, 1)[..., None]  # (B, C, K, 1)
        x = pts[..., 0][:, None, :, None]
        y = pts[..., 1][:, None, :, None]
        gx = torch.exp(-((self.pix - x) ** 2) * inv)
        gy = torch.exp(-((self.pix - y) ** 2) * inv)
        # peak density of a 2-D Gaussian dab ∝ amount / σ² (σ in px at 64)
        norm = amount.permute(0, 2, 1)[..., None] / (sigma.permute(0, 2, 1)[..., None] * 64) ** 2
        d = torch.matmul((gy * norm).transpose(-1, -2).reshape(b * c, s, k), gx.reshape(b * c, k, s))
        return d.view(b, c, s, s)

    def alpha(self, actions: torch.Tensor) -> torch.Tensor:
        d = self.densities(actions)
        b, c, s, _ = d.shape
        cover = (1.0 - torch.exp(-d)).view(b, c, s * s)
        base = torch.logit(cover[:, :1].clamp(1e-4, 1 - 1e-4))
        # (O, C) @ (B, C, HW) -> (B, O, HW)
        h = F.silu(torch.matmul(self.head1.weight, cover) + self.head1.bias[:, None])
        if self.conv is not None:
            h = F.silu(self.conv(h.view(b, -1, s, s))).view(b, -1, s * s)
        z = base + torch.matmul(self.head2.weight, h) + self.head2.bias[:, None]
        return torch.sigmoid(z).view(b, 1, s, s)

    def forward(self, actions: torch.Tensor) -> torch.Tensor:
        actions = actions.float()
        return self.rgba_from_alpha(actions, self.alpha(actions))


def _check() -> None:  # pragma: no cover - manual smoke test
    m = StructuredPainter()
    x = torch.rand(4, 12, requires_grad=True)
    y = m(x)
    y.sum().backward()
    print(y.shape, float(y[:, 3].mean()), math.isfinite(float(x.grad.abs().sum())))
