"""Round 1's line model (git ``ROUND1_COMMIT``), for ``benchmarks/quality_clean.py`` to print beside ours.

Consumes the validation rows; emits, per document id, the line numbers round 1's cleaner keeps,
and its CPU milliseconds per document on the trafilatura_recall view. Round 1's code and
weights are taken from git (``git archive``) into a temporary folder and run there in a
subprocess, through round 1's own benchmark (its site statistics and its ``clean_text``), so
that nothing of it is kept in the tree. Returns None when git or the commit is not at hand.
"""

from __future__ import annotations

import io
import json
import pathlib
import subprocess
import sys
import tarfile
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
# The merge of round 1 (gradient-boosted trees over lexical scores; 4.1 ms per document).
ROUND1_COMMIT = "b8e3067"

_SCRIPT = r"""
import importlib.util, json, pathlib, sys, time
root = pathlib.Path.cwd()
sys.path.insert(0, str(root))
import transforms
assert pathlib.Path(transforms.__file__).resolve().is_relative_to(root.resolve()), transforms.__file__
path = root / "benchmarks" / "quality_clean.py"
spec = importlib.util.spec_from_file_location("round1_quality_clean", path)
q = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = q
spec.loader.exec_module(q)
docs = [q.Doc(json.loads(line)) for line in sys.stdin]
context = q.site_context(docs)
clean = q.new_cleaner(q.SITE_MIN_DOCS)
kept = {doc.id: list(clean(doc, context).kept_line_nos) for doc in docs}
traf = [doc for doc in docs if doc.view == "trafilatura_recall"]
best = float("inf")
for _ in range(int(sys.argv[1])):
    started = time.process_time()
    for doc in traf:
        clean(doc, context)
    best = min(best, time.process_time() - started)
print(json.dumps({"kept": kept, "ms_per_doc": 1000 * best / max(len(traf), 1)}))
"""


def run_round1(rows: list[dict], passes: int = 1) -> dict | None:
    """``{"kept": {doc id: [line numbers]}, "ms_per_doc": float}`` from round 1's cleaner."""
    try:
        archive = subprocess.run(
            ["git", "archive", "--format=tar", ROUND1_COMMIT], cwd=ROOT, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    with tempfile.TemporaryDirectory(prefix="round1_") as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        done = subprocess.run(
            [sys.executable, "-c", _SCRIPT, str(passes)],
            cwd=tmp,
            input="".join(json.dumps(row) + "\n" for row in rows),
            capture_output=True,
            text=True,
        )
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])
