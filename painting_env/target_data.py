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

from __future__ import annotations

import fnmatch
import hashlib
import io
import json
import re
import subprocess
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from painters.io import atomic_write, atomic_write_bytes, atomic_write_text

#: Bumped when the crop recipe changes, so old shards are rebuilt instead of re-used.
FORMAT_VERSION = 2
#: Bumped when decoding/shrinking changes (invalidates the decoded-image cache).
DECODE_VERSION = 1
CROP_SIZE = 128
#: Decoded sources are shrunk to this shorter side first (crops never need more detail).
MAX_SHORT_SIDE = 1024
#: Photos smaller than this (shorter side) are icons or thumbnails: skipped.
MIN_PHOTO_SIDE = 240
#: Standard deviation (of [0, 1] grey at 64 px) below which an image is near-uniform: skipped.
MIN_STD = 0.04
#: Crops flatter than this (grey standard deviation, [0, 1]) are redrawn (a few tries).
MIN_CROP_STD = 0.03
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif")
#: Folders and file-name words of packaged images that are UI, logos or previews, not pictures.
SKIP_DIRS = ("icons", "pixmaps", "doc", "plymouth", "debian-logos", "ui", "tools", "shapes",
             "Help", "Costumes")  # fmt: skip
SKIP_WORDS = ("screenshot", "preview", "thumb", "logo")

#: Debian packages with photos or painted art (wallpapers), and the photo-stamp package.
DEFAULT_PACKAGES = (
    "mate-backgrounds",
    "gnome-backgrounds",
    "plasma-workspace-wallpapers",
    "desktop-base",
    "lomiri-wallpapers",
    "lomiri-wallpapers-16.04",
    "lomiri-wallpapers-20.04",
    "ukui-wallpapers",
    "sway-backgrounds",
    "scratch",  # Media/Backgrounds: ~70 everyday photos (streets, rooms, nature), CC-BY-SA-3.0
)
STAMP_PACKAGE = "tuxpaint-stamps-default"
#: Python wheels whose sample images are photos: (distribution, folder inside the wheel, licence).
DEFAULT_WHEELS = (
    ("scikit-image", "skimage/data/", "see skimage/data/README.txt (public domain / CC0 / CC-BY)"),
    ("scikit-learn", "sklearn/datasets/images/", "see sklearn/datasets/images/README.txt"),
    ("matplotlib", "mpl-data/sample_data/", "see matplotlib LICENSE and sample_data"),
)
#: Wheel images that are not photos (binary masks, text, tiny test patterns).
WHEEL_SKIP = ("chessboard", "phantom", "text", "page", "logo", "microaneurysms", "horse", "moon")


@dataclass
class Source:
    """One source image: how to decode it and where it came from (for the manifest).

    ``group``: sources of one group are split together (a stamp composite shares its background
    photo's group, so no background is seen in both splits). ``kind``: ``photo`` (written whole to
    ``val_photos`` when in val) or ``composite``.
    """

    name: str
    load: Callable[[], np.ndarray]
    meta: dict = field(default_factory=dict)
    group: str = ""
    kind: str = "photo"
    crops: int = 0

    def __post_init__(self) -> None:
        self.group = self.group or self.name


# ---------------------------------------------------------------------------------- decoding


def decode_rgb(data: bytes | Path, *, alpha: bool = False) -> np.ndarray:
    """Decode image bytes or a file to uint8 RGB (or RGBA with ``alpha``); PIL handles webp."""
    from PIL import Image

    raw = data.read_bytes() if isinstance(data, Path) else data
    with Image.open(io.BytesIO(raw)) as im:
        im.load()
        if alpha:
            return np.asarray(im.convert("RGBA"))
        if im.mode in ("RGBA", "LA", "P", "PA"):  # flatten transparency onto white
            rgba = im.convert("RGBA")
            bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            return np.asarray(Image.alpha_composite(bg, rgba).convert("RGB"))
        return np.asarray(im.convert("RGB"))


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) from the file header (no decode); (0, 0) if unreadable."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return im.size
    except OSError:
        return (0, 0)


