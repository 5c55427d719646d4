#!/usr/bin/env python
"""Train a neural painter to imitate the real brush.

A thin wrapper kept for ``python scripts/train_painter.py``: the command lives in :mod:`painters.cli.train_painter`,
installed as ``neural-paint-train-painter`` (``neural-paint-train-painter --help``).
"""

import sys

from painters.cli.train_painter import main

if __name__ == "__main__":
    sys.exit(main())
