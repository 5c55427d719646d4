"""One render path: every renderer spec is read by painters.resolving.resolve_renderer, and
painters.render (also named painters.replay) draws through the replay at a painting's own size
and the re-render at any other."""

from __future__ import annotations

import numpy as np
import pytest

import painters
import painters.export
from painters.painting import Painting
from painters.replaying import replay_strokes
from painters.rerender import render_painting
from painters.resolving import resolve_renderer


def test_replay_neural_by_name_equals_the_default_painter() -> None:
    actions = painters.random_actions(12, rng=3)
    by_name = painters.replay(actions, "neural")
    by_module = painters.replay(actions, painters.load_painter("default"))
    assert by_name.shape == (64, 64, 3)
    np.testing.assert_array_equal(by_name, by_module)


def test_one_entry_with_one_alias() -> None:
    assert painters.replay is painters.render
    assert "render_painting" not in painters.__all__
    assert not hasattr(painters.export, "render_painting")


def test_render_actions_and_painting_agree_with_replay() -> None:
    actions = painters.random_actions(10, rng=4)
    np.testing.assert_array_equal(
        painters.render(actions, "neural"), replay_strokes(actions, "neural")
    )
    np.testing.assert_array_equal(
        painters.render(actions, "simple", 48), replay_strokes(actions, "simple", size=48)
    )
    # a painting at its own size with the neural painter is replayed exactly
    p = Painting(actions, width=64, height=64)
    np.testing.assert_array_equal(painters.render(p, "neural"), replay_strokes(actions, "neural"))
    # any other size is a re-render at that size, keeping the aspect ratio
    wide = Painting(actions, width=96, height=64)
    image = painters.render(wide, "simple", size=120)
    assert image.shape == (80, 120, 3)
    np.testing.assert_array_equal(image, render_painting(wide, "simple", 120, 80))


def test_render_writes_a_gif_of_a_painting_only(tmp_path) -> None:
    p = Painting(painters.random_actions(6, rng=5), width=64, height=64)
    gif = tmp_path / "p.gif"
    image = painters.render(p, "neural", gif_path=gif)
    np.testing.assert_array_equal(image, render_painting(p, "neural"))
    assert gif.read_bytes()[:6] in (b"GIF87a", b"GIF89a")
    with pytest.raises(ValueError, match="gif_path needs a painting"):
        painters.render(p.actions, "simple", gif_path=tmp_path / "q.gif")
    assert not (tmp_path / "q.gif").exists()


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
