"""The batched line helpers agree with their one-line definitions: normal forms of many lines
in a few regex passes, short-line kinds in one multi-line scan."""

from __future__ import annotations

from transforms.core.line_features import _SHORT_RE, SHORT_CHARS, SHORT_KINDS, short_kinds
from transforms.core.line_text import DocLines, fill_norms, normalise, normalise_many

LINES = [
    "Share this:",
    "Hello,  World!! 2024 and 0012",
    "a  --  b",
    "...",
    " . ",
    "x_y _z_",
    "Ünïcode  12 — x",
    "a\u00a0b",
    "ﬁne ①",
    "日本語 テスト",
    "İstanbul straße",
    "— x —",
    "é_ _x",
    "Leave a Reply",
    "*",
    "12 Comments",
    ":",
    "Name",
    "(required)",
    "Posted by JohnQ on May 3, 2016 at 10:12",
    "2 hours ago",
    "by Jane Roe",
    "Reply",
    "The army said on Monday that it would launch an offensive on the city within days.",
    "comments",
    ".",
]


def test_normal_forms_of_many_lines_are_those_of_each_line():
    assert normalise_many(LINES) == [normalise(line) for line in LINES]
    ascii_only = [line for line in LINES if line.isascii()]
    assert normalise_many(ascii_only) == [normalise(line) for line in ascii_only]
    assert normalise_many([]) == []


def test_a_batch_fills_each_documents_normal_forms():
    texts = ["\n\n".join(LINES[:10]), "\n".join(LINES[10:]), "", "x" * 300 + "\nShort line"]
    batch = [DocLines.of(text) for text in texts]
    fill_norms(batch)
    for doc, text in zip(batch, texts, strict=True):
        alone = DocLines.of(text)
        assert doc.norms == alone.norms
    assert batch[3].norms == [None, "short line"]


def test_short_kinds_in_one_scan_are_those_of_each_line():
    expected = []
    for line in LINES:
        match = _SHORT_RE.match(line) if len(line) <= SHORT_CHARS else None
        expected.append(SHORT_KINDS.index(match.lastgroup) if match and match.lastgroup else 0)
    assert short_kinds(LINES).tolist() == expected
    assert {SHORT_KINDS[k] for k in expected} >= {"thread_start", "soft_widget", "comment_meta", "byline"}
    assert short_kinds([]).tolist() == []
