"""A lake that mixes article files of schema version 1 (no published_offset, modified, site_name,
image, fetched_at) and 2.

Readers unify by column name: pyarrow.dataset given the unified schema, DuckDB with
``union_by_name``, pandas through pyarrow with that schema. The recipes are the README's.
"""

import datetime as dt

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from schemas.parquet import ARTICLE_FILE_SCHEMA, SCHEMA_VERSION
from schemas.records import Article, article_row
from transforms.lake.files import rows_to_table, write_table

UTC = dt.timezone.utc
NEW_COLUMNS = ("published_offset", "modified", "site_name", "image", "fetched_at")
# The articles' file schema as version 1 wrote it.
V1_SCHEMA = pa.schema(
    [field for field in ARTICLE_FILE_SCHEMA if field.name not in NEW_COLUMNS],
    metadata={b"newsflow.schema_version": b"1"},
)


def _article(id_: str, **fields) -> Article:
    return Article(
        id=id_,
        source=f"{id_}.html",
        text_source="seed_html",
        ingested_at=dt.datetime(2026, 11, 1, tzinfo=UTC),
        text=f"text of {id_}",
        content_hash=id_,
        run_id="r",
        published=dt.datetime(2017, 9, 5, 10, tzinfo=UTC),
        **fields,
    )


def _mixed_lake(tmp_path):
    folder = tmp_path / "lake" / "articles" / "date=2017-09-05" / "topic=conflict"
    folder.mkdir(parents=True)
    old = {k: v for k, v in article_row(_article("old")).items() if k not in NEW_COLUMNS}
    # The older run's file sorts first, as run ids do: a reader that takes the first file's
    # schema would not see the new columns at all.
    pq.write_table(
        pa.Table.from_pylist([old], schema=V1_SCHEMA), str(folder / "part-20261101T000000Z_aaaaaa-0.parquet")
    )
    fetched = dt.datetime(2026, 11, 30, 8, 15, tzinfo=UTC)
    new = _article("new", site_name="The Gazette", image="https://g.example/i.jpg", fetched_at=fetched)
    write_table(
        str(folder / "part-20261202T000000Z_bbbbbb-0.parquet"),
        rows_to_table([article_row(new)], ARTICLE_FILE_SCHEMA),
    )
    return tmp_path / "lake" / "articles", fetched


def _check(rows: dict, fetched):
    assert rows["old"]["site_name"] is None and rows["old"]["image"] is None
    assert rows["old"]["fetched_at"] is None or pd.isna(rows["old"]["fetched_at"])
    assert rows["new"]["site_name"] == "The Gazette"
    assert rows["new"]["image"] == "https://g.example/i.jpg"
    assert pd.Timestamp(rows["new"]["fetched_at"]) == pd.Timestamp(fetched)
    assert {rows["old"]["date"], rows["new"]["date"]} == {"2017-09-05"}


def _unified_schema(path) -> pa.Schema:
    part = ds.partitioning(pa.schema([("date", pa.string()), ("topic", pa.string())]), flavor="hive")
    files = ds.dataset(str(path), format="parquet", partitioning=part)
    return pa.unify_schemas([f.physical_schema for f in files.get_fragments()] + [part.schema]), part


def test_new_files_carry_version_2():
    assert SCHEMA_VERSION == "2"
    assert ARTICLE_FILE_SCHEMA.metadata[b"newsflow.schema_version"] == b"2"
    assert all(ARTICLE_FILE_SCHEMA.field(name).nullable for name in NEW_COLUMNS)


def test_pyarrow_dataset_reads_both_versions_unified(tmp_path):
    path, fetched = _mixed_lake(tmp_path)
    schema, part = _unified_schema(path)
    table = ds.dataset(str(path), format="parquet", partitioning=part, schema=schema).to_table()
    assert table.num_rows == 2
    assert set(NEW_COLUMNS) <= set(table.column_names)
    _check({row["id"]: row for row in table.to_pylist()}, fetched)


def test_duckdb_union_by_name_reads_both_versions(tmp_path):
    path, fetched = _mixed_lake(tmp_path)
    relation = duckdb.sql(
        f"SELECT * FROM read_parquet('{path}/**/*.parquet', hive_partitioning = true,"
        " hive_types_autocast = false, union_by_name = true)"
    )
    rows = [dict(zip(relation.columns, values, strict=True)) for values in relation.fetchall()]
    assert len(rows) == 2 and set(NEW_COLUMNS) <= set(relation.columns)
    _check({row["id"]: row for row in rows}, fetched)


def test_pandas_reads_both_versions_with_the_unified_schema(tmp_path):
    path, fetched = _mixed_lake(tmp_path)
    schema, _ = _unified_schema(path)
    frame = pd.read_parquet(str(path), schema=schema)
    assert len(frame) == 2 and set(NEW_COLUMNS) <= set(frame.columns)
    rows = {row["id"]: {**row, "date": str(row["date"])} for row in frame.to_dict("records")}
    assert pd.isna(rows["old"]["site_name"]) and pd.isna(rows["old"]["image"])
    rows["old"].update(site_name=None, image=None)
    _check(rows, fetched)


def test_polars_reads_both_versions_with_the_newest_schema(tmp_path):
    import polars as pl

    path, fetched = _mixed_lake(tmp_path)
    frame = pl.scan_parquet(
        f"{path}/**/*.parquet",
        hive_partitioning=True,
        hive_schema={"date": pl.String, "topic": pl.String},
        schema=pl.Schema(pl.from_arrow(ARTICLE_FILE_SCHEMA.empty_table()).schema),
        missing_columns="insert",
    ).collect()
    assert frame.height == 2 and set(NEW_COLUMNS) <= set(frame.columns)
    _check({row["id"]: row for row in frame.to_dicts()}, fetched)
