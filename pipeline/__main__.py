"""``python -m pipeline`` is the ``newsflow`` command."""

import sys

from pipeline.cli import main

# Guarded: a spawned worker process (transforms/core/pool.py) imports this module again.
if __name__ == "__main__":
    sys.exit(main())
