"""The per-site line tables of a corpus, in memory (what CleanArticles counts with Beam)."""

from transforms.core.sites import document_keys, site_tables

FOOTER = "Gazette Daily: your trusted source since 1889"


def test_site_tables_count_documents_per_short_line_of_each_site():
    docs = [
        ("gazette.test", f"{FOOTER}\nThe council voted on Monday to close the old bridge for repairs."),
        ("gazette.test", f"{FOOTER}\nThe mayor said on Tuesday the bridge would reopen in spring."),
        ("other.test", f"{FOOTER}\nA different site with the same line."),
        (None, f"{FOOTER}\nNo site: left out."),
    ]
    tables = site_tables(docs)
    assert set(tables) == {"gazette.test", "other.test"}
    (footer_key,) = document_keys(FOOTER)
    assert tables["gazette.test"].docs == 2 and tables["gazette.test"].counts[footer_key] == 2
    assert tables["other.test"].docs == 1 and tables["other.test"].counts[footer_key] == 1
