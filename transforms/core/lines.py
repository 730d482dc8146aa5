r"""Features of the lines of one document, shared by the line model's training and its inference.

Consumes the non-blank lines of a document (stripped, in order), with what the cleaner knows
about them (rule hits, the title, the site's line counts); emits, per line, the ids of its
lexical cues (for one sparse dot product) and a row of dense numbers. Sample::

    doc = DocLines.of("Share this:\n\nThe army said on Monday that ...\n\nReddit")
    cues = lexical_cues(doc, vocabulary)      -> Cues(col=[...], row=[0, 0, 1, 1, ...], ...)
    base_features(doc, cues, rules=[...], ...) -> float32 array, shape (3, len(BASE_FEATURES))

Everything is computed for the whole document at once, not line by line in Python:

* one tokenisation pass: the heads of the lines (``HEAD_CHARS``) joined, lower-cased, turned into
  bytes and split by one byte translation; each token becomes an id through the vocabulary
  learnt at training time (one dict lookup per token), and the cues (words, word pairs hashed,
  first and last word, the whole short line hashed) are numpy arithmetic over those ids;
* one character-class pass (one code-point array, one ``bincount``) for the line's shape;
* position, repetition (in the document and across the site) and the rule hits as numpy
  arrays; ``context_features`` adds the second pass: the first pass's scores of the neighbours
  (boilerplate comes in runs at the top and bottom; comment threads are long runs).

The features carry across sites: shape (length, words, punctuation, capitals, digits, links,
handles, e-mail, stop-word share), position, lexical cues, repetition, rule evidence.

The parts live in ``line_text`` (lines, normal form, keys, character classes), ``line_tokens``
(tokens, vocabulary, lexical cues), ``line_features`` (dense features of a batch) and
``line_passes`` (the second pass's context and the binned weights' layout); this module
gathers their public names.
"""

from __future__ import annotations

from transforms.core.line_features import (
    BASE_FEATURES,
    BINARY_FEATURES,
    BYLINE_RE,
    CATEGORICAL_FEATURES,
    NUMERIC_FEATURES,
    RULE_INDEX,
    SHORT_KINDS,
    Batch,
    base_features,
    short_kinds,
)
from transforms.core.line_passes import (
    CONTEXT_CROSSES,
    CONTEXT_FEATURES,
    SECOND_FEATURES,
    Binned,
    Layout,
    body_spans,
    context_features,
    pad_edges,
    quantile_edges,
    rows_of,
)
from transforms.core.line_text import (
    HEAD_CHARS,
    HEAD_TOKENS,
    LONG_CHARS,
    SITE_LINE_MAX_CHARS,
    SITE_LINE_MAX_WORDS,
    DocLines,
    char_classes,
    is_site_candidate,
    key_of,
    line_key,
    normalise,
    normalise_many,
    site_line_candidates,
)
from transforms.core.line_tokens import (
    Cues,
    Tokens,
    Vocabulary,
    head_tokens,
    lexical_cues,
    token_hash,
    tokenize,
)

__all__ = [
    "LONG_CHARS",
    "HEAD_CHARS",
    "HEAD_TOKENS",
    "SITE_LINE_MAX_CHARS",
    "SITE_LINE_MAX_WORDS",
    "DocLines",
    "char_classes",
    "is_site_candidate",
    "key_of",
    "line_key",
    "normalise",
    "normalise_many",
    "site_line_candidates",
    "Cues",
    "Tokens",
    "Vocabulary",
    "head_tokens",
    "lexical_cues",
    "token_hash",
    "tokenize",
    "BASE_FEATURES",
    "BINARY_FEATURES",
    "BYLINE_RE",
    "CATEGORICAL_FEATURES",
    "NUMERIC_FEATURES",
    "RULE_INDEX",
    "SHORT_KINDS",
    "Batch",
    "base_features",
    "short_kinds",
    "CONTEXT_CROSSES",
    "CONTEXT_FEATURES",
    "SECOND_FEATURES",
    "Binned",
    "Layout",
    "body_spans",
    "context_features",
    "pad_edges",
    "quantile_edges",
    "rows_of",
]
