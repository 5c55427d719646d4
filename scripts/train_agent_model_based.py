#!/usr/bin/env python
"""Train the painting agent through the differentiable painter: the earlier options of this
script, mapped onto ``neural-paint-train-agent --algo through-painter`` (one trainer, one
run-folder layout; see agents/cli/train_through_painter.py).

    python scripts/train_agent_model_based.py --out runs/agent --targets data/targets/train \\
        --hours 2          # the same command again continues the run exactly
    tensorboard --logdir runs/agent/tb

The agent is written to OUT (model.zip + env_kwargs.json + agent.json) and the best one on
held-out targets to OUT/best: ``agents.load_agent("OUT")`` loads it without unpickling.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def translate(argv: list[str] | None = None) -> list[str]:
    """This script's options → ``neural-paint-train-agent --algo through-painter`` arguments."""
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--out", required=True, help="run folder (created, or continued)")
    p.add_argument("--targets", default=None, help="training targets: shard folder or images")
    p.add_argument("--hours", type=float, default=None, help="end this session after H hours")
    p.add_argument("--steps", type=int, default=None, help="end this session after N updates")
    p.add_argument("--total-steps", type=int, default=None, help="schedule length in updates")
    p.add_argument("--batch-size", type=int, default=32, help="episodes per update")
    p.add_argument("--lr", type=float, default=None, help="peak Adam learning rate")
    p.add_argument("--strokes", type=int, default=64, help="strokes per episode")
    p.add_argument("--strokes-per-step", type=int, default=8, help="strokes per action")
    p.add_argument("--final-weight", type=float, default=None, help="weight of the final MSE")
    p.add_argument("--procedural-fraction", type=float, default=0.2, help="procedural share")
    p.add_argument("--photo-fraction", type=float, default=0.6,
                   help="photo share (the rest after procedural: the painter's paintings)")  # fmt: skip
    p.add_argument("--val", default=None,
                   help="accepted and unused: runs evaluate on the env's held-out target")  # fmt: skip
    p.add_argument("--init-from", default=None, help="start from this agent's actor")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    a = p.parse_args(argv)
    if a.val is not None:
        print("note: --val is unused; the run evaluates on the env's held-out target",
              file=sys.stderr)  # fmt: skip
    env = f'{{"max_strokes": {a.strokes}, "strokes_per_step": {a.strokes_per_step}}}'
    out = ["--algo", "through-painter", "--out", a.out, "--seed", str(a.seed),
           "--device", a.device, "--env-kwargs", env, "--hp", f"batch_size={a.batch_size}"]  # fmt: skip
    if a.total_steps is not None:
        steps_per_episode = a.strokes // a.strokes_per_step
        out += ["--total-timesteps", str(a.total_steps * a.batch_size * steps_per_episode)]
    for key, value in (("targets", a.targets), ("learning_rate", a.lr),
                       ("final_weight", a.final_weight),
                       ("procedural_fraction", a.procedural_fraction),
                       ("painting_fraction",
                        round(1.0 - a.photo_fraction - a.procedural_fraction, 6))):  # fmt: skip
        if value is not None:
            out += ["--hp", f"{key}={value}"]
    for flag, value in (("--hours", a.hours), ("--max-updates", a.steps),
                        ("--init-from", a.init_from), ("--threads", a.threads)):  # fmt: skip
        if value is not None:
            out += [flag, str(value)]
    if a.no_progress:
        out.append("--no-progress")
    return out


def main(argv: list[str] | None = None) -> int:
    from agents.cli.train_through_painter import main as train_main

    return train_main(translate(argv))


if __name__ == "__main__":
    sys.exit(main())
