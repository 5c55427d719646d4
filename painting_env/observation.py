"""The observation of ``Painting-v0``: its layout, defined once, and its one encoder.

Everything that shows a policy a canvas and a target — the env, the vector env, agent painting
and the differentiable rollouts that train through the painter — builds the observation with
:func:`encode_observation` (numpy) or :func:`encode_observation_torch` (torch), so they see
exactly what the env shows.

Layouts (``H = W = size``):

- ``"dict"``: ``canvas`` and ``target`` uint8 images (H, W, 3) and ``step``, float32 (1,): the
  fraction of the episode's strokes painted so far.
- ``"compact"``: one uint8 image (7, H, W), channels in :data:`COMPACT_CHANNELS` order: canvas
  RGB, target RGB, and a constant plane ``round(255 · step)``.

Canvases are float images in [0, 1], turned into uint8 by ``round(255 · value)`` (half to
even); targets are already uint8. SB3 may store an agent's image spaces channel-first
(``VecTransposeImage``): ``channel_first=True`` gives that layout.
"""

from __future__ import annotations

import numpy as np
import torch
from gymnasium import spaces

OBS_MODES = ("dict", "compact")
#: The compact observation's channels, in order.
COMPACT_CHANNELS = ("canvas_r", "canvas_g", "canvas_b", "target_r", "target_g", "target_b", "step")
#: Where each part sits among the compact observation's channels.
CANVAS_CHANNELS = slice(0, 3)
TARGET_CHANNELS = slice(3, 6)
STEP_CHANNEL = 6
#: Rows converted at a time (keeps the float temporary in cache for large batches).
ROWS = 64


def observation_space(size: int, obs_mode: str = "dict") -> spaces.Space:
    """The single env's observation space for a ``size`` px canvas."""
    s = size
    if obs_mode == "compact":
        return spaces.Box(0, 255, (len(COMPACT_CHANNELS), s, s), np.uint8)
    if obs_mode != "dict":
        raise ValueError(f"unknown obs_mode {obs_mode!r}; choose one of {', '.join(OBS_MODES)}")
    return spaces.Dict(
        {
            "canvas": spaces.Box(0, 255, (s, s, 3), np.uint8),
            "target": spaces.Box(0, 255, (s, s, 3), np.uint8),
            "step": spaces.Box(0.0, 1.0, (1,), np.float32),
        }
    )


def canvas_to_uint8(canvas: np.ndarray | torch.Tensor) -> np.ndarray:
    """Float canvases (B, 3, H, W) in [0, 1] (numpy, or torch on any device) → uint8
    (B, H, W, 3), ``round(255 · value)`` half to even, clipped to 0–255. Canvases that are
    already uint8 (B, 3, H, W) (the env converts each chunk of rows as it paints) are taken
    as they are.

    The result is a channel-last view of channel-first memory (numpy's 3-channel interleave
    would cost more than the rest of the step); callers that need C order copy it. On CPU,
    numpy in chunks of rows beats torch at env sizes (no kernel launches, temporaries in cache).
    """
    if isinstance(canvas, torch.Tensor):
        canvas = canvas.detach()
        if canvas.device.type != "cpu":
            u8 = canvas.mul(255.0).round_().clamp_(0.0, 255.0).to(torch.uint8)
            return u8.cpu().numpy().transpose(0, 2, 3, 1)
        canvas = (canvas if canvas.dtype == torch.float32 else canvas.float()).numpy()
    if canvas.dtype == np.uint8:
        return canvas.transpose(0, 2, 3, 1)
    b = canvas.shape[0]
    out = np.empty(canvas.shape, np.uint8)
    for lo in range(0, b, ROWS):
        a = canvas[lo : lo + ROWS] * np.float32(255.0)
        np.rint(a, out=a)
        np.minimum(a, np.float32(255.0), out=a)  # the ufuncs: np.clip's wrapper costs more
        np.maximum(a, np.float32(0.0), out=a)
        out[lo : lo + ROWS] = a
    return out.transpose(0, 2, 3, 1)


#: 1.5 · 2^23: a float32 in [0, 255] plus this is rounded to a whole number, half to even
#: (as ``np.rint``), and that number is the low byte of the sum's bits.
ROUND_MAGIC = 12582912.0


def canvas_to_uint8_into(canvas: torch.Tensor, out: torch.Tensor, scratch: torch.Tensor) -> None:
    """:func:`canvas_to_uint8`'s values for float32 CPU canvases (B, 3, H, W), written into
    the uint8 tensor ``out`` (B, 3, H, W, channel-first), with ``scratch`` a float32 tensor of
    the canvases' shape. Three passes instead of five: the rounding is an addition, and the
    int32 → uint8 conversion keeps the low byte."""
    torch.mul(canvas, 255.0, out=scratch).clamp_(0.0, 255.0).add_(ROUND_MAGIC)
    out.copy_(scratch.view(torch.int32))


