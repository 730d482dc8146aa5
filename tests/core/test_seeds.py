import datetime as dt
import gzip
import json

import pytest

from schemas.records import Article, Reject
from transforms.core.decode import InputError, decode_bytes
from transforms.core.seeds import parse_jsonl_record, parse_seed_file

NOW = dt.datetime(2026, 11, 22, tzinfo=dt.timezone.utc)


def test_decode_bytes_utf8_bom_and_legacy_charsets():
    assert decode_bytes("Déjà vu".encode()) == "Déjà vu"
    assert decode_bytes(b"\xef\xbb\xbfHello") == "Hello"
    text = "Le gouvernement a annoncé une réforme très attendue des retraites à l'été."
    assert decode_bytes(text.encode("cp1252")) == text


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"  \n\t ", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (bytes(range(256)) * 20, "binary"),
    ],
)
def test_decode_bytes_rejects_empty_and_binary(data, reason):
    with pytest.raises(InputError) as error:
        decode_bytes(data)
    assert error.value.reason == reason


def test_jsonl_record_fields():
    line = json.dumps(
        {
            "id": "a1",
            "url": "https://example.com/x",
            "title": " T ",
            "text": "Body",
            "published": "2020-01-02",
            "author": "A. Writer",
            "categories": ["World", "Politics"],
        }
    )
    article = parse_jsonl_record(line, "backfill.jsonl:1", NOW)
    assert (article.id, article.title, article.author, article.text_source) == (
        "a1",
        "T",
        "A. Writer",
        "jsonl_text",
    )
    assert article.date_candidates == (("2020-01-02", "metadata"),)
    assert article.categories == ("World", "Politics")


def test_jsonl_records_of_other_tools_load_as_they_are():
    # A news-please export: its body is "maintext", its dates "date_publish" and "date_download",
    # its authors a list. All were dropped, the record a no_content reject.
    news_please = {
        "url": "https://example.com/np",
        "title": "T",
        "maintext": "Body",
        "date_publish": "2017-10-25 04:23:43",
        "date_download": "2017-10-26 01:02:03",
        "authors": ["A. Writer", " ", "B. Reporter"],
        "description": "A lead.",
    }
    article = parse_jsonl_record(json.dumps(news_please), "np.jsonl:1", NOW)
    assert (article.text, article.text_source, article.summary) == ("Body", "jsonl_text", "A lead.")
    assert article.date_candidates == (("2017-10-25 04:23:43", "metadata"),)
    assert article.fetched_at == dt.datetime(2017, 10, 26, 1, 2, 3, tzinfo=dt.timezone.utc)
    assert article.author == "A. Writer; B. Reporter"
    assert article.authors == ("A. Writer", "B. Reporter")
    # Ours first where both are given; schema.org's datePublished; a Unix time in s or ms.
    both = {"text": "Ours", "maintext": "Theirs", "author": "Me", "authors": ["Them"], "summary": "S"}
    article = parse_jsonl_record(json.dumps({**both, "description": "D"}), "b.jsonl:1", NOW)
    assert (article.text, article.author, article.summary) == ("Ours", "Me", "S")
    for value in (1725317939, 1725317939000, 1725317939.5):
        article = parse_jsonl_record(json.dumps({"text": "x", "published": value}), "b.jsonl:1", NOW)
        ((day, _),) = article.date_candidates
        assert day.startswith("2024-09-02T22:58:59") and day.endswith("+00:00"), day
    article = parse_jsonl_record('{"text": "x", "datePublished": "2020-01-02"}', "b.jsonl:1", NOW)
    assert article.date_candidates == (("2020-01-02", "metadata"),)


