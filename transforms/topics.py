"""Topics of articles: the taxonomy, the trained classifier and the category table, loaded.

The pure parts live in ``transforms/core``: the lexicon and the category table in ``topics``,
the trained model in ``topic_model``, the features both training and inference read in
``topic_features``. This module reads the files (the packaged ones through importlib, a user's
through Beam FileSystems so that ``gs://`` and ``s3://`` work on workers) and hands
``EnrichArticles`` a ``TopicClassifier``:

* the packaged taxonomy (``schemas/taxonomy.json``) names its model (``schemas/models/topics.npz``):
  ``load_topic_classifier()`` gives the trained classifier with the lexicon as its prior;
* a user's ``--taxonomy FILE`` gives the lexicon alone, or, when the file has a ``"model"`` field
  (a path relative to the file, or absolute), that model trained on the user's items by
  ``training/train_topics.py``.

Sample: ``load_topic_classifier().classify("Rail workers vote to strike over pay", "The union
rejected the pay offer and will walk out.", language="en")`` gives ``TopicResult("economy",
0.7724, (("economy", 0.7724), ("labour", 0.0812)))``: the story's domain first, the event second.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import posixpath

from transforms.core.topic_model import ModelClassifier, TopicModel
from transforms.core.topics import (
    CategoryTable,
    LexiconClassifier,
    Taxonomy,
    TopicClassifier,
    TopicResult,
    assign_topic,
    packaged_category_table,
    packaged_taxonomy,
    parse_taxonomy,
    tokenize,
    topic_evidence,
)

__all__ = [
    "Taxonomy",
    "TopicClassifier",
    "TopicResult",
    "assign_topic",
    "load_taxonomy",
    "load_topic_classifier",
    "tokenize",
    "topic_classifier",
    "topic_evidence",
]

# Where the packaged taxonomy's relative model path is resolved: the schemas package.
_PACKAGE = "schemas"
_PACKAGE_PREFIX = "package:"


def _read(path: str, what: str) -> bytes:
    # Through Beam FileSystems: workers read gs:// and s3:// files as well as local ones.
    from apache_beam.io.filesystems import FileSystems

    try:
        with FileSystems.open(path) as handle:
            return handle.read()
    except OSError as exc:
        raise ValueError(f"invalid {what} {path}: cannot be read ({exc})") from exc


def _resolve_model(taxonomy: Taxonomy, taxonomy_path: str | None) -> Taxonomy:
    """The taxonomy with its model path made absolute (or package-relative)."""
    model = taxonomy.model
    if not model or model.startswith(_PACKAGE_PREFIX):
        return taxonomy
    if taxonomy_path is None:
        resolved = _PACKAGE_PREFIX + model
    elif "://" in model or posixpath.isabs(model):
        resolved = model
    else:
        # Relative to the taxonomy file's folder, whatever the filesystem.
        folder = taxonomy_path.rsplit("/", 1)[0] if "/" in taxonomy_path else "."
        resolved = f"{folder}/{model}"
    return Taxonomy(topics=taxonomy.topics, fallback=taxonomy.fallback, name=taxonomy.name, model=resolved)


@functools.lru_cache(maxsize=1)
def _packaged() -> Taxonomy:
    return _resolve_model(packaged_taxonomy(), None)


def load_taxonomy(path: str | None = None) -> Taxonomy:
    """The taxonomy in the JSON file at ``path``, or the packaged one when ``path`` is None."""
    if path is None:
        return _packaged()
    raw = _read(path, "taxonomy")
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"invalid taxonomy {path}: not valid JSON ({exc})") from exc
    return _resolve_model(parse_taxonomy(document, path), path)


def load_topic_model(path: str) -> TopicModel:
    """A weights file written by ``training/train_topics.py``; ``package:`` paths are in schemas/."""
    if path.startswith(_PACKAGE_PREFIX):
        resource = importlib.resources.files(_PACKAGE).joinpath(path[len(_PACKAGE_PREFIX) :])
        try:
            data = resource.read_bytes()
        except OSError as exc:
            raise ValueError(f"invalid topic model {path}: cannot be read ({exc})") from exc
    else:
        data = _read(path, "topic model")
    return TopicModel.from_bytes(data, path)


@functools.lru_cache(maxsize=4)
def topic_classifier(
    taxonomy: Taxonomy | None = None, categories: CategoryTable | None = None
) -> TopicClassifier:
    """The classifier for a taxonomy: its model with the lexicon, or the lexicon alone.

    Cached per taxonomy, so code that holds only a ``Taxonomy`` (the CLI's ``extract``) builds the
    classifier once per process.
    """
    taxonomy = taxonomy or _packaged()
    categories = categories or packaged_category_table()
    if not taxonomy.model:
        return LexiconClassifier(taxonomy, categories)
    return ModelClassifier.from_model(taxonomy, load_topic_model(taxonomy.model), categories)


def load_topic_classifier(taxonomy_path: str | None = None) -> TopicClassifier:
    """The classifier ``EnrichArticles`` loads in ``setup()``: see the module docstring."""
    return topic_classifier(load_taxonomy(taxonomy_path))
