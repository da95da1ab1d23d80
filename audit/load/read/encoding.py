"""Text encodings: decode a CSV file's bytes (BOM, UTF-8, UTF-16 without BOM, or a legacy code
page such as GB18030 or Big5 chosen with charset-normalizer and the contract's headers).

A file mixing encodings line by line (two exports concatenated: UTF-8 lines and GB18030 lines)
is decoded line by line: the lines that are not UTF-8 are decoded in the legacy code page
detected from those lines alone, and each is reported (``mixed-encoding``), so no line is read
in a code page it is not written in, and none silently.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field

from audit.load.headers import HEADER_SEARCH_ROWS, header_score
from audit.load.types import LoadError

SAMPLE_BYTES = 256 * 1024


_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


@dataclass
class DecodedText:
    """A CSV file's text: its encoding, whether bytes were replaced by U+FFFD (``lossy``), and
    the lines read in another encoding than the file's (line number, encoding, line text)."""

    text: str
    encoding: str
    lossy: bool
    mixed: list[tuple[int, str, str]] = field(default_factory=list)


def decode_text(
    name: str, data: bytes, table_name: str, forced: str | None = None
) -> DecodedText:
    """The text of a CSV file; LoadError when it is empty or not text at all."""
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        raise LoadError(f"{name}: the file is empty; export the table again with a header row")
    if forced is not None:
        encoding = codecs.lookup(forced).name
        return DecodedText(*_decode_as(name, data,
                                       "gb18030" if encoding in _GB_FAMILY else encoding))
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(encoding)
                return DecodedText(_textual(name, text), encoding, "\x00" in text)
            except UnicodeDecodeError:
                if encoding == "utf-8-sig":
                    mixed = _decode_mixed(name, data, table_name)
                    if mixed is not None:
                        mixed.encoding = encoding
                        return mixed
                break
    sample = _sample(data)
    encoding = _utf16_without_bom(sample)
    if encoding is None:
        try:
            return DecodedText(_textual(name, data.decode("utf-8")), "utf-8", b"\x00" in data)
        except UnicodeDecodeError:
            mixed = _decode_mixed(name, data, table_name)
            if mixed is not None:
                return mixed
            encoding = _choose_legacy_encoding(sample, table_name)
    if encoding is None:
        raise LoadError(f"{name}: not readable as text (binary content or an unknown encoding); "
                        f"export the table as UTF-8 CSV, Excel (.xlsx) or Parquet")
    return DecodedText(*_decode_as(name, data, encoding))


_UNDECODABLE = re.compile("[\udc80-\udcff]")  # bytes that are not UTF-8, as surrogateescape


def _decode_mixed(name: str, data: bytes, table_name: str) -> DecodedText | None:
    """A file that is not valid UTF-8, decoded line by line when it mixes encodings; None when
    every line is in one legacy code page (the caller decodes the whole file in it).

    The lines holding bytes that are not UTF-8 are legacy lines; lines that are valid UTF-8
    with non-ASCII text may be either. When UTF-8 lines outnumber legacy ones, the file is
    UTF-8 and each legacy line is decoded in the code page detected from the legacy lines
    alone. Otherwise the file is in a legacy code page, and a valid UTF-8 line is taken as
    UTF-8 only when that reading is the more plausibly Chinese one (legacy text is valid UTF-8
    by chance only in short runs of Latin, Greek or Cyrillic letters). Each line read in the
    minority encoding is reported.
    """
    text = data.decode("utf-8", errors="surrogateescape")
    legacy = _lines_with(text, _UNDECODABLE)
    utf8 = [span for a, b in zip([0] + [e + 1 for _, e in legacy],
                                 [s for s, _ in legacy] + [len(text)])
            if not text[a:b].isascii() for span in _non_ascii_lines(text, a, b)]
    if not utf8:
        return None
    if len(utf8) > len(legacy):
        lines = [_raw(text, span) for span in legacy]
        other = _choose_legacy_encoding(_sample(b"\n".join(lines)), table_name)
        if other is None or other.replace("-", "_") in ("utf_8", "ascii"):
            other = "gb18030" if _decodes(b"\n".join(lines), "gb18030") else "cp1252"
        minority, main = legacy, "utf-8"
    else:
        other = _choose_legacy_encoding(_sample(data), table_name) or "gb18030"
        minority = [span for span in utf8 if _utf8_more_plausible(_raw(text, span), other)]
        if not minority:
            return None
        main, other = other, "utf-8"
    # NOTE: the text between minority lines is decoded in the main encoding from its bytes.
    pieces: list[str] = []
    mixed: list[tuple[int, str, str]] = []
    lossy, last, line_no = False, 0, 1
    for start, end in minority:
        line_no += text.count("\n", last, start)
        gap, gap_lossy = _decode_part(_raw(text, (last, start)), main)
        line, line_lossy = _decode_part(_raw(text, (start, end)), other)
        pieces += [gap, line]
        mixed.append((line_no, other, line.rstrip("\r")))
        lossy, last = lossy or gap_lossy or line_lossy, end
    tail, tail_lossy = _decode_part(_raw(text, (last, len(text))), main)
    pieces.append(tail)
    decoded = "".join(pieces)
    return DecodedText(_textual(name, decoded), main, lossy or tail_lossy or "\x00" in decoded,
                       mixed)


