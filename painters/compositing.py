"""Compositing: strokes laid "over" a canvas, one after another.

    canvas <- stroke_rgb * alpha + canvas * (1 - alpha)

Strokes are straight-alpha RGBA. Torch versions are differentiable and batched; the numpy
versions are for storage formats (uint8 HWC).
"""

from __future__ import annotations

import numpy as np
import torch

WHITE = (255, 255, 255)


def over(canvas: torch.Tensor, strokes: torch.Tensor) -> torch.Tensor:
    """Lay one stroke per canvas over it: canvas (B, 3, H, W), strokes (B, 4, H, W) in [0, 1]."""
    if _fused(canvas, strokes):
        return _Over.apply(canvas, strokes)
    alpha = strokes[:, 3:4]
    return strokes[:, :3] * alpha + canvas * (1.0 - alpha)


def _fused(canvas: torch.Tensor, strokes: torch.Tensor) -> bool:
    """Whether the hand-written backwards apply: gradients wanted, and only the canvas (if
    anything) broadcast."""
    wanted = torch.is_grad_enabled() and (canvas.requires_grad or strokes.requires_grad)
    return wanted and canvas.dim() == 4 and strokes.shape[0] >= canvas.shape[0]


class _Over(torch.autograd.Function):
    """:func:`over` with a hand-written backward: the strokes' gradient is written into one
    (B, 4, H, W) tensor, where autograd's chain builds a zero-filled one per slice and about
    eight canvas-sized temporaries. The forward is the same arithmetic as without gradients."""

    @staticmethod
    def forward(ctx, canvas: torch.Tensor, strokes: torch.Tensor) -> torch.Tensor:
        alpha = strokes[:, 3:4]
        ctx.save_for_backward(canvas, strokes)
        return strokes[:, :3] * alpha + canvas * (1.0 - alpha)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        canvas, strokes = ctx.saved_tensors
        alpha = strokes[:, 3:4]
        g_canvas = g_strokes = None
        if ctx.needs_input_grad[0]:
            g_canvas = (grad * (1.0 - alpha)).sum_to_size(canvas.shape)
        if ctx.needs_input_grad[1]:
            g_strokes = strokes.new_empty(strokes.shape)
            torch.mul(grad, alpha, out=g_strokes[:, :3])
            diff = strokes[:, :3] - canvas
            torch.sum(diff.mul_(grad), 1, keepdim=True, out=g_strokes[:, 3:4])
        return g_canvas, g_strokes


def over_in_place(canvas: torch.Tensor, colour: torch.Tensor, alpha: torch.Tensor) -> None:
    """:func:`over` written into ``canvas`` (B, 3, H, W), no gradient: the same arithmetic
    without its three canvas-sized temporaries. ``colour``: (B, 3, H, W) or (B, 3, 1, 1) (a
    stroke's single colour); ``alpha``: (B, 1, H, W)."""
    canvas.mul_(1.0 - alpha).addcmul_(colour, alpha)


def over_sequence(canvas: torch.Tensor, strokes: torch.Tensor) -> torch.Tensor:
    """Lay T strokes in order: canvas (B, 3, H, W), strokes (B, T, 4, H, W)."""
    if _fused(canvas, strokes):
        return _OverSequence.apply(canvas, strokes)
    for t in range(strokes.shape[1]):
        canvas = over(canvas, strokes[:, t])
    return canvas


