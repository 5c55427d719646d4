"""The stroke action: layout, validation and the env mapping."""

from __future__ import annotations

import numpy as np
import pytest

from painters import actions as A


def test_layout_matches_the_dataset_order() -> None:
    assert A.ACTION_DIM == len(A.ACTION_NAMES) == 12
    assert A.ACTION_NAMES[A.PRESSURE] == "pressure"
    assert A.ACTION_NAMES[A.START_X] == "start_x"
    assert A.ACTION_NAMES[A.ENTRY_PRESSURE] == "entry_pressure"
    assert A.ACTION_NAMES[A.COLOR] == ("red", "green", "blue")


def test_validate_promotes_one_action_and_returns_float32() -> None:
    a = A.validate_actions(np.full(12, 0.5, np.float64))
    assert a.shape == (1, 12) and a.dtype == np.float32


def test_validate_clips_float_noise_only() -> None:
    a = np.full((2, 12), 0.5, np.float32)
    a[0, 0], a[1, 1] = -A.TOLERANCE / 2, 1 + A.TOLERANCE / 2
    out = A.validate_actions(a)
    assert out.min() == 0.0 and out.max() == 1.0
    a[0, 0] = -0.1
    with pytest.raises(ValueError, match=r"\[0, 1\].*from_env_action"):
        A.validate_actions(a)


@pytest.mark.parametrize("shape", [(3, 11), (2, 3, 12), (13,), ()])
def test_validate_rejects_wrong_shapes(shape) -> None:
    with pytest.raises(ValueError, match="shape"):
        A.validate_actions(np.zeros(shape))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_validate_rejects_non_finite(bad) -> None:
    a = np.full((1, 12), 0.5)
    a[0, 3] = bad
    with pytest.raises(ValueError, match="NaN or inf"):
        A.validate_actions(a)


def test_env_mapping_round_trips_and_clips() -> None:
    acts = A.random_actions(3, rng=1)
    env = A.to_env_action(acts)
    assert env.shape == (36,) and env.min() >= -1 and env.max() <= 1
    np.testing.assert_allclose(A.from_env_action(env), acts, atol=1e-6)
    out = A.from_env_action(np.array([-3.0] * 6 + [3.0] * 6))
    assert out.shape == (1, 12)
    assert out[0, :6].tolist() == [0.0] * 6 and out[0, 6:].tolist() == [1.0] * 6


def test_env_mapping_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="multiple of 12"):
        A.from_env_action(np.zeros(10))
    with pytest.raises(ValueError, match="NaN or inf"):
        A.from_env_action(np.full(12, np.nan))


def test_random_actions_are_seeded_and_in_range() -> None:
    a, b = A.random_actions(50, rng=7), A.random_actions(50, rng=7)
    assert a.dtype == np.float32 and a.shape == (50, 12)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, A.random_actions(50, rng=8))
    assert a.min() >= 0 and a.max() < 1