def test_jsonl_record_with_html_and_stable_ids():
    line = json.dumps({"html": "<html><body><p>Hi</p></body></html>", "url": "https://example.com/y"})
    first = parse_jsonl_record(line, "b.jsonl:3", NOW)
    assert first.text_source == "jsonl_html" and first.html and not first.text
    assert first.id == parse_jsonl_record(line, "b.jsonl:3", NOW).id


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("{not json", "invalid_json"),
        ("[1, 2]", "invalid_json"),
        ('{"title": "only"}', "no_content"),
        ('{"text": "   "}', "no_content"),
        ('{"text": "x", "title": {"a": 1}}', "bad_field"),
        ('{"id": 5, "text": 7}', "bad_field"),
        ('{"html": ["<p>a</p>"]}', "bad_field"),
        ('{"text": {"body": "x"}, "html": "<p>a</p>"}', "bad_field"),
        ('{"maintext": 7}', "bad_field"),
    ],
)
def test_jsonl_bad_records(line, reason):
    with pytest.raises(InputError) as error:
        parse_jsonl_record(line, "b.jsonl:1", NOW)
    assert error.value.reason == reason


@pytest.mark.parametrize(
    ("record", "detail"),
    [
        ({"title": {"a": 1}}, "title: expected a string, got dict"),
        ({"author": [1, 2]}, "author: expected strings, got a list of other values"),
        ({"authors": {"name": "x"}}, "authors: expected a string, got dict"),
        ({"id": True}, "id: expected a string, got bool"),
        ({"published": ["2020-01-02"]}, "published: expected a string, got list"),
        ({"description": ["x"]}, "description: expected a string, got list"),
    ],
)
def test_a_bad_field_reject_names_the_field(record, detail):
    # The detail said "expected a string, got list", naming no field.
    with pytest.raises(InputError) as error:
        parse_jsonl_record(json.dumps({"text": "x", **record}), "b.jsonl:1", NOW)
    assert (error.value.reason, error.value.detail) == ("bad_field", detail)


def test_parse_seed_file_keeps_good_lines_and_rejects_bad_ones():
    data = "\n".join([json.dumps({"text": "one"}), "{oops", "", json.dumps({"title": "none"})]).encode()
    records = list(parse_seed_file("mix.jsonl", data, NOW))
    assert [type(r).__name__ for r in records] == ["Article", "Reject", "Reject"]
    assert [(r.source, r.reason) for r in records if isinstance(r, Reject)] == [
        ("mix.jsonl:2", "invalid_json"),
        ("mix.jsonl:4", "no_content"),
    ]


def test_parse_seed_file_kinds():
    (txt,) = parse_seed_file("a.txt", b"Some text", NOW)
    (html,) = parse_seed_file("b.HTML", b"<html></html>", NOW)
    (other,) = parse_seed_file("c.pdf", b"%PDF-1.4", NOW)
    (empty,) = parse_seed_file("d.txt", b"", NOW)
    assert isinstance(txt, Article) and txt.text_source == "seed_text"
    assert isinstance(html, Article) and html.text_source == "seed_html"
    assert isinstance(other, Reject) and other.reason == "unsupported_type"
    assert isinstance(empty, Reject) and empty.reason == "empty"
    assert other.detail == "suffix .pdf"
    # Files often taken for seeds say where they belong.
    (array,) = parse_seed_file("e.json", b'[{"text": "x"}]', NOW)
    assert array.reason == "unsupported_type" and array.detail == (
        "suffix .json: records are read as JSON Lines, one a line (.jsonl):"
        " jq -c '.[]' file.json > file.jsonl"
    )
    (feed,) = parse_seed_file("f.xml.gz", gzip.compress(b"<rss/>"), NOW)
    assert feed.detail == "suffix .xml: a saved feed or sitemap is read by --feeds or --sitemaps"


def test_gzipped_seeds_are_read_and_bad_gzip_rejected():

    (html,) = parse_seed_file("page.HTML.gz", gzip.compress(b"<html><body><p>x</p></body></html>"), NOW)
    assert isinstance(html, Article) and html.text_source == "seed_html" and "<p>x</p>" in html.html
    records = list(parse_seed_file("b.jsonl.gz", gzip.compress(b'{"text": "one"}\n{"text": "two"}\n'), NOW))
    assert [r.text for r in records] == ["one", "two"]
    (bad,) = parse_seed_file("c.txt.gz", b"not gzip at all", NOW)
    assert isinstance(bad, Reject) and bad.reason == "bad_gzip"


def test_utf16_seeds_decode():
    text = "Le gouvernement a annoncé une réforme."
    assert decode_bytes(b"\xff\xfe" + text.encode("utf-16-le")) == text
    assert decode_bytes(b"\xfe\xff" + text.encode("utf-16-be")) == text


