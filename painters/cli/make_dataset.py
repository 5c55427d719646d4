"""Render a dataset of random strokes: compressed npz shards plus manifest.json.

    neural-paint-make-dataset --out data/strokes --num-strokes 100000 --workers 2 --seed 0

Shards hold ``actions`` float32 (n, 12) and ``strokes`` uint8 (n, 64, 64, 4), straight alpha.
The arrays are the same bytes for any ``--workers``. Rerun the same command after an
interruption to finish the job (complete shards are kept). Read the result with
``painters.data.StrokeDataset(DIR)``. The logic lives in :func:`painters.data.write_shards`.
"""

from __future__ import annotations

import sys
import time

from painters.cli import fail, first_line, guarded, parser
from painters.limits import check_memory, whole_number

PROG = "make_dataset.py"
#: Bytes per stroke of a shard being rendered and compressed (uint8 RGBA, float render, zlib).
BYTES_PER_STROKE_PX = 20


def check_request(num_strokes: int, size: int, workers: int, shard_size: int | None) -> None:
    """The numbers of the request against the memory of the shards being written at once."""
    from painters.data.shards import auto_shard_size

    whole_number("--num-strokes", num_strokes, low=1, high=10**9)
    whole_number("--size", size, low=8, high=1024, fix="use a smaller --size (strokes are 64 px)")
    whole_number("--workers", workers, low=1, high=256, fix="use fewer --workers")
    if shard_size is not None:
        whole_number("--shard-size", shard_size, low=1, high=10**7)
    shard = auto_shard_size(num_strokes) if shard_size is None else shard_size
    check_memory(
        f"{workers} shard(s) of {min(shard, num_strokes):,} strokes of {size} px",
        workers * min(shard, num_strokes) * size * size * BYTES_PER_STROKE_PX,
        "use a smaller --size, --shard-size or fewer --workers",
    )


@guarded(PROG)
def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__)
    p.add_argument("--out", required=True, help="output folder (created if missing)")
    p.add_argument("--num-strokes", type=int, required=True, help="strokes to render")
    p.add_argument("--workers", type=int, default=1, help="rendering processes")
    p.add_argument("--seed", type=int, default=0, help="fixes actions and brush texture")
    p.add_argument(
        "--renderer",
        default="mypaint",
        choices=("mypaint", "simple"),
        help="the real brush, or simple discs (no libmypaint needed)",
    )
    p.add_argument("--brush", default="classic/dry_brush", help="mypaint brush name or .myb path")
    p.add_argument(
        "--shard-size",
        type=int,
        default=None,
        help="strokes per shard (None: chosen from --num-strokes)",
    )
    p.add_argument("--size", type=int, default=64, help="canvas side in px")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    a = p.parse_args(argv)

    from painters.data import write_shards
    from painters.renderers.mypaint import MyPaintUnavailable

    t0 = time.perf_counter()
    try:
        check_request(a.num_strokes, a.size, a.workers, a.shard_size)
        manifest = write_shards(
            a.out,
            a.num_strokes,
            renderer=a.renderer,
            brush=a.brush,
            seed=a.seed,
            workers=a.workers,
            shard_size=a.shard_size,
            size=a.size,
            progress=not a.no_progress,
        )
    except (ValueError, MyPaintUnavailable, OSError) as e:
        return fail(PROG, first_line(e))
    except KeyboardInterrupt:
        print("make_dataset.py: interrupted; rerun the same command to finish", file=sys.stderr)
        return 130
    dt = time.perf_counter() - t0
    print(f"wrote {a.num_strokes} strokes to {manifest.parent} in {dt:.1f} s ({manifest.name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
