#!/usr/bin/env python
"""Fidelity of a neural painter against the real brush (error, noise floor, ratio).

    python scripts/evaluate_painter.py --painter default --num-strokes 1500 --out-grid out/grid.png

Renders N fresh uniform random actions twice with the real brush under independent texture
seeds; ratio = painter's MSE to one render ÷ MSE between the two (on white). 0.5 is perfect.
"""

from __future__ import annotations

import argparse
import json
import sys

import torch

from painters.evaluation import evaluate_painter, save_json
from painters.loading import load_painter


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--painter", default="default", help="'default' or a checkpoint folder")
    p.add_argument("--num-strokes", type=int, default=1500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--brush", default="classic/dry_brush")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out-grid", default=None, help="PNG: real A | real B | painter")
    p.add_argument("--json", default=None, help="write the result here as JSON")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    try:
        painter = load_painter(a.painter, a.device)
        res = evaluate_painter(
            painter, a.num_strokes, seed=a.seed, brush=a.brush, out_grid=a.out_grid
        )
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except RuntimeError as e:  # libmypaint missing: its message names the apt packages
        print(f"error: {str(e).strip().splitlines()[0]}", file=sys.stderr)
        return 2
    res["painter"] = a.painter
    res["kind"] = painter.kind
    print(
        f"{a.painter} ({painter.kind}): error {res['error']:.5f}  floor {res['floor']:.5f}  "
        f"ratio {res['ratio']:.3f}  on {res['n']} strokes"
    )
    if a.json:
        save_json(res, a.json)
    else:
        print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
