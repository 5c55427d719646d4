"""The command-line programs of the agents half: ``neural-paint`` (:mod:`agents.cli.paint`),
``neural-paint-evaluate`` and ``neural-paint-train-agent``; ``scripts/*.py`` are thin wrappers
around them. Shared helpers come from :mod:`painters.cli`."""
