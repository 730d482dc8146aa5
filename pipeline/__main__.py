"""``python -m pipeline`` is the ``newsflow`` command."""

import sys

from pipeline.cli import main

sys.exit(main())
