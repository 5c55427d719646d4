#!/usr/bin/env python
"""Compare ways of painting on the same images and stroke budget: one table, one plot.

A thin wrapper kept for ``python scripts/evaluate.py``: the command lives in :mod:`agents.cli.evaluate`,
installed as ``neural-paint-evaluate`` (``neural-paint-evaluate --help``).
"""

import sys

from agents.cli.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
