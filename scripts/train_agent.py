#!/usr/bin/env python
"""Train an SB3 agent (SAC, TD3 or PPO) to paint on Painting-v0.

A thin wrapper kept for ``python scripts/train_agent.py``: the command lives in :mod:`agents.cli.train_agent`,
installed as ``neural-paint-train-agent`` (``neural-paint-train-agent --help``).
"""

import sys

from agents.cli.train_agent import main

if __name__ == "__main__":
    sys.exit(main())
