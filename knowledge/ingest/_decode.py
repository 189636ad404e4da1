"""Turn a file's bytes into text: UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030/GBK.

Detection is deliberately narrow. UTF-8 is tried first because it almost never decodes text written in another
encoding; GB18030 is accepted only when it decodes cleanly *and* the result looks like text, because a lenient
multi-byte codec will happily turn many binary or Latin-1 files into nonsense.
"""

from __future__ import annotations

import codecs
import re

from kubeai.errors import IngestError

__all__ = ["decode_bytes", "looks_binary"]

_SNIFF_BYTES = 8192
_MIN_TEXT_RATIO = 0.95

# Code point ranges a GB18030/GBK document is made of: CJK ideographs and punctuation, full-width forms, Latin
# with pinyin tones, Greek, Cyrillic, kana, and the symbol blocks GB2312 carries (arrows, ①, box drawing, ■●).
_TEXT_RANGES: tuple[tuple[int, int], ...] = (
    (0x00A0, 0x024F),
    (0x02C6, 0x02DD),
    (0x0370, 0x04FF),
    (0x2000, 0x206F),
    (0x2100, 0x22FF),
    (0x2460, 0x24FF),
    (0x2500, 0x25FF),
    (0x2600, 0x26FF),
    (0x3000, 0x30FF),
    (0x3100, 0x312F),
    (0x3200, 0x33FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xE000, 0xF8FF),  # GBK user-defined area: rare but legitimate in GBK files
    (0xF900, 0xFAFF),
    (0xFE30, 0xFE4F),
    (0xFF00, 0xFFEF),
)


def looks_binary(data: bytes) -> bool:
    """Whether bytes look like a binary file: a NUL byte near the start, outside a UTF-16 text file."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    return b"\x00" in data[:_SNIFF_BYTES]


def decode_bytes(data: bytes, *, path: str) -> str:
    r"""Decode a text file's bytes.

    Args:
        data: The whole file.
        path: The file's path, used in error messages only.

    Returns:
        The text, without a byte-order mark, with ``\r\n`` and ``\r`` line ends turned into ``\n``.

    Raises:
        IngestError: The file is empty, binary, or not text in UTF-8 or GB18030.
    """
    if not data:
        raise IngestError(f"{path} is empty; add content or remove the file.", path=path)
    if looks_binary(data):
        raise IngestError(f"{path} is a binary file, not a text document; remove it from the folder.", path=path)
    text = _decode(data, path=path)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _decode(data: bytes, *, path: str) -> str:
    if data.startswith(codecs.BOM_UTF8):
        return _strict(data, "utf-8-sig", path=path)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = _strict(data, "utf-16", path=path)
        if _looks_like_text(text):
            return text
        raise _unknown_encoding(path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        text = ""
    if _looks_like_text(text):
        return text
    raise _unknown_encoding(path)


def _unknown_encoding(path: str) -> IngestError:
    return IngestError(f"{path} is not text in a known encoding (tried UTF-8, GB18030).", path=path)


def _strict(data: bytes, encoding: str, *, path: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        raise IngestError(
            f"{path} starts with a {encoding.upper()} byte-order mark but is not valid {encoding.upper()}; "
            "re-save it in UTF-8.",
            path=path,
        ) from None


_CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WEDGED_CJK = re.compile("(?<=[A-Za-z])[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff](?=[A-Za-z])")
_MAX_WEDGED_RATIO = 0.2
_NOT_TEXT = re.compile("[^\t\n\r\f\x20-\x7e" + "".join(f"\\u{lo:04x}-\\u{hi:04x}" for lo, hi in _TEXT_RANGES) + "]")


def _looks_like_text(text: str) -> bool:
    """Whether GB18030-decoded text is plausible: almost only text characters, CJK not wedged inside words.

    Latin-1 or CP1252 bytes often decode as GB18030 too, each accented letter and the ASCII letter after it
    becoming one ideograph wedged between Latin letters (``naïve`` -> ``na梫e``); real Chinese text seldom
    does that.
    """
    if not text:
        return False
    odd = len(_NOT_TEXT.findall(text))
    if 1 - odd / len(text) < _MIN_TEXT_RATIO:
        return False
    cjk = len(_CJK.findall(text))
    return cjk == 0 or len(_WEDGED_CJK.findall(text)) / cjk <= _MAX_WEDGED_RATIO
