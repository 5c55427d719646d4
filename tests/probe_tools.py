"""Helpers of the probe tests (tests/test_probes*.py): run a command's ``main`` in-process and
check that it failed with exactly one ``error:`` line."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COFFEE = ROOT / "painting_env" / "samples" / "coffee.jpg"
FAST = ["--strokes", "2", "--steps", "1", "--groups", "1", "--render-size", "64", "--quiet",
        "--no-real-fit"]  # fmt: skip


def run_cli(main, args, capsys) -> tuple[int, str]:
    """Run a command's ``main`` in-process: (exit code, stderr), argparse exits included."""
    try:
        code = main([str(a) for a in args])
    except SystemExit as e:
        code = e.code
    return code, capsys.readouterr().err.strip()


def paint(args, capsys) -> tuple[int, str]:
    """``neural-paint`` in-process: (exit code, stderr)."""
    from agents.cli.paint import main

    return run_cli(main, args, capsys)


def assert_one_line_error(code: int, err: str, *needles: str) -> None:
    """Exit code 2, one line on stderr, no traceback, every needle in it."""
    assert code == 2, err
    lines = err.splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err
