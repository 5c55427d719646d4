#!/usr/bin/env python
"""Paint an image with brushstrokes: gradient descent through a neural painter, then re-render

A thin wrapper kept for ``python scripts/paint.py``: the command lives in :mod:`agents.cli.paint`,
installed as ``neural-paint`` (``neural-paint --help``).
"""

import sys

from agents.cli.paint import main

if __name__ == "__main__":
    sys.exit(main())