def _lines_with(text: str, pattern: re.Pattern) -> list[tuple[int, int]]:
    """(start, end) of each line holding a match; end is the index of its newline."""
    spans: list[tuple[int, int]] = []
    pos = 0
    while (hit := pattern.search(text, pos)) is not None:
        start = text.rfind("\n", 0, hit.start()) + 1
        end = text.find("\n", hit.end())
        end = len(text) if end < 0 else end
        spans.append((start, end))
        pos = end + 1
    return spans


def _non_ascii_lines(text: str, a: int, b: int) -> list[tuple[int, int]]:
    spans = []
    for line in text[a:b].split("\n"):
        if not line.isascii():
            spans.append((a, a + len(line)))
        a += len(line) + 1
    return spans


def _raw(text: str, span: tuple[int, int]) -> bytes:
    """The original bytes of a stretch of the surrogate-escaped text."""
    return text[span[0]:span[1]].encode("utf-8", errors="surrogateescape")


def _decode_part(raw: bytes, encoding: str) -> tuple[str, bool]:
    try:
        return raw.decode(encoding), False
    except UnicodeDecodeError:
        return raw.decode(encoding, errors="replace"), True


def _utf8_more_plausible(raw: bytes, legacy: str) -> bool:
    as_utf8 = raw.decode("utf-8")
    try:
        as_legacy = raw.decode(legacy)
    except (UnicodeDecodeError, LookupError):
        return True
    return _common_chinese_share(as_utf8) > _common_chinese_share(as_legacy)


