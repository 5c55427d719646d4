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

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from painters.models.base import NeuralPainter, register_painter
from painters.models.fused_alpha import FusedAlpha

PRESSURE_SCALE = 0.8
#: Exponents are floored here before ``exp``. Most of a stroke's Gaussian and ink-density terms
#: are far smaller than float32 can hold, and such values are slow on CPUs: torch's ``exp``
#: takes a slow path below about −87 (15x slower per element), and products that fall below
#: 1e-38 (subnormal numbers) cost a microcode assist each. exp(−30) ≈ 1e-13 keeps every product
#: in the normal range; it changes a stroke's alpha by less than 1e-9 and made the painter's
#: forward about 3x faster.
EXP_FLOOR = -30.0
#: log2(e), and EXP_FLOOR in base 2: the no-gradient path computes exp(x) as exp2(x · log2 e).
LOG2E = 1.4426950408889634
EXP2_FLOOR = EXP_FLOOR * LOG2E


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


class SeparableGaussians(torch.autograd.Function):
    """g[b, c, a, k, s] = exp(−inv[b, c, k] · (pix[s] − xy[b, a, k])²), exponent floored at
    :data:`EXP_FLOOR`: the x (a = 0) and y (a = 1) Gaussians of every dab, (B, C, 2, K, S).

    One fused forward (three passes over the output, in place) and a hand-written backward
    that needs four, where autograd's chain of sub, square, mul, clamp and exp keeps five
    intermediates and makes about twelve. Below the floor the gradient is that of the floor's
    value (< 1e-37), not zero.
    """

    @staticmethod
    def forward(ctx, xy: torch.Tensor, inv: torch.Tensor, pix: torch.Tensor) -> torch.Tensor:
        g = (pix - xy[:, None, :, :, None]).square_()  # (B, 1, 2, K, S)
        g = (g * inv.neg()[:, :, None, :, None]).clamp_(EXP_FLOOR).exp_()
        ctx.save_for_backward(xy, inv, pix, g)
        return g

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        xy, inv, pix, g = ctx.saved_tensors
        diff = pix - xy[:, None, :, :, None]  # (B, 1, 2, K, S)
        u = (grad * g).mul_(diff)  # dL/dg · g · (pix − xy)
        grad_inv = (u * diff).sum((2, 4)).neg_()  # (B, C, K)
        grad_xy = (u.sum(4) * inv[:, :, None, :]).sum(1).mul_(2.0)  # (B, 2, K)
        return grad_xy, grad_inv, None


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

        Cached outside training while the path filter needs no gradient (it depends only on
        weights), which saves ~50 µs per call, and about ten autograd operations per call
        with gradients to the actions only.
        """
        wants_grad = torch.is_grad_enabled() and self.path_filter.requires_grad
        if not self.training and not wants_grad:
            f = self.path_filter
            key = (f.data_ptr(), f._version, f.device)
            cache = getattr(self, "_geo_cache", None)
            if cache is None or cache[0] != key:
                with torch.no_grad():
                    cache = self._geo_cache = (key, self._fold_geometry())
            return cache[1]
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
        xy_dabs, neg_inv, neg_amount = self._dab_params_autograd(actions, scatter)
        # separable Gaussians for x and y in one exp: (B, C, 2, K, S)
        g = SeparableGaussians.apply(xy_dabs, -neg_inv, self.pix)
        # peak density of a 2-D Gaussian dab ∝ amount / σ²
        gy = g[:, :, 1] * (-neg_amount)[..., None]
        d = torch.matmul(gy.transpose(-1, -2).reshape(b * c, s, k), g[:, :, 0].reshape(b * c, k, s))
        return d.view(b, c, s, s)

    def _path_dabs(self, actions: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The path dabs with gradients: centres (B, 2, K), pressure and size (B, K), width σ
        in px at 64 (B, C, K) and ink per dab (B, C, K)."""
        b, k, c = actions.shape[0], self.dabs, self.channels
        geo = actions @ self.geometry_matrix()  # (B, 3K)
        xy = geo[:, : 2 * k].view(b, 2, k)
        pressure = geo[:, 2 * k :]
        size = actions[:, 1:2].expand(b, k)
        # arc length per dab in px at 64: spacing decides how much ink lands per px
        # +1e-8: a stroke whose points coincide (start = control = end) must not give an
        # infinite gradient through the square root
        seg = (torch.diff(xy, dim=2).square().sum(1) + 1e-8).sqrt() * 64.0  # (B, K-1)
        ds = 0.5 * (F.pad(seg, (1, 0), mode="replicate") + F.pad(seg, (0, 1), mode="replicate"))
        feats = torch.stack(
            [pressure, size, self.t.expand(b, k), torch.log1p(ds), torch.ones_like(ds)], -1
        )
        # (B, 2C, K), contiguous: on the transposed view softplus and exp ran 10x slower
        out = self.dab_mlp(feats).transpose(1, 2).contiguous()
        # width in px at 64 around the brush radius exp(2·size); amount of ink per px of path
        sigma = torch.exp(out[:, :c] + 2.0 * actions[:, 1:2, None] - 0.5).clamp(0.3, 40.0)
        ink = F.softplus(out[:, c:]) * (ds * pressure)[:, None]
        return xy, pressure, size, sigma, ink

    def _dab_params_autograd(
        self, actions: torch.Tensor, scatter: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, ...]:
        """:meth:`_dab_params` with gradients (and ``scatter``, see :meth:`densities`): dab
        centres (B, 2, K), −1/(2σ²) in canvas units (B, C, K) and −(ink amount)/σ² (B, C, K)."""
        xy, pressure, size, sigma, ink = self._path_dabs(actions)
        xy_dabs = xy
        if scatter is not None:
            offsets, w = scatter
            xy_dabs = xy + offsets * _spread(w, size, pressure)[:, None, :]
        sig2 = sigma.square()
        return xy_dabs.contiguous(), (-0.5 * 64.0**2) / sig2, -ink / sig2

    def cloud_alpha(
        self,
        actions: torch.Tensor,
        offsets: torch.Tensor,
        jitter: torch.Tensor,
        weights: torch.Tensor,
        jitter_scale: float = 0.1,
    ) -> torch.Tensor:
        """Alpha (B, 1, H, W) drawn as a cloud of small dabs, as the dry brush draws big strokes.

        Each of the K path dabs becomes M dabs (``offsets``: (B, 2, K, M) noise), moved off the
        path by ``offsets`` × softplus(w0 + w1·size + w2·pressure) × the brush radius; each is
        sigmoid(w3 + w4·size + w5·pressure) × as wide as the path dab (its radius further
        × exp(``jitter_scale`` · ``jitter``), ``jitter``: (B, K, M) noise, as MyPaint's
        ``radius_by_random``) and carries 1/M of its ink times softplus(w8); its profile is
        exp(−|u|^p) in x and in y, p = 1 + softplus(w6 + w7·size) (2: the Gaussian), so the
        dabs can have the brush's defined edge. ``weights``: the nine w.
        """
        n = self.inference_chunk
        if not torch.is_grad_enabled() and actions.shape[0] > n:
            # without gradients, a few strokes at a time: the (B, C, 2, KM, S) profiles of a
            # big batch do not stay in cache (measured: 1.4x faster at batch 256)
            return torch.cat(
                [
                    self.cloud_alpha(
                        actions[i : i + n],
                        offsets[i : i + n],
                        jitter[i : i + n],
                        weights,
                        jitter_scale,
                    )
                    for i in range(0, actions.shape[0], n)
                ]
            )
        b, k, c, s = actions.shape[0], self.dabs, self.channels, self.size
        m = offsets.shape[-1]
        xy, pressure, size, sigma, ink = self._path_dabs(actions)
        w = weights
        spread = _spread(w, size, pressure)
        xy_c = (xy[..., None] + offsets * spread[:, None, :, None]).reshape(b, 2, k * m)
        shrink = torch.sigmoid(w[3] + w[4] * size + w[5] * pressure)  # (B, K)
        sig_c = sigma[..., None] * (shrink[..., None] * torch.exp(jitter_scale * jitter))[:, None]
        sig_c = sig_c.clamp(0.3, 40.0).reshape(b, c, k * m)  # (B, C, KM) in px at 64
        ink = ink * (F.softplus(w[8]) / m)
        peak = (ink[..., None].expand(b, c, k, m).reshape(b, c, k * m)) / sig_c.square()
        power = (1.0 + F.softplus(w[6] + w[7] * actions[:, 1:2])).view(b, 1, 1, 1, 1)
        # |u| for x and y: (B, C, 2, KM, S), u in units of σ·√2 (p = 2: exp(−d²/2σ²))
        scale = (64.0 / (sig_c * 2**0.5))[:, :, None, :, None]
        if torch.is_grad_enabled():
            u = (self.pix - xy_c[:, None, :, :, None]).abs() * scale
            g = torch.exp(-(u + 1e-6).pow(power).clamp(max=-EXP_FLOOR))
        else:  # the same in place, |u|^p as exp(p·log|u|) (a tensor power is slow)
            g = (self.pix - xy_c[:, None, :, :, None]).abs_() * scale
            g.add_(1e-6).log_().mul_(power).exp_().clamp_(max=-EXP_FLOOR).neg_().exp_()
        gy = g[:, :, 1] * peak[..., None]  # (B, C, KM, S)
        d = torch.matmul(
            gy.transpose(-1, -2).reshape(b * c, s, k * m), g[:, :, 0].reshape(b * c, k * m, s)
        )
        cover = (1.0 - torch.exp((-d).clamp(EXP_FLOOR))).view(b, c, s * s)
        return self._head(cover).view(b, 1, s, s)

    def alpha(
        self, actions: torch.Tensor, scatter: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> torch.Tensor:
        if self.head1 is None:  # the linear head: one fused function for the pixel work
            xy, neg_inv, amount = self._dab_params_autograd(actions, scatter)
            b, s = actions.shape[0], self.size
            w = self.head2
            return FusedAlpha.apply(xy, neg_inv, amount, w.weight[0], w.bias, self.pix).view(
                b, 1, s, s
            )
        d = self.densities(actions, scatter)
        b, c, s, _ = d.shape
        cover = (1.0 - torch.exp((-d).clamp(EXP_FLOOR))).view(b, c, s * s)
        return self._head(cover).view(b, 1, s, s)

    def _head(self, cover: torch.Tensor) -> torch.Tensor:
        """Coverages (B, C, HW) → alpha (B, 1, HW)."""
        c = cover.shape[1]
        base = torch.logit(cover[:, :1].clamp(1e-4, 1 - 1e-4))
        if self.head1 is None:
            # a few fused multiply-adds beat a broadcast matmul (which copies) at C <= 4
            z = base + self.head2.bias[:, None]
            w = self.head2.weight[0]
            for i in range(c):
                z = torch.addcmul(z, cover[:, i : i + 1], w[i])
            return torch.sigmoid(z)
        # (O, C) @ (B, C, HW) -> (B, O, HW)
        h = F.silu(torch.matmul(self.head1.weight, cover) + self.head1.bias[:, None])
        if self.conv is not None:
            b, s = cover.shape[0], self.size
            h = F.silu(self.conv(h.view(b, -1, s, s))).view(b, -1, s * s)
        z = base + torch.matmul(self.head2.weight, h) + self.head2.bias[:, None]
        return torch.sigmoid(z)

    #: Strokes per chunk: bigger batches are split so the (B, C, H, W) intermediates stay in
    #: cache (measured: 1,024 strokes in one go ran at less than half the per-stroke speed).
    chunk = 256
    #: Strokes per chunk of the no-gradient path (its temporaries are updated in place;
    #: chunks of 32-64 ran fastest on 2 CPU cores).
    inference_chunk = 32

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
        if not torch.is_grad_enabled():
            b, s = actions.shape[0], self.size
            out = actions.new_empty(b, 4, s, s)
            out[:, :3] = actions[:, 6:9, None, None]
            self.paint_alpha(actions, out=out[:, 3])
            return out
        if actions.shape[0] > self.chunk:
            return torch.cat([self(a) for a in actions.split(self.chunk)])
        return self.rgba_from_alpha(actions, self.alpha(actions))

    # -- no-gradient fast paths (the env, rendering, evaluation) ---------------------------
    #: Strokes whose per-dab quantities (curve, MLP, widths) are computed together: these are
    #: small, so big groups pay torch's per-operation cost once for many strokes.
    dab_chunk = 4096

    @torch.no_grad()
    def paint_alpha(self, actions: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        """Alpha maps (B, H, W) of ``actions`` (B, 12) without gradients, equal to
        ``self(actions)[:, 3]`` within float rounding, 2-3x faster: the per-dab quantities
        computed for many strokes at once, the pixel maps in chunks small enough to stay in
        cache with every intermediate updated in place, and the colour planes never built
        (the stroke's colour is ``actions[:, 6:9]``). ``out``: an optional (B, H, W) view to
        fill (for example the alpha plane of an RGBA batch)."""
        actions = actions.float()
        b, s, n = actions.shape[0], self.size, self.inference_chunk
        if out is None:
            out = actions.new_empty(b, s, s)
        for lo in range(0, b, self.dab_chunk):
            hi = min(lo + self.dab_chunk, b)
            xy, neg_inv, amount = self._dab_params(actions[lo:hi])
            for i in range(0, hi - lo, n):
                j = i + n
                self._alpha_pixels(xy[i:j], neg_inv[i:j], amount[i:j], out[lo + i : lo + j])
        return out

    def _dab_params(self, actions: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """densities()'s per-dab part, in place: dab centres (B, 2, K), −1/(2σ²) in canvas
        units (B, C, K) and −(ink amount)/σ² (B, C, K), the last two times log2 e, so that the
        pixel part computes its exponentials as ``exp2`` (torch's CPU exp2 is several times
        cheaper per element than exp)."""
        b, k, c = actions.shape[0], self.dabs, self.channels
        geo = actions @ self.geometry_matrix()
        xy = geo[:, : 2 * k].view(b, 2, k)
        pressure = geo[:, 2 * k :]
        seg = torch.diff(xy, dim=2).square_().sum(1).add_(1e-8).sqrt_().mul_(64.0)
        ds = F.pad(seg, (1, 0), mode="replicate").add_(F.pad(seg, (0, 1), mode="replicate"))
        ds.mul_(0.5)
        feats = actions.new_empty(b, k, 5)
        feats[..., 0] = pressure
        feats[..., 1] = actions[:, 1:2]
        feats[..., 2] = self.t
        feats[..., 3] = torch.log1p(ds)
        feats[..., 4] = 1.0
        mlp = self.dab_mlp(feats).transpose(1, 2).contiguous()  # (B, 2C, K)
        sigma = (mlp[:, :c] + 2.0 * actions[:, 1:2, None]).sub_(0.5).exp_().clamp_(0.3, 40.0)
        sig2 = sigma.square_()
        # minus the amount: the matrix product then gives −density, ready for exp
        amount = F.softplus(mlp[:, c:]).mul_((ds * pressure)[:, None]).div_(sig2).neg_()
        neg_inv = sig2.reciprocal_().mul_(-0.5 * 64.0**2)
        return xy, neg_inv.mul_(LOG2E), amount.mul_(LOG2E)

    def _alpha_pixels(
        self, xy: torch.Tensor, neg_inv: torch.Tensor, amount: torch.Tensor, out: torch.Tensor
    ) -> None:
        """densities() and alpha()'s pixel part for a few strokes, in place, into ``out``
        (``neg_inv`` and ``amount`` as :meth:`_dab_params` gives them, in base 2)."""
        b, k, c, s = xy.shape[0], self.dabs, self.channels, self.size
        # x Gaussians laid out (K, S) and y Gaussians (S, K): the product needs no transpose
        gx = (self.pix - xy[:, None, 0, :, None]).square_()  # (B, 1, K, S)
        # neg_inv and amount carry the factor log2 e: exp(x) is computed as exp2(x · log2 e)
        gx = (gx * neg_inv[..., None]).clamp_(EXP2_FLOOR).exp2_()  # (B, C, K, S)
        gy = (self.pix[:, None] - xy[:, None, 1, None, :]).square_()  # (B, 1, S, K)
        gy = (gy * neg_inv[:, :, None, :]).clamp_(EXP2_FLOOR).exp2_().mul_(amount[:, :, None, :])
        d = torch.matmul(gy.view(b * c, s, k), gx.view(b * c, k, s))
        keep = d.view(b, c, s, s).clamp_(EXP2_FLOOR).exp2_()  # exp(−density) = 1 − coverage
        if self.head1 is not None:
            cover = keep.neg_().add_(1.0).view(b, c, s * s)
            out.copy_(self._head(cover).view(b, s, s))
            return
        # z = logit(clamp(cover_0)) + bias + Σ_i w_i · (1 − keep_i)
        w = self.head2.weight[0].tolist()
        z = torch.rsub(keep[:, 0], 1.0).clamp_(1e-4, 1 - 1e-4).logit_()
        z.add_(self.head2.bias[0] + sum(w))
        for i in range(c):
            z.sub_(keep[:, i], alpha=w[i])
        torch.sigmoid(z, out=out)

    def paint_alpha_numpy(self, actions: np.ndarray) -> np.ndarray:
        """:meth:`paint_alpha` in numpy for a few strokes on the CPU: float32 actions (B, 12)
        → alpha (B, H, W). The same operations in the same order (equal within 1e-6); at
        batch 1 numpy's per-operation cost is a fraction of torch's, which makes a single env
        step about twice as fast. Only for painters with the linear head (the default)."""
        if self.head1 is not None:
            raise ValueError("paint_alpha_numpy needs head_hidden=0 (a linear head)")
        w = self._numpy_weights()
        a = np.asarray(actions, dtype=np.float32)
        b, k, c = a.shape[0], self.dabs, self.channels
        geo = a @ w["geometry"]
        xy = geo[:, : 2 * k].reshape(b, 2, k)
        pressure = geo[:, 2 * k :]
        dxy = np.diff(xy, axis=2)
        seg = np.sqrt(np.square(dxy).sum(1) + np.float32(1e-8)) * np.float32(64.0)
        ds = np.empty((b, k), np.float32)
        ds[:, 1:-1] = seg[:, :-1] + seg[:, 1:]
        ds[:, 0], ds[:, -1] = seg[:, 0] + seg[:, 0], seg[:, -1] + seg[:, -1]
        ds *= np.float32(0.5)
        feats = np.empty((b, k, 5), np.float32)
        feats[..., 0] = pressure
        feats[..., 1] = a[:, 1:2]
        feats[..., 2] = w["t"]
        feats[..., 3] = np.log1p(ds)
        feats[..., 4] = 1.0
        h = feats @ w["w1"] + w["b1"]
        h *= _sigmoid(h)
        h2 = h @ w["w2"] + w["b2"]
        h2 *= _sigmoid(h2)
        mlp = (h2 @ w["w3"] + w["b3"]).transpose(0, 2, 1)  # (B, 2C, K)
        sig2 = np.exp(mlp[:, :c] + np.float32(2.0) * a[:, 1:2, None] - np.float32(0.5))
        np.clip(sig2, 0.3, 40.0, out=sig2)
        np.square(sig2, out=sig2)
        soft = mlp[:, c:]
        amount = np.where(soft > 20.0, soft, np.log1p(np.exp(np.minimum(soft, 20.0))))
        amount *= (ds * pressure)[:, None]
        amount /= sig2
        neg_inv = np.float32(-0.5 * 64.0**2) / sig2
        g = np.square(w["pix"] - xy[:, None, :, :, None])
        g = g * neg_inv[:, :, None, :, None]
        np.maximum(g, EXP_FLOOR, out=g)
        np.exp(g, out=g)
        gy = g[:, :, 1] * -amount[..., None]
        d = np.matmul(gy.transpose(0, 1, 3, 2), g[:, :, 0])  # (B, C, S, S): −density
        np.maximum(d, EXP_FLOOR, out=d)
        keep = np.exp(d, out=d)
        c0 = np.clip(np.float32(1.0) - keep[:, 0], 1e-4, 1 - 1e-4)
        z = np.log(c0 / (np.float32(1.0) - c0))
        z += w["bias_sum"]
        for i in range(c):
            z -= keep[:, i] * w["w_head"][i]
        return _sigmoid(z)

    def _numpy_weights(self) -> dict[str, np.ndarray]:
        """float32 numpy copies of the weights, rebuilt whenever a parameter changed."""
        cache = getattr(self, "_np_cache", None)
        params = cache[0] if cache is not None else list(self.parameters())
        key = tuple((p.data_ptr(), p._version) for p in params)
        if cache is not None and cache[1] == key:
            return cache[2]
        with torch.no_grad():
            lin = [m for m in self.dab_mlp if isinstance(m, nn.Linear)]
            w = {"geometry": self._fold_geometry(), "t": self.t, "pix": self.pix}
            for i, m in enumerate(lin, 1):
                w[f"w{i}"], w[f"b{i}"] = m.weight.T, m.bias
            w["w_head"] = self.head2.weight[0]
            w["bias_sum"] = self.head2.bias[0] + self.head2.weight[0].sum()
            w = {n: np.ascontiguousarray(v.detach().float().cpu().numpy()) for n, v in w.items()}
        self._np_cache = (params, key, w)
        return w


def _spread(w: torch.Tensor, size: torch.Tensor, pressure: torch.Tensor) -> torch.Tensor:
    """How far the stochastic painters move a dab off the path, per unit of noise: softplus(w0
    + w1·size + w2·pressure) brush radii (exp(2·size) px at 64), as a canvas fraction (B, K)."""
    return F.softplus(w[0] + w[1] * size + w[2] * pressure) * (torch.exp(2.0 * size) / 64.0)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.float32(1.0) / (np.float32(1.0) + np.exp(-x))
