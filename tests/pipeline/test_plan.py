"""How a local run splits its seeds into batches: by the memory their records will hold."""

from __future__ import annotations

from pipeline.options import NewsflowOptions
from pipeline.plan import seed_batches

MB = 1024 * 1024


def _batches(seeds, max_batch_mb: float = 1.0) -> int:
    nf = NewsflowOptions([f"--seeds={seeds}", "--output=lake", f"--max_batch_mb={max_batch_mb}"])
    return seed_batches(nf, "FnApiRunner")


def test_saved_pages_count_at_a_share_of_their_size_and_text_at_its_whole_size(tmp_path):
    # 3 MB of saved pages hold little after extraction: one batch of 1 MB. The same bytes of
    # JSONL text are held whole: three batches.
    pages, text = tmp_path / "pages", tmp_path / "text"
    pages.mkdir()
    text.mkdir()
    for i in range(3):
        (pages / f"p{i}.html").write_bytes(b"<p>page</p>".ljust(MB, b" "))
        (text / f"t{i}.jsonl").write_bytes(b'{"text": "x"}\n'.ljust(MB, b" "))
    assert _batches(pages) == 1
    assert _batches(text) == 3
    assert _batches(pages, max_batch_mb=0) == 1  # 0: one run whatever the size