class _OverSequence(torch.autograd.Function):
    """:func:`over_sequence` with a hand-written backward that writes every stroke's gradient
    into one (B, T, 4, H, W) tensor; through autograd, each ``strokes[:, t]``'s backward builds
    a zero-filled gradient the size of all T strokes (most of a training step's time at T = 8).
    The forward is the same arithmetic as :func:`over`, stroke by stroke."""

    @staticmethod
    def forward(ctx, canvas: torch.Tensor, strokes: torch.Tensor) -> torch.Tensor:
        before = []  # the canvas under each stroke
        for t in range(strokes.shape[1]):
            before.append(canvas)
            alpha = strokes[:, t, 3:4]
            canvas = strokes[:, t, :3] * alpha + canvas * (1.0 - alpha)
        ctx.save_for_backward(strokes, *before)
        ctx.canvas_shape = before[0].shape
        return canvas

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        strokes, *before = ctx.saved_tensors
        g_strokes = strokes.new_empty(strokes.shape) if ctx.needs_input_grad[1] else None
        for t in range(strokes.shape[1] - 1, -1, -1):
            alpha = strokes[:, t, 3:4]
            if g_strokes is not None:
                torch.mul(grad, alpha, out=g_strokes[:, t, :3])
                diff = (strokes[:, t, :3] - before[t]).mul_(grad)
                torch.sum(diff, 1, keepdim=True, out=g_strokes[:, t, 3:4])
            grad = grad * (1.0 - alpha)
        g_canvas = grad.sum_to_size(ctx.canvas_shape) if ctx.needs_input_grad[0] else None
        return g_canvas, g_strokes


