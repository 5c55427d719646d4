#!/usr/bin/env python
"""Train a neural painter to imitate the real brush.

    python scripts/train_painter.py --kind supervised --data data/strokes --out data/painters/supervised \
        --steps 2000 --batch-size 64 --device auto
    torchrun --nproc_per_node 2 scripts/train_painter.py --kind gan --data DIR --out DIR ...

``--batch-size`` is per process. The output folder holds ``config.json`` + ``model.safetensors``
(load it with ``painters.load_painter(DIR)``) and ``training_state.pt`` for ``--resume``.
The logic lives in :mod:`painters.training`; this script only wires the command line to it.
"""

from __future__ import annotations

import argparse
import json
import sys

import torch

from painters.training import TrainConfig, TrainingError, train

KINDS = ("gan", "vae", "supervised", "structured")


def parse_args(argv: list[str] | None = None) -> TrainConfig:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kind", required=True, choices=KINDS)
    p.add_argument("--data", help="folder of make_dataset.py shards or Kaggle episodes_*.npz")
    p.add_argument("--out", required=True, help="checkpoint folder")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batch-size", type=int, default=64, help="per process")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--resume", action="store_true", help="continue from --out/training_state.pt")
    p.add_argument("--on-the-fly", action="store_true", help="render real strokes while training")
    p.add_argument("--brush", default="classic/dry_brush", help="brush for --on-the-fly")
    p.add_argument("--lr", type=float, default=None, help="default: the kind's own")
    p.add_argument("--eval-every", type=int, default=200)
    p.add_argument("--checkpoint-every", type=int, default=500)
    p.add_argument("--tensorboard", default="", help="log folder (default OUT/tb; 'none' = off)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--model-config", default="{}", help='JSON constructor kwargs, e.g. {"hidden": 128}'
    )
    p.add_argument("--time-budget", type=float, default=None, help="stop after this many seconds")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--num-workers", type=int, default=0, help="DataLoader workers")
    p.add_argument("--no-progress", action="store_true")
    a = p.parse_args(argv)
    try:
        model_config = json.loads(a.model_config)
    except ValueError:
        p.error(f"--model-config must be a JSON object, got {a.model_config!r}")
    if not isinstance(model_config, dict):
        p.error("--model-config must be a JSON object")
    if not a.on_the_fly and not a.data:
        p.error("give --data DIR or --on-the-fly")
    if a.threads:
        torch.set_num_threads(a.threads)
    return TrainConfig(
        kind=a.kind,
        out=a.out,
        data=a.data,
        steps=a.steps,
        batch_size=a.batch_size,
        device=a.device,
        resume=a.resume,
        on_the_fly=a.on_the_fly,
        brush=a.brush,
        lr=a.lr,
        eval_every=a.eval_every,
        checkpoint_every=a.checkpoint_every,
        tensorboard=a.tensorboard,
        seed=a.seed,
        model_config=model_config,
        time_budget=a.time_budget,
        num_workers=a.num_workers,
        progress=not a.no_progress,
    )


def main(argv: list[str] | None = None) -> int:
    cfg = parse_args(argv)
    try:
        summary = train(cfg)
    except (TrainingError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except RuntimeError as e:  # e.g. libmypaint missing for --on-the-fly, CUDA unavailable
        if "MyPaint" not in type(e).__name__ and "CUDA" not in str(e):
            raise
        print(f"error: {str(e).strip().splitlines()[0]}", file=sys.stderr)
        return 2
    if summary.get("world_size", 1) == 1 or int(__import__("os").environ.get("RANK", "0")) == 0:
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
