"""Build ``schemas/models/language.npz``: py3langid's language model in a container that loads fast.

    .venv/bin/python training/build_language_model.py            # rewrites the shipped file
    .venv/bin/python training/build_language_model.py --check    # exit 1 if it differs

Nothing is trained: the arrays are py3langid 0.4's own (``py3langid/data/model.npz.xz``), the
same numbers. py3langid keeps them in an LZMA-compressed npz; decompressing it costs about
0.6 s of CPU in every process that identifies a language, most of the language model's load.
Here the arrays go into a zip-deflated npz, which numpy reads in about a fifth of that, in
lossless forms that deflate better (the loader, ``ArrayLanguageIdentifier.from_container``,
gives back the same bits):

* ``ptc_t_*``: the feature weights (float16, features x languages) transposed, languages x
  features, then per language its most frequent value (``ptc_t_mode``: the smoothing weight of
  an n-gram the language never showed, 82 % of the entries), which entries differ from it
  (``ptc_t_differs``, packed bits) and their values (``ptc_t_values``), by
  ``transforms.core.language.sparse_rows``: 3.4 MB instead of 4.1 MB transposed (5.7 MB as
  py3langid stores them);
* ``nextmove_*``: the automaton's next states, uint32 for 104,583 states, as their low 16
  bits and their 17th bit (``split_low16``): 1.35 MB instead of 1.80 MB;
* byte planes (``byte_planes``: all low bytes, then all high bytes) for the weights' values,
  the next states' low bits, ``nextmove_row`` and ``out_feat`` (0.15 -> 0.03 MB);
* zlib at level 9 (6 is its default): reading costs the same;
* ``walk_depth`` (in the ``meta`` member, JSON): the automaton's depth
  (``transforms.core.language.automaton_depth``), which the loader would otherwise measure at
  every load (about 0.1 s); ``features``: the weights' column count.

The output is the same bytes on every run (fixed member timestamps and order, the same zlib).
``tests/core/test_language.py`` checks that the shipped file holds py3langid's arrays exactly
and scores like py3langid's own model.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import lzma
import pathlib
import sys
from importlib.metadata import version

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from transforms.core.language import (  # noqa: E402
    LANGUAGE_MODEL_RESOURCE,
    automaton_depth,
    byte_planes,
    sparse_rows,
    split_low16,
)
from transforms.core.topic_model import npz_bytes  # noqa: E402

OUT = ROOT / "schemas" / LANGUAGE_MODEL_RESOURCE


def py3langid_model_path() -> pathlib.Path:
    from py3langid.langid import MODEL_DIR, MODEL_FILE

    return MODEL_DIR / MODEL_FILE


def build(source: pathlib.Path) -> bytes:
    """The container's bytes, from py3langid's ``model.npz.xz`` at ``source``."""
    raw = source.read_bytes()
    with np.load(io.BytesIO(lzma.decompress(raw)), allow_pickle=False) as model:
        arrays = {name: model[name] for name in model.files}
    moves = arrays["nextmove"].reshape(-1, 256)
    depth = automaton_depth(moves, arrays["nextmove_row"].astype(np.intp))
    meta = {
        "source": f"py3langid {version('py3langid')}, py3langid/data/model.npz.xz",
        "source_sha256": hashlib.sha256(raw).hexdigest(),
        "builder": "training/build_language_model.py",
        "walk_depth": depth,
        "features": len(arrays["ptc"]),
    }
    modes, differs, values = sparse_rows(np.ascontiguousarray(arrays["ptc"].T))
    nextmove_low, nextmove_high = split_low16(arrays["nextmove"])
    members = {
        "meta": np.frombuffer(json.dumps(meta, sort_keys=True).encode("utf-8"), dtype=np.uint8),
        "ptc_t_mode": modes,
        "ptc_t_differs": differs,
        "ptc_t_values": byte_planes(values),
        "pc": arrays["pc"],
        "classes": arrays["classes"],
        "nextmove_low": byte_planes(nextmove_low),
        "nextmove_high": nextmove_high,
        "nextmove_row": byte_planes(arrays["nextmove_row"]),
        "out_feat": byte_planes(arrays["out_feat"]),
    }
    return npz_bytes(members, level=9)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=pathlib.Path, default=OUT, help=f"Output file (default {OUT}).")
    parser.add_argument("--check", action="store_true", help="Compare with --out instead of writing it.")
    args = parser.parse_args(argv)
    data = build(py3langid_model_path())
    if args.check:
        same = args.out.exists() and args.out.read_bytes() == data
        print(f"{args.out}: {'up to date' if same else 'differs from a fresh build'}")
        return 0 if same else 1
    args.out.write_bytes(data)
    print(f"{args.out}: {len(data):,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
