"""The benchmark still works: a 500-document run reports every metric with sane values.

This checks the harness (``benchmarks/run.py --docs 500 --quick --pairs 2``), not the speed: the
numbers of a real run are in BENCHMARKS.md.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from benchmarks import corpus
from benchmarks.score import score_dedup
from tests.helpers import ROOT

TARGETS = {
    "docs_per_second",
    "same_ids_as_plain_loop",
    "html_vs_trafilatura_pool",
    "beam_vs_plain_loop",
    "exact_recall",
    "near_recall",
    "false_merges",
    "dedup_seconds",
    "peak_rss",
}


def test_corpus_is_deterministic_and_prefix_consistent():
    pool = corpus.load_pool()
    short = [(d.id, d.kind, d.of, d.text()) for d in corpus.generate(120, pool=pool)]
    longer = [(d.id, d.kind, d.of, d.text()) for d in corpus.generate(300, pool=pool)]
    assert longer[:120] == short
    ids = [doc[0] for doc in longer]
    assert len(set(ids)) == len(ids)
    kinds = {doc[1] for doc in longer}
    assert kinds == {"base", "exact", "syndicated", "edited", "negative"}
    seen = set()
    for doc_id, kind, of, _ in longer:
        assert kind == "base" or of in seen  # a copy always follows its base
        seen.add(doc_id)
    texts = {doc[0]: doc[3] for doc in longer}
    for _, kind, of, text in longer:
        if kind == "exact":
            assert text == texts[of]
        if kind in ("syndicated", "edited", "negative"):
            assert text != texts[of]


def test_score_dedup_counts_recall_and_false_merges():
    planted = [
        {"id": "b", "kind": "exact", "of": "a"},
        {"id": "c", "kind": "edited", "of": "a"},
        {"id": "e", "kind": "syndicated", "of": "d"},
        {"id": "f", "kind": "negative", "of": "d"},
    ]
    present = {"a", "b", "c", "d", "e", "f", "g"}
    # b and c found (c through b), e missed, f wrongly merged with d, g wrongly merged with a.
    duplicates = [("b", "a", "exact"), ("c", "b", "near"), ("f", "d", "near"), ("g", "a", "near")]
    scores = score_dedup(planted, duplicates, present)
    assert scores["exact_recall"] == 1.0
    assert scores["near_recall"] == 0.5
    assert scores["false_merges"] == 2
    assert scores["negatives_merged"] == 1
    assert scores["precision"] == 0.5
    assert scores["false_merge_rate"] == pytest.approx(2 / 7, abs=1e-4)


@pytest.mark.heavy
def test_benchmark_smoke_run(tmp_path):
    out = tmp_path / "bench"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "run.py"),
            *("--docs", "500", "--quick", "--pairs", "2", "--out", str(out)),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "target" in result.stdout and "beam_vs_plain_loop" in result.stdout
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))

    assert results["corpus"]["docs"] == 500
    assert set(results["corpus"]["kinds"]) == {"base", "exact", "syndicated", "edited", "negative"}
    machine = results["machine"]
    assert machine["nproc"] >= 1 and machine["python"] and machine["beam"]

    pipeline, plain = results["pipeline"], results["plain_loop"]
    for run in (pipeline, plain):
        assert run["docs"] == 500
        assert run["docs_per_second"] > 0 and run["wall_seconds"] > 0
        assert 10 < run["peak_rss_mb"] < 4096
    assert pipeline["balanced"] is True
    assert pipeline["counts"]["read"] == 500
    assert pipeline["vs_plain"] > 0
    # --pairs 2: both runs of each, alternated; the ratio is the median of the pairs' ratios.
    ratios = [pair["ratio"] for pair in pipeline["pairs"]]
    assert len(ratios) == 2 and pipeline["vs_plain"] == pytest.approx(sum(ratios) / 2, abs=1e-3)
    assert pipeline["median_docs_per_second"] > 0 and plain["median_docs_per_second"] > 0
    assert "medians of 2 pairs" in result.stdout

    assert results["plain_loop"]["workers"] >= 1
    assert results["floor"]["docs"] == 500 and results["floor"]["docs_per_second"] > 0
    startup = results["startup"]
    assert startup["docs"] == 5 and startup["balanced"] is True
    # --quick: two start-up runs; the one reported is the median (the lower of two).
    assert len(startup["runs_wall_seconds"]) == 2
    assert startup["wall_seconds"] == min(startup["runs_wall_seconds"])
    assert "start-up: the median of 2 runs" in result.stdout
    assert results["same_ids"] == {"articles": True, "duplicates": True, "rejects": True}
    html_run = results["html_run"]
    assert html_run["pages"] > 0 and html_run["counts"]["written"] > 0
    assert html_run["pool"]["extracted"] > 0 and html_run["vs_pool"] > 0
    assert "seconds per stage" in result.stdout

    for html in results["html"].values():
        assert html["pages"] > 0
        assert html["ms_per_page"]["trafilatura"] > 0 and html["ms_per_page"]["ours"] > 0
        assert html["ratio"] > 0
        assert 0.5 < html["f1"]["ours"] <= 1

    fetch = results["fetch"]
    assert fetch["docs_per_second"] > 0
    assert fetch["counts"]["written"] > 0

    for quality in results["dedup_quality"].values():
        assert 0.9 <= quality["exact_recall"] <= 1
        assert 0.5 <= quality["near_recall"] <= 1
        assert 0 <= quality["false_merge_rate"] < 0.05
        assert quality["merges"] > 0

    scaling = results["dedup_scaling"]
    assert [row["docs"] for row in scaling] == [250, 500]
    for row in scaling:
        for engine in ("beam", "pure"):
            assert row[engine]["seconds"] > 0 and row[engine]["peak_rss_mb"] > 0
            assert row[engine]["quality"]["exact_recall"] is not None
        assert row["same_decisions"] is True

    targets = {t["name"]: t for t in results["targets"]}
    assert set(targets) == TARGETS
    for target in targets.values():
        assert target["value"] is not None
        assert target["met"] in (True, False, None)


def test_beam_overhead_benchmark_runs_both_graphs(tmp_path, capsys):
    from benchmarks import beam_overhead

    path = tmp_path / "articles.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        for doc in corpus.generate(300, pool=corpus.load_pool()):
            handle.write(json.dumps({"id": doc.id, "text": doc.text()}) + "\n")
    assert beam_overhead.main([str(path), "--docs", "300", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "over 300 articles" in out
    rows = [line.split() for line in out.splitlines() if line.startswith("one element per")]
    assert len(rows) == 2
    for row in rows:
        wall, cpu, per_doc = float(row[-3]), float(row[-2]), float(row[-1])
        assert wall > 0 and cpu > 0 and per_doc > 0


def test_quality_clean_runs_the_cleaner_before_the_comment_cut_anchor(capsys):
    # quality_clean.py's column before fe4ad22 runs today's cleaner with a scraped text's comment
    # cut after its first line of prose; the switch holds only for the call.
    from benchmarks import quality_clean
    from tests.helpers import ARMY_BODY, ARMY_BODY2
    from transforms.clean import clean_text
    from transforms.core import clean_structure

    header = (
        "The Daily Ledger brings you breaking news, analysis and opinion from around the world, "
        "every day of the week, and all of it free to read.",
        "Army Pushes East Toward Besieged City",
        "By Jane Roe",
        "12 Comments",
    )
    text = "\n\n".join((*header, ARMY_BODY, ARMY_BODY2))

    def cut(cleaned):
        return [r.text for r in cleaned.removed if r.rule == "comment.after_form"]

    anchor = clean_structure.longest_prose_run
    with quality_clean._first_prose_anchor():
        assert cut(clean_text(text)) == [ARMY_BODY, ARMY_BODY2]
    assert clean_structure.longest_prose_run is anchor
    assert cut(clean_text(text)) == []
    quality_clean.clean_articles(None, None)
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.strip().startswith("line model")]
    assert len(rows) >= 2 and any(quality_clean.ANCHOR_COMMIT in " ".join(row) for row in rows)
    for row in rows:
        lines_kept, chars_kept, losing = map(float, row[-3:])
        assert 0 < lines_kept <= 1 and 0 < chars_kept <= 1 and 0 <= losing <= 1


def test_quality_clean_runs_a_cleaner_without_the_comment_model() -> None:
    # quality_clean.py's column without the comment model keeps an unmarked thread that the
    # current cleaner cuts by its words.
    from benchmarks import quality_clean
    from tests.helpers import army_article

    thread = (
        "Great post, thanks for sharing! I love your blog.",
        "I totally agree with you. My husband and I went there last year and loved it!",
        "Love this! Can't wait to try it.",
        "So true!! Thanks for the reminder.",
    )
    doc = quality_clean.Doc(
        {
            "id": "smoke:trafilatura_recall",
            "source": "smoke",
            "view": "trafilatura_recall",
            "domain": "example.org",
            "title": None,
            "content": army_article(tail=thread),
            "labels": {},
        }
    )
    with_model = quality_clean.new_batch_cleaner(quality_clean.SITE_MIN_DOCS)([doc], {})[0]
    without = quality_clean.new_batch_cleaner(quality_clean.SITE_MIN_DOCS, comments=False)([doc], {})[0]
    assert {r.rule for r in with_model.removed if r.text in thread} == {"comment.thread_text"}
    assert "comment.thread_text" not in {r.rule for r in without.removed}
