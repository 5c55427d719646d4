#!/usr/bin/env python
"""Renderer speed: strokes/s for each renderer at 64 and 256 px, in 1 and N processes.

    python benchmarks/bench_renderers.py                 # markdown table on stdout
    python benchmarks/bench_renderers.py --processes 2 --dataset 6000

Wall-clock rates depend on what else the machine runs, so the table also gives strokes per
CPU-second (the rate one free core would reach) and the load average before the run.
``--dataset N`` also times ``scripts/make_dataset.py --num-strokes N`` end to end (process
start-up included) with 1 and N workers and checks that both give the same arrays.
Targets: mypaint 64 px ≥ 1,000 strokes/s per process, ≥ 1.7× with 2 processes;
simple 64 px > 2,000 strokes/s.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
#: Strokes per process for each (renderer, size): about 1–3 s of work on one core.
COUNTS = {("mypaint", 64): 1500, ("mypaint", 256): 120, ("simple", 64): 4000, ("simple", 256): 400}

_RENDERERS: dict = {}


def _work(task: tuple[str, int, int, int]) -> tuple[float, float]:
    """Render ``n`` strokes in this process: (wall seconds, CPU seconds)."""
    from painters.actions import random_actions
    from painters.data import quiet_stdout
    from painters.renderers import get_renderer

    name, size, n, offset = task
    if (name, size) not in _RENDERERS:
        _RENDERERS[name, size] = get_renderer(name, size, seed=0)
    r = _RENDERERS[name, size]
    acts = random_actions(n, rng=offset)
    with quiet_stdout():
        t, c = time.perf_counter(), time.process_time()
        r.render(acts, start_index=offset)
        return time.perf_counter() - t, time.process_time() - c


def bench(pool, name: str, size: int, procs: int, n: int) -> dict:
    pool.map(_work, [(name, size, 5, 10**6 + i) for i in range(procs)], chunksize=1)  # warm up
    t = time.perf_counter()
    res = pool.map(_work, [(name, size, n, i * n) for i in range(procs)], chunksize=1)
    wall = time.perf_counter() - t
    total = n * procs
    return {
        "strokes": total,
        "wall": wall,
        "rate": total / wall,
        "cpu_rate": total / sum(c for _, c in res),
    }


def hardware() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = "n/a"
    if hasattr(os, "getloadavg"):
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{cpu}; {os.cpu_count()} logical cores; load average before run: {load}"


def time_make_dataset(n: int, workers: int, out: Path, seed: int = 3) -> float:
    cmd = [
        sys.executable,
        str(ROOT / "scripts" / "make_dataset.py"),
        "--out",
        str(out),
        "--num-strokes",
        str(n),
        "--workers",
        str(workers),
        "--seed",
        str(seed),
        "--no-progress",
    ]
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def same_arrays(a: Path, b: Path) -> bool:
    fa, fb = sorted(a.glob("shard_*.npz")), sorted(b.glob("shard_*.npz"))
    if [f.name for f in fa] != [f.name for f in fb]:
        return False
    for x, y in zip(fa, fb, strict=True):
        with np.load(x) as zx, np.load(y) as zy:
            for k in ("actions", "strokes"):
                if not np.array_equal(zx[k], zy[k]):
                    return False
    return True


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--processes", type=int, default=os.cpu_count() or 2, help="N (default: cores)")
    p.add_argument(
        "--renderers", default="mypaint,simple", help="comma-separated renderers to time"
    )
    p.add_argument("--sizes", default="64,256", help="comma-separated canvas sizes, px")
    p.add_argument("--scale", type=float, default=1.0, help="multiply the stroke counts")
    p.add_argument(
        "--dataset", type=int, default=0, help="also time make_dataset.py with N strokes"
    )
    a = p.parse_args(argv)
    names = [s for s in a.renderers.split(",") if s]
    sizes = [int(s) for s in a.sizes.split(",") if s]
    procs = sorted({1, max(1, a.processes)})

    print(f"Hardware: {hardware()}")
    print(f"Python {platform.python_version()}, numpy {np.__version__}")
    if "mypaint" in names:
        from painters.data import libmypaint_version
        from painters.renderers.mypaint import MyPaintUnavailable, load_library

        try:
            load_library()
            print(
                f"libmypaint {libmypaint_version() or 'unknown version'}, brush classic/dry_brush"
            )
        except MyPaintUnavailable as e:
            print(f"mypaint skipped: {e}")
            names.remove("mypaint")
    print()
    print(
        "| renderer | size | processes | strokes | wall s | strokes/s | speed-up | strokes/CPU-s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    with ctx.Pool(max(procs)) as pool:
        for name in names:
            for size in sizes:
                n = max(1, int(COUNTS.get((name, size), 200) * a.scale))
                base = None
                for k in procs:
                    r = bench(pool, name, size, k, n)
                    base = base or r["rate"]
                    print(
                        f"| {name} | {size} | {k} | {r['strokes']} | {r['wall']:.2f} | "
                        f"{r['rate']:,.0f} | {r['rate'] / base:.2f}× | {r['cpu_rate']:,.0f} |",
                        flush=True,
                    )
    if a.dataset:
        with tempfile.TemporaryDirectory() as tmp:
            w = max(procs)
            t1 = time_make_dataset(a.dataset, 1, Path(tmp) / "w1")
            tn = time_make_dataset(a.dataset, w, Path(tmp) / f"w{w}")
            same = same_arrays(Path(tmp) / "w1", Path(tmp) / f"w{w}")
        print()
        print(f"| make_dataset.py --num-strokes {a.dataset} | wall s | strokes/s |")
        print("|---|---:|---:|")
        print(f"| --workers 1 | {t1:.2f} | {a.dataset / t1:,.0f} |")
        print(f"| --workers {w} | {tn:.2f} | {a.dataset / tn:,.0f} |")
        print(f"\nspeed-up {t1 / tn:.2f}×, identical arrays: {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
