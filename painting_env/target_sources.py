"""Where the target dataset's images come from (re-exported by :mod:`painting_env.target_data`):
Debian packages (``apt-get download`` + ``dpkg -x``, licences from their DEP-5 copyright files),
sample images inside Python wheels, local folders, and stamp-on-photo composites.

Split from :mod:`painting_env.target_data` to keep modules small; import from there."""

from __future__ import annotations

import fnmatch
import re
import subprocess
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from painting_env.target_images import (
    MIN_PHOTO_SIDE,
    Source,
    composite,
    decode_rgb,
    image_size,
    shrink,
)

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
        root.parent.mkdir(parents=True, exist_ok=True)  # dpkg -x creates only the last folder
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


# ---------------------------------------------------------------------------------- all sources


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
