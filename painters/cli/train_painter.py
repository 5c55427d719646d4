"""Train a neural painter to imitate the real brush.

    neural-paint-train-painter --brush classic/pencil --out data/painters/pencil \
        --init default --steps 4000 --threads 1
    neural-paint-train-painter --kind supervised --data data/strokes \
        --out data/painters/supervised --steps 2000 --batch-size 64 --device auto
    torchrun --nproc_per_node 2 scripts/train_painter.py --kind gan --data DIR --out DIR ...

``--brush NAME`` alone renders that brush's strokes on the fly (a structured painter by
default; ``--init default`` starts from the dry brush's painter and converges faster); with
``--data`` it must match the brush the data was rendered with (the data's brush is recorded in
the painter's metadata). ``--batch-size`` is per process. The output folder holds
``config.json`` + ``model.safetensors`` (load it with ``painters.load_painter(DIR)``) and
``training_state.pt`` for ``--resume``. The logic lives in :mod:`painters.training`; this script only wires the command line to it.
"""

from __future__ import annotations

import json
import sys

import torch

from painters.cli import first_line, guarded, parser
from painters.limits import check_memory, real_number, whole_number
from painters.training import TrainConfig, TrainingError, train

KINDS = ("gan", "vae", "supervised", "structured")


#: Memory per stroke of a training batch (the stroke, the painter's activations and gradients,
#: the critic's for the GAN): bytes, an upper estimate at 64 px.
BATCH_BYTES_PER_STROKE = 4 * 2**20


def check_numbers(a, model_config: dict) -> None:
    """The numbers of the command line against the memory of one training batch; the model
    config as a painter's ``config.json`` would be (:func:`painters.models.base.check_config`)."""
    from painters.models.base import check_config

    whole_number("--steps", a.steps, low=1, high=10**9)
    whole_number("--batch-size", a.batch_size, low=1, high=1 << 16)
    check_memory(
        f"--batch-size {a.batch_size}", a.batch_size * BATCH_BYTES_PER_STROKE,
        "use a smaller --batch-size",
    )  # fmt: skip
    if a.lr is not None:
        real_number("--lr", a.lr, above=0.0)
    if a.threads is not None:
        whole_number("--threads", a.threads, low=1, high=1024)
    whole_number("--num-workers", a.num_workers, low=0, high=256)
    check_config(model_config, "--model-config", fix="use smaller values")


def parse_args(argv: list[str] | None = None) -> TrainConfig:
    p = parser(__doc__)
    p.add_argument(
        "--kind", default="structured", choices=KINDS, help="painter architecture (structured)"
    )
    p.add_argument("--data", help="folder of make_dataset.py shards or Kaggle episodes_*.npz")
    p.add_argument("--out", required=True, help="checkpoint folder")
    p.add_argument("--steps", type=int, default=1000, help="optimiser steps in all")
    p.add_argument("--batch-size", type=int, default=64, help="strokes per step, per process")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--resume", action="store_true", help="continue from --out/training_state.pt")
    p.add_argument(
        "--init",
        default=None,
        help="fine-tune: start from this painter's weights (bundled name or folder); "
        "--model-config then overrides its config",
    )
    p.add_argument("--on-the-fly", action="store_true", help="render real strokes while training")
    p.add_argument(
        "--brush",
        default=None,
        help="MyPaint brush to imitate: rendered on the fly without --data; with --data, "
        "checked against the data's (None: the data's brush, else classic/dry_brush)",
    )
    p.add_argument("--lr", type=float, default=None, help="learning rate (None: the kind's own)")
    p.add_argument(
        "--eval-every", type=int, default=200, help="steps between held-out evaluations (0: off)"
    )
    p.add_argument(
        "--checkpoint-every",
        type=int,
        default=None,
        help="steps between checkpoints (None: 500, or a quarter of --steps when that is "
        "shorter; 0: only at the end); the end of the run always checkpoints",
    )
    p.add_argument(
        "--tensorboard", default="", help="TensorBoard log folder ('': OUT/tb; 'none': off)"
    )
    p.add_argument("--seed", type=int, default=0, help="same seed -> same painter")
    p.add_argument(
        "--model-config",
        default="{}",
        help='JSON constructor kwargs, e.g. {"widths": [16, 24, 32]}',
    )
    p.add_argument(
        "--time-budget",
        type=float,
        default=None,
        help="checkpoint and stop after this many seconds (None: no limit)",
    )
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (None: torch's)")
    p.add_argument("--num-workers", type=int, default=0, help="DataLoader workers")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    a = p.parse_args(argv)
    try:
        model_config = json.loads(a.model_config)
    except ValueError:
        p.error(f"--model-config must be a JSON object, got {a.model_config!r}")
    if not isinstance(model_config, dict):
        p.error("--model-config must be a JSON object")
    if a.brush and not a.data:
        a.on_the_fly = True  # --brush NAME alone: render that brush's strokes while training
    if not a.on_the_fly and not a.data:
        p.error("give --data DIR, --on-the-fly or --brush NAME")
    if a.brush:
        from painters.renderers.mypaint import MyPaintUnavailable, find_brush

        try:
            find_brush(a.brush)
        except (ValueError, FileNotFoundError, MyPaintUnavailable) as e:
            p.error(str(e).strip().splitlines()[0] if str(e).strip() else f"bad --brush {a.brush}")
    if a.steps < 1 or a.batch_size < 1:
        p.error("--steps and --batch-size must be at least 1")
    try:
        check_numbers(a, model_config)
    except ValueError as e:
        print(f"error: {first_line(e)}", file=sys.stderr)
        raise SystemExit(2) from None
    every = a.checkpoint_every
    if every is None:  # a short run still leaves a checkpoint to resume from before its end
        every = min(500, max(1, a.steps // 4))
    if every < 0:
        p.error("--checkpoint-every must be >= 0")
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
        init=a.init,
        on_the_fly=a.on_the_fly,
        brush=a.brush,
        lr=a.lr,
        eval_every=a.eval_every,
        checkpoint_every=every,
        tensorboard=a.tensorboard,
        seed=a.seed,
        model_config=model_config,
        time_budget=a.time_budget,
        num_workers=a.num_workers,
        progress=not a.no_progress,
    )


@guarded("train_painter")
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
        print(f"error: {first_line(e)}", file=sys.stderr)
        return 2
    if summary.get("world_size", 1) == 1 or int(__import__("os").environ.get("RANK", "0")) == 0:
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
