#!/usr/bin/env python
"""Re-render saved strokes (strokes.npz or strokes.json) at any size with any renderer or brush.

A thin wrapper kept for ``python scripts/render_strokes.py``: the command lives in :mod:`painters.cli.render_strokes`,
installed as ``neural-paint-render-strokes`` (``neural-paint-render-strokes --help``).
"""

import sys

from painters.cli.render_strokes import main

if __name__ == "__main__":
    sys.exit(main())
