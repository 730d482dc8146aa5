"""Bytes to text, one way for every input: seed files, JSONL lines, fetched pages.

UTF-8 (with or without BOM) first, UTF-16/32 by their BOM, else the charset a detector
finds, with Windows-1252 preferred among close candidates: on a line or two of text the
detector often picks a rarer code page, and cp1252 is the most common legacy charset of
Western web text. Empty and binary inputs raise ``InputError``. A page (``decode_html``) also
reads its declared charset, as browsers do, after valid UTF-8.

    decode_bytes("Café".encode("cp1252")) -> "Café"
"""

from __future__ import annotations

import codecs
import logging
import re

from charset_normalizer import from_bytes

_LOGGER = logging.getLogger(__name__)

# A decoded text with more than this share of control characters is binary, not text.
_MAX_CONTROL_SHARE = 0.01
_CONTROL = {chr(c) for c in range(32)} - {"\n", "\r", "\t", "\f"}
UNICODE_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
PREFERRED_LEGACY = "cp1252"
# How much more "chaos" (charset_normalizer's mess measure) the preferred charset may show.
_PREFERENCE_MARGIN = 0.1


class InputError(ValueError):
    """An input that cannot become an article; ``reason`` is its reject reason."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def detect_charset(data: bytes) -> str | None:
    """The charset of bytes that are not UTF-8: charset_normalizer's guess, cp1252 preferred
    when it is a close candidate."""
    matches = list(from_bytes(data[:1_000_000]))
    if not matches:
        return None
    best = min(match.chaos for match in matches)
    for match in matches:
        if match.encoding == PREFERRED_LEGACY and match.chaos <= best + _PREFERENCE_MARGIN:
            return PREFERRED_LEGACY
    return matches[0].encoding


def decode_text(raw: bytes, declared: str | None = None) -> str:
    """Text of bytes that may not be UTF-8 (a line, a page): the ``declared`` charset when it
    fits, else UTF-8, else the detected charset, never an error."""
    for encoding in (declared, "utf-8"):
        if encoding:
            try:
                return raw.decode(encoding)
            except (LookupError, UnicodeDecodeError):
                pass
    return raw.decode(detect_charset(raw) or "utf-8", errors="replace")


def decode_bytes(data: bytes) -> str:
    """Decode a whole document: UTF-8 (with or without BOM) first, then charset detection.

    Raises ``InputError`` for empty and binary inputs.
    """
    if not data.strip():
        raise InputError("empty", "no content")
    for bom, encoding in UNICODE_BOMS:
        # UTF-16/32 text is full of NUL bytes: decode it before the binary check.
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding)
            except UnicodeDecodeError as error:
                raise InputError("binary", f"not valid {encoding}: {error}") from None
    if b"\x00" in data[:8192]:
        raise InputError("binary", "NUL bytes in content")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        encoding = detect_charset(data)
        if encoding is None:
            raise InputError("binary", "no text encoding fits") from None
        text = data.decode(encoding, errors="replace")
    sample = text[:20000]
    controls = sum(1 for ch in sample if ch in _CONTROL)
    if controls > _MAX_CONTROL_SHARE * len(sample):
        raise InputError("binary", f"{controls} control characters in the first {len(sample)}")
    return text


# Up to one undecodable byte per this many is a UTF-8 page with stray bytes, not another charset.
STRAY_BYTES_PER = 10_000
_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_:.-]+)""", re.IGNORECASE)
_XML_ENCODING_RE = re.compile(rb"""^<\?xml[^>]+encoding\s*=\s*["']([a-zA-Z0-9_.-]+)""")
# Labels browsers decode as a superset (WHATWG Encoding Standard): latin-1 pages routinely hold
# cp1252 quotes, gb2312 pages gbk characters.
_ENCODING_SUPERSETS = {
    "iso-8859-1": "cp1252",
    "latin-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "iso-8859-9": "cp1254",
    "tis-620": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "shift_jis": "cp932",
    "x-sjis": "cp932",
}


def decode_html(raw: bytes) -> str:
    """Decode page bytes: BOM, valid UTF-8, the declared charset, near-UTF-8, then a detector's guess.

    UTF-8 is tried before the declaration because pages served as UTF-8 that still declare
    latin-1 are common, while non-UTF-8 text that happens to be valid UTF-8 is vanishingly rare.
    """
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if raw.startswith(bom):
            return raw[len(bom) :].decode(encoding, errors="replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start >= len(raw) - 3:
            # A download cut inside a multi-byte character: everything before it is UTF-8.
            return raw[: err.start].decode("utf-8")
    declared = _declared_charset(raw[:4096])
    if declared and codecs.lookup(declared).name != "utf-8":
        try:
            return raw.decode(declared)
        except UnicodeDecodeError:
            _LOGGER.debug("declared charset %s does not decode the page", declared)
    text = raw.decode("utf-8", errors="replace")
    if text.count("\ufffd") <= max(3, len(raw) // STRAY_BYTES_PER):
        return text  # UTF-8 with a few stray bytes (a pasted cp1252 quote): mojibake elsewhere is worse
    # The detector is slow on whole pages: a head and a tail sample see both markup and text.
    sample = raw if len(raw) < 20_000 else raw[:10_000] + raw[-10_000:]
    guess = detect_charset(sample)
    if guess:
        try:
            return raw.decode(guess)
        except (LookupError, UnicodeDecodeError):
            _LOGGER.debug("guessed charset %s does not decode the page", guess)
    return text


def _declared_charset(head: bytes) -> str | None:
    match = _XML_ENCODING_RE.search(head) or _CHARSET_RE.search(head)
    if not match:
        return None
    label = match.group(1).decode("ascii", errors="ignore").strip().lower()
    label = _ENCODING_SUPERSETS.get(label, label)
    try:
        # UTF-16 declared inside bytes that carried no BOM is a lie: the markup itself is ASCII.
        return None if codecs.lookup(label).name.startswith("utf-16") else label
    except LookupError:
        return None
