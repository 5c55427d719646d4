#!/usr/bin/env python
"""A thin wrapper kept for ``python scripts/make_targets.py``: the command lives in
:mod:`agents.cli.make_targets`, installed as ``neural-paint-make-targets`` (``neural-paint-make-targets --help``).
"""

import sys

from agents.cli.make_targets import main

if __name__ == "__main__":
    sys.exit(main())
