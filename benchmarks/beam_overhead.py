"""What Beam itself costs a run, one element per article against one element per batch.

    python benchmarks/beam_overhead.py CORPUS/articles.jsonl [--docs 20000] [--repeat 3]

Runs, on the FnApiRunner in this process, a graph shaped like ``newsflow run``'s text path
with no work in its steps: the corpus's articles are read in groups of 256, pass six steps
that return them as they are, cross two side-input boundaries (where the runner materialises
them, as before ``CleanText`` and ``ApplyDedupDecisions``) and a keyed shuffle (as before the
writes). Once with one element per ``Article`` (today's graph), once with one element per
list of 256 (a graph of batches). The difference between the two is what batching the whole
graph could save; either figure against a whole run's time is Beam's share of it. Wall and
CPU seconds of each, best of ``--repeat``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import apache_beam as beam  # noqa: E402
from apache_beam.options.pipeline_options import PipelineOptions  # noqa: E402

from schemas.records import Article  # noqa: E402

GROUP = 256
STEPS = 6
NOW = dt.datetime(2026, 12, 4, tzinfo=dt.timezone.utc)


def read_texts(path: str, docs: int) -> list[str]:
    texts = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if len(texts) == docs:
                break
            texts.append(json.loads(line).get("text") or "")
    return texts


class _Articles:
    """The articles of one group of the corpus (read in the worker, not pickled with the graph)."""

    def __init__(self, path: str, docs: int) -> None:
        self._path, self._docs, self._texts = path, docs, None

    def __call__(self, start: int) -> list[Article]:
        if self._texts is None:
            self._texts = read_texts(self._path, self._docs)
        texts = self._texts
        return [
            Article(
                id=f"{i:016x}",
                source="bench",
                text_source="seed_jsonl",
                ingested_at=NOW,
                published=NOW,
                text=texts[i],
                minhash=bytes(512),
            )
            for i in range(start, min(len(texts), start + GROUP))
        ]


def _same(value, *_):
    return value


def _keyed_ids(batch: list[Article]) -> list[tuple[str, list[str]]]:
    out: dict[str, list[str]] = {}
    for article in batch:
        out.setdefault(article.id[-2:], []).append(article.id)
    return list(out.items())


def build(p: beam.Pipeline, path: str, docs: int, batched: bool) -> None:
    groups = p | "Groups" >> beam.Create(list(range(0, docs, GROUP)))
    read = _Articles(path, docs)
    items = groups | "Read" >> (beam.Map(read) if batched else beam.FlatMap(read))
    for boundary in range(2):
        for k in range(STEPS // 2):
            items = items | f"Step{boundary}{k}" >> beam.Map(_same)
        count = items | f"Count{boundary}" >> beam.combiners.Count.Globally()
        items = items | f"Boundary{boundary}" >> beam.Map(_same, beam.pvalue.AsSingleton(count))
    if batched:
        keyed = items | "Key" >> beam.FlatMap(_keyed_ids)
    else:
        keyed = items | "Key" >> beam.Map(lambda a: (a.id[-2:], a.id))
    keyed | "Group" >> beam.GroupByKey() | "Write" >> beam.Map(lambda kv: sum(1 for _ in kv[1]))


def timed(path: str, docs: int, batched: bool) -> tuple[float, float]:
    p = beam.Pipeline("FnApiRunner", options=PipelineOptions([]))
    build(p, path, docs, batched)
    wall, cpu = time.perf_counter(), time.process_time()
    p.run().wait_until_finish()
    return time.perf_counter() - wall, time.process_time() - cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", help="A JSONL corpus (benchmarks/corpus.py writes articles.jsonl).")
    parser.add_argument("--docs", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    docs = min(args.docs, len(read_texts(args.corpus, args.docs)))
    print(f"Beam's own cost over {docs} articles, {STEPS} empty steps, 2 side-input boundaries, a shuffle")
    print(f"{'graph':<34}{'wall s':>8}{'CPU s':>8}{'us/doc':>8}")
    graphs = (("one element per article (today)", False), (f"one element per {GROUP} articles", True))
    for label, batched in graphs:
        runs = [timed(args.corpus, docs, batched) for _ in range(args.repeat)]
        wall, cpu = min(r[0] for r in runs), min(r[1] for r in runs)
        print(f"{label:<34}{wall:>8.2f}{cpu:>8.2f}{cpu / docs * 1e6:>8.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
