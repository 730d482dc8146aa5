"""How fast WARC seeds are read, beside the same pages read as .html.gz seeds and extracted.

    python benchmarks/warc_read.py [--copies 25]

Writes the 80 pages of tests/resources/html_dev (``--copies`` times each) into one
``.warc.gz`` with warcio, then times, per page (CPU, best of 3 passes): reading the WARC
record by record (``transforms.core.warc.read_warc``), reading the same pages as gzipped
HTML seed files (``parse_seed_file``, the HTML path's reader) and, for scale, extracting
one page with trafilatura (``extract_article``), which dominates either path.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import io
import pathlib
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from warcio.statusandheaders import StatusAndHeaders  # noqa: E402
from warcio.warcwriter import WARCWriter  # noqa: E402

from schemas.records import Article  # noqa: E402
from transforms.core.extract import extract_article  # noqa: E402
from transforms.core.seeds import parse_seed_file  # noqa: E402
from transforms.core.warc import read_warc  # noqa: E402

NOW = dt.datetime.now(dt.timezone.utc)


def best(fn, passes: int = 3) -> float:
    times = []
    for _ in range(passes):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=25)
    args = parser.parse_args()
    pages = sorted((ROOT / "tests" / "resources" / "html_dev").glob("*.html.gz"))
    bodies = [(p.name, gzip.decompress(p.read_bytes())) for p in pages]
    with tempfile.TemporaryDirectory() as tmp:
        warc = pathlib.Path(tmp) / "pages.warc.gz"
        with open(warc, "wb") as out:
            writer = WARCWriter(out, gzip=True)
            for copy in range(args.copies):
                for name, body in bodies:
                    http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
                    writer.write_record(
                        writer.create_warc_record(
                            f"https://example.org/{copy}/{name}",
                            "response",
                            payload=io.BytesIO(body),
                            length=len(body),
                            http_headers=http,
                        )
                    )
        count = args.copies * len(bodies)
        gzipped = [(name, gzip.compress(body)) for name, body in bodies] * args.copies

        def read_all_warc() -> None:
            with open(warc, "rb") as stream:
                found = sum(isinstance(r, Article) for r in read_warc(str(warc), stream, NOW))
            assert found == count, found

        def read_all_html() -> None:
            for name, data in gzipped:
                list(parse_seed_file(name, data, NOW))

        warc_s, html_s = best(read_all_warc), best(read_all_html)
        sample = bodies[: min(20, len(bodies))]
        extract_s = best(lambda: [extract_article(body, "https://example.org/a") for _, body in sample], 1)
        mb, html_mb = warc.stat().st_size / 1e6, sum(len(b) for _, b in bodies) * args.copies / 1e6
        print(f"{count} pages, {mb:.1f} MB .warc.gz, {html_mb:.0f} MB HTML")
        print(f"  read as WARC (warcio, record by record)   {1000 * warc_s / count:7.3f} ms/page")
        print(f"  read as .html.gz seed files (baseline)    {1000 * html_s / count:7.3f} ms/page")
        print(f"  extract one page (trafilatura, for scale) {1000 * extract_s / len(sample):7.3f} ms/page")


if __name__ == "__main__":
    main()