def step_plane_value(step: np.ndarray) -> np.ndarray:
    """The compact observation's step channel: uint8 ``round(255 · step)`` per row."""
    return np.rint(np.asarray(step, np.float32) * np.float32(255.0)).astype(np.uint8)


def encode_observation(
    canvas: np.ndarray | torch.Tensor,
    target_u8: np.ndarray,
    step: np.ndarray | None,
    obs_mode: str = "dict",
    *,
    channel_first: bool | None = None,
) -> dict[str, np.ndarray] | np.ndarray:
    """Batched observations (fresh arrays, safe to keep).

    Images are laid out as ``channel_first`` says, not necessarily in C order (see
    :func:`canvas_to_uint8`).

    Args:
        canvas: float (B, 3, H, W) in [0, 1], numpy or torch, or its uint8 conversion.
        target_u8: uint8 (B, H, W, 3).
        step: (B,) fractions of the episode painted, or ``None`` for agents whose observation
            has no step (the dict then has no ``step``, the compact image 6 channels).
        obs_mode: ``"dict"`` or ``"compact"``.
        channel_first: images as (B, C, H, W) or (B, H, W, C); ``None`` (default): the env's
            layout, HWC for ``"dict"`` and CHW for ``"compact"``.
    """
    if channel_first is None:
        channel_first = obs_mode == "compact"
    c = canvas_to_uint8(canvas)
    if obs_mode == "dict":
        t = target_u8
        if channel_first:
            c, t = c.transpose(0, 3, 1, 2), t.transpose(0, 3, 1, 2)
        obs = {"canvas": c, "target": np.array(t, copy=True, order="C")}
        if step is not None:
            obs["step"] = np.asarray(step, np.float32).reshape(-1, 1).copy()
        return obs
    if obs_mode != "compact":
        raise ValueError(f"unknown obs_mode {obs_mode!r}; choose one of {', '.join(OBS_MODES)}")
    b, h, w, _ = c.shape
    n = len(COMPACT_CHANNELS) if step is not None else STEP_CHANNEL
    out = np.empty((b, n, h, w), np.uint8)
    out[:, CANVAS_CHANNELS] = c.transpose(0, 3, 1, 2)
    out[:, TARGET_CHANNELS] = target_u8.transpose(0, 3, 1, 2)
    if step is not None:
        out[:, STEP_CHANNEL] = step_plane_value(step).reshape(-1)[:, None, None]
    return out if channel_first else np.ascontiguousarray(out.transpose(0, 2, 3, 1))


def encode_observation_torch(
    canvas: torch.Tensor,
    target: torch.Tensor,
    step: float | torch.Tensor | None,
    obs_mode: str = "dict",
    *,
    channel_first: bool | None = None,
) -> dict[str, torch.Tensor] | torch.Tensor:
    """:func:`encode_observation` for torch rollouts: the same values as float32 tensors on
    the canvas's device (what SB3 hands a policy after ``obs_as_tensor``), no gradient.

    ``canvas`` and ``target``: float (B, 3, H, W) in [0, 1]; ``step``: a fraction or (B,).
    """
    if channel_first is None:
        channel_first = obs_mode == "compact"
    b = canvas.shape[0]
    c = canvas.detach().mul(255.0).round_().clamp_(0.0, 255.0)
    t = target.detach().mul(255.0).round_().clamp_(0.0, 255.0)
    frac = None
    if step is not None:
        frac = torch.as_tensor(step, dtype=torch.float32, device=canvas.device).expand(b)
    if obs_mode == "dict":
        if not channel_first:
            c, t = c.permute(0, 2, 3, 1), t.permute(0, 2, 3, 1)
        obs = {"canvas": c, "target": t}
        if frac is not None:
            obs["step"] = frac.reshape(b, 1).clone()
        return obs
    if obs_mode != "compact":
        raise ValueError(f"unknown obs_mode {obs_mode!r}; choose one of {', '.join(OBS_MODES)}")
    parts = [c, t]
    if frac is not None:
        # the same float32 rounding as step_plane_value
        plane = frac.mul(255.0).round_()
        parts.append(plane.view(b, 1, 1, 1).expand(b, 1, *c.shape[2:]))
    out = torch.cat(parts, 1)
    return out if channel_first else out.permute(0, 2, 3, 1)
