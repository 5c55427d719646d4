"""One way to derive a seed from several integers (run seed, worker rank, step, ...).

Why not ``seed * 1000 + rank + step``: such sums collide (seed 0 at step 1000 is seed 1 at step
0), so two runs meant to differ draw the same numbers. ``np.random.SeedSequence`` hashes the
whole tuple: distinct tuples give independent, well-mixed seeds.
"""

from __future__ import annotations

import numpy as np


def mix_seed(*parts: int) -> int:
    """A seed in [0, 2**63) that depends on every one of ``parts`` (non-negative integers), for
    ``torch.manual_seed``, ``np.random.default_rng`` or a renderer's texture seed."""
    if not parts:
        raise ValueError("mix_seed needs at least one integer")
    words = [int(p) for p in parts]
    if min(words) < 0:
        raise ValueError(f"seed parts must be non-negative integers, got {words}")
    state = np.random.SeedSequence(words).generate_state(1, np.uint64)[0]
    return int(state >> np.uint64(1))
