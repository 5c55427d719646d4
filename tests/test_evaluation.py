"""The fidelity figure: floor, error and ratio behave as defined, the grid and the script."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import painters
from painters.evaluation import composite_on_white, evaluate_painter, fidelity, stroke_grid

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "evaluate_painter.py"


class Lookup(nn.Module):
    """A 'painter' that returns fixed strokes, to pin down what the ratio means."""

    def __init__(self, strokes: np.ndarray) -> None:
        super().__init__()
        self.strokes = torch.from_numpy(strokes).permute(0, 3, 1, 2).float() / 255.0
        self.i = 0

    def forward(self, actions: torch.Tensor) -> torch.Tensor:
        out = self.strokes[self.i : self.i + len(actions)]
        self.i += len(actions)
        return out


def real_pair(n: int = 6):
    rng = np.random.default_rng(0)
    actions = rng.random((n, 12), dtype=np.float32)
    a = rng.integers(0, 256, (n, 64, 64, 4), dtype=np.uint8)
    b = rng.integers(0, 256, (n, 64, 64, 4), dtype=np.uint8)
    return actions, a, b


def test_ratio_is_zero_for_a_copy_of_a_and_one_for_b() -> None:
    actions, a, b = real_pair()
    assert fidelity(Lookup(a), actions, a, b)["ratio"] == pytest.approx(0.0, abs=1e-9)
    res = fidelity(Lookup(b), actions, a, b)
    assert res["ratio"] == pytest.approx(1.0, rel=1e-6)
    assert res["floor"] > 0 and res["n"] == 6


def test_composite_on_white_agrees_for_uint8_and_float() -> None:
    _, a, _ = real_pair(2)
    f = torch.from_numpy(a).permute(0, 3, 1, 2).float() / 255.0
    assert torch.allclose(composite_on_white(a), composite_on_white(f))
    empty = torch.zeros(1, 4, 8, 8)
    assert torch.equal(composite_on_white(empty), torch.ones(1, 3, 8, 8))
    with pytest.raises(ValueError, match="uint8"):
        composite_on_white(a.astype(np.float32))


def test_mismatched_inputs_are_rejected() -> None:
    actions, a, b = real_pair()
    with pytest.raises(ValueError, match="must match"):
        fidelity(Lookup(a), actions, a, b[:3])
    with pytest.raises(ValueError, match="identical"):
        fidelity(Lookup(a), actions, a, a)


def test_stroke_grid_layout() -> None:
    cols = [torch.zeros(10, 3, 64, 64), torch.ones(10, 3, 64, 64)]
    g = stroke_grid(cols, rows=4, pad=2)
    assert g.shape == (4 * 66 + 2, 2 * 66 + 2, 3) and g.dtype == np.uint8
    assert g[2, 2].tolist() == [0, 0, 0] and g[2, 68].tolist() == [255, 255, 255]


def test_default_painter_beats_drawing_nothing_with_the_real_brush(tmp_path: Path) -> None:
    try:
        painters.get_renderer("mypaint")
    except RuntimeError as e:
        pytest.skip(str(e))
    torch.set_num_threads(1)
    res = evaluate_painter(
        painters.load_painter("default"), 40, seed=3, out_grid=tmp_path / "g.png"
    )
    assert 0.0005 < res["floor"] < 0.01
    assert res["ratio"] < 5.0, res  # drawing nothing scores ~35
    assert (tmp_path / "g.png").is_file()


def test_script_reports_missing_painter_in_one_line(tmp_path: Path, capsys) -> None:
    spec = importlib.util.spec_from_file_location("evaluate_painter_script", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rc = mod.main(["--painter", str(tmp_path / "nope"), "--num-strokes", "4"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("error: no painter at") and len(err.splitlines()) == 1


def test_two_sample_scores_say_which_held_out_strokes_the_classifier_told_apart() -> None:
    from painters.evaluation import two_sample_accuracy, two_sample_scores

    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    real = (torch.rand(40, 4, 16, 16, generator=g) < 0.5).float()
    fake = torch.cat([torch.zeros(40, 3, 16, 16), torch.full((40, 1, 16, 16), 0.5)], 1)
    out = two_sample_scores(real, fake, seed=3, epochs=2)
    m = len(out["test"])
    assert m == 8 and out["logits"].shape == (16,) and torch.equal(out["labels"][:m], torch.ones(m))
    assert len(set(out["test"].tolist())) == m  # distinct held-out actions
    correct = ((out["logits"] > 0).float() == out["labels"]).float().mean()
    assert float(correct) == two_sample_accuracy(real, fake, seed=3, epochs=2)


def test_accuracy_by_quantile_splits_the_held_out_strokes_by_an_action_value() -> None:
    from painters.evaluation import accuracy_by_quantile

    # 4 held-out actions (of 6); the classifier is right on every real stroke, and catches
    # the fakes of the two biggest strokes only
    scores = {
        "test": torch.tensor([5, 0, 3, 1]),
        "logits": torch.tensor([1.0, 1.0, 1.0, 1.0, -1.0, 1.0, -1.0, 1.0]),
        "labels": torch.tensor([1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]),
    }
    size = np.array([0.1, 0.2, 0.0, 0.8, 0.0, 0.9])
    lo, hi = accuracy_by_quantile(scores, size, bins=2)
    assert [lo[k] for k in ("lo", "hi", "accuracy", "fake_caught")] == pytest.approx(
        [0.1, 0.2, 0.5, 0]
    )
    assert [hi[k] for k in ("lo", "hi", "accuracy", "fake_caught")] == pytest.approx(
        [0.8, 0.9, 1, 1]
    )
    assert accuracy_by_quantile(scores, size, bins=1)[0]["accuracy"] == 0.75
    with pytest.raises(ValueError, match="bins must be"):
        accuracy_by_quantile(scores, size, bins=5)


def test_strict_evaluation_reports_accuracy_by_stroke_size(monkeypatch) -> None:
    import painters.evaluation as ev

    torch.set_num_threads(1)
    monkeypatch.setattr(
        ev, "STRICT_TWO_SAMPLE", {**ev.STRICT_TWO_SAMPLE, "epochs": 1, "ensemble": 1}
    )
    res = evaluate_painter(painters.load_painter("default"), 40, seed=3, strict=True)
    groups = res["two_sample_strict_by_size"]
    assert len(groups) == 4 and all(g["lo"] <= g["hi"] for g in groups)
    assert all(a["hi"] <= b["lo"] for a, b in zip(groups[:-1], groups[1:], strict=True))
    mean = sum(g["accuracy"] for g in groups) / 4  # 8 held-out actions: 2 per quartile
    assert mean == pytest.approx(res["two_sample_accuracy_strict"])
