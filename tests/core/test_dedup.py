import datetime as dt
import hashlib
import random
import re
import subprocess
import sys
import unicodedata
from dataclasses import replace

import apache_beam as beam
import numpy as np
from apache_beam.testing.util import assert_that, equal_to

from schemas.records import DedupEntry, Duplicate
from tests.helpers import EDITS, fingerprinted, local_pipeline, seed_body
from transforms.core.dedup import (
    PACKED_KEY,
    connected_components,
    dedup_entry,
    dedup_keys,
    deduplicate,
    distinct_digests,
    holding_digests,
    key_buckets,
    link_bucket,
    packed_keys,
    resolve_cluster,
    shared_keys,
    star_edges,
)
from transforms.core.fingerprints import (
    BANDS,
    NEAR_THRESHOLD,
    band_hashes,
    content_hash,
    fingerprints,
    minhash,
    normalised_bytes,
    shingles,
    similarity,
)
from transforms.core.urls import absolute_url, canonical_url, host_of, site_host, url_key, url_parts
from transforms.dedup import Deduplicate

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 22, tzinfo=UTC)

body = seed_body
article = fingerprinted


def entry(*args, **kwargs) -> DedupEntry:
    return dedup_entry(fingerprinted(*args, **kwargs))


def test_canonical_url_drops_tracking_fragment_and_trailing_slash():
    assert (
        canonical_url("HTTPS://Example.COM/news/story/?utm_source=rss&utm_medium=feed&id=7#comments")
        == "https://example.com/news/story?id=7"
    )
    assert canonical_url("https://example.com/a/b/") == "https://example.com/a/b"
    assert canonical_url("https://example.com/a?b=2&a=1&fbclid=x") == "https://example.com/a?a=1&b=2"
    assert canonical_url("ftp://example.com/file") is None
    assert canonical_url("javascript:alert(1)") is None
    assert canonical_url(None) is None
    assert url_key(canonical_url("http://www.example.com/a/")) == url_key(
        canonical_url("https://example.com/a")
    )


def test_urls_no_parser_reads_are_no_urls_not_errors():
    # urllib raises on these ("Invalid IPv6 URL", "Port out of range"); records, feeds and pages
    # carry them, and one used to abort a whole run.
    for bad in ("http://[::1/story", "https://example.com:99999/a", "http://[cdn/a.jpg"):
        assert url_parts(bad) is None and canonical_url(bad) is None and host_of(bad) is None
        assert site_host(bad) is None
        assert absolute_url("https://example.com/news/", bad) is None
    assert absolute_url("http://[::1/", "/a") is None
    assert absolute_url("https://example.com/news/", "../a?b=2") == "https://example.com/a?b=2"
    assert absolute_url(None, "https://example.com/a") == "https://example.com/a"
    assert absolute_url(None, "/a") is None and absolute_url("https://example.com/", "mailto:x@y.z") is None
    assert host_of("https://www.Example.com:8080/a") == "example.com"


def test_site_host_is_the_host_and_port_without_www():
    # One site for per-site line statistics, a page's canonical link and its host-like name.
    assert site_host("https://www.Example.com:8080/a") == "example.com:8080"
    assert site_host("https://news.example.com/a") == "news.example.com"
    assert site_host("/relative/path") is None and site_host(None) is None
    assert url_key("https://www.example.com/a?b=2") == "example.com/a?b=2"


def test_content_hash_ignores_case_spacing_and_punctuation():
    assert content_hash("Hello,  World!\n\nNext line.") == content_hash("hello world next line")
    assert content_hash("Hello world") != content_hash("Hello there world")


