"""Build the target dataset: varied photos and art from Debian packages and Python wheels, cut into
many random 128 px square crops, written as sharded ``.npz`` files (read by
:class:`painting_env.target_shards.TargetShards`).

Four bundled photos are not a training set: agents trained on them paint mush on photos they have
never seen. The registries carry a few hundred freely licensed images (desktop wallpapers, photo
stamps, library sample images); each becomes a *source*, split into train or val **as a whole**
(so validation measures generalisation to new photos, not to new crops of a seen photo).

Layout under ``out``::

    _cache/            downloaded .deb / wheels and their extracted files (re-used)
    train/shard_00000.npz ...   images uint8 (N, 128, 128, 3), source int32 (N,), plan str
    val/shard_00000.npz ...
    val_photos/NAME.png          each validation photo whole, longer side <= 512 px
    manifest.json                sources (package, version, path, licence, split, crops), totals

Everything is deterministic from ``seed`` (same seed, same sources -> same bytes) and resumable:
a shard whose stored ``plan`` digest matches is skipped, so a killed run continues where it was.
"""

import hashlib
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import cv2
import numpy as np

from painters.images import resize
from painters.io import atomic_write, atomic_write_bytes, atomic_write_text

# Sources and images live in two modules split by concern; every name stays importable from here.
from painting_env.target_images import (
    CROP_SIZE,
    MAX_SHORT_SIDE,
    MIN_CROP_STD,
    MIN_PHOTO_SIDE,
    MIN_STD,
    Source,
    composite,
    content_std,
    decode_rgb,
    image_hash,
    image_size,
    random_crops,
    shrink,
)
from painting_env.target_sources import (
    DEFAULT_PACKAGES,
    DEFAULT_WHEELS,
    PHOTO_SUFFIXES,
    SKIP_DIRS,
    SKIP_WORDS,
    STAMP_PACKAGE,
    WHEEL_SKIP,
    _photo_files,
    _run,
    collect_sources,
    composite_sources,
    fetch_package,
    fetch_wheel,
    licence_for,
    package_sources,
    parse_copyright,
    stamp_files,
    wheel_sources,
)

__all__ = [
    "CROP_SIZE",
    "DECODE_VERSION",
    "DEFAULT_PACKAGES",
    "DEFAULT_WHEELS",
    "FORMAT_VERSION",
    "MAX_SHORT_SIDE",
    "MIN_CROP_STD",
    "MIN_PHOTO_SIDE",
    "MIN_STD",
    "PHOTO_SUFFIXES",
    "SKIP_DIRS",
    "SKIP_WORDS",
    "STAMP_PACKAGE",
    "WHEEL_SKIP",
    "Source",
    "_photo_files",
    "_run",
    "build_targets",
    "collect_sources",
    "composite",
    "composite_sources",
    "content_std",
    "decode_rgb",
    "fetch_package",
    "fetch_wheel",
    "image_hash",
    "image_size",
    "licence_for",
    "package_sources",
    "parse_copyright",
    "random_crops",
    "save_npz",
    "shrink",
    "split_groups",
    "stamp_files",
    "wheel_sources",
]

#: Bumped when the crop recipe changes, so old shards are rebuilt instead of re-used.
FORMAT_VERSION = 2
#: Bumped when decoding/shrinking changes (invalidates the decoded-image cache).
DECODE_VERSION = 1


# ------------------------------------------------------------------------------------ shards


