"""The structured painter's pixel work as one autograd function with a hand-written backward.

From the per-dab parameters (dab centres, −1/(2σ²), −ink/σ²) to the alpha maps of the linear
head, autograd's chain (Gaussians, their product, exp, clamp, logit, the head, sigmoid) keeps
about a dozen stroke-sized intermediates and makes about thirty passes over them. Here the
forward keeps two (the transmittances exp(−density) and alpha) and the backward makes about
six passes, in chunks of strokes small enough to stay in cache. The arithmetic is that of
:meth:`StructuredPainter._alpha_pixels` (the no-gradient path), so both paths agree.
"""

from __future__ import annotations

import math

import torch

#: Exponents are floored here before ``exp`` (see :mod:`painters.models.structured`).
EXP_FLOOR = -30.0
_LO, _HI = 1e-4, 1 - 1e-4  # the clamp of the first coverage before its logit
LOG2E = 1.0 / math.log(2.0)
FLOOR2 = EXP_FLOOR * LOG2E  # the floor in base 2


def _gaussians(pix: torch.Tensor, xy: torch.Tensor, neg_inv: torch.Tensor, fast: bool = False):
    """x Gaussians (B, C, K, S) and y Gaussians (B, C, S, K), floored exponents, and the
    offsets (pix − x) (B, 1, K, S) and (pix − y) (B, 1, S, K).

    ``fast`` (the backward's recomputation): exp(u) taken as 2^(u·log2 e). torch's CPU
    ``exp`` was 4.5x slower per element than ``exp2`` at these sizes; the extra rounding
    changes a Gaussian by a relative 2e-6 at most, harmless in a gradient. The forward keeps
    ``exp``: coverage = 1 − exp(−density) magnifies the last bit where the ink is thin, and
    the strokes must stay those of the no-gradient path."""
    if fast:
        scale, floor, exp = neg_inv * LOG2E, FLOOR2, torch.exp2_
    else:
        scale, floor, exp = neg_inv, EXP_FLOOR, torch.exp_
    dx = pix - xy[:, None, 0, :, None]
    gx = exp((dx.square() * scale[..., None]).clamp_(floor))
    dy = pix[:, None] - xy[:, None, 1, None, :]
    gy = exp((dy.square() * scale[:, :, None, :]).clamp_(floor))
    return gx, gy, dx, dy