def test_jsonl_lines_end_at_newlines_only():
    record = json.dumps({"text": "one\u2028two\u0085three"}, ensure_ascii=False)
    records = list(parse_seed_file("u.jsonl", (record + "\r\n" + record + "\n").encode(), NOW))
    assert [type(r).__name__ for r in records] == ["Article", "Article"]
    assert records[0].text == "one\u2028two\u0085three"


@pytest.mark.parametrize(
    ("line", "reason"),
    [('{"text": "x", "categories": 5}', "bad_field"), ("[" * 200_000 + "]" * 200_000, "invalid_json")],
)
def test_jsonl_records_that_used_to_crash_are_rejects(line, reason):
    with pytest.raises(InputError) as error:
        parse_jsonl_record(line, "b.jsonl:1", NOW)
    assert error.value.reason == reason


def test_an_empty_date_field_does_not_hide_the_next():
    article = parse_jsonl_record('{"text": "x", "published": "", "date": "2020-01-02"}', "b.jsonl:1", NOW)
    assert article.date_candidates == (("2020-01-02", "metadata"),)
    article = parse_jsonl_record('{"text": "x", "published": "n/a", "date": "2020-01-02"}', "b.jsonl:1", NOW)
    assert article.date_candidates == (("n/a", "metadata"), ("2020-01-02", "metadata"))


def test_seed_paths_folders_recurse_names_are_escaped_and_typos_fail(tmp_path):
    from transforms.seeds import list_seed_files

    folder = tmp_path / "news [2017]"
    (folder / "sub").mkdir(parents=True)
    assert list_seed_files(str(folder)).endswith("/**")
    assert "[[]" in list_seed_files(str(folder))
    with pytest.raises(ValueError, match="no such file or folder"):
        list_seed_files(str(tmp_path / "typo"))
    assert list_seed_files(str(tmp_path / "*.txt")) == str(tmp_path / "*.txt")


def test_seed_batches_split_records_into_disjoint_slices():
    from transforms.core.seeds import in_batch

    names = [f"backfill.jsonl:{i}" for i in range(1, 2001)]
    slices = [{n for n in names if in_batch(n, (i, 4))} for i in range(4)]
    assert sum(map(len, slices)) == len(names) and set().union(*slices) == set(names)
    assert all(400 < len(s) < 600 for s in slices)  # about even


def test_a_seed_file_in_a_batch_yields_only_its_slice():
    data = "\n".join(json.dumps({"text": f"Story number {i} " * 30}) for i in range(40)).encode()
    data += b"\n{broken"
    whole = list(parse_seed_file("a.jsonl", data, NOW))
    parts = [list(parse_seed_file("a.jsonl", data, NOW, (i, 3))) for i in range(3)]
    assert sorted(r.source for p in parts for r in p) == sorted(r.source for r in whole)
    page = [list(parse_seed_file("p.txt", b"Some text " * 50, NOW, (i, 3))) for i in range(3)]
    assert [len(p) for p in page].count(1) == 1 and sum(map(len, page)) == 1
    broken = [list(parse_seed_file("b.jsonl.gz", b"not gzip at all", NOW, (i, 3))) for i in range(3)]
    assert [r.reason for p in broken for r in p] == ["bad_gzip"]  # a file's reject: once, not per batch