# Fingerprints the lake and the dedup index store: a change of the code must not change them
# (values from the code before issue 14's faster shingling).
STORED_FINGERPRINTS = [
    ("003", "078ae01e6e7fdf78f6de35f9995afdcaea8392b2", "29cace675be82d93d6b010557f614f076fa873e3"),
    (
        "Ünïcode ＡＢＣ ﬁne  straße, ΣΑΣ — 東京都は新しい計画を発表した; x_y 1½",
        "1d534592e7e05ef6ed1e834cc4e657301d7c36fd",
        "b95c64af4ebe4f06de90ef0db117ac1f9541f15d",
    ),
    (
        "one two three four",
        "e21ad05e3a894c71923d305800b0955eff36d92f",
        "5a5be7366e2f7a95f0cd68465fbb5bbe549b6d49",
    ),
    ("", "da39a3ee5e6b4b0d3255bfef95601890afd80709", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
]


def test_fingerprints_are_the_stored_ones():
    for text, digest, signature in STORED_FINGERPRINTS:
        text = body(text) if text == "003" else text
        found_digest, found_signature = fingerprints(text)
        assert found_digest == digest == content_hash(text)
        assert hashlib.sha1(found_signature).hexdigest() == signature
        assert found_signature == minhash(text)
    assert shingles("Ünïcode ＡＢＣ ﬁne  straße, ΣΑΣ — 東京") == [
        "ünïcode abc fine strasse σασ",
        "abc fine strasse σασ 東京",
    ]
    assert shingles("one two, three!") == ["one two three"]


def test_normalised_bytes_match_the_word_regex():
    # normalised_bytes against its definition, the \w+ runs of the folded text: typography,
    # accents, CJK, combining marks, underscores, lone surrogates and random code points.
    rng = random.Random(14)
    alphabet = "ab Z9_ \t\n.,;’“”—–‘…é\u0301ß\xa0ＡΣ東京\U0001f600\ud800½ﬁ-'"
    texts = [body("003"), body("000"), "", "  ...  ", "’hello’ — “x”", "a\u0301b c\ud800d e"]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randrange(40))) for _ in range(500)]
    texts += ["".join(chr(rng.randrange(0x30000)) for _ in range(50)) for _ in range(200)]
    for text in texts:
        folded = unicodedata.normalize("NFKC", text).casefold()
        expected = " ".join(re.findall(r"\w+", folded)).encode("utf-8")
        assert normalised_bytes(text) == expected, repr(text)


