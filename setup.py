"""newsflow: a streaming ingestion pipeline for ongoing news, on Apache Beam."""

from setuptools import find_packages, setup

# Compatible ranges; deploy/ holds the pinned lock for workers.
INSTALL_REQUIRES = [
    # Beam pins pyarrow<26 and numpy<2.5 itself; pyarrow resolves below that.
    "apache-beam==2.77.0",
    "pyarrow>=14,<26",
    "trafilatura>=2.0,<3",
    "lxml_html_clean>=0.4",
    "htmldate>=1.9,<2",
    "courlan>=1.3,<2",
    "rensa>=0.5,<1",
    "charset-normalizer>=3.3,<4",
    "feedparser>=6.0.11,<7",
    "requests>=2.32,<3",
    "py3langid>=0.4,<0.5",
    "python-dateutil>=2.8,<3",
    "rich>=13,<16",
    # WARC seeds (.warc, .warc.gz: CC-NEWS backfills), read record by record.
    "warcio>=1.7,<2",
]

EXTRAS_REQUIRE = {
    "test": [
        "pytest>=8,<10",
        "pytest-xdist>=3.6,<4",
        "duckdb>=1.1,<3",
        "polars>=1.0,<3",
        "pandas>=2.1,<4",
        "ruff>=0.6",
    ],
    "gcp": ["apache-beam[gcp]==2.77.0"],
    "aws": ["apache-beam[aws]==2.77.0"],
    # Training the shipped models (training/); the package reads the weights with numpy alone.
    "train": ["scikit-learn>=1.5,<2", "scipy>=1.11,<2"],
}

setup(
    name="newsflow",
    version="0.1.0",
    description="Streaming ingestion pipeline for ongoing news, on Apache Beam",
    python_requires=">=3.10",
    packages=find_packages(
        include=["pipeline", "pipeline.*", "transforms", "transforms.*", "schemas", "schemas.*"]
    ),
    package_data={"schemas": ["*.json", "models/*.npz", "models/*.md"]},
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS_REQUIRE,
    entry_points={"console_scripts": ["newsflow = pipeline.cli:command"]},
)
