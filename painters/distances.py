"""Distances between canvas and target: one module for the env's reward, the gradient painter's
loss and every benchmark. All take float (B, 3, H, W) tensors in [0, 1] and return a (B,)
tensor per image, differentiable in torch. MSE on [0, 1] pixels is the headline metric.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from pytorch_msssim import ssim as _ssim

Distance = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def mse(canvas: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error per image."""
    if torch.is_grad_enabled() and (canvas.requires_grad or target.requires_grad):
        return _MSE.apply(canvas, target)
    return (canvas - target).pow(2).flatten(1).mean(1)


class _MSE(torch.autograd.Function):
    """:func:`mse` with a hand-written backward, dL/dcanvas = 2 (canvas − target) g / n: the
    same arithmetic, in chunks of images small enough to stay in cache, and nothing
    canvas-sized kept between the passes (autograd's chain writes four canvas-sized tensors)."""

    chunk = 16

    @staticmethod
    def forward(ctx, canvas: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        shape = torch.broadcast_shapes(canvas.shape, target.shape)
        c, t = canvas.expand(shape), target.expand(shape)
        out = c.new_empty(shape[0])
        for lo in range(0, shape[0], _MSE.chunk):
            hi = lo + _MSE.chunk
            torch.mean(torch.sub(c[lo:hi], t[lo:hi]).pow_(2).flatten(1), 1, out=out[lo:hi])
        ctx.save_for_backward(canvas, target)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        canvas, target = ctx.saved_tensors
        shape = torch.broadcast_shapes(canvas.shape, target.shape)
        c, t = canvas.expand(shape), target.expand(shape)
        scale = (grad * (2.0 / c[0].numel())).view(-1, *[1] * (len(shape) - 1))
        g = c.new_empty(shape)
        for lo in range(0, shape[0], _MSE.chunk):
            hi = lo + _MSE.chunk
            torch.sub(c[lo:hi], t[lo:hi], out=g[lo:hi]).mul_(scale[lo:hi])
        need_canvas, need_target = ctx.needs_input_grad
        g_canvas = g.sum_to_size(canvas.shape) if need_canvas else None
        g_target = (-g).sum_to_size(target.shape) if need_target else None
        return g_canvas, g_target


def l1(canvas: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error per image."""
    return (canvas - target).abs().flatten(1).mean(1)


def ssim_similarity(canvas: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Structural similarity per image (pytorch-msssim, Gaussian window 11 or smaller)."""
    side = min(canvas.shape[-2:])
    win = 11 if side >= 11 else (side if side % 2 == 1 else side - 1)
    return _ssim(canvas, target, data_range=1.0, size_average=False, win_size=max(win, 1))


def ssim(canvas: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """1 − SSIM per image, so that lower is better like the other distances."""
    return 1.0 - ssim_similarity(canvas, target)


DISTANCES: dict[str, Distance] = {"mse": mse, "l1": l1, "ssim": ssim}


def mse_numpy(canvas: np.ndarray, target: np.ndarray) -> np.ndarray:
    """:func:`mse` for float32 numpy images (B, 3, H, W): cheaper than torch at batch 1."""
    d = canvas - target
    np.multiply(d, d, out=d)
    return d.reshape(len(d), -1).mean(1)


def l1_numpy(canvas: np.ndarray, target: np.ndarray) -> np.ndarray:
    """:func:`l1` for float32 numpy images (B, 3, H, W)."""
    d = canvas - target
    np.abs(d, out=d)
    return d.reshape(len(d), -1).mean(1)


#: numpy twins of the distances that have one (the env uses them for small CPU batches).
NUMPY_DISTANCES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "mse": mse_numpy,
    "l1": l1_numpy,
}


def get_distance(name: str) -> Distance:
    """Look a distance up by name (``mse``, ``l1`` or ``ssim``)."""
    try:
        return DISTANCES[name]
    except KeyError:
        raise ValueError(
            f"unknown distance {name!r}; choose one of {', '.join(DISTANCES)}"
        ) from None


def mse_uint8(a: np.ndarray, b: np.ndarray) -> float:
    """MSE on [0, 1] pixel values between two uint8 images of the same shape."""
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    d = a.astype(np.float64) / 255.0 - b.astype(np.float64) / 255.0
    return float(np.mean(d * d))