def test_minhash_is_stable_across_processes():
    text = body("003")
    code = (
        "import sys; from transforms.core.fingerprints import minhash; "
        "print(','.join(map(str, minhash(sys.stdin.read()))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], input=text, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ",".join(map(str, minhash(text)))


def test_edited_copy_is_near_and_different_reports_are_not():
    original = body("003")
    edited = original
    for old, new in EDITS:
        assert old in edited
        edited = edited.replace(old, new)
    assert similarity(minhash(original), minhash(edited)) >= NEAR_THRESHOLD
    assert similarity(minhash(body("003")), minhash(body("004"))) < 0.1
    assert similarity(minhash(body("000")), minhash(body("001"))) < 0.1


def test_connected_components_maps_each_id_to_its_sets_smallest_id():
    roots = connected_components([("b", "c"), ("c", "d"), ("x", "y"), ("a", "d")])
    assert roots == {"a": "a", "b": "a", "c": "a", "d": "a", "x": "x", "y": "x"}


def test_resolve_cluster_keeps_earliest_published_then_smallest_id():
    text = body("000")
    early = entry("zz", text, published=dt.datetime(2017, 1, 1, tzinfo=UTC))
    late = entry("aa", text, published=dt.datetime(2017, 6, 1, tzinfo=UTC))
    undated = entry("00", text)
    out = list(resolve_cluster([undated, late, early]))
    assert out[0] == early
    assert [(d.id, d.duplicate_of, d.kind) for d in out[1:]] == [("aa", "zz", "exact"), ("00", "zz", "exact")]
    tie = list(resolve_cluster([entry("b", text), entry("a", text)]))
    assert tie[0].id == "a"
    # The whole-corpus function decides the same.
    kept, duplicates = deduplicate([undated, late, early])
    assert [k.id for k in kept] == ["zz"] and sorted(d.id for d in duplicates) == ["00", "aa"]


def test_packed_keys_link_the_sets_the_keys_link():
    # The batch transform links entries by packed 64-bit digests in buckets; the in-memory
    # path and the stream by the keys' strings. Both must find the same linked sets.
    base, other = body("003"), body("004")
    entries = [
        entry("a", base, url="https://example.org/a"),
        entry("b", base.upper()),  # exact copy
        entry("c", base + "\n\nOne more closing sentence, added by the syndicating site."),  # near copy
        entry("d", other, url="https://Example.org/a/?utm_source=x"),  # the same URL
        entry("e", body("000")),  # alone
        entry("f", ""),  # no text: no signature, no band keys
    ]
    entries.append(entries[4])  # one record read twice links to itself
    keys = packed_keys(entries)
    assert len(keys) == sum(len(dedup_keys(e)) for e in entries)
    blobs = dict(key_buckets(keys))
    assert all(np.frombuffer(blob, dtype=PACKED_KEY).size for blob in blobs.values())
    packed_edges = [edge for blob in blobs.values() for edge in link_bucket([blob])]
    by_key: dict[str, list[str]] = {}
    for e in entries:
        for key in dedup_keys(e):
            by_key.setdefault(key, []).append(e.node)
    string_edges = [edge for nodes in by_key.values() for edge in star_edges(nodes)]
    assert connected_components(packed_edges) == connected_components(string_edges)
    roots = connected_components(packed_edges)
    node = {e.id: e.node for e in entries}
    assert roots[node["a"]] == roots[node["b"]] == roots[node["c"]] == roots[node["d"]]
    assert roots[node["e"]] == node["e"] and node["f"] not in roots


def test_band_hashes_agree_only_where_a_band_agrees():
    first = minhash(body("003"))
    second = bytearray(first)
    second[0:4] = bytes(4)  # band 0 changed, the others as they were
    third = first[16:32] + first[:16] + first[32:]  # bands 0 and 1 swapped
    hashes = band_hashes([first, bytes(second), third])
    assert hashes.shape == (3, BANDS)
    assert hashes[0, 0] != hashes[1, 0] and (hashes[0, 1:] == hashes[1, 1:]).all()
    # A band's hash holds its number: the same slots in another band are another key.
    assert hashes[2, 0] != hashes[0, 1] and (hashes[2, 2:] == hashes[0, 2:]).all()
    # ... and the order of its slots: the same four values in another order are another band.
    reordered = first[4:8] + first[0:4] + first[8:]
    assert band_hashes([reordered])[0, 0] != hashes[0, 0]


def test_link_bucket_stars_each_shared_digest_from_its_smallest_node():
    def blob(*pairs: tuple[int, str]) -> bytes:
        keys = np.empty(len(pairs), dtype=PACKED_KEY)
        keys["digest"] = [digest for digest, _ in pairs]
        keys["node"] = [int(node, 16) for _, node in pairs]
        return keys.tobytes()

    n1, n2, n3, n4 = "0000000000000001", "00000000000000f2", "0100000000000000", "ff00000000000004"
    first = blob((5, n3), (9, n4), (5, n1), (7, n2))
    second = blob((5, n2), (9, n4), (2**64 - 1, n1))
    edges = sorted(link_bucket([first, second]))
    assert edges == [(n1, n2), (n1, n3), (n4, n4)]


def test_chain_of_partial_overlaps_does_not_merge_different_articles():
    # a ~ b and b ~ c, but a and c share little: c must be kept (it does not match a kept article).
    a_text, c_text = body("003"), body("004")
    half_a = a_text[: len(a_text) // 2]
    half_c = c_text[: len(c_text) // 2]
    a = entry("a", a_text)
    b = entry("b", half_a + "\n\n" + half_c)
    c = entry("c", c_text)
    kept = [r.id for r in resolve_cluster([a, b, c]) if isinstance(r, DedupEntry)]
    assert "a" in kept and "c" in kept


def test_deduplicate_transform_catches_variants_and_keeps_different_articles():
    base = body("003")
    edited = base
    for old, new in EDITS:
        edited = edited.replace(old, new)
    inputs = [
        article("s003", base, url="https://example.org/2017/09/siege-broken"),
        article("s004", body("004"), url="https://example.net/deir-ez-zor"),
        article("s000", body("000")),
        article("v-boiler", "Support our work! Donate now.\n\n" + base + "\n\nShare this: Facebook Twitter"),
        article("v-edited", edited),
        article(
            "v-utm",
            "Updated: a rewritten report on the siege, with nothing in common.",
            url="https://Example.org/2017/09/siege-broken/?utm_source=twitter&utm_medium=social",
        ),
        article("v-exact", base.upper()),
    ]
    with local_pipeline() as p:
        out = p | beam.Create(inputs) | Deduplicate()
        assert_that(out["kept"] | beam.Map(lambda a: a.id), equal_to(["s003", "s004", "s000"]), label="kept")
        assert_that(
            out["duplicates"] | beam.Map(lambda d: (d.id, d.duplicate_of, d.kind)),
            equal_to(
                [
                    ("v-boiler", "s003", "near"),
                    ("v-edited", "s003", "near"),
                    ("v-utm", "s003", "url"),
                    ("v-exact", "s003", "exact"),
                ]
            ),
            label="duplicates",
        )


def test_duplicate_records_carry_similarity():
    base = body("002")
    out = list(resolve_cluster([entry("a", base), entry("b", base + "\n\nOne more closing sentence here.")]))
    dup = out[1]
    assert isinstance(dup, Duplicate) and dup.kind == "near" and dup.similarity >= NEAR_THRESHOLD


def test_deduplicate_handles_one_id_read_twice_and_one_url_in_two_feeds():
    text = body("002")
    same = article("same", text, url="https://example.org/story")
    in_rss = replace(same, source="https://example.org/rss")
    in_atom = replace(same, source="https://example.org/atom")
    with local_pipeline() as p:
        out = p | beam.Create([same, same, in_rss, in_atom]) | Deduplicate()
        assert_that(
            out["kept"] | beam.Map(lambda a: (a.id, a.source)),
            equal_to([("same", "https://example.org/atom")]),
            label="k",
        )
        assert_that(
            out["duplicates"] | beam.Map(lambda d: (d.source, d.duplicate_of, d.kind)),
            equal_to(
                [
                    # Ties on date and id go to the smallest source: deterministic, whatever the order.
                    ("same.txt", "same", "url"),
                    ("same.txt", "same", "url"),
                    ("https://example.org/rss", "same", "url"),
                ]
            ),
            label="d",
        )


def test_a_record_read_three_times_is_kept_once_with_its_text():
    text = body("003")
    same = article("same", text, url="https://example.org/story")
    other = article("other", body("004"))
    with local_pipeline() as p:
        out = p | beam.Create([same, other, same, same]) | Deduplicate()
        assert_that(
            out["kept"] | beam.Map(lambda a: (a.id, a.text == (text if a.id == "same" else body("004")))),
            equal_to([("same", True), ("other", True)]),
            label="k",
        )
        assert_that(
            out["duplicates"] | beam.Map(lambda d: (d.id, d.duplicate_of)),
            equal_to([("same", "same"), ("same", "same")]),
            label="d",
        )


def test_distinct_digests_and_shared_keys_are_set_operations():
    rng = np.random.default_rng(7)
    digests = rng.integers(0, 2**63, 5000, dtype=np.int64).astype(np.uint64)
    parts = [digests[:3000], digests[2000:], digests[:10]]
    distinct = distinct_digests(parts)
    assert distinct.tolist() == sorted(set(digests.tolist()))
    assert distinct_digests([]).size == 0
    keys = np.zeros(8, dtype=PACKED_KEY)
    keys["digest"] = [digests[0], 1, digests[4999], 2**64 - 1, digests[17], 0, 5, digests[0]]
    keys["node"] = range(8)
    assert shared_keys(keys, distinct)["node"].tolist() == [0, 2, 4, 7]
    assert shared_keys(keys, distinct_digests([])).size == 0


def test_index_records_holding_a_wanted_digest_are_those_packed_keys_link():
    # A batch run builds entries only for the index records that share a key with its
    # articles, found from the records' columns: the same digests as packed_keys'.
    base, other = body("003"), body("004")
    index = [
        entry("a", base, url="https://example.org/a"),  # an exact copy of the new "x"
        entry("b", body("000")),  # unrelated
        entry("c", other, url="https://www.example.org/c/"),  # the same URL as the new "y"
        entry("d", base + "\n\nOne more closing sentence, added by the syndicating site."),  # near "x"
        entry("z", body("001")),  # an id the run reads again
        entry("e", ""),  # no text: no signature
    ]
    run = [
        entry("x", base.upper()),
        entry("y", body("002"), url="http://example.org/c"),
        entry(
            "z", "A different report under an id the index holds, about the harbour's new ferry timetable."
        ),
    ]
    wanted = distinct_digests([packed_keys(run)["digest"]])
    columns = [
        [getattr(e, name) for e in index] for name in ("content_hash", "id", "canonical_url", "minhash")
    ]
    held = holding_digests(*columns, wanted)
    linked = {e.id for e in index if len(shared_keys(packed_keys([e]), wanted))}
    assert [e.id for e, h in zip(index, held, strict=True) if h] == sorted(linked) == ["a", "c", "d", "z"]
    assert not holding_digests(*columns, distinct_digests([])).any()
