"""One render path: every renderer spec is read by painters.rendering.resolve_renderer, and
painters.render / painters.replay / render_painting agree on it."""

from __future__ import annotations

import numpy as np
import pytest

import painters
from painters.painting import Painting
from painters.rendering import resolve_renderer


def test_replay_neural_by_name_equals_the_default_painter() -> None:
    actions = painters.random_actions(12, rng=3)
    by_name = painters.replay(actions, "neural")
    by_module = painters.replay(actions, painters.load_painter("default"))
    assert by_name.shape == (64, 64, 3)
    np.testing.assert_array_equal(by_name, by_module)


def test_render_actions_and_painting_agree_with_replay() -> None:
    actions = painters.random_actions(10, rng=4)
    np.testing.assert_array_equal(
        painters.render(actions, "neural"), painters.replay(actions, "neural")
    )
    np.testing.assert_array_equal(
        painters.render(actions, "simple", 48), painters.replay(actions, "simple", size=48)
    )
    # a painting at its own size with the neural painter is replayed exactly
    p = Painting(actions, width=64, height=64)
    np.testing.assert_array_equal(painters.render(p, "neural"), painters.replay(actions, "neural"))
    # any other size is a re-render at that size, keeping the aspect ratio
    wide = Painting(actions, width=96, height=64)
    assert painters.render(wide, "simple", size=120).shape == (80, 120, 3)


def test_resolver_vocabulary(tmp_path) -> None:
    from painters.renderers import Renderer

    assert isinstance(resolve_renderer("simple", 32), Renderer)
    assert resolve_renderer("simple", 32).size == 32
    assert not isinstance(resolve_renderer("neural"), Renderer)
    r = resolve_renderer("simple")
    assert resolve_renderer(r) is r
    with pytest.raises(ValueError, match="unknown renderer 'oil'"):
        resolve_renderer("oil")
    with pytest.raises(FileNotFoundError, match="no painter at"):
        resolve_renderer(tmp_path / "nope")
