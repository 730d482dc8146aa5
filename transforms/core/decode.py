"""Bytes to text, one way for every input: seed files, JSONL lines, fetched pages.

UTF-8 (with or without BOM) first, UTF-16/32 by their BOM, else the charset a detector
finds, with Windows-1252 preferred among close candidates: on a line or two of text the
detector often picks a rarer code page, and cp1252 is the most common legacy charset of
Western web text. Empty and binary inputs raise ``InputError``.

    decode_bytes("Café".encode("cp1252")) -> "Café"
"""

from __future__ import annotations

from charset_normalizer import from_bytes

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
