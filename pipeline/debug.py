"""``newsflow clean`` and ``newsflow extract``: one document at a time, as a run would treat it.

Inputs are read exactly as ``run`` reads them (JSONL line by line, each line decoded on
its own); URLs are fetched under the same guard.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from pipeline.report import clean_view, reject_json, removed_json
from pipeline.results import EXIT_FAILED, EXIT_OK, UsageError


def _documents(inputs: Sequence[str], policy=None) -> Iterator[Any]:
    """Articles (or rejects) from files or URLs given on the command line, read exactly as
    ``run`` reads them (JSONL line by line, each line decoded on its own)."""
    from schemas.records import Article, Reject, stable_id
    from transforms.core.http import Fetcher
    from transforms.core.http_policy import FetchPolicy
    from transforms.core.seeds import is_jsonl, parse_seed_file, read_jsonl_stream
    from transforms.fetch import decode_page

    now = dt.datetime.now(dt.timezone.utc)
    fetcher = None
    try:
        for value in inputs:
            if value.lower().startswith(("http://", "https://")):
                fetcher = fetcher or Fetcher(policy or FetchPolicy())
                result = fetcher.fetch(value, kind="page")
                if not result.ok:
                    yield Reject(value, value, "fetch", result.error or "empty_page", result.detail)
                    continue
                yield Article(
                    id=stable_id(result.final_url),
                    source=value,
                    text_source="page",
                    ingested_at=now,
                    url=result.final_url,
                    html=decode_page(result),
                )
                continue
            name = os.path.basename(value)
            try:
                if is_jsonl(name):
                    with open(value, "rb") as handle:
                        yield from read_jsonl_stream(name, handle, now)
                    continue
                with open(value, "rb") as handle:
                    data = handle.read()
            except OSError as error:
                yield Reject(value, None, "read", "unreadable", error.strerror or str(error))
                continue
            yield from parse_seed_file(name, data, now)
    finally:
        if fetcher is not None:
            fetcher.close()


def cmd_clean(args: argparse.Namespace) -> int:
    """Per input: each line kept or removed with its reason (``--json``: one JSON line each)."""
    from schemas.records import Reject
    from transforms.core.clean_stage import clean_document
    from transforms.core.extract import extract_document

    code = EXIT_OK
    for doc in _documents(args.files):
        extracted = doc if isinstance(doc, Reject) else extract_document(doc)
        if isinstance(extracted, Reject):
            if extracted.stage == "read" and extracted.reason == "unreadable":
                print(f"error: {extracted.source}: {extracted.detail}", file=sys.stderr)
                code = EXIT_FAILED
                continue
            print(
                reject_json(extracted)
                if args.json
                else f"== {extracted.source}: rejected as {extracted.reason} ({extracted.detail})"
            )
            continue
        result, cleaned = clean_document(extracted)
        reject = result.reason if isinstance(result, Reject) else None
        if args.json:
            record = {
                "source": extracted.source,
                "title": extracted.title or cleaned.title,
                "byline": cleaned.byline,
                "text": cleaned.text,
                "removed": [removed_json(r) for r in cleaned.removed],
            }
            if reject:
                record["reject"] = reject
            print(json.dumps(record, ensure_ascii=False))
        else:
            print(
                clean_view(
                    extracted.source, extracted.text, cleaned, extracted.title or cleaned.title, reject
                )
            )
    return code


def cmd_extract(args: argparse.Namespace) -> int:
    """One JSON line per page (file or URL): the row that would be stored, or the reject.

    With ``--explain`` each line also says how the body was chosen, every block or line left
    out and why (by extraction or by the clean stage), and where the date came from.
    """
    from schemas.records import Reject, article_row
    from transforms.core.clean_stage import clean_document
    from transforms.core.enrich import enrich
    from transforms.core.extract import extract_document
    from transforms.core.http_policy import FetchPolicy
    from transforms.core.language import load_language_identifier
    from transforms.topics import load_topic_classifier

    policy = FetchPolicy(
        allow_private_hosts=args.allow_private_hosts,
        allowed_hosts=tuple(h.strip().lower() for h in args.allowed_hosts.split(",") if h.strip()),
        respect_robots=not args.ignore_robots,
    )
    try:
        classifier = load_topic_classifier(args.taxonomy)
    except (OSError, ValueError) as error:
        raise UsageError(f"--taxonomy {args.taxonomy}: {error}") from None
    identifier = load_language_identifier()
    code = EXIT_OK
    for doc in _documents(args.files, policy):
        result = doc if isinstance(doc, Reject) else extract_document(doc)
        extracted = cleaned = None
        if not isinstance(result, Reject):
            extracted = result
            result, cleaned = clean_document(result)
        if isinstance(result, Reject):
            if result.stage in ("read", "fetch"):
                code = EXIT_FAILED
            line = reject_json(result)
            if args.explain and not isinstance(doc, Reject):
                record = json.loads(line) | {"explain": _explanation(doc, extracted, cleaned, None)}
                line = json.dumps(record, ensure_ascii=False, default=str)
            print(line)
            continue
        article = enrich(result, classifier=classifier, identifier=identifier)
        row = article_row(article) | {"removed": [{"reason": r, "text": t} for r, t in article.removed]}
        if args.explain:
            row["explain"] = _explanation(doc, extracted, cleaned, article)
        print(json.dumps(row, ensure_ascii=False, default=str))
    return code


def _explanation(doc, extracted, cleaned, article) -> dict:
    """What ``newsflow extract --explain`` adds: extraction's decisions, every drop, the date's origin."""
    from transforms.core.extract import NoArticle, read_page

    explained: dict[str, Any] = {"extraction": [], "dropped": []}
    if doc.html is not None:
        page = read_page(doc.html, doc.url, explain=True)
        if page.explanation is not None:
            explained["extraction"] = list(page.explanation.decisions)
            explained["dropped"] = [
                {"stage": "extract", "reason": reason, "text": text}
                for reason, text in page.explanation.dropped
            ]
        if isinstance(page, NoArticle):
            explained["extraction"].append(f"no article ({page.reason}): {page.detail}")
    elif extracted is not None:
        explained["extraction"].append(f"text from the source ({extracted.text_source}): nothing to extract")
    if cleaned is not None:
        explained["dropped"] += [
            {"stage": "clean", "reason": r.reason, "line": r.line_no, "text": r.text} for r in cleaned.removed
        ]
    if article is not None:
        explained["date"] = {
            "published": article.published,
            "source": article.date_source,
            "offset_minutes": article.published_offset,
            "modified": article.modified,
            "candidates": [{"value": str(v), "source": s} for v, s in article.date_candidates],
        }
    return explained
