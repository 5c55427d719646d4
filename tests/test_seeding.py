"""mix_seed: derived seeds that never collide the way ``seed * 1000 + rank + step`` does."""

from __future__ import annotations

import pytest
import torch

from painters.seeding import mix_seed


def test_mix_seed_is_stable_and_separates_tuples() -> None:
    assert mix_seed(0, 1, 2) == mix_seed(0, 1, 2)
    # the sum formula collides here: 0*1000 + 0 + 1000 == 1*1000 + 0 + 0
    assert mix_seed(0, 0, 1000) != mix_seed(1, 0, 0)
    assert mix_seed(3, 1) != mix_seed(3, 2) != mix_seed(4, 1)
    seeds = {mix_seed(s, r, t) for s in range(4) for r in range(4) for t in range(64)}
    assert len(seeds) == 4 * 4 * 64
    assert all(0 <= s < 2**63 for s in seeds)
    torch.Generator().manual_seed(mix_seed(2**40, 7))  # a valid torch seed


def test_mix_seed_rejects_bad_parts() -> None:
    with pytest.raises(ValueError, match="at least one"):
        mix_seed()
    with pytest.raises(ValueError, match="non-negative"):
        mix_seed(1, -2)
