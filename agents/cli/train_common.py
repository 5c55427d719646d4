"""What the two training commands (``train_agent`` for SB3, ``train_through_painter``) share:
reading ``--env-kwargs`` and ``--hp``, the keyword arguments both training entry points take,
and running one with a one-line error or the session's summary printed."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agents.rl.hyperparams import parse_overrides
from painters.cli import fail, first_line

#: The name both commands report errors under (the console command is one).
PROG = "train_agent"
#: Errors of a bad request that training raises: one line, exit 2.
RUN_ERRORS = (ValueError, FileNotFoundError, NotADirectoryError, PermissionError)


def read_request(args: argparse.Namespace) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """(``--env-kwargs`` as a dict or ``None``, the ``--hp`` overrides); ``ValueError`` with
    the fix when either is malformed."""
    try:
        env_kwargs = json.loads(args.env_kwargs) if args.env_kwargs else None
        if env_kwargs is not None and not isinstance(env_kwargs, dict):
            raise ValueError("not an object")
    except ValueError as e:
        raise ValueError(
            f"--env-kwargs must be a JSON object ({first_line(e)}); e.g. '{{\"max_strokes\": 64}}'"
        ) from None
    return env_kwargs, parse_overrides(args.hp)


def shared_kwargs(
    args: argparse.Namespace, env_kwargs: dict[str, Any] | None, overrides: dict[str, Any]
) -> dict[str, Any]:
    """The keyword arguments that ``agents.rl.training.train`` and
    ``agents.rl.through_run.train_run`` both take, from the options both commands have."""
    return {
        "total_timesteps": args.total_timesteps,
        "seed": args.seed,
        "device": args.device,
        "env_kwargs": env_kwargs,
        "hyperparams": args.hyperparams,
        "overrides": overrides,
        "eval_freq": args.eval_freq,
        "checkpoint_freq": args.checkpoint_freq,
        "keep_checkpoints": args.keep_checkpoints,
        "init_from": args.init_from,
        "progress_bar": not args.no_progress,
        "verbose": args.verbose,
    }


def run_and_report(
    run: Callable[[], object],
    out: str,
    *,
    report: Callable[[], bool] = lambda: True,
    finish: Callable[[], None] = lambda: None,
) -> int:
    """Call ``run``; a bad request is one ``train_agent: error:`` line and exit 2, otherwise
    (where ``report()``) the session summary of ``out/agent.json`` is printed as JSON.
    ``finish`` runs last either way (the through-painter ends its process group there)."""
    try:
        run()
    except RUN_ERRORS as e:
        finish()
        return fail(PROG, first_line(e))
    if report():
        with open(Path(out) / "agent.json") as f:
            print(json.dumps(json.load(f)["last_session"]))
    finish()
    return 0
