#!/usr/bin/env python
"""A thin wrapper kept for ``python scripts/train_agent_model_based.py``: the command lives in
:mod:`agents.cli.train_agent_model_based`, installed as ``neural-paint-train-agent-model-based`` (``neural-paint-train-agent-model-based --help``).
"""

import sys

from agents.cli.train_agent_model_based import main

if __name__ == "__main__":
    sys.exit(main())
