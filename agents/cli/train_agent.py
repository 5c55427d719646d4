"""Train an SB3 agent (SAC, TD3 or PPO) to paint on Painting-v0.

    neural-paint-train-agent --algo sac --total-timesteps 300000 --n-envs 32 \\
        --out runs/sac --seed 0 --device auto
    tensorboard --logdir runs/sac/tb      # scalars, painting/*, images/painting

Kill it at any time and continue with ``--resume``. Hyperparameters come from
``agents/hyperparams/<algo>.yaml``; override them with ``--hyperparams FILE`` and/or
``--hp key=value`` (e.g. ``--hp batch_size=128 --hp policy_kwargs.net_arch=[64,64]``).
All logic lives in ``agents.rl.training``.
"""

from __future__ import annotations

import argparse
import sys

import torch

from agents.cli.train_common import PROG, read_request, run_and_report, shared_kwargs
from agents.rl.building import ALGOS
from agents.rl.training import train
from painters.cli import fail, first_line, guarded, parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = parser(__doc__)
    p.add_argument(
        "--algo",
        required=True,
        choices=[*sorted(ALGOS), "through-painter"],
        help="SB3 algorithm (through-painter: agents/cli/train_through_painter.py's options)",
    )
    p.add_argument(
        "--total-timesteps",
        type=int,
        default=None,
        help="env steps over all envs (None: the YAML's n_timesteps)",
    )
    p.add_argument(
        "--n-envs", type=int, default=None, help="envs in the batched env (None: the YAML's n_envs)"
    )
    p.add_argument("--out", required=True, help="output folder (model, checkpoints, TensorBoard)")
    p.add_argument("--seed", type=int, default=0, help="same seed -> same run")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument(
        "--env-kwargs", default=None, help="JSON for Painting-v0, e.g. '{\"max_strokes\": 40}'"
    )
    p.add_argument(
        "--hyperparams", default=None, help="YAML file overriding agents/hyperparams/<algo>.yaml"
    )
    p.add_argument(
        "--hp", action="append", default=[], metavar="KEY=VALUE", help="one hyperparameter override"
    )
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoints/latest.zip")
    p.add_argument(
        "--keep-checkpoints",
        type=int,
        default=0,
        help="also keep the last N checkpoints as OUT/checkpoints/step_*.zip, to average with "
        "python -m agents.rl.averaging",
    )
    p.add_argument(
        "--init-from",
        default=None,
        help="start a new run from this agent's networks (a bundled name such as "
        "sac-model-free, or a folder with model.zip); the rest comes from the hyperparameters",
    )
    p.add_argument(
        "--eval-freq", type=int, default=10_000, help="env steps between held-out evaluations"
    )
    p.add_argument(
        "--image-freq", type=int, default=10_000, help="env steps between TensorBoard image grids"
    )
    p.add_argument(
        "--checkpoint-freq", type=int, default=10_000, help="env steps between checkpoints"
    )
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (None: torch's)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--verbose", type=int, default=0, help="SB3 verbosity: 0, 1 or 2")
    return p.parse_args(argv)


@guarded(PROG)
def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    pairs = zip(argv, [*argv[1:], ""], strict=True)
    if any(
        a == "--algo=through-painter" or (a, b) == ("--algo", "through-painter") for a, b in pairs
    ):
        from agents.cli.train_through_painter import main as through_painter_main

        return through_painter_main(argv)
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        env_kwargs, overrides = read_request(args)
    except ValueError as e:
        return fail(PROG, first_line(e))
    kwargs = shared_kwargs(args, env_kwargs, overrides)
    return run_and_report(
        lambda: train(
            args.algo, args.out, n_envs=args.n_envs, resume=args.resume,
            image_freq=args.image_freq, **kwargs,
        ),
        args.out,
    )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