class FusedAlpha(torch.autograd.Function):
    """alpha (B, S, S) = sigmoid(logit(clamp(1 − keep₀)) + bias + Σᵢ wᵢ (1 − keepᵢ)), where
    keep (B, C, S, S) = exp(max(−density, EXP_FLOOR)) and −density = (gy · amount)ᵀ-product
    with gx. Inputs: xy (B, 2, K), neg_inv (B, C, K), amount (B, C, K) (minus ink/σ²), the head's
    weight (C,) and bias (), pix (S,). Below the exponent floor the gradient is that of the
    floor's value (< 1e-13 relative), as in :class:`SeparableGaussians`."""

    #: Strokes per chunk: the (C, S, S) maps of 32 strokes stay in a core's cache.
    chunk = 32

    @staticmethod
    def forward(ctx, xy, neg_inv, amount, weight, bias, pix):
        # float32 throughout, also under autocast (the matrix products write into ``keep``)
        with torch.autocast(xy.device.type, enabled=False):
            return FusedAlpha._forward(ctx, xy, neg_inv, amount, weight, bias, pix)

    @staticmethod
    def _forward(ctx, xy, neg_inv, amount, weight, bias, pix):
        dt = torch.promote_types(xy.dtype, torch.float32)  # bfloat16 → float32
        xy, neg_inv, amount = (t.to(dt).contiguous() for t in (xy, neg_inv, amount))
        weight, bias, pix = weight.to(dt), bias.to(dt), pix.to(dt)
        b, c, s = xy.shape[0], neg_inv.shape[1], pix.numel()
        k = xy.shape[2]
        keep = xy.new_empty(b, c, s, s)
        alpha = xy.new_empty(b, s, s)
        w = weight.tolist()
        shift = float(bias) + sum(w)
        for lo in range(0, b, FusedAlpha.chunk):
            hi = min(lo + FusedAlpha.chunk, b)
            gx, gy, _, _ = _gaussians(pix, xy[lo:hi], neg_inv[lo:hi])
            gy.mul_(amount[lo:hi, :, None, :])
            n = hi - lo
            kp = keep[lo:hi]
            torch.matmul(gy.view(n * c, s, k), gx.view(n * c, k, s), out=kp.view(n * c, s, s))
            kp.clamp_(EXP_FLOOR).exp_()
            z = torch.rsub(kp[:, 0], 1.0).clamp_(_LO, _HI).logit_().add_(shift)
            for i in range(c):
                z.sub_(kp[:, i], alpha=w[i])
            torch.sigmoid(z, out=alpha[lo:hi])
        ctx.save_for_backward(xy, neg_inv, amount, weight, pix, keep, alpha)
        ctx.bias_shape = tuple(bias.shape)
        return alpha

    @staticmethod
    def backward(ctx, grad):
        with torch.autocast(grad.device.type, enabled=False):
            return FusedAlpha._backward(ctx, grad)

    @staticmethod
    def _backward(ctx, grad):
        xy, neg_inv, amount, weight, pix, keep, alpha = ctx.saved_tensors
        grad = grad.to(keep.dtype)
        b, c, s = xy.shape[0], neg_inv.shape[1], pix.numel()
        k = xy.shape[2]
        w = weight.tolist()
        g_xy = torch.empty_like(xy)
        g_inv = torch.empty_like(neg_inv)
        g_amount = torch.empty_like(amount)
        g_weight = [0.0] * c
        g_bias = 0.0
        grad = grad.contiguous()
        for lo in range(0, b, FusedAlpha.chunk):
            hi = min(lo + FusedAlpha.chunk, b)
            n = hi - lo
            kp, a = keep[lo:hi], alpha[lo:hi]
            dz = torch.rsub(a, 1.0).mul_(a).mul_(grad[lo:hi])  # dL/dz, (n, S, S)
            total = float(dz.sum())
            g_bias += total
            # logit(c0), c0 = 1 − keep0: d/dkeep0 · keep0 = −keep0 / (c0 (1 − c0)) = −1 / c0,
            # where the clamp lets the gradient through (r = 1 / c0 there, 0 elsewhere)
            c0 = torch.rsub(kp[:, 0], 1.0)
            cc = c0.clamp(_LO, _HI)
            r = torch.eq(cc, c0, out=torch.empty_like(cc)).div_(cc)
            # dL/d(−density_i) = dL/dkeep_i · keep_i, with dL/dkeep_i = −w_i dz (+ the logit's)
            dd = torch.empty_like(kp)
            for i in range(c):
                t = torch.mul(kp[:, i], dz, out=dd[:, i])
                g_weight[i] += total - float(t.sum())
                t.mul_(-w[i])
            dd[:, 0].addcmul_(r, dz, value=-1.0)
            gx, ey, dx, dy = _gaussians(pix, xy[lo:hi], neg_inv[lo:hi], fast=True)
            amt, ni = amount[lo:hi], neg_inv[lo:hi]
            ddf = dd.view(n * c, s, s)
            # the y Gaussians enter the product as gy = ey · amount: dL/dgy, and dL/dgx / amount
            g_gy = torch.matmul(ddf, gx.view(n * c, k, s).transpose(1, 2)).view(n, c, s, k)
            v = torch.matmul(ey.view(n * c, s, k).transpose(1, 2), ddf).view(n, c, k, s)
            # through the Gaussians: with u = dL/dg · g, dg/dneg_inv = g·d² and
            # dg/dcentre = −2·neg_inv·g·d; every sum below is still to be multiplied by amount
            wy = g_gy.mul_(ey)
            g_amount[lo:hi] = wy.sum(2)
            sy1 = wy.mul_(dy).sum(2)
            sy2 = wy.mul_(dy).sum(2)
            wx = v.mul_(gx).mul_(dx)
            sx1 = wx.sum(3)
            sx2 = wx.mul_(dx).sum(3)
            g_inv[lo:hi] = sx2.add_(sy2).mul_(amt)
            na = ni * amt
            g_xy[lo:hi, 0] = (sx1.mul_(na)).sum(1).mul_(-2.0)
            g_xy[lo:hi, 1] = (sy1.mul_(na)).sum(1).mul_(-2.0)
        opts = {"dtype": weight.dtype, "device": weight.device}
        g_bias_t = torch.full(ctx.bias_shape, g_bias, **opts)
        return g_xy, g_inv, g_amount, torch.tensor(g_weight, **opts), g_bias_t, None
