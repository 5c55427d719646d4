#!/usr/bin/env python
"""Fidelity of a neural painter against the real brush (error, noise floor, ratio).

A thin wrapper kept for ``python scripts/evaluate_painter.py``: the command lives in :mod:`painters.cli.evaluate_painter`,
installed as ``neural-paint-evaluate-painter`` (``neural-paint-evaluate-painter --help``).
"""

import sys

from painters.cli.evaluate_painter import main

if __name__ == "__main__":
    sys.exit(main())
