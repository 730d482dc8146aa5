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
    from transforms.extract import extract_document

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
    """One JSON line per page (file or URL): the row that would be stored, or the reject."""
    from schemas.records import Reject, article_row
    from transforms.core.clean_stage import clean_document
    from transforms.core.enrich import enrich, load_language_identifier
    from transforms.core.http_policy import FetchPolicy
    from transforms.extract import extract_document
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
        if not isinstance(result, Reject):
            result, _ = clean_document(result)
        if isinstance(result, Reject):
            if result.stage in ("read", "fetch"):
                code = EXIT_FAILED
            print(reject_json(result))
            continue
        article = enrich(result, classifier=classifier, identifier=identifier)
        row = article_row(article) | {"removed": [{"reason": r, "text": t} for r, t in article.removed]}
        print(json.dumps(row, ensure_ascii=False, default=str))
    return code