def shrink(image: np.ndarray, short_side: int = MAX_SHORT_SIDE) -> np.ndarray:
    """Area-downscale so the shorter side is at most ``short_side``."""
    h, w = image.shape[:2]
    if min(h, w) <= short_side:
        return np.ascontiguousarray(image)
    f = short_side / min(h, w)
    size = (max(1, round(w * f)), max(1, round(h * f)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def content_std(image: np.ndarray) -> float:
    """Grey-level standard deviation at 64 px: low means near-uniform (no content to paint)."""
    small = cv2.resize(image[..., :3], (64, 64), interpolation=cv2.INTER_AREA)
    return float(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).std() / 255.0)


def image_hash(image: np.ndarray) -> int:
    """64-bit difference hash (squashed to 9x8 grey): equal for resized copies of one image."""
    g = cv2.cvtColor(cv2.resize(image[..., :3], (9, 8), interpolation=cv2.INTER_AREA),
                     cv2.COLOR_RGB2GRAY).astype(np.int16)  # fmt: skip
    bits = (g[:, 1:] > g[:, :-1]).ravel()
    return int(sum(1 << i for i, b in enumerate(bits) if b))


# ------------------------------------------------------------------------- Debian packages


def _run(cmd: Sequence[str], cwd: Path | None = None) -> str:
    try:
        res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError as e:
        raise RuntimeError(f"{cmd[0]} not found; run on a Debian/Ubuntu system") from e
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {res.stderr.strip().splitlines()[-1:]}")
    return res.stdout


def fetch_package(package: str, cache: Path) -> tuple[Path, str]:
    """Download ``package`` with ``apt-get download`` (no install) and extract it with
    ``dpkg -x`` under ``cache``; re-uses earlier downloads. Returns (extracted root, version)."""
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    found = sorted(debs.glob(f"{package}_*.deb"))
    if not found:
        _run(["apt-get", "download", package], cwd=debs)
        found = sorted(debs.glob(f"{package}_*.deb"))
        if not found:
            raise RuntimeError(f"apt-get download {package} wrote no .deb")
    deb = found[-1]
    version = _run(["dpkg-deb", "-f", str(deb), "Version"]).strip()
    root = cache / "x" / deb.stem
    done = root / ".extracted"
    if not done.exists():
        _run(["dpkg", "-x", str(deb), str(root)])
        done.write_text(version)
    return root, version


def parse_copyright(text: str) -> list[tuple[list[str], str]]:
    """DEP-5 copyright file -> [(file patterns, licence short name)], in file order."""
    stanzas: list[tuple[list[str], str]] = []
    for block in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        key = None
        for line in block.splitlines():
            m = re.match(r"^([A-Za-z-]+):\s*(.*)$", line)
            if m:
                key = m.group(1).lower()
                fields[key] = m.group(2)
            elif key and line.startswith((" ", "\t")):
                fields[key] += " " + line.strip()
        if "files" in fields and "license" in fields:
            stanzas.append((fields["files"].split(), fields["license"].split(" ")[0] or "?"))
    return stanzas


def licence_for(copyright_text: str, path: str) -> str:
    """Licence of the installed file ``path`` (DEP-5: the last matching stanza wins; a pattern
    matches the end of the installed path, since source and install trees differ)."""
    stanzas = parse_copyright(copyright_text)
    found = None
    for patterns, licence in stanzas:
        for pat in patterns:
            if pat == "*" or fnmatch.fnmatch(path, pat) or fnmatch.fnmatch(path, "*/" + pat):
                found = licence
            elif fnmatch.fnmatch(Path(path).name, Path(pat).name) and "*" not in Path(pat).name:
                found = licence
    if found:
        return found
    m = re.search(r"(?im)^\s*(?:License|Licence)[:\s]+(\S.*)$", copyright_text)
    return m.group(1).strip()[:60] if m else "unknown (see copyright file)"


def _photo_files(root: Path) -> list[Path]:
    """Image files of an extracted package, keeping only the largest of each ``images`` folder
    (plasma/desktop-base ship one picture at many resolutions)."""
    files = [
        p
        for p in sorted(root.rglob("*"))
        if p.is_file()
        and not p.is_symlink()
        and p.suffix.lower() in PHOTO_SUFFIXES
        and not any(part in SKIP_DIRS for part in p.parts)
        and not any(word in p.stem.lower() for word in SKIP_WORDS)
    ]
    best: dict[Path, Path] = {}
    out = []
    for p in files:
        if p.parent.name.startswith("images"):
            q = best.get(p.parent)
            if q is None or p.stat().st_size > q.stat().st_size:
                best[p.parent] = p
        else:
            out.append(p)
    return sorted(out + list(best.values()))


def package_sources(package: str, cache: Path) -> list[Source]:
    """Photo/art sources of one Debian package (skips small, near-uniform and SVG images)."""
    root, version = fetch_package(package, cache)
    cp = root / "usr/share/doc" / package / "copyright"
    copyright_text = cp.read_text(errors="replace") if cp.exists() else ""
    out = []
    for p in _photo_files(root):
        if min(image_size(p)) < MIN_PHOTO_SIDE:  # icons and thumbnails: skip without decoding
            continue
        rel = str(p.relative_to(root))
        out.append(
            Source(
                name=f"{package}:{rel}",
                load=lambda p=p: shrink(decode_rgb(p)),
                meta={
                    "package": package,
                    "version": version,
                    "path": rel,
                    "licence": licence_for(copyright_text, rel),
                },  # fmt: skip
            )
        )
    return out


def stamp_files(cache: Path, count: int, seed: int) -> tuple[list[Path], Path, str, str]:
    """Up to ``count`` photo stamps (PNG with alpha, >= 150 px) from tuxpaint-stamps-default,
    drawn deterministically. Returns (files, root, version, copyright text)."""
    root, version = fetch_package(STAMP_PACKAGE, cache)
    cp = root / "usr/share/doc" / STAMP_PACKAGE / "copyright"
    text = cp.read_text(errors="replace") if cp.exists() else ""
    files = [p for p in sorted(root.rglob("*.png")) if p.is_file() and not p.is_symlink()
             and "_back" not in p.stem and "thumb" not in p.stem]  # fmt: skip
    rng = np.random.default_rng([seed, 7])
    order = rng.permutation(len(files))
    chosen = []
    for i in order:
        if len(chosen) >= count:
            break
        try:
            from PIL import Image

            with Image.open(files[i]) as im:
                if min(im.size) < 150 or im.mode not in ("RGBA", "LA", "P"):
                    continue
        except OSError:
            continue
        chosen.append(files[i])
    return chosen, root, version, text


# ----------------------------------------------------------------------------- wheels (pip)


def fetch_wheel(dist: str, cache: Path) -> Path | None:
    """``pip download --no-deps`` a wheel into the cache (re-used); None if pip cannot get it."""
    wheels = cache / "pip"
    wheels.mkdir(parents=True, exist_ok=True)
    stem = dist.replace("-", "_").lower()
    found = sorted(w for w in wheels.glob("*.whl") if w.name.lower().startswith(stem + "-"))
    if not found:
        try:
            _run(["python", "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                  "-q", "-d", str(wheels), dist])  # fmt: skip
        except RuntimeError:
            return None
        found = sorted(w for w in wheels.glob("*.whl") if w.name.lower().startswith(stem + "-"))
    return found[-1] if found else None


def wheel_sources(dist: str, folder: str, licence: str, cache: Path) -> list[Source]:
    """Photo sources among the sample images inside a wheel (read from the zip, not installed)."""
    wheel = fetch_wheel(dist, cache)
    if wheel is None:
        return []
    version = wheel.name.split("-")[1]
    with zipfile.ZipFile(wheel) as z:
        names = sorted(n for n in z.namelist() if folder in n
                       and n.lower().endswith((".png", ".jpg", ".jpeg")))  # fmt: skip
    out = []
    for n in names:
        if any(s in Path(n).stem.lower() for s in WHEEL_SKIP):
            continue

        def load(n=n) -> np.ndarray:
            with zipfile.ZipFile(wheel) as z:
                return shrink(decode_rgb(z.read(n)))

        out.append(Source(name=f"{dist}:{n}", load=load,
                          meta={"package": dist, "version": version, "path": n,
                                "licence": licence}))  # fmt: skip
    return out


# --------------------------------------------------------------------------------- composites


def composite(background: np.ndarray, stamps: Sequence[np.ndarray], seed: int) -> np.ndarray:
    """Lay RGBA ``stamps`` on a square crop of ``background`` (uint8 RGB) at random sizes (35-80 %
    of the side) and places: an object on a scene, like many everyday photos."""
    rng = np.random.default_rng(seed)
    h, w = background.shape[:2]
    side = min(h, w)
    y0, x0 = int(rng.integers(h - side + 1)), int(rng.integers(w - side + 1))
    canvas = cv2.resize(background[y0 : y0 + side, x0 : x0 + side], (512, 512),
                        interpolation=cv2.INTER_AREA).astype(np.float32)  # fmt: skip
    for stamp in stamps:
        sh, sw = stamp.shape[:2]
        f = rng.uniform(0.35, 0.8) * 512 / max(sh, sw)
        nw, nh = max(1, round(sw * f)), max(1, round(sh * f))
        s = cv2.resize(stamp, (nw, nh), interpolation=cv2.INTER_AREA).astype(np.float32)
        if rng.random() < 0.5:
            s = s[:, ::-1]
        y, x = int(rng.integers(512 - nh + 1)), int(rng.integers(512 - nw + 1))
        a = s[..., 3:4] / 255.0
        region = canvas[y : y + nh, x : x + nw]
        canvas[y : y + nh, x : x + nw] = region * (1 - a) + s[..., :3] * a
    return np.clip(canvas + 0.5, 0, 255).astype(np.uint8)


def composite_sources(
    photos: Sequence[Source], stamps: Sequence[Path], stamp_root: Path, version: str,
    copyright_text: str, seed: int,
) -> list[Source]:  # fmt: skip
    """One composite per stamp: the stamp (plus, half the time, a second one) on a photo drawn
    deterministically; each composite joins its background photo's split group."""
    if not photos or not stamps:
        return []
    rng = np.random.default_rng([seed, 11])
    out = []
    for i, path in enumerate(stamps):
        bg = photos[int(rng.integers(len(photos)))]
        extra = [stamps[int(rng.integers(len(stamps)))]] if rng.random() < 0.5 else []
        files = [path, *extra]
        rel = [str(p.relative_to(stamp_root)) for p in files]

        cseed = int(rng.integers(2**31))

        def load(bg=bg, files=files, cseed=cseed) -> np.ndarray:
            return composite(bg.load(), [decode_rgb(p, alpha=True) for p in files], cseed)

        out.append(Source(
            name=f"{STAMP_PACKAGE}:{rel[0]}@{i}", load=load, group=bg.group, kind="composite",
            meta={"package": STAMP_PACKAGE, "version": version, "path": " + ".join(rel),
                  "licence": licence_for(copyright_text, rel[0]), "background": bg.name,
                  "composite_seed": cseed},
        ))  # fmt: skip
    return out


# ------------------------------------------------------------------------------- crops/shards


def random_crops(
    image: np.ndarray, n: int, rng: np.random.Generator, *, size: int = CROP_SIZE,
    min_frac: float = 0.15, min_side: int = 48, min_std: float = MIN_CROP_STD, tries: int = 8,
) -> np.ndarray:  # fmt: skip
    """``n`` random square crops (side log-uniform from ``min_frac`` to 100 % of the shorter side,
    at least ``min_side`` px), area-resized to ``size``, half of them mirrored. uint8 (n, s, s, 3).

    A crop whose grey standard deviation is below ``min_std`` (a patch of smooth sky or of a
    gradient wallpaper: nothing to paint) is redrawn, up to ``tries`` times, then kept.
    """
    h, w = image.shape[:2]
    short = min(h, w)
    lo = min(short, max(min_side, min_frac * short))
    out = np.empty((n, size, size, 3), np.uint8)
    for k in range(n):
        for _ in range(max(1, tries)):
            u, fx, fy, flip = rng.random(4)
            side = max(1, min(short, round(lo * (short / lo) ** u)))
            y0, x0 = int(fy * (h - side + 1)), int(fx * (w - side + 1))
            crop = image[y0 : y0 + side, x0 : x0 + side]
            interp = cv2.INTER_AREA if side >= size else cv2.INTER_CUBIC
            crop = cv2.resize(crop, (size, size), interpolation=interp)
            if cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).std() >= min_std * 255:
                break
        out[k] = crop[:, ::-1] if flip < 0.5 else crop
    return out


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
                img = cv2.resize(img, (max(1, round(w * f)), max(1, round(h * f))),
                                 interpolation=cv2.INTER_AREA)  # fmt: skip
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


def collect_sources(
    cache: str | Path,
    *,
    packages: Sequence[str] = DEFAULT_PACKAGES,
    wheels: Sequence[tuple[str, str, str]] = DEFAULT_WHEELS,
    stamps: int = 200,
    folders: Sequence[str | Path] = (),
    seed: int = 0,
    log: Callable[[str], None] = print,
) -> list[Source]:
    """All sources: Debian package photos, wheel sample images, local folders, and ``stamps``
    stamp-on-photo composites. A package or wheel that cannot be fetched is reported and
    skipped (the dataset still builds from the rest)."""
    cache = Path(cache)
    photos: list[Source] = []
    for pkg in packages:
        try:
            found = package_sources(pkg, cache)
        except RuntimeError as e:
            log(f"skipping package {pkg}: {e}")
            continue
        log(f"{pkg}: {len(found)} image files")
        photos += found
    for dist, folder, licence in wheels:
        found = wheel_sources(dist, folder, licence, cache)
        log(f"{dist} (wheel): {len(found)} image files")
        photos += found
    for folder in folders:
        files = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in PHOTO_SUFFIXES)
        for p in files:
            photos.append(Source(name=f"local:{p}", load=lambda p=p: shrink(decode_rgb(p)),
                                 meta={"package": "local", "version": "", "path": str(p),
                                       "licence": "user-supplied"}))  # fmt: skip
    out = list(photos)
    if stamps > 0:
        try:
            files, root, version, text = stamp_files(cache, stamps, seed)
        except RuntimeError as e:
            log(f"skipping stamps: {e}")
        else:
            # Backgrounds: only real photos/art that pass the size check (cheap header read).
            comps = composite_sources(photos, files, root, version, text, seed)
            log(f"{STAMP_PACKAGE}: {len(comps)} composites")
            out += comps
    return out
