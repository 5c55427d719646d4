#!/usr/bin/env python
"""Render a dataset of random strokes: compressed npz shards plus manifest.json.

A thin wrapper kept for ``python scripts/make_dataset.py``: the command lives in :mod:`painters.cli.make_dataset`,
installed as ``neural-paint-make-dataset`` (``neural-paint-make-dataset --help``).
"""

import sys

from painters.cli.make_dataset import main

if __name__ == "__main__":
    sys.exit(main())
