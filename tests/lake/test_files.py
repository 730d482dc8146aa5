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
