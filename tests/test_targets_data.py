"""The target dataset: crops/shards from local arrays (no network), the shard reader, procedural
targets, TargetSet on a shard folder, and the flat baselines."""

from __future__ import annotations

import json

import numpy as np
import pytest

from agents.evaluation.baselines import flat_grid, mean_colour
from painting_env.target_data import (
    Source,
    build_targets,
    composite,
    licence_for,
    random_crops,
    split_groups,
)
from painting_env.target_shards import TargetShards, procedural_targets
from painting_env.targets import TargetSet


def _photo(seed: int, h: int = 300, w: int = 400) -> np.ndarray:
    """A fake photo with content: smooth colour field plus a few blocks (passes the filters)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    img = np.stack([yy, xx, (xx + yy) / 2], -1) * rng.uniform(100, 250, 3)
    for _ in range(4):
        y, x = rng.integers(0, h - 50), rng.integers(0, w - 50)
        img[y : y + 50, x : x + 50] = rng.uniform(0, 255, 3)
    return img.astype(np.uint8)


def _sources(n: int = 8) -> list[Source]:
    out = [
        Source(name=f"fake:{i}", load=lambda i=i: _photo(i),
               meta={"package": "fake", "version": "1", "path": f"{i}.png", "licence": "CC0"})
        for i in range(n)
    ]  # fmt: skip
    # A uniform image and a tiny one: screened out.
    out.append(Source(name="fake:flat", load=lambda: np.full((300, 300, 3), 7, np.uint8)))
    out.append(Source(name="fake:tiny", load=lambda: _photo(99, 40, 40)))
    return out


def _build(out, seed: int = 0, **kw):
    kw = {
        "size": 64,
        "crops": 12,
        "val_fraction": 0.25,
        "shard_size": 30,
        "log": lambda s: None,
    } | kw
    return build_targets(_sources(), out, seed=seed, cache=None, **kw)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("targets")
    return out, _build(out)


def test_build_writes_shards_split_by_source(built):
    out, manifest = built
    train, val = sorted((out / "train").glob("*.npz")), sorted((out / "val").glob("*.npz"))
    assert len(train) >= 2 and len(val) >= 1  # 6 sources x 12 crops in shards of <= 30
    t = manifest["totals"]
    assert t["sources"] == 8 and t["skipped"] == 2
    assert t["val_sources"] == 2 and t["train_sources"] == 6
    seen = {}
    for split, files in (("train", train), ("val", val)):
        count = 0
        for f in files:
            with np.load(f, allow_pickle=False) as z:
                assert z["images"].dtype == np.uint8 and z["images"].shape[1:] == (64, 64, 3)
                assert z["source"].dtype == np.int32 and len(z["source"]) == len(z["images"])
                count += len(z["images"])
                for s in np.unique(z["source"]):
                    seen.setdefault(int(s), set()).add(split)
                    assert manifest["sources"][s]["split"] == split
        assert count == t[f"{split}_crops"]
    assert all(len(splits) == 1 for splits in seen.values())  # no source in both splits
    photos = sorted((out / "val_photos").glob("*.png"))
    assert len(photos) == 2
    m = json.loads((out / "manifest.json").read_text())
    assert m["sources"][0]["licence"] == "CC0" and m["sources"][0]["crops"] == 12


def test_build_is_deterministic_and_resumable(built, tmp_path):
    out, _ = built
    _build(tmp_path)
    for f in sorted((out / "train").glob("*.npz")) + sorted((out / "val").glob("*.npz")):
        assert f.read_bytes() == (tmp_path / f.parent.name / f.name).read_bytes()
    # Rerun: complete shards are kept (not rewritten), a deleted one is rebuilt identically.
    first = sorted((tmp_path / "train").glob("*.npz"))
    before = {f: f.stat().st_mtime_ns for f in first}
    gone = first[0].read_bytes()
    first[0].unlink()
    _build(tmp_path)
    assert first[0].read_bytes() == gone
    assert all(f.stat().st_mtime_ns == before[f] for f in first[1:])
    # Another seed gives other crops.
    other = tmp_path / "other"
    _build(other, seed=1)
    a = TargetShards(tmp_path / "train").images
    b = TargetShards(other / "train").images
    assert a.shape != b.shape or not np.array_equal(a, b)


def test_split_groups_and_composites_follow_their_background():
    groups = [f"g{i}" for i in range(40)]
    val = split_groups(groups, 0.1, seed=0)
    assert len(val) == 4 and val == split_groups(groups, 0.1, seed=0)
    assert val != split_groups(groups, 0.1, seed=1)
    bg = Source(name="bg", load=lambda: _photo(1))
    stamp = np.zeros((60, 40, 4), np.uint8)
    stamp[10:50, 5:35] = (255, 0, 0, 255)
    img = composite(bg.load(), [stamp], seed=3)
    assert img.shape == (512, 512, 3) and img.dtype == np.uint8
    assert ((img[..., 0] == 255) & (img[..., 1] == 0)).sum() > 1000  # the stamp is visible
    assert np.array_equal(img, composite(bg.load(), [stamp], seed=3))


def test_random_crops_shapes_and_scales():
    img = _photo(0, 200, 500)
    crops = random_crops(img, 20, np.random.default_rng(0), size=32)
    assert crops.shape == (20, 32, 32, 3) and crops.dtype == np.uint8
    again = random_crops(img, 20, np.random.default_rng(0), size=32)
    assert np.array_equal(crops, again)
    assert len({c.tobytes() for c in crops}) == 20


def test_licence_from_dep5_copyright():
    text = (
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
        "Files: *\nCopyright: 2020 A\nLicense: GPL-2+\n\n"
        "Files: nature/*.jpg\nCopyright: 2021 B\nLicense: CC-BY-SA-3.0\n"
    )
    assert licence_for(text, "usr/share/backgrounds/mate/nature/Dune.jpg") == "CC-BY-SA-3.0"
    assert licence_for(text, "usr/share/backgrounds/mate/abstract/Silk.png") == "GPL-2+"


def test_target_shards_sample(built):
    out, manifest = built
    shards = TargetShards(out / "train")
    assert len(shards) == manifest["totals"]["train_crops"]
    a = shards.sample(np.random.default_rng(5), 17, 64)
    assert a.shape == (17, 64, 64, 3) and a.dtype == np.uint8
    assert np.array_equal(a, shards.sample(np.random.default_rng(5), 17, 64))
    assert not np.array_equal(a, shards.sample(np.random.default_rng(6), 17, 64))
    assert shards.sample(np.random.default_rng(0), 3, 160).shape == (3, 160, 160, 3)
    with pytest.raises(FileNotFoundError, match="make_targets"):
        TargetShards(out)  # the dataset root holds folders, not shards


def test_procedural_targets():
    a = procedural_targets(np.random.default_rng(0), 12, 48)
    assert a.shape == (12, 48, 48, 3) and a.dtype == np.uint8
    assert np.array_equal(a, procedural_targets(np.random.default_rng(0), 12, 48))
    assert np.mean([im.std() for im in a]) > 10  # not blank
    assert len({im.tobytes() for im in a}) == 12


def test_target_set_accepts_shard_folder(built):
    out, manifest = built
    ts = TargetSet(out / "train", size=32)
    assert len(ts) == manifest["totals"]["train_crops"]
    t = ts.sample(np.random.default_rng(0))
    assert t.shape == (32, 32, 3) and t.dtype == np.uint8
    assert np.array_equal(t, ts.sample(np.random.default_rng(0)))


def test_flat_grid_and_mean_colour():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (10, 7, 3)).astype(np.uint8)
    m = mean_colour(img)
    assert m.shape == img.shape and m.dtype == np.uint8
    assert np.abs(m[0, 0].astype(float) - img.reshape(-1, 3).mean(0)).max() <= 0.5
    g = flat_grid(img, 3)
    assert g.shape == img.shape and g.dtype == np.uint8
    # 10 rows -> bands [0,3), [3,7), [7,10); 7 cols -> [0,2), [2,5), [5,7)
    block = img[3:7, 2:5].reshape(-1, 3).astype(float).mean(0)
    assert np.abs(g[3:7, 2:5].astype(float) - block).max() <= 0.5
    assert np.array_equal(flat_grid(img, 1), m)
    assert np.array_equal(flat_grid(img, 100), img)  # more cells than pixels: the image itself
    with pytest.raises(ValueError, match="cells"):
        flat_grid(img, 0)


def test_bench_agents_baseline_rows(tmp_path, capsys):
    """The benchmark's flat baselines on two photos (no agents: fast, no trained model)."""
    import importlib.util
    from pathlib import Path

    import cv2

    spec = importlib.util.spec_from_file_location(
        "bench_agents", Path(__file__).parents[1] / "benchmarks/bench_agents.py"
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    for i in range(2):
        cv2.imwrite(str(tmp_path / f"p{i}.png"), _photo(i)[..., ::-1])
    out = tmp_path / "b.json"
    assert bench.main(["--agents", "", "--images", str(tmp_path), "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert rows["8×8 grid"]["mse"] < rows["mean colour"]["mse"] < rows["white canvas"]["mse"]
    assert rows["16×16 grid"]["mse"] < rows["8×8 grid"]["mse"]
    assert "| 8×8 grid |" in capsys.readouterr().out
