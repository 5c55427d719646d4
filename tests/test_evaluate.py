"""The benchmark: every method on the same images and stroke budget, one table, plot and grid."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from agents.evaluation import BASELINES, evaluate, mean_curves, summarize, to_markdown
from agents.rl import train

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    """Two small synthetic targets (a gradient and a two-colour split)."""
    folder = tmp_path_factory.mktemp("images")
    y, x = np.mgrid[0:48, 0:60]
    a = np.stack([x * 4, y * 5, np.full_like(x, 80)], -1).astype(np.uint8)
    b = np.zeros((50, 50, 3), np.uint8)
    b[:, :25] = (200, 30, 30)
    b[:, 25:] = (20, 40, 160)
    Image.fromarray(a).save(folder / "a.png")
    Image.fromarray(b).save(folder / "b.png")
    return folder


@pytest.fixture(scope="module")
def agent_dir(tmp_path_factory) -> Path:
    """A (barely) trained PPO agent painting 2 strokes per step."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("agent")
    train(
        "ppo",
        out,
        total_timesteps=32,
        n_envs=4,
        env_kwargs={"max_strokes": 4, "strokes_per_step": 2},
        overrides={
            "batch_size": 16,
            "n_epochs": 1,
            "policy_kwargs": {
                "net_arch": [16],
                "features_extractor_kwargs": {
                    "features_dim": 16,
                    "cnn_channels": [4],
                    "downsample": 8,
                },
            },
        },
        progress_bar=False,
    )
    return out


def _load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_evaluate_table_json_plot_grid(images, agent_dir, tmp_path):
    torch.set_num_threads(1)
    script = _load_script("evaluate")
    out = tmp_path / "eval"
    script.main(
        [
            "--methods", f"random,gradient,agent:{agent_dir}",
            "--images", str(images), "--strokes", "4",
            "--json", str(out / "eval.json"), "--markdown", str(out / "eval.md"),
            "--plot", str(out / "eval.png"), "--grid", str(out / "grid.png"),
        ]
    )  # fmt: skip
    data = json.loads((out / "eval.json").read_text())
    assert len(data["rows"]) == 2 * (3 + len(BASELINES))
    assert set(data["mean"]) == {"random", "gradient", f"agent:{agent_dir}", *BASELINES}
    for row in data["rows"]:
        assert 0.0 <= row["mse"] <= 1.0 and -1.0 <= row["ssim"] <= 1.0 and row["seconds"] >= 0
        assert row["curve"][0][0] == 0 and row["curve"][-1][0] == 4
        assert row["curve"][-1][1] == pytest.approx(row["mse"], abs=1e-6)
        assert row["curve"][0][1] == pytest.approx(row["white_mse"], abs=1e-6)
    # gradient painting optimises the very distance we score: it must beat random strokes
    assert data["mean"]["gradient"]["mse"] < data["mean"]["random"]["mse"]
    # the flat baselines: finer grids are closer, and they cost no stroke renders
    mean = data["mean"]
    assert mean["flat 16x16"]["mse"] <= mean["flat 8x8"]["mse"] < mean["mean colour"]["mse"]
    assert all(mean[b]["stroke_renders"] == 0 for b in BASELINES)
    # gradient renders: 4 strokes x (60 group steps + 30 refinement steps), refinement once
    assert mean["gradient"]["stroke_renders"] == 4 * (60 + 30)
    table = (out / "eval.md").read_text()
    assert "| a.png | random |" in table and "**mean**" in table and "**gradient**" in table
    assert "| a.png | flat 8x8 |" in table and "**mean colour**" in table
    plot = Image.open(out / "eval.png")
    assert plot.size[0] > 100 and plot.size[1] > 100
    grid = Image.open(out / "grid.png")
    assert grid.size[1] > grid.size[0] / 7  # two rows of target + 6 paintings


def test_evaluate_is_seeded_and_checks_budget(images, agent_dir):
    runs_a = evaluate(["random"], sorted(images.iterdir()), 3, seed=1, baselines=False)
    runs_b = evaluate(["random"], sorted(images.iterdir()), 3, seed=1, baselines=False)
    assert [r.mse for r in runs_a] == [r.mse for r in runs_b]
    assert summarize(runs_a)["random"]["images"] == 2
    assert [n for n, _ in mean_curves(runs_a)["random"]] == [0, 1, 2, 3]
    assert "3" in to_markdown(runs_a, 3)
    assert len(runs_a) == 2 and len(evaluate(["random"], sorted(images.iterdir()), 3)) == 2 * 4
    with pytest.raises(ValueError, match="multiple of 2"):
        evaluate([f"agent:{agent_dir}"], sorted(images.iterdir()), 3)
    with pytest.raises(ValueError, match="unknown method"):
        evaluate(["paint-by-numbers"], sorted(images.iterdir()), 3)