def split_groups(groups: Iterable[str], val_fraction: float, seed: int) -> set[str]:
    """The groups that go to val: a deterministic ``val_fraction`` of them (at least one when
    there are several), chosen by a seeded hash so adding sources moves few others."""
    uniq = sorted(set(groups))
    if len(uniq) < 2 or val_fraction <= 0:
        return set()
    keyed = sorted(uniq, key=lambda g: hashlib.sha256(f"{seed}:{g}".encode()).hexdigest())
    return set(keyed[: max(1, round(val_fraction * len(uniq)))])


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Compressed ``.npz`` with fixed zip timestamps (same arrays -> same bytes), atomically."""

    def write(f) -> None:
        with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
            for key, arr in arrays.items():
                info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                buf = io.BytesIO()
                np.lib.format.write_array(
                    buf, np.require(arr, requirements="C"), allow_pickle=False
                )
                z.writestr(info, buf.getvalue())

    atomic_write(path, write, fsync=True)


def _shard_plan(indices: list[int], sources: Sequence[Source], config: dict) -> str:
    desc = [config, [(sources[i].name, sources[i].crops, i) for i in indices]]
    return hashlib.sha256(json.dumps(desc, sort_keys=True).encode()).hexdigest()


def _shard_done(path: Path, plan: str) -> bool:
    if not path.exists():
        return False
    try:
        with np.load(path, allow_pickle=False) as z:
            return str(z["plan"].reshape(-1)[0]) == plan
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return False


class _Decoded:
    """Decoded, shrunk sources kept as ``.npy`` files, so each big PNG is decoded only once
    across screening, sharding and reruns."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    def __call__(self, s: Source) -> np.ndarray:
        if self.folder is None:
            return s.load()
        key = json.dumps([s.name, s.meta, DECODE_VERSION], sort_keys=True, default=str)
        path = self.folder / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.npy"
        if path.exists():
            try:
                return np.load(path, allow_pickle=False)
            except (OSError, ValueError):
                pass
        image = np.ascontiguousarray(s.load())
        atomic_write(path, lambda f: np.save(f, image, allow_pickle=False))
        return image


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")[-120:]


