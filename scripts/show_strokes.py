#!/usr/bin/env python
"""Draw the same random actions with every renderer and painter, one row each, as a PNG grid.

A thin wrapper kept for ``python scripts/show_strokes.py``: the command lives in :mod:`painters.cli.show_strokes`,
installed as ``neural-paint-show-strokes`` (``neural-paint-show-strokes --help``).
"""

import sys

from painters.cli.show_strokes import main

if __name__ == "__main__":
    sys.exit(main())
