import datetime as dt

import apache_beam as beam
import duckdb
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from schemas.parquet import (
    ARTICLE_FILE_SCHEMA,
    NULL_PARTITION,
    PARTITION_SCHEMA,
    SCHEMA_VERSION,
    partition_path,
    slugify,
)
from schemas.records import Article, article_row
from tests.helpers import local_pipeline
from transforms.write import WriteParquet

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 22, tzinfo=UTC)


def make(id_, published, topic):
    return Article(
        id=id_,
        source=f"{id_}.txt",
        text_source="seed_text",
        ingested_at=NOW,
        text=f"text {id_}",
        published=published,
        topic=topic,
        content_hash=id_,
        run_id="r1",
    )


def test_slugify_keeps_paths_safe():
    assert slugify("Human Interest") == "human-interest"
    assert slugify("../../etc/passwd") == "etc-passwd"
    assert slugify("a\x00b/=c") == "a-b-c"
    assert slugify("") == "other" and slugify("///") == "other"
    assert partition_path(None, "../x") == f"date={NULL_PARTITION}/topic=x"
    assert partition_path(
        dt.datetime(2017, 9, 5, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5))), "sport"
    ) == ("date=2017-09-06/topic=sport")


def test_write_parquet_partitions_atomically_and_reads_back(tmp_path):
    articles = [
        make("a", dt.datetime(2017, 9, 5, 10, tzinfo=UTC), "conflict"),
        make("b", dt.datetime(2017, 9, 5, 11, tzinfo=UTC), "conflict"),
        make("c", None, "sport"),
        make("d", dt.datetime(2020, 1, 1, tzinfo=UTC), "economy"),
    ]
    base = str(tmp_path / "articles")
    with local_pipeline() as p:
        (
            p
            | beam.Create(articles)
            | beam.Map(lambda a: (partition_path(a.published, a.topic), article_row(a)))
            | WriteParquet(base, ARTICLE_FILE_SCHEMA, dataset="articles", prefix="r1")
        )
    files = sorted(str(f.relative_to(tmp_path)) for f in tmp_path.rglob("*") if f.is_file())
    assert all(f.endswith(".parquet") and "/." not in f for f in files), files
    assert len(files) == 3
    folders = {f.rsplit("/", 1)[0] for f in files}
    assert folders == {
        "articles/date=2017-09-05/topic=conflict",
        f"articles/date={NULL_PARTITION}/topic=sport",
        "articles/date=2020-01-01/topic=economy",
    }
    one = pq.read_table(tmp_path / files[0])
    assert "topic" not in one.column_names and "date" not in one.column_names
    assert one.schema.metadata[b"newsflow.schema_version"] == SCHEMA_VERSION.encode()
    assert pq.ParquetFile(tmp_path / files[0]).metadata.row_group(0).column(0).compression == "ZSTD"

    table = ds.dataset(base, partitioning=ds.partitioning(PARTITION_SCHEMA, flavor="hive")).to_table()
    rows = {r["id"]: (r["date"], r["topic"]) for r in table.to_pylist()}
    assert rows == {
        "a": ("2017-09-05", "conflict"),
        "b": ("2017-09-05", "conflict"),
        "c": (NULL_PARTITION, "sport"),
        "d": ("2020-01-01", "economy"),
    }

    # The README's DuckDB line: the date typed, null where unknown.
    con = duckdb.connect()
    got = con.sql(
        f"select id, try_cast(date as date) as date, topic from read_parquet('{base}/**/*.parquet', "
        "hive_partitioning = true, hive_types_autocast = false) order by id"
    ).fetchall()
    assert [(i, None if d is None else str(d), t) for i, d, t in got] == [
        ("a", "2017-09-05", "conflict"),
        ("b", "2017-09-05", "conflict"),
        ("c", None, "sport"),
        ("d", "2020-01-01", "economy"),
    ]


def test_rerun_with_same_prefix_overwrites_instead_of_adding(tmp_path):
    base = str(tmp_path / "articles")
    for _ in range(2):
        with local_pipeline() as p:
            (
                p
                | beam.Create([make("a", None, "sport")])
                | beam.Map(lambda a: (partition_path(a.published, a.topic), article_row(a)))
                | WriteParquet(base, ARTICLE_FILE_SCHEMA, dataset="articles", prefix="same")
            )
    assert len(list(tmp_path.rglob("*.parquet"))) == 1
    assert not [f for f in tmp_path.rglob(".*")]
