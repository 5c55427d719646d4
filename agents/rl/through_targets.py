"""Training targets for :class:`agents.rl.through_painter.ThroughPainter`: a mix of photo crops
(the env's own target set, or a shard folder from ``scripts/make_targets.py``), procedural
shapes and gradients, and the painter's own random paintings. Every draw comes from one numpy
generator, so a run with the same seed trains on the same targets (and a resumed run continues
the sequence from the generator state saved in its checkpoint)."""

from __future__ import annotations

import os

import numpy as np
import torch

from painters.actions import ACTION_DIM
from painters.compositing import blank_canvas
from painting_env.torch_rollout import lay_strokes


class TargetMix:
    """Draws batches of targets, float (B, 3, S, S) in [0, 1] with uint8 values.

    Args:
        photos: a ``TargetSet``-like object with ``sample(rng)`` (the env's), or a shard folder
            / image folder path.
        size: canvas side.
        source: the env's stroke source (``(strokes, indices) → RGBA``) for random paintings.
        procedural_fraction: share of procedural shapes and gradients.
        painting_fraction: share of the painter's random paintings (8–64 random strokes on a
            random background).
        permute_colours: probability that a photo's colour channels are shuffled (more colours
            than a handful of photos hold, so the policy reads the target).
    """

    def __init__(
        self,
        photos,
        size: int,
        source,
        *,
        procedural_fraction: float = 0.0,
        painting_fraction: float = 0.0,
        permute_colours: float = 0.0,
    ) -> None:
        from painting_env.target_shards import TargetShards, is_shard_folder
        from painting_env.targets import TargetSet

        self.size, self.source = int(size), source
        self.shards = None
        if isinstance(photos, (str, os.PathLike)):
            if not os.path.exists(photos):
                raise FileNotFoundError(
                    f"no training targets at {photos}; give a shard folder "
                    "(scripts/make_targets.py writes data/targets/train) or a folder of images"
                )
            if is_shard_folder(photos):
                self.shards, photos = TargetShards(photos), None
            else:
                photos = TargetSet(photos, self.size, random_crop=True)
        self.photos = photos
        for name, v in (("procedural_fraction", procedural_fraction),
                        ("painting_fraction", painting_fraction),
                        ("permute_colours", permute_colours)):  # fmt: skip
            if not 0.0 <= float(v) <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {v}")
        if procedural_fraction + painting_fraction > 1.0:
            raise ValueError("procedural_fraction + painting_fraction must be at most 1")
        self.procedural = float(procedural_fraction)
        self.painting = float(painting_fraction)
        self.permute = float(permute_colours)

    def _photos(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if n == 0:
            return np.zeros((0, self.size, self.size, 3), np.uint8)
        if self.shards is not None:
            images = self.shards.sample(rng, n, self.size)
        else:
            images = np.stack([self.photos.sample(rng) for _ in range(n)])
        if self.permute > 0:
            for i in range(n):
                if rng.random() < self.permute:
                    images[i] = images[i][..., rng.permutation(3)]
        return images

    @torch.no_grad()
    def _paintings(self, rng: np.random.Generator, n: int, device) -> torch.Tensor:
        out = []
        for _ in range(n):
            m = int(rng.integers(8, 65))
            acts = torch.from_numpy(rng.random((m, ACTION_DIM), dtype=np.float32)).to(device)
            bg = tuple(int(c) for c in rng.integers(0, 256, 3))
            canvas = blank_canvas(1, self.size, bg, device=device)
            rgba = self.source(acts, np.arange(m))
            out.append(lay_strokes(canvas, rgba[None])[0])
        return torch.stack(out).mul(255.0).round()

    def sample(self, rng: np.random.Generator, n: int, device: torch.device) -> torch.Tensor:
        """``n`` targets as float 0–255 values (B, 3, S, S) on ``device``."""
        from painting_env.target_shards import procedural_targets

        n_proc = int(round(n * self.procedural))
        n_paint = int(round(n * self.painting))
        n_photo = n - n_proc - n_paint
        images = np.concatenate(
            [self._photos(rng, n_photo), procedural_targets(rng, n_proc, self.size)]
        )
        t = torch.from_numpy(images).to(device).permute(0, 3, 1, 2).float()
        if n_paint:
            t = torch.cat([t, self._paintings(rng, n_paint, device)])
        return t
