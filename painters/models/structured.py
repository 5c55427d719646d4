"""The structured painter: a differentiable dab rasteriser with the real brush's geometry.

Why this design (see docs/painters.md): a plain MLP + deconvolution painter
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

import torch
import torch.nn.functional as F
from torch import nn

from painters.models.base import NeuralPainter, register_painter

PRESSURE_SCALE = 0.8


def geometry_basis(t: torch.Tensor) -> torch.Tensor:
    """(12, 3K) matrix G with ``actions @ G`` = [x (K) | y (K) | pressure (K)].

    Curve points and pressure are *linear* in the action (the Bézier passes through the control
    point: P1 = 2c − (start + end)/2; pressure ramps entry → middle over the first quarter and
    back over the last), so the whole geometry is one matrix product — cheap at batch 1.
    """
    k = t.numel()
    g = torch.zeros(12, 3 * k, dtype=t.dtype)
    a, b, c = (1 - t) ** 2 - (1 - t) * t, t**2 - (1 - t) * t, 4 * (1 - t) * t
    for axis, (start, ctrl, end) in enumerate(((9, 2, 4), (10, 3, 5))):
        g[start, axis * k : (axis + 1) * k] = a
        g[end, axis * k : (axis + 1) * k] = b
        g[ctrl, axis * k : (axis + 1) * k] = c
    ramp = torch.minimum(t / 0.25, (1 - t) / 0.25).clamp(0.0, 1.0)
    g[11, 2 * k :] = PRESSURE_SCALE * (1 - ramp)
    g[0, 2 * k :] = PRESSURE_SCALE * ramp
    return g


def shift_stack(k: int, taps: int) -> torch.Tensor:
    """(taps, K, K) matrices S_m with (S_m x)[i] = x[max(i − (taps − 1) + m, 0)]: a causal FIR
    with replicate padding is Σ_m w_m S_m, folded into the geometry matrix."""
    s = torch.zeros(taps, k, k)
    for m in range(taps):
        for i in range(k):
            s[m, i, max(i - (taps - 1) + m, 0)] = 1.0
    return s


@register_painter
class StructuredPainter(NeuralPainter):
    """Dab-rasteriser painter (see module docstring).

    The defaults are the shipped default painter's (fast: a linear head, no convolution; a
    pointwise MLP head plus a 3×3 convolution gains ~0.01 in fidelity ratio at 2-3× the cost).

    Args:
        size: stroke side in px.
        dabs: points sampled along the curve.
        channels: Gaussian densities per dab (C).
        hidden: width of the per-dab MLP.
        head_hidden: width of the pointwise head on the C densities (0: a linear head).
        conv_channels: channels of the 3×3 refinement (0 disables it).
        filter_taps: length of the learned causal path filter (slow tracking).
    """

    kind = "structured"

    def __init__(
        self,
        size: int = 64,
        dabs: int = 32,
        channels: int = 2,
        hidden: int = 32,
        head_hidden: int = 0,
        conv_channels: int = 0,
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
        t = torch.linspace(0.0, 1.0, dabs)
        self.register_buffer("t", t, persistent=False)
        self.register_buffer("geometry", geometry_basis(t), persistent=False)
        self.register_buffer("shifts", shift_stack(dabs, filter_taps), persistent=False)
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
        # head_hidden=0: a linear head on the coverages (cheapest; the default painter's choice)
        self.head1 = nn.Linear(channels, head_hidden) if head_hidden > 0 else None
        self.conv = (
            nn.Conv2d(head_hidden, conv_channels, 3, padding=1)
            if conv_channels > 0 and head_hidden > 0
            else None
        )
        head_in = conv_channels if self.conv is not None else (head_hidden or channels)
        self.head2 = nn.Linear(head_in, 1)
        nn.init.zeros_(self.head2.weight)
        nn.init.zeros_(self.head2.bias)

    def train(self, mode: bool = True) -> StructuredPainter:
        self._geo_cache = None  # weights may change: fold the path filter again
        return super().train(mode)

    def geometry_matrix(self) -> torch.Tensor:
        """Geometry basis with the learned path filter folded in: (12, 3K).

        Cached outside training (it depends only on weights), which saves ~50 µs per call.
        """
        if not self.training and not torch.is_grad_enabled():
            cache = getattr(self, "_geo_cache", None)
            if cache is None or cache.device != self.geometry.device:
                cache = self._geo_cache = self._fold_geometry()
            return cache
        return self._fold_geometry()

    def _fold_geometry(self) -> torch.Tensor:
        k = self.dabs
        filt = torch.einsum("m,mij->ij", torch.softmax(self.path_filter, 0), self.shifts)
        g = self.geometry
        xy = (g[:, : 2 * k].reshape(12, 2, k) @ filt.T).reshape(12, 2 * k)
        return torch.cat([xy, g[:, 2 * k :]], 1)

    def densities(
        self, actions: torch.Tensor, scatter: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> torch.Tensor:
        """Per-channel ink density maps (B, C, H, W) ≥ 0.

        ``scatter``: optional (offsets (B, 2, K), weights (3,)) that move each dab off the path
        by ``offsets`` × softplus(w0 + w1·size + w2·pressure) × the brush radius — the random
        dab offsets of a dry brush, used by the stochastic painters (deterministic here).
        """
        b, k, c, s = actions.shape[0], self.dabs, self.channels, self.size
        geo = actions @ self.geometry_matrix()  # (B, 3K)
        xy = geo[:, : 2 * k].view(b, 2, k)
        pressure = geo[:, 2 * k :]
        size = actions[:, 1:2].expand(b, k)
        xy_dabs = xy
        if scatter is not None:
            offsets, w = scatter
            radius = torch.exp(2.0 * size) / 64.0  # the brush radius, as a canvas fraction
            scale = F.softplus(w[0] + w[1] * size + w[2] * pressure) * radius  # (B, K)
            xy_dabs = xy + offsets * scale[:, None, :]
        # arc length per dab in px at 64: spacing decides how much ink lands per px
        # +1e-8: a stroke whose points coincide (start = control = end) must not give an
        # infinite gradient through the square root
        seg = (torch.diff(xy, dim=2).square().sum(1) + 1e-8).sqrt() * 64.0  # (B, K-1)
        ds = 0.5 * (F.pad(seg, (1, 0), mode="replicate") + F.pad(seg, (0, 1), mode="replicate"))
        feats = torch.stack(
            [pressure, size, self.t.expand(b, k), torch.log1p(ds), torch.ones_like(ds)], -1
        )
        out = self.dab_mlp(feats).transpose(1, 2)  # (B, 2C, K)
        # width in px at 64 around the brush radius exp(2·size); amount of ink per px of path
        sigma = torch.exp(out[:, :c] + 2.0 * actions[:, 1:2, None] - 0.5).clamp(0.3, 40.0)
        amount = F.softplus(out[:, c:]) * (ds * pressure)[:, None]  # (B, C, K)
        # separable Gaussians for x and y in one exp: (B, C, 2, K, S)
        inv = (0.5 * 64.0**2 / sigma.square())[:, :, None, :, None]
        g = torch.exp(-(self.pix - xy_dabs[:, None, :, :, None]).square() * inv)
        # peak density of a 2-D Gaussian dab ∝ amount / σ²
        gy = g[:, :, 1] * (amount / sigma.square())[..., None]
        d = torch.matmul(gy.transpose(-1, -2).reshape(b * c, s, k), g[:, :, 0].reshape(b * c, k, s))
        return d.view(b, c, s, s)

    def alpha(
        self, actions: torch.Tensor, scatter: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> torch.Tensor:
        d = self.densities(actions, scatter)
        b, c, s, _ = d.shape
        cover = (1.0 - torch.exp(-d)).view(b, c, s * s)
        base = torch.logit(cover[:, :1].clamp(1e-4, 1 - 1e-4))
        if self.head1 is None:
            # a few fused multiply-adds beat a broadcast matmul (which copies) at C <= 4
            z = base + self.head2.bias[:, None]
            w = self.head2.weight[0]
            for i in range(c):
                z = torch.addcmul(z, cover[:, i : i + 1], w[i])
            return torch.sigmoid(z).view(b, 1, s, s)
        # (O, C) @ (B, C, HW) -> (B, O, HW)
        h = F.silu(torch.matmul(self.head1.weight, cover) + self.head1.bias[:, None])
        if self.conv is not None:
            h = F.silu(self.conv(h.view(b, -1, s, s))).view(b, -1, s * s)
        z = base + torch.matmul(self.head2.weight, h) + self.head2.bias[:, None]
        return torch.sigmoid(z).view(b, 1, s, s)

    #: Strokes per chunk: bigger batches are split so the (B, C, H, W) intermediates stay in
    #: cache (measured: 1,024 strokes in one go ran at less than half the per-stroke speed).
    chunk = 256

    def forward(
        self,
        actions: torch.Tensor,
        sample: bool = True,
        *,
        generator: torch.Generator | None = None,
        noise: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """RGBA strokes (B, 4, H, W). Deterministic: ``sample``, ``generator`` and ``noise``
        are accepted (the stochastic painters' API) and ignored."""
        actions = actions.float()
        if actions.shape[0] > self.chunk:
            return torch.cat([self(a) for a in actions.split(self.chunk)])
        return self.rgba_from_alpha(actions, self.alpha(actions))
