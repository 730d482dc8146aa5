"""The lake's Parquet writer: what reaches Beam's file system, and what reads back."""

import datetime as dt

import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

import transforms.lake.files as files
from schemas.parquet import ARTICLE_FILE_SCHEMA
from schemas.records import Article, article_row
from transforms.lake.files import rows_to_table, write_table

UTC = dt.timezone.utc


class _CountingStream:
    """A stream from ``FileSystems.create`` that records the size of each write."""

    def __init__(self, stream, writes: list[int]) -> None:
        self._stream = stream
        self._writes = writes

    def write(self, data) -> int:
        self._writes.append(len(data))
        return self._stream.write(data)

    def __getattr__(self, name):
        return getattr(self._stream, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._stream.close()


def _table():
    articles = [
        Article(
            id=f"a{n}",
            source=f"a{n}.html",
            text_source="seed_html",
            ingested_at=dt.datetime(2026, 11, 1, tzinfo=UTC),
            text=f"text of a{n}",
            content_hash=f"a{n}",
            run_id="r",
            published=dt.datetime(2017, 9, 5, 10, tzinfo=UTC) if n else None,
            topics=(("conflict", 0.8), ("politics", 0.1)) if n else (),
            categories=("World",) if n else (),
        )
        for n in range(3)
    ]
    return rows_to_table([article_row(a) for a in articles], ARTICLE_FILE_SCHEMA)


def test_small_table_reaches_the_file_system_in_one_write(tmp_path, monkeypatch):
    writes: list[int] = []
    create = FileSystems.create
    monkeypatch.setattr(FileSystems, "create", lambda path: _CountingStream(create(path), writes))
    table = _table()

    write_table(str(tmp_path / "buffered.parquet"), table)
    assert writes == [(tmp_path / "buffered.parquet").stat().st_size]
    # Parquet names a list's items "element": the cast only renames them back.
    assert pq.read_table(tmp_path / "buffered.parquet").cast(table.schema).equals(table, check_metadata=True)

    # Above the threshold the writer streams into the file: many writes, the same bytes.
    monkeypatch.setattr(files, "BUFFERED_TABLE_BYTES", 0)
    writes.clear()
    write_table(str(tmp_path / "streamed.parquet"), table)
    assert len(writes) > 1
    assert (tmp_path / "streamed.parquet").read_bytes() == (tmp_path / "buffered.parquet").read_bytes()


def test_only_columns_whose_values_repeat_are_dictionary_encoded(tmp_path):
    table = _table()
    write_table(str(tmp_path / "a.parquet"), table)
    meta = pq.ParquetFile(tmp_path / "a.parquet").metadata
    chunks = {meta.schema.column(i).path: meta.row_group(0).column(i) for i in range(meta.num_columns)}
    assert chunks["run_id"].has_dictionary_page and chunks["text_source"].has_dictionary_page
    assert not chunks["text"].has_dictionary_page and not chunks["id"].has_dictionary_page
    assert all(chunk.compression == "ZSTD" and chunk.is_stats_set for chunk in chunks.values())


def test_packed_rows_make_the_same_table_as_the_rows_they_come_from():
    # Every timestamp form a row may hold: aware in UTC, aware elsewhere, naive (read as UTC), none.
    times = (
        dt.datetime(2017, 9, 5, 10, 0, 0, 123456, tzinfo=UTC),
        dt.datetime(2017, 9, 5, 12, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        dt.datetime(2017, 9, 5, 10),
        None,
    )
    articles = [
        Article(
            id=f"a{n}",
            source="s.jsonl",
            text_source="seed_jsonl",
            ingested_at=dt.datetime(2026, 11, 1, tzinfo=UTC),
            text="text",
            content_hash=f"h{n}",
            published=when,
            modified=when,
            topics=(("conflict", 0.8),),
        )
        for n, when in enumerate(times)
    ]
    rows = [{**article_row(a), "date": "2017-09-05", "topic": "conflict"} for a in articles]
    packing = files.row_packing(ARTICLE_FILE_SCHEMA)
    packed = [files.pack_row(row, packing) for row in rows]
    assert all(type(value) is not dt.datetime for row in packed for value in row)
    assert len(packed[0]) == len(ARTICLE_FILE_SCHEMA)  # the partition columns are left out
    assert rows_to_table(packed, ARTICLE_FILE_SCHEMA).equals(rows_to_table(rows, ARTICLE_FILE_SCHEMA))


def test_a_state_file_cut_short_is_a_damaged_file_error_naming_it(tmp_path):
    import pyarrow as pa
    import pytest

    segment = tmp_path / "part-x-00000.parquet"
    pq.write_table(pa.table({"key": ["a", "b"]}), segment)
    assert files.read_state_table(str(segment), "site memory segment").num_rows == 2
    segment.write_bytes(segment.read_bytes()[:40])
    with pytest.raises(files.DamagedFileError) as error:
        files.read_state_table(str(segment), "site memory segment")
    assert str(error.value).startswith(f"site memory segment {segment} is damaged (")
    assert str(error.value).endswith("): restore it or move it away")
    record = tmp_path / "run.json"
    record.write_text('{"run_id": ')
    with pytest.raises(files.DamagedFileError, match=f"{record} is damaged"):
        files.read_json(str(record))
