"""``python -m pipeline`` is the ``newsflow`` command."""

from pipeline.cli import command

# Guarded: a spawned worker process (transforms/core/pool.py) imports this module again.
if __name__ == "__main__":
    command()