def over_colour(canvas: torch.Tensor, colour: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """:func:`over` for strokes of one colour each, given as colour (B, 3) and alpha
    (B, 1, H, W) instead of RGBA (the structured painters' strokes): the same arithmetic,
    without building the (B, 4, H, W) strokes and their gradient."""
    return over_colour_sequence(canvas, colour[:, None], alpha)


def over_colour_sequence(
    canvas: torch.Tensor, colours: torch.Tensor, alphas: torch.Tensor
) -> torch.Tensor:
    """:func:`over_sequence` for single-colour strokes: canvas (B, 3, H, W) (or one canvas
    (1, 3, H, W) for all), colours (B, T, 3), alphas (B, T, H, W)."""
    if torch.is_grad_enabled() and any(t.requires_grad for t in (canvas, colours, alphas)):
        return _OverColourSequence.apply(canvas, colours, alphas)
    return _OverColourSequence.lay(canvas, colours, alphas)[0]


class _OverColourSequence(torch.autograd.Function):
    """:func:`over_colour_sequence` with a hand-written backward, both run in chunks of
    :attr:`chunk` canvases so that every temporary stays in cache (at batch 256 a canvas-sized
    temporary is 12 MB, and moving those dominated the cost). Per stroke t the gradients are
    dL/dcolour = Σ_pixels g·α and dL/dα = Σ_channels g·(colour − the canvas under it)."""

    #: Canvases per chunk: 16 canvases of 64 × 64 are 768 KB.
    chunk = 16

    @staticmethod
    def lay(canvas, colours, alphas) -> tuple[torch.Tensor, list[torch.Tensor]]:
        b, steps = alphas.shape[:2]
        before = []  # the canvas under each stroke
        m = _OverColourSequence.chunk
        for t in range(steps):
            before.append(canvas)
            out = alphas.new_empty(b, *canvas.shape[1:])
            under = canvas.expand(b, -1, -1, -1)
            for lo in range(0, b, m):
                alpha = alphas[lo : lo + m, t, None]
                o = out[lo : lo + m]
                torch.mul(under[lo : lo + m], 1.0 - alpha, out=o)
                torch.add(colours[lo : lo + m, t, :, None, None] * alpha, o, out=o)
            canvas = out
        return canvas, before

    @staticmethod
    def forward(ctx, canvas, colours, alphas):
        out, before = _OverColourSequence.lay(canvas, colours, alphas)
        ctx.save_for_backward(colours, alphas, *before)
        ctx.canvas_shape = canvas.shape
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        colours, alphas, *before = ctx.saved_tensors
        b, steps = alphas.shape[:2]
        need_canvas, need_colour, need_alpha = ctx.needs_input_grad
        g_colours = torch.empty_like(colours) if need_colour else None
        g_alphas = torch.empty_like(alphas) if need_alpha else None
        grad = grad.expand(b, -1, -1, -1)
        m = _OverColourSequence.chunk
        for t in range(steps - 1, -1, -1):
            under = before[t].expand(b, -1, -1, -1)
            carry = t > 0 or need_canvas
            g_next = alphas.new_empty(grad.shape) if carry else None
            for lo in range(0, b, m):
                hi = lo + m
                g, alpha = grad[lo:hi], alphas[lo:hi, t, None]
                if need_colour:
                    g_colours[lo:hi, t] = (g * alpha).sum((2, 3))
                if need_alpha:
                    diff = torch.sub(colours[lo:hi, t, :, None, None], under[lo:hi]).mul_(g)
                    torch.sum(diff, 1, out=g_alphas[lo:hi, t])
                if carry:
                    torch.mul(g, 1.0 - alpha, out=g_next[lo:hi])
            grad = g_next
        g_canvas = grad.sum_to_size(ctx.canvas_shape) if need_canvas else None
        return g_canvas, g_colours, g_alphas


def blank_canvas(
    batch: int,
    size: int | tuple[int, int] = 64,
    background: tuple[int, int, int] = WHITE,
    *,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """A (batch, 3, H, W) canvas filled with ``background`` (0–255 RGB)."""
    h, w = (size, size) if isinstance(size, int) else size
    bg = torch.tensor(background, dtype=dtype, device=device).view(1, 3, 1, 1) / 255.0
    return bg.expand(batch, 3, h, w).clone()


def coverage_weights(alphas: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For alphas (B, N, H, W) laid in order: the weight of each stroke's colour in the final
    canvas, a_i · Π_{j>i} (1 − a_j), and the background's, Π_j (1 − a_j).

    "Over" is linear in the colours once the coverage is fixed:
    canvas = background · T + Σ_i colour_i · w_i, which makes colours a cheap least-squares fit.
    """
    keep = 1.0 - alphas
    if alphas.device.type != "cpu" or alphas.requires_grad:
        # transmittance above stroke i: product over later strokes (reverse exclusive cumprod)
        rev = torch.flip(keep, [1])
        excl = torch.cumprod(torch.cat([torch.ones_like(rev[:, :1]), rev[:, :-1]], 1), 1)
        above = torch.flip(excl, [1])
        return alphas * above, above[:, 0] * keep[:, 0]
    # the same products in the same order (CPU cumprod accumulates floats in double) in two
    # (B, N, H, W) tensors instead of six: 4000 strokes on a 128 x 64 canvas are 130 MB each
    above = torch.empty_like(keep)
    wide = torch.float64 if keep.dtype in (torch.float32, torch.float16, torch.bfloat16) else None
    running = torch.ones_like(keep[:, 0], dtype=wide)
    for i in range(keep.shape[1] - 1, -1, -1):
        above[:, i] = running
        if i:
            running = running * keep[:, i]
    background = above[:, 0] * keep[:, 0]
    del keep
    return above.mul_(alphas), background


def over_numpy(canvas: np.ndarray, stroke: np.ndarray) -> np.ndarray:
    """numpy "over": canvas float (H, W, 3) in [0, 1], stroke uint8 or float (H, W, 4)."""
    s = stroke.astype(np.float32) / 255.0 if stroke.dtype == np.uint8 else stroke
    a = s[..., 3:4]
    return s[..., :3] * a + canvas * (1.0 - a)


def on_background(strokes: np.ndarray, background: tuple[int, int, int] = WHITE) -> np.ndarray:
    """Each uint8 RGBA stroke (N, H, W, 4) alone on a background → uint8 RGB (N, H, W, 3)."""
    s = strokes.astype(np.float32) / 255.0
    bg = np.asarray(background, dtype=np.float32) / 255.0
    out = s[..., :3] * s[..., 3:4] + bg * (1.0 - s[..., 3:4])
    return to_uint8(out)


def to_uint8(image: np.ndarray | torch.Tensor) -> np.ndarray:
    """Float image in [0, 1] (HWC numpy, or CHW / BCHW torch) → uint8 HWC numpy, rounded."""
    if isinstance(image, torch.Tensor):
        t = image.detach().float().cpu()
        t = t.movedim(-3, -1)
        image = t.numpy()
    return np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)


def from_uint8(image: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """uint8 HWC (or NHWC) numpy → float CHW (or NCHW) torch in [0, 1]."""
    t = torch.from_numpy(np.ascontiguousarray(image)).to(device)
    return t.movedim(-1, -3).float() / 255.0
