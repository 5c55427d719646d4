"""Train the painting agent through the differentiable painter (long, resumable runs).

    neural-paint-train-agent-model-based --out runs/agent --targets data/targets/train \\
        --val data/targets/val --hours 2
    # the same command again resumes exactly from runs/agent/checkpoint
    tensorboard --logdir runs/agent/tb

The best-so-far agent (by validation MSE) is written to OUT/best as model.zip + env_kwargs.json +
agent.json: ``agents.load_agent("OUT/best")`` loads it without unpickling anything.
"""

from __future__ import annotations

import signal

import torch

from agents.rl.model_based import ModelBasedRun, RunConfig


def _exit_on_sigterm(signum: int, frame: object) -> None:
    """A plain ``kill`` saves a checkpoint first: SystemExit unwinds through run()'s finally."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> None:
    defaults = RunConfig()
    from painters.cli import parser

    p = parser(__doc__, prog="neural-paint-train-agent-model-based")
    p.add_argument("--out", required=True, help="run folder (created, or resumed if it exists)")
    p.add_argument("--targets", default=None, help="training targets: shard folder or images")
    p.add_argument("--val", default=None, help="validation targets: shard folder or images")
    p.add_argument("--hours", type=float, default=None, help="stop after this wall time")
    p.add_argument("--steps", type=int, default=None, help="stop after this many more steps")
    p.add_argument(
        "--total-steps", type=int, default=defaults.total_steps, help="LR schedule length"
    )
    p.add_argument("--batch-size", type=int, default=defaults.batch_size, help="episodes per step")
    p.add_argument(
        "--lr", type=float, default=defaults.learning_rate, help="peak Adam learning rate"
    )
    p.add_argument("--strokes", type=int, default=defaults.max_strokes, help="strokes per episode")
    p.add_argument(
        "--strokes-per-step", type=int, default=defaults.strokes_per_step, help="strokes per action"
    )
    p.add_argument("--size", type=int, default=defaults.size, help="canvas side in px")
    p.add_argument(
        "--channels", default=",".join(map(str, defaults.channels)), help="trunk widths, a,b"
    )
    p.add_argument(
        "--blocks",
        default=",".join(map(str, defaults.blocks)),
        help="residual blocks per stage, a,b",
    )
    p.add_argument(
        "--photo-fraction", type=float, default=defaults.photo_fraction, help="share of photo crops"
    )
    p.add_argument(
        "--procedural-fraction",
        type=float,
        default=defaults.procedural_fraction,
        help="share of procedural shapes/gradients (the rest: the painter's random paintings)",
    )
    p.add_argument(
        "--val-every", type=int, default=defaults.val_every, help="steps between validations"
    )
    p.add_argument(
        "--final-weight",
        type=float,
        default=defaults.final_weight,
        help="extra weight of the final canvas's distance (the loss is the mean over steps + this "
        "times the final one)",
    )
    p.add_argument(
        "--init-from",
        default=None,
        help="start a new run from this agent's weights (a name such as default, or a folder)",
    )
    p.add_argument("--seed", type=int, default=defaults.seed, help="random seed")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    from painters.loading import resolve_device

    config = RunConfig(
        size=args.size,
        max_strokes=args.strokes,
        strokes_per_step=args.strokes_per_step,
        channels=tuple(int(c) for c in args.channels.split(",")),
        blocks=tuple(int(b) for b in args.blocks.split(",")),
        batch_size=args.batch_size,
        learning_rate=args.lr,
        total_steps=args.total_steps,
        final_weight=args.final_weight,
        photo_fraction=args.photo_fraction,
        procedural_fraction=args.procedural_fraction,
        val_every=args.val_every,
        seed=args.seed,
    )
    try:
        run = ModelBasedRun(
            args.out,
            config,
            targets=args.targets,
            val=args.val,
            device=resolve_device(args.device),
            init_from=args.init_from,
        )
    except (ValueError, RuntimeError, FileNotFoundError) as exc:
        raise SystemExit(f"error: {exc}") from None
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    best = run.run(hours=args.hours, steps=args.steps, progress=not args.no_progress)
    print(f"step {run.step}: best validation MSE {best:.5f}; agent in {run.out / 'best'}")


if __name__ == "__main__":
    main()