def _decode_as(name: str, data: bytes, encoding: str) -> tuple[str, str, bool]:
    """Decode with a known encoding; a few bad bytes become U+FFFD (their cells are reported)."""
    try:
        text = data.decode(encoding)
        return _textual(name, text), encoding, "\x00" in text
    except UnicodeDecodeError:
        text = data.decode(encoding, errors="replace")
        if text.count("\ufffd") > max(10, len(text) // 100):
            raise LoadError(f"{name}: the file is not valid {encoding} text; save it as UTF-8 CSV "
                            f"or set its encoding in a mapping file given with --mapping") from None
        return _textual(name, text), encoding, True
    except LookupError:
        raise LoadError(f"{name}: unsupported text encoding {encoding}; save the file as UTF-8 "
                        f"CSV") from None


def _utf16_without_bom(sample: bytes) -> str | None:
    """UTF-16/32 text without a byte-order mark is full of NUL bytes; let the detector say."""
    if sample.count(b"\x00") < len(sample) // 8:
        return None
    encoding = _detect_encoding(sample)
    if encoding and encoding.replace("-", "_").startswith(("utf_16", "utf_32")):
        return encoding
    return None


def _sample(data: bytes) -> bytes:
    if len(data) <= SAMPLE_BYTES:
        return data
    cut = data.rfind(b"\n", 0, SAMPLE_BYTES)
    return data[: cut + 1] if cut > 0 else data[:SAMPLE_BYTES]


# NOTE: when the detector finds several code pages plausible, the one exports commonly use wins.
_PREFERRED_ENCODINGS = ("gb18030", "cp1252", "big5", "shift_jis", "euc_kr", "cp1251", "latin_1")
_GB_FAMILY = {"gb2312", "gbk", "gb18030", "hz"}
COMMON_CHINESE_SHARE = 0.8


def _detect_encoding(sample: bytes) -> str | None:
    """charset-normalizer's guess, moved to a common sibling code page it also found plausible."""
    from charset_normalizer import from_bytes

    results = list(from_bytes(sample))
    if not results:
        return None
    # NOTE: only the guesses as clean as the best one count: cn ranks ties by language hints
    # that mislead on short samples (French text as mac_latin2).
    tied = [m for m in results if m.chaos <= results[0].chaos + 0.01]
    plausible = {e.lower().replace("-", "_") for m in tied for e in m.could_be_from_charset}
    plausible |= {m.encoding.lower() for m in tied}
    if plausible & _GB_FAMILY:
        return "gb18030"
    for preferred in _PREFERRED_ENCODINGS:
        if preferred in plausible:
            return preferred
    return results[0].encoding


def _decodes(sample: bytes, encoding: str) -> bool:
    try:
        sample.decode(encoding)
        return True
    except (UnicodeDecodeError, LookupError):
        return False


def _common_chinese_share(text: str) -> float:
    """Share of the non-ASCII characters that are common Chinese: GB2312 level-1 or punctuation.

    Level 1 (3,755 characters) covers nearly all real Chinese text; other scripts decoded as
    GB18030 land mostly on rare characters.
    """
    wide = [ch for ch in text if ord(ch) > 0x7F][:20_000]
    if not wide:
        return 0.0
    common = 0
    for ch in wide:
        try:
            lead = ch.encode("gb2312")[0]
        except UnicodeEncodeError:
            continue
        common += 0xB0 <= lead <= 0xD7 or 0xA1 <= lead <= 0xA3
    return common / len(wide)


def _choose_legacy_encoding(sample: bytes, table_name: str) -> str | None:
    """Encoding of a non-UTF-8 file: GB18030 for Chinese text, else the detector's guess.

    GB18030 (a superset of GBK and GB2312) decodes many byte strings; it is chosen when the result
    is mostly common simplified Chinese, or when its headers match the contract better. Big5,
    Shift-JIS or Latin text decoded that way is mostly rare characters, so it keeps its own code.
    """
    guess = _detect_encoding(sample)
    if not _decodes(sample, "gb18030"):
        return guess
    if _common_chinese_share(sample.decode("gb18030")) >= COMMON_CHINESE_SHARE or guess is None:
        return "gb18030"
    if _sample_header_score(sample, "gb18030", table_name) > _sample_header_score(
        sample, guess, table_name
    ):
        return "gb18030"
    return guess


def _sample_header_score(sample: bytes, encoding: str, table_name: str) -> int:
    try:
        lines = sample.decode(encoding, errors="replace").splitlines()[:HEADER_SEARCH_ROWS]
    except LookupError:
        return -1
    return max(
        (header_score(re.split(r"[,;\t|]", line), table_name, {}) for line in lines), default=0
    )


def _textual(name: str, text: str) -> str:
    """The text with stray NULs marked undecodable; LoadError when it is really binary data."""
    sample = text[:SAMPLE_BYTES]
    controls = sum(1 for ch in sample if ch < " " and ch not in "\t\r\n")
    if controls > max(2, len(sample) // 100):
        raise LoadError(f"{name}: binary content, not a text CSV file; export the table as CSV, "
                        f"Excel (.xlsx) or Parquet")
    return text.replace("\x00", "\ufffd") if "\x00" in text else text
