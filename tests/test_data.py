"""Stroke datasets: shards, resume, manifest checks, Kaggle files, on-the-fly stream, errors."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from painters import data as D
from painters.renderers import get_renderer

ROOT = Path(__file__).resolve().parents[1]


def arrays(out: Path) -> tuple[np.ndarray, np.ndarray]:
    files = sorted(out.glob("shard_*.npz"))
    with_data = [np.load(f) for f in files]
    return (
        np.concatenate([z["actions"] for z in with_data]),
        np.concatenate([z["strokes"] for z in with_data]),
    )


def test_action_stream_does_not_depend_on_how_it_is_cut() -> None:
    whole = D.actions_for_range(3, 0, 2500)
    parts = [D.actions_for_range(3, a, b) for a, b in ((0, 7), (7, 1001), (1001, 2500))]
    assert np.array_equal(whole, np.concatenate(parts))
    assert not np.array_equal(whole[:10], D.actions_for_range(4, 0, 10))
    assert not np.array_equal(whole[:10], D.actions_for_range(3, 0, 10, salt=1))


def test_auto_shard_size_depends_on_the_count_only() -> None:
    assert D.auto_shard_size(10) == 250
    assert D.auto_shard_size(6000) == 250
    assert D.auto_shard_size(100_000) == 3250
    assert D.auto_shard_size(10_000_000) == 10_000


@pytest.mark.parametrize("renderer", ["mypaint", "simple"])
def test_bytes_equal_for_one_and_two_workers(renderer, tmp_path, request) -> None:
    if renderer == "mypaint":
        request.getfixturevalue("need_mypaint")
    kw = {"renderer": renderer, "seed": 3, "shard_size": 25, "progress": False}
    D.write_shards(tmp_path / "w1", 70, workers=1, **kw)
    D.write_shards(tmp_path / "w2", 70, workers=2, **kw)
    a1, s1 = arrays(tmp_path / "w1")
    a2, s2 = arrays(tmp_path / "w2")
    assert a1.shape == (70, 12) and a1.dtype == np.float32
    assert s1.shape == (70, 64, 64, 4) and s1.dtype == np.uint8
    assert np.array_equal(a1, a2) and np.array_equal(s1, s2)
    # the strokes are the renderer's, with texture seeded by the global index
    ref = get_renderer(renderer, 64, seed=3).render(a1[50:], start_index=50)
    assert np.array_equal(s1[50:], ref)
    m = json.loads((tmp_path / "w2" / "manifest.json").read_text())
    assert m["complete"] and m["seed"] == 3 and m["renderer"] == renderer
    assert [s["count"] for s in m["shards"]] == [25, 25, 20]


def test_resume_after_a_kill(tmp_path) -> None:
    out = tmp_path / "d"
    kw = {"renderer": "simple", "seed": 1, "shard_size": 10, "progress": False}
    D.write_shards(out, 35, **kw)
    reference = arrays(out)
    kept = out / "shard_00000.npz"
    stamp = kept.stat().st_mtime_ns
    # simulate a kill: a missing shard, a half-written temp file, manifest not yet complete
    (out / "shard_00002.npz").unlink()
    (out / ".shard_00002.npz.abc123.tmp").write_bytes(b"half a shard")
    m = json.loads((out / "manifest.json").read_text())
    m["complete"] = False
    (out / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ValueError, match="incomplete"):
        D.StrokeDataset(out)
    D.write_shards(out, 35, **kw)
    assert not list(out.glob("*.tmp"))
    assert kept.stat().st_mtime_ns == stamp, "a complete shard was redone"
    again = arrays(out)
    assert np.array_equal(reference[0], again[0]) and np.array_equal(reference[1], again[1])
    assert len(D.StrokeDataset(out)) == 35


def test_a_different_dataset_in_the_same_dir_is_an_error(tmp_path) -> None:
    D.write_shards(tmp_path, 5, renderer="simple", seed=1, progress=False)
    with pytest.raises(ValueError, match=r"different dataset \(seed=1 \(now 2\)\)"):
        D.write_shards(tmp_path, 5, renderer="simple", seed=2, progress=False)
    with pytest.raises(ValueError, match="shard_size"):
        D.write_shards(tmp_path, 5, renderer="simple", seed=1, shard_size=2, progress=False)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"renderer": "oil"}, "unknown renderer"),
        ({"num_strokes": 0}, "at least 1"),
        ({"workers": 0}, "workers"),
        ({"seed": -1}, "non-negative"),
        ({"shard_size": 0}, "shard_size"),
        ({"size": 4}, "at least 8"),
    ],
)
def test_write_shards_bad_arguments(kwargs, match, tmp_path) -> None:
    args = {"renderer": "simple", "num_strokes": 5, "progress": False, **kwargs}
    n = args.pop("num_strokes")
    with pytest.raises(ValueError, match=match):
        D.write_shards(tmp_path / "x", n, **args)


def test_unknown_brush_fails_before_writing(need_mypaint, tmp_path) -> None:
    with pytest.raises(ValueError, match="unknown brush"):
        D.write_shards(tmp_path / "x", 5, brush="nope", progress=False)
    assert not (tmp_path / "x").exists()


def test_stroke_dataset_items(tmp_path) -> None:
    D.write_shards(tmp_path, 30, renderer="simple", seed=2, shard_size=8, progress=False)
    acts, strokes = arrays(tmp_path)
    ds = D.StrokeDataset(tmp_path, cache_bytes=1)
    assert isinstance(ds, torch.utils.data.Dataset) and len(ds) == 30
    for i in (0, 9, 29, -1):
        a, s = ds[i]
        assert a.dtype == s.dtype == torch.float32
        assert a.shape == (12,) and s.shape == (4, 64, 64)
        assert torch.equal(a, torch.from_numpy(acts[i]))
        assert torch.equal(s, torch.from_numpy(strokes[i]).permute(2, 0, 1).float() / 255)
    assert len(ds._cache) == 1, "a tiny cache keeps just the last shard"
    big = D.StrokeDataset(tmp_path)
    for i in range(30):
        big[i]
    assert len(big._cache) == 4, "a dataset that fits stays in memory"
    with pytest.raises(IndexError):
        ds[30]
    order = list(D.ShardShuffleSampler(ds, seed=0))
    assert sorted(order) == list(range(30)) and order != list(range(30))


def kaggle_file(path: Path, colors: np.ndarray, alpha: np.ndarray) -> None:
    """Strokes painted on white, as in the public MyPaintBrushstrokes files."""
    n = len(colors)
    actions = np.random.default_rng(0).random((n, 12))
    actions[:, 6:9] = colors
    rgb = colors[:, None, None, :] * alpha[..., None] + (1.0 - alpha[..., None])
    strokes = np.rint(rgb * 255).astype(np.uint8)
    np.savez_compressed(path, actions=actions, strokes=strokes)


def test_kaggle_files_are_detected_and_alpha_recovered(tmp_path) -> None:
    colors = np.array([[0.2, 0.4, 0.8], [0.98, 0.99, 0.97], [1.0, 0.0, 0.0]])
    alpha = np.zeros((3, 64, 64))
    alpha[:, 10:30, 5:60] = np.linspace(0.0, 1.0, 55)
    kaggle_file(tmp_path / "episodes_0.npz", colors, alpha)
    ds = D.StrokeDataset(tmp_path)
    assert len(ds) == 2, "the near-white stroke must be dropped"
    for item, k in zip((ds[0], ds[1]), (0, 2), strict=True):
        a, s = item
        assert s.shape == (4, 64, 64)
        np.testing.assert_allclose(s[3].numpy(), alpha[k], atol=2.5 / 255)
        painted = s[3] > 0.1
        np.testing.assert_allclose(
            s[:3, painted].T.numpy(),
            np.broadcast_to(colors[k], (int(painted.sum()), 3)),
            atol=1 / 255,
        )
        assert torch.all(s[:3, s[3] == 0] == 0)
    acts, rgba = D.load_kaggle_npz(tmp_path / "episodes_0.npz")
    assert acts.dtype == np.float32 and acts.shape == (2, 12)
    assert rgba.dtype == np.uint8 and rgba.shape == (2, 64, 64, 4)
    np.testing.assert_allclose(rgba[1, ..., 3] / 255, alpha[2], atol=2.5 / 255)


def test_several_paths_and_formats(tmp_path) -> None:
    D.write_shards(tmp_path / "ours", 7, renderer="simple", progress=False)
    kaggle_file(tmp_path / "k.npz", np.array([[0.0, 0.0, 0.0]]), np.full((1, 64, 64), 0.5))
    ds = D.StrokeDataset([tmp_path / "ours", tmp_path / "k.npz"])
    assert len(ds) == 8
    assert ds[7][1][3].mean() == pytest.approx(0.5, abs=1 / 255)


@pytest.mark.parametrize(
    ("arrays_", "match"),
    [
        ({"actions": np.zeros((2, 12))}, "missing key.*strokes"),
        (
            {"actions": np.zeros((2, 11)), "strokes": np.zeros((2, 64, 64, 4), np.uint8)},
            r"\(2, 11\)",
        ),
        (
            {"actions": np.zeros((2, 12)), "strokes": np.zeros((2, 64, 64, 4), np.float32)},
            "float32",
        ),
        ({"actions": np.zeros((2, 12)), "strokes": np.zeros((3, 64, 64, 4), np.uint8)}, "expected"),
        ({"actions": np.zeros((2, 12)), "strokes": np.zeros((2, 32, 32, 3), np.uint8)}, "expected"),
    ],
)
def test_bad_files_name_the_file_and_the_expectation(arrays_, match, tmp_path) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays_)
    with pytest.raises(ValueError, match=match) as e:
        D.StrokeDataset(path)
    assert "bad.npz" in str(e.value) and "\n" not in str(e.value)


def test_unreadable_and_empty_inputs(tmp_path) -> None:
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="junk.npz: not a readable npz"):
        D.StrokeDataset(tmp_path / "junk.npz")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no shard_"):
        D.StrokeDataset(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="make_dataset"):
        D.StrokeDataset(tmp_path / "missing")
    with pytest.raises(ValueError, match="at least one"):
        D.StrokeDataset([])


def take(loader, n: int) -> list:
    it = iter(loader)
    return [next(it) for _ in range(n)]


def test_on_the_fly_stream(tmp_path) -> None:
    ds = D.OnTheFlyStrokes(renderer="simple", seed=4, chunk=4)
    assert isinstance(ds, torch.utils.data.IterableDataset)
    a, s = next(iter(ds))
    assert a.shape == (12,) and s.shape == (4, 64, 64) and s.dtype == torch.float32
    loader = lambda: torch.utils.data.DataLoader(ds, batch_size=4, num_workers=2)  # noqa: E731
    first, second = take(loader(), 3), take(loader(), 3)
    for (a1, s1), (a2, s2) in zip(first, second, strict=True):
        assert torch.equal(a1, a2) and torch.equal(s1, s2)
    # batch k comes from chunk k: the union does not depend on the worker count
    single = take(torch.utils.data.DataLoader(ds, batch_size=4), 3)
    assert torch.equal(first[1][0], single[1][0])
    assert not torch.equal(first[0][0], first[1][0]), "workers must not repeat each other"
    # never the same strokes as a written dataset of the same seed
    assert not np.allclose(D.actions_for_range(4, 0, 4), first[0][0].numpy())


def test_on_the_fly_bad_arguments() -> None:
    with pytest.raises(ValueError, match="unknown renderer"):
        D.OnTheFlyStrokes(renderer="oil")
    with pytest.raises(ValueError, match="chunk"):
        D.OnTheFlyStrokes(renderer="simple", chunk=0)


def test_quiet_stdout_hides_c_level_output(capfd) -> None:
    with D.quiet_stdout():
        os.write(1, b"Time is running backwards!\n")
    os.write(1, b"visible\n")
    out = capfd.readouterr().out
    assert "backwards" not in out and "visible" in out


def load_script():
    spec = importlib.util.spec_from_file_location(
        "make_dataset", ROOT / "scripts" / "make_dataset.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_make_dataset_script(tmp_path, capsys) -> None:
    main = load_script().main
    out = tmp_path / "d"
    args = ["--out", str(out), "--num-strokes", "12", "--renderer", "simple", "--no-progress"]
    assert main(args) == 0
    assert len(D.StrokeDataset(out)) == 12
    assert main([*args[:-1], "--seed", "5", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "seed" in err and len(err.strip().splitlines()) == 1


def test_make_dataset_without_libmypaint_is_a_one_line_error(tmp_path, capsys, monkeypatch) -> None:
    from painters.renderers import mypaint

    def missing():
        raise mypaint.MyPaintUnavailable(f"libmypaint not found; {mypaint.APT_HINT}")

    monkeypatch.setattr(mypaint, "load_library", missing)
    assert load_script().main(["--out", str(tmp_path / "d"), "--num-strokes", "5"]) == 2
    err = capsys.readouterr().err.strip()
    assert "libmypaint-1.5-1 mypaint-brushes" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "d").exists()


@pytest.mark.slow
def test_spawned_workers_write_the_same_bytes(need_mypaint, tmp_path) -> None:
    kw = {"seed": 1, "shard_size": 20, "progress": False}
    D.write_shards(tmp_path / "spawn", 60, workers=2, start_method="spawn", **kw)
    D.write_shards(tmp_path / "inproc", 60, workers=1, **kw)
    a, b = arrays(tmp_path / "spawn"), arrays(tmp_path / "inproc")
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
