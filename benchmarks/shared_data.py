"""Where the shared folder (``shared/data``, ``shared/eval``) sits for the benchmarks and training.

Beside the checkout (``<dir>/main`` next to ``<dir>/shared``) or, for a worktree one level deeper,
beside one of its parents: the nearest ancestor holding ``shared/data`` wins. The product never
reads this folder; only ``benchmarks/`` and ``training/`` do::

    SHARED_DATA / "boilerplate" / "lines_train.jsonl.gz"
"""

from __future__ import annotations

import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
SHARED = next(
    (parent / "shared" for parent in ROOT.parents if (parent / "shared" / "data").is_dir()),
    ROOT.parent / "shared",
)
SHARED_DATA = SHARED / "data"
SHARED_EVAL = SHARED / "eval"