def build_targets(
    sources: Sequence[Source],
    out: str | Path,
    *,
    seed: int = 0,
    crops: int = 160,
    composite_crops: int = 48,
    val_fraction: float = 0.1,
    shard_size: int = 2048,
    size: int = CROP_SIZE,
    progress: bool = False,
    cache: str | Path | None = "default",
    log: Callable[[str], None] = print,
) -> dict:
    """Cut ``sources`` into crops and write the sharded dataset under ``out`` (see module doc).

    Sources that fail to decode, are too small or near-uniform, or duplicate an earlier one are
    dropped (listed under ``skipped`` in the manifest). Shards are packed from whole sources in a
    seeded order; each source's crops come from its own seeded generator, so a shard's bytes
    depend only on its sources and the seed. ``cache``: folder for decoded sources (``"default"``:
    ``out/_cache/decoded``; ``None``: decode every time). Returns the manifest.
    """
    out = Path(out)
    if not sources:
        raise ValueError("no target sources; give packages, wheels or image folders")
    config = {"format": FORMAT_VERSION, "seed": seed, "size": size, "crops": crops,
              "composite_crops": composite_crops, "val_fraction": val_fraction,
              "shard_size": shard_size}  # fmt: skip
    # 1. Screen the sources (decode once; keep the decoded images out of memory afterwards).
    kept: list[Source] = []
    skipped: list[dict] = []
    hashes: dict[int, str] = {}
    load = _Decoded(out / "_cache" / "decoded" if cache == "default" else
                    (Path(cache) if cache else None))  # fmt: skip
    it = sources
    if progress:
        from tqdm import tqdm

        it = tqdm(sources, desc="screen sources", unit="img")
    for s in it:
        try:
            image = load(s)
        except Exception as e:  # noqa: BLE001 - a bad file is skipped and reported, not fatal
            skipped.append({"name": s.name, "why": f"cannot decode: {e}"[:120]})
            continue
        why = None
        if min(image.shape[:2]) < (MIN_PHOTO_SIDE if s.kind == "photo" else 128):
            why = f"too small {image.shape[1]}x{image.shape[0]}"
        elif content_std(image) < MIN_STD:
            why = "near-uniform"
        else:
            h = image_hash(image)
            if h in hashes:
                why = f"duplicate of {hashes[h]}"
            hashes.setdefault(h, s.name)
        if why:
            skipped.append({"name": s.name, "why": why})
            continue
        s.crops = crops if s.kind == "photo" else composite_crops
        kept.append(s)
    if not kept:
        raise ValueError("every source was skipped (too small, uniform or unreadable)")
    # Composites whose background photo was dropped keep their own (stable) group name.
    val_groups = split_groups([s.group for s in kept], val_fraction, seed)
    splits = {"train": [], "val": []}
    for i, s in enumerate(kept):
        splits["val" if s.group in val_groups else "train"].append(i)
    # 2. Shards: whole sources in a seeded order, packed up to shard_size crops.
    written = 0
    total_shards = {}
    for split, idx in splits.items():
        order = [idx[j] for j in np.random.default_rng([seed, 3]).permutation(len(idx))]
        shards: list[list[int]] = [[]]
        for i in order:
            if shards[-1] and sum(kept[j].crops for j in shards[-1]) + kept[i].crops > shard_size:
                shards.append([])
            shards[-1].append(i)
        shards = [s for s in shards if s]
        total_shards[split] = len(shards)
        folder = out / split
        folder.mkdir(parents=True, exist_ok=True)
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(shards), desc=f"{split} shards", unit="shard")
        for k, members in enumerate(shards):
            path = folder / f"shard_{k:05d}.npz"
            plan = _shard_plan(members, kept, config)
            if not _shard_done(path, plan):
                images, src = [], []
                for i in members:
                    rng = np.random.default_rng([seed, 1, i])
                    images.append(random_crops(load(kept[i]), kept[i].crops, rng, size=size))
                    src.append(np.full(kept[i].crops, i, np.int32))
                perm = np.random.default_rng([seed, 2, k]).permutation(sum(map(len, src)))
                save_npz(path, {"images": np.concatenate(images)[perm],
                                "source": np.concatenate(src)[perm], "plan": np.array(plan)})  # fmt: skip
                written += 1
            if bar:
                bar.update(1)
        if bar:
            bar.close()
        for stale in sorted(folder.glob("shard_*.npz")):  # left over from a bigger earlier run
            if int(stale.stem.split("_")[1]) >= len(shards):
                stale.unlink()
    # 3. Validation photos whole, and the manifest.
    photos = out / "val_photos"
    photos.mkdir(parents=True, exist_ok=True)
    wanted = set()
    for i in splits["val"]:
        if kept[i].kind != "photo":
            continue
        name = f"{_safe_name(kept[i].name)}.png"
        wanted.add(name)
        if not (photos / name).exists():
            img = load(kept[i])
            h, w = img.shape[:2]
            f = min(1.0, 512 / max(h, w))
            if f < 1:
                img = resize(img, max(1, round(w * f)), max(1, round(h * f)))
            ok, buf = cv2.imencode(".png", cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
            if not ok:
                raise RuntimeError(f"cannot encode {name}")
            atomic_write_bytes(photos / name, buf.tobytes())
    for stale in photos.glob("*.png"):
        if stale.name not in wanted:
            stale.unlink()
    val_set = set(splits["val"])
    manifest = {
        "config": config,
        "sources": [
            {
                "name": s.name,
                **s.meta,
                "kind": s.kind,
                "group": s.group,
                "split": "val" if i in val_set else "train",
                "crops": s.crops,
            }  # fmt: skip
            for i, s in enumerate(kept)
        ],
        "totals": {
            "sources": len(kept),
            "train_sources": len(splits["train"]),
            "val_sources": len(splits["val"]),
            "train_crops": sum(kept[i].crops for i in splits["train"]),
            "val_crops": sum(kept[i].crops for i in splits["val"]),
            "train_shards": total_shards["train"],
            "val_shards": total_shards["val"],
            "val_photos": len(wanted),
            "skipped": len(skipped),
        },
        "skipped": skipped,
    }
    atomic_write_text(out / "manifest.json", json.dumps(manifest, indent=1) + "\n")
    log(f"{len(kept)} sources ({len(skipped)} skipped), {written} shards written, "
        f"train {manifest['totals']['train_crops']} crops, val {manifest['totals']['val_crops']}")  # fmt: skip
    return manifest
