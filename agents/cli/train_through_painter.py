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
import json
import signal
import sys

import torch

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
    from agents.rl.hyperparams import parse_overrides

    args = parse_args(argv)
    prog = "train_agent"
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        env_kwargs = json.loads(args.env_kwargs) if args.env_kwargs else None
        if env_kwargs is not None and not isinstance(env_kwargs, dict):
            raise ValueError("not an object")
    except ValueError as e:
        return fail(prog, f"--env-kwargs must be a JSON object ({first_line(e)}); e.g. "
                          "'{\"max_strokes\": 64}'")  # fmt: skip
    for name in ("total_timesteps", "max_updates"):
        value = getattr(args, name)
        if value is not None and value < 1:
            return fail(prog, f"--{name.replace('_', '-')} must be positive, got {value}")
    try:
        overrides = parse_overrides(args.hp)
        if args.amp:
            overrides["amp"] = True
    except ValueError as e:
        return fail(prog, first_line(e))
    from agents.rl.through_run import distributed_done, train_run

    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        train_run(
            args.out,
            total_timesteps=args.total_timesteps,
            seed=args.seed,
            device=args.device,
            env_kwargs=env_kwargs,
            hyperparams=args.hyperparams,
            overrides=overrides,
            eval_freq=args.eval_freq,
            checkpoint_freq=args.checkpoint_freq,
            keep_checkpoints=args.keep_checkpoints,
            init_from=args.init_from,
            hours=args.hours,
            max_updates=args.max_updates,
            progress_bar=not args.no_progress,
            verbose=args.verbose,
        )
    except (ValueError, FileNotFoundError, NotADirectoryError, PermissionError) as e:
        distributed_done()
        return fail(prog, first_line(e))
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0:
        with open(f"{args.out}/agent.json") as f:
            print(json.dumps(json.load(f)["last_session"]))
    distributed_done()
    return 0


if __name__ == "__main__":
    sys.exit(main())
