"""Build the agents' training targets: photos and art from Debian packages and Python wheels,
cut into random 128 px crops, sharded under --out, split train/val by source photo.

    neural-paint-make-targets --out data/targets --seed 0   # or python scripts/make_targets.py

Fetches with ``apt-get download`` + ``dpkg -x`` and ``pip download`` into OUT/_cache (no system
install; re-used on later runs). Writes OUT/train/shard_*.npz and OUT/val/shard_*.npz (``images``
uint8 (N, 128, 128, 3), ``source`` int32 (N,) indexing manifest.json's sources), OUT/val_photos/
(whole validation photos, longer side <= 512) and OUT/manifest.json (package, version, path,
licence, split and crop count per source). Rerun the same command after an interruption: shards
already complete are kept. Same seed and sources -> same bytes. Use the result with
``gymnasium.make("Painting-v0", targets="data/targets/train")`` or
``painting_env.target_shards.TargetShards``. The logic lives in :mod:`painting_env.target_data`.
"""

from __future__ import annotations

import sys
import time

from painters.cli import guarded, parser


@guarded("neural-paint-make-targets")
def main(argv: list[str] | None = None) -> int:
    from painting_env.target_data import DEFAULT_PACKAGES, DEFAULT_WHEELS

    p = parser(__doc__, prog="neural-paint-make-targets")
    p.add_argument("--out", default="data/targets", help="output folder")
    p.add_argument("--seed", type=int, default=0, help="fixes split, crops, composites")
    p.add_argument("--packages", default=",".join(DEFAULT_PACKAGES),
                   help="comma-separated Debian packages with photos/art ('' for none)")  # fmt: skip
    p.add_argument("--wheels", default=",".join(w[0] for w in DEFAULT_WHEELS),
                   help=f"comma-separated subset of {[w[0] for w in DEFAULT_WHEELS]}")  # fmt: skip
    p.add_argument("--stamps", type=int, default=200,
                   help="tuxpaint photo stamps laid on photos (one composite source each)")  # fmt: skip
    p.add_argument("--images", nargs="*", default=[], help="extra local folders of jpg/png")
    p.add_argument("--crops", type=int, default=160, help="crops per photo source")
    p.add_argument("--composite-crops", type=int, default=48, help="crops per stamp composite")
    p.add_argument("--val-fraction", type=float, default=0.1, help="share of sources in val")
    p.add_argument("--shard-size", type=int, default=2048, help="most crops per shard")
    p.add_argument("--cache", default=None, help="download cache (default OUT/_cache)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    a = p.parse_args(argv)

    from pathlib import Path

    from painting_env.target_data import build_targets, collect_sources

    wanted = [w for w in a.wheels.split(",") if w]
    unknown = set(wanted) - {w[0] for w in DEFAULT_WHEELS}
    if unknown:
        p.error(f"unknown wheel(s) {sorted(unknown)}; choose from {[w[0] for w in DEFAULT_WHEELS]}")
    t0 = time.perf_counter()
    try:
        cache = Path(a.cache or Path(a.out) / "_cache")
        sources = collect_sources(
            cache,
            packages=[x for x in a.packages.split(",") if x],
            wheels=[w for w in DEFAULT_WHEELS if w[0] in wanted],
            stamps=a.stamps,
            folders=a.images,
            seed=a.seed,
        )
        manifest = build_targets(
            sources,
            a.out,
            seed=a.seed,
            crops=a.crops,
            composite_crops=a.composite_crops,
            val_fraction=a.val_fraction,
            shard_size=a.shard_size,
            progress=not a.no_progress,
            cache=cache / "decoded",
        )
    except (ValueError, RuntimeError, OSError) as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"make_targets.py: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("make_targets.py: interrupted; rerun the same command to finish", file=sys.stderr)
        return 130
    t = manifest["totals"]
    print(f"{t['sources']} sources ({t['train_sources']} train, {t['val_sources']} val), "
          f"{t['train_crops']} train crops, {t['val_crops']} val crops, "
          f"{t['val_photos']} val photos in {time.perf_counter() - t0:.0f} s -> {a.out}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
