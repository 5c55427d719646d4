"""One reader of hyperparameter YAML for SB3 recipes and the through-painter recipe."""

from __future__ import annotations

import pytest

from agents.rl.hyperparams import HYPERPARAMS_DIR, read_hyperparams
from agents.rl.through_run import RECIPE, load_recipe
from agents.rl.training import load_hyperparams


def test_both_recipes_come_from_the_one_reader(tmp_path) -> None:
    f = tmp_path / "hp.yaml"
    f.write_text("Painting-v0:\n  batch_size: 7\n  policy_kwargs: {net_arch: [8]}\n")
    assert load_hyperparams("sac", f) == read_hyperparams(HYPERPARAMS_DIR / "sac.yaml", f)
    assert load_recipe(f) == read_hyperparams(RECIPE, f, replace_policy_kwargs=False)


def test_policy_kwargs_replace_for_sb3_and_merge_for_the_through_painter(tmp_path) -> None:
    f = tmp_path / "hp.yaml"
    f.write_text("policy_kwargs:\n  features_extractor_kwargs: {hidden: 64}\nbatch_size: 5\n")
    sac = load_hyperparams("sac", f)
    assert sac["policy_kwargs"] == {"features_extractor_kwargs": {"hidden": 64}}
    tp = load_recipe(f, {"learning_rate": 1e-3})
    extractor = tp["policy_kwargs"]["features_extractor_kwargs"]
    assert extractor["hidden"] == 64 and extractor["channels"] == [24, 48]
    assert tp["policy_kwargs"]["features_extractor_class"] == "SpatialPainter"
    assert (tp["batch_size"], tp["learning_rate"]) == (5, 1e-3)


@pytest.mark.parametrize("load", [lambda f: load_recipe(f), lambda f: load_hyperparams("td3", f)])
def test_bad_files_are_one_line_errors(tmp_path, load) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("Painting-v0: {n_envs: [1,\n")
    with pytest.raises(ValueError, match="is not valid YAML") as e:
        load(bad)
    assert "\n" not in str(e.value)
    flat = tmp_path / "list.yaml"
    flat.write_text("- 1\n- 2\n")
    with pytest.raises(ValueError, match="must hold a mapping"):
        load(flat)
    with pytest.raises(FileNotFoundError, match="no hyperparameter file"):
        load(tmp_path / "missing.yaml")


def test_exponent_floats_without_a_dot_are_numbers(tmp_path) -> None:
    from agents.rl.hyperparams import parse_overrides

    hp = parse_overrides(["learning_rate=5e-5", "a=1E3", "b=[1e-3, 2]", "c=abc", "d=3"])
    assert hp == {"learning_rate": 5e-5, "a": 1000.0, "b": [1e-3, 2], "c": "abc", "d": 3}
    f = tmp_path / "hp.yaml"
    f.write_text("Painting-v0:\n  learning_rate: 5e-5\n")
    assert read_hyperparams(RECIPE, f)["learning_rate"] == 5e-5
