"""Train a ThroughPainter agent (``neural-paint-train-agent --algo through-painter``).

    neural-paint-train-agent --algo through-painter --out runs/tp --seed 0
    neural-paint-train-agent --algo through-painter --out runs/tp --seed 0   # again: continues
    torchrun --standalone --nproc_per_node 2 --no-python neural-paint-train-agent \\
        --algo through-painter --total-timesteps 4096 --out runs/tp2 --seed 0
    tensorboard --logdir runs/tp/tb

Hyperparameters come from ``agents/hyperparams/through_painter.yaml``; override them with
``--hyperparams FILE`` and/or ``--hp key=value`` (e.g. ``--hp targets=data/targets/train``).
Rerunning the same command continues from ``OUT/checkpoints/latest.zip`` exactly.
"""

from __future__ import annotations

import argparse
import signal
import sys

import torch

from agents.cli.train_common import PROG, read_request, run_and_report, shared_kwargs
from painters.cli import fail, first_line, parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = parser(__doc__, prog="neural-paint-train-agent")
    p.add_argument("--algo", required=True, choices=["through-painter"], help="the algorithm")
    p.add_argument("--total-timesteps", type=int, default=None,
                   help="env steps over all processes (None: the recipe's n_timesteps)")  # fmt: skip
    p.add_argument("--out", required=True, help="run folder (created, or continued)")
    p.add_argument("--seed", type=int, default=0, help="same seed -> same run")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--env-kwargs", default=None, help="JSON for Painting-v0")
    p.add_argument("--hyperparams", default=None, help="YAML file over the recipe")
    p.add_argument("--hp", action="append", default=[], metavar="KEY=VALUE",
                   help="one hyperparameter override")  # fmt: skip
    p.add_argument("--resume", action="store_true",
                   help="accepted for symmetry: a run folder with a checkpoint always continues")  # fmt: skip
    p.add_argument("--init-from", default=None,
                   help="start a new run from this agent's actor (e.g. default)")  # fmt: skip
    p.add_argument("--hours", type=float, default=None, help="end this session after H hours")
    p.add_argument("--max-updates", type=int, default=None,
                   help="end this session after N updates (the schedule is unchanged)")  # fmt: skip
    p.add_argument("--eval-freq", type=int, default=20_000, help="env steps between evaluations")
    p.add_argument("--checkpoint-freq", type=int, default=10_000,
                   help="env steps between checkpoints")  # fmt: skip
    p.add_argument("--keep-checkpoints", type=int, default=0,
                   help="also keep the last N checkpoints as step_*.zip")  # fmt: skip
    p.add_argument("--amp", action="store_true", help="bfloat16 autocast (mixed precision)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads per process")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--verbose", type=int, default=0, help="SB3 verbosity: 0, 1 or 2")
    return p.parse_args(argv)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    """A plain ``kill`` ends like Ctrl-C: SystemExit unwinds, the checkpoint stays intact."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        env_kwargs, overrides = read_request(args)
        for name in ("total_timesteps", "max_updates"):
            value = getattr(args, name)
            if value is not None and value < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be positive, got {value}")
    except ValueError as e:
        return fail(PROG, first_line(e))
    if args.amp:
        overrides["amp"] = True
    import torch.distributed as dist

    from agents.rl.through_run import distributed_done, train_run

    def rank0() -> bool:
        return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0

    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    kwargs = shared_kwargs(args, env_kwargs, overrides)
    return run_and_report(
        lambda: train_run(args.out, hours=args.hours, max_updates=args.max_updates, **kwargs),
        args.out, report=rank0, finish=distributed_done,
    )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