def test_jsonl_is_read_as_a_stream_with_the_same_records_and_rejects():
    import gzip
    import io

    from transforms.core.seeds import read_jsonl_stream

    lines = [json.dumps({"text": f"Story {i} with a line\u2028separator inside"}) for i in range(50)]
    lines.insert(3, "{broken")
    lines.insert(7, "")
    latin = json.dumps({"text": "Caf\u00e9 au lait"}, ensure_ascii=False).encode("latin-1")
    data = ("\n".join(lines) + "\n").encode() + latin + b"\n"
    whole = list(parse_seed_file("a.jsonl", data, NOW))
    streamed = list(read_jsonl_stream("a.jsonl", io.BufferedReader(io.BytesIO(data)), NOW))
    assert [(type(r).__name__, r.source) for r in streamed] == [(type(r).__name__, r.source) for r in whole]
    assert len(streamed) == 52 and streamed[-1].text == "Caf\u00e9 au lait"
    assert "\u2028" in streamed[0].text  # not a line break in JSONL
    gz = list(read_jsonl_stream("a.jsonl.gz", io.BytesIO(gzip.compress(data)), NOW))
    assert [r.source for r in gz] == [r.source.replace("a.jsonl", "a.jsonl.gz") for r in whole]


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("e.jsonl", b"", "empty"),
        ("e.jsonl", b"\n \n", "empty"),
        ("b.jsonl", b'{"text": "a"}\x00\x01\x02', "binary"),
        ("g.jsonl.gz", b"not gzip at all", "bad_gzip"),
    ],
)
def test_a_jsonl_stream_that_is_no_jsonl_is_one_reject(name, data, reason):
    import io

    from transforms.core.seeds import read_jsonl_stream

    (reject,) = read_jsonl_stream(name, io.BufferedReader(io.BytesIO(data)), NOW)
    assert isinstance(reject, Reject) and reject.reason == reason and reject.source == name


def test_a_truncated_gzip_keeps_the_records_before_the_fault():
    import gzip
    import io

    from transforms.core.seeds import read_jsonl_stream

    data = gzip.compress(
        b"".join(json.dumps({"text": f"story {i} " * 20}).encode() + b"\n" for i in range(500))
    )
    records = list(read_jsonl_stream("t.jsonl.gz", io.BytesIO(data[: len(data) // 2]), NOW))
    assert isinstance(records[-1], Reject) and records[-1].reason == "bad_gzip"
    assert len(records) > 1 and all(isinstance(r, Article) for r in records[:-1])


def test_a_utf16_jsonl_stream_is_decoded_whole_under_its_own_name():
    import codecs
    import gzip
    import io

    from transforms.core.seeds import read_jsonl_stream

    text = "\n".join(json.dumps({"text": f"Story {i} " * 20}) for i in range(3))
    data = codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    whole = list(parse_seed_file("w.jsonl", data, NOW))
    streamed = list(read_jsonl_stream("w.jsonl", io.BufferedReader(io.BytesIO(data)), NOW))
    assert len(streamed) == 3 and [r.text for r in streamed] == [r.text for r in whole]
    zipped = list(read_jsonl_stream("w.jsonl.gz", io.BytesIO(gzip.compress(data)), NOW))
    assert [r.source for r in zipped] == ["w.jsonl.gz:1", "w.jsonl.gz:2", "w.jsonl.gz:3"]


def test_jsonl_fetched_at_is_read_in_utc_and_optional():
    line = json.dumps(
        {"text": "Body", "url": "https://example.com/f", "fetched_at": "2024-01-01T01:00:00+01:00"}
    )
    assert parse_jsonl_record(line, "b.jsonl:1", NOW).fetched_at == dt.datetime(
        2024, 1, 1, tzinfo=dt.timezone.utc
    )
    assert parse_jsonl_record(json.dumps({"text": "Body"}), "b.jsonl:2", NOW).fetched_at is None
    assert (
        parse_jsonl_record(json.dumps({"text": "B", "fetched_at": "soon"}), "b.jsonl:3", NOW).fetched_at
        is None
    )


def test_jsonl_strings_are_made_readable_lone_surrogates_and_control_characters():
    # JSON may escape half of an emoji's UTF-16 pair on its own: no UTF-8 file can store it (the
    # run used to abort on it). Control characters are escaped too, and no page shows them.
    line = json.dumps(
        {"text": "Ferry \ud83d news\u0007 here\n\tand \ud83d\ude00", "author": "\u0000Jane Doe\u0085"}
    )
    article = parse_jsonl_record(line, "b.jsonl:1", NOW)
    assert article.text == "Ferry \ufffd news here\n\tand \U0001f600"
    assert article.author == "Jane Doe"
    article.text.encode("utf-8")


def test_jsonl_fetched_at_without_a_utc_time_is_none():
    line = json.dumps({"text": "B", "fetched_at": "9999-12-31T23:59:59-23:00"})
    assert parse_jsonl_record(line, "b.jsonl:1", NOW).fetched_at is None
