"""Chunkers: sentence splitting for Chinese and English, and packing sentences into sized, overlapping chunks.

Sizes are in characters, not words, because Chinese has no spaces. A chunk never crosses a heading (each
:class:`~knowledge.ingest.Section` is chunked alone) and never splits a sentence unless that sentence alone is
longer than the chunk size. Every function here is pure.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from knowledge.ingest._document import Document
from kubeai.errors import ConfigError

__all__ = ["Chunk", "ChunkingConfig", "chunk_document", "pack_sentences", "split_long", "split_sentences"]

_CLOSERS = "”’」』）》)\\]\"'»"
_BOUNDARY = re.compile(
    rf"(?P<cjk>[。！？；…]+[{_CLOSERS}]*[ \t\u3000]*\n*)"
    rf"|(?P<latin>[.!?]+[{_CLOSERS}]*(?:[ \t]+\n*|\n+|$))"
    r"|(?P<newline>\n+)"
)
# Words after which a full stop and a space do not end a sentence.
_ABBREVIATIONS = frozenset(("e.g", "i.e", "vs", "mr", "mrs", "ms", "dr", "prof", "no", "fig", "approx", "cf", "st"))
_CLAUSE = re.compile(r"[，,、：:；;）)]\s*|\s+")
_ASCII_WORD = re.compile(r"[A-Za-z0-9.]")
_MAX_WORD = 32


@dataclass(frozen=True, kw_only=True)
class ChunkingConfig:
    """How documents are cut into chunks.

    Attributes:
        size: The most characters of body text in one chunk.
        overlap: The most characters of whole trailing sentences a chunk repeats from the one before it, so a
            fact that straddles a boundary is found from either side. ``0`` disables overlap.
    """

    size: int = 600
    overlap: int = 100

    def __post_init__(self) -> None:
        if self.size < 40:
            raise ConfigError(f"Chunk size must be at least 40 characters (got {self.size}).", field="size")
        if not 0 <= self.overlap <= self.size // 2:
            raise ConfigError(
                f"Chunk overlap must be between 0 and half the chunk size, {self.size // 2} (got {self.overlap}).",
                field="overlap",
            )

    @property
    def signature(self) -> str:
        """A short string that changes whenever re-chunking would give different chunks."""
        return f"v1:{self.size}:{self.overlap}"


@dataclass(frozen=True, kw_only=True)
class Chunk:
    """One piece of a document.

    Attributes:
        text: The body text, at most ``ChunkingConfig.size`` characters.
        headings: The heading path the text sits under, outermost first.
        page: The 1-based PDF page, or ``None``.
        index: The chunk's 0-based position in its document.
    """

    text: str
    headings: tuple[str, ...]
    page: int | None
    index: int


def split_sentences(text: str) -> list[str]:
    """Split text into sentences, losslessly: ``"".join(split_sentences(t)) == t``.

    A sentence ends after ``。！？；…`` (with any closing quotes or brackets), after ``.``, ``!`` or ``?``
    followed by whitespace or the end of the text, and at every line break (so list items and table rows are
    units). A full stop inside a number (``3.14``), after a common abbreviation (``e.g.``) or after an ordered
    list marker (``1.``) does not end a sentence.

    Args:
        text: Any text.

    Returns:
        The sentences, each keeping its trailing whitespace; empty for empty text.
    """
    pieces: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        if match.group("latin") is not None and _false_stop(text, match.start()):
            continue
        if match.end() > start:
            pieces.append(text[start : match.end()])
            start = match.end()
    if start < len(text):
        pieces.append(text[start:])
    merged: list[str] = []
    for piece in pieces:
        if merged and not piece.strip():
            merged[-1] += piece
        else:
            merged.append(piece)
    return merged


def _false_stop(text: str, dot: int) -> bool:
    """Whether the full stop at ``dot`` ends a list marker or an abbreviation rather than a sentence.

    Looks back only as far as the word before the dot (at most ``_MAX_WORD`` characters) and the blanks before
    it, never to the start of the line: searching back through a long line for every dot made chunking
    quadratic (a 20 MB text file took minutes).
    """
    if text[dot] != ".":
        return False
    word_start = dot
    while word_start > 0 and text[word_start - 1] not in " \t\n":
        word_start -= 1
        if dot - word_start > _MAX_WORD:
            return False  # longer than any abbreviation or list number
    word = text[word_start:dot]
    if word.isdigit():
        blank = word_start - 1
        while blank >= 0 and text[blank] != "\n" and text[blank].isspace():
            blank -= 1
        if blank < 0 or text[blank] == "\n":
            return True  # "1. " at the start of a line is a list marker
    return word.lower().lstrip("([\"'") in _ABBREVIATIONS


def split_long(sentence: str, size: int) -> list[str]:
    """Cut one over-long sentence into pieces of at most ``size`` characters.

    Cuts fall, in order of preference, after a clause mark (``，、：；`` and ASCII ``,:;``) or whitespace
    in the second half of the window, else at exactly ``size`` characters but never between two ASCII
    letters or digits (so ``3.14`` or a word is not cut) when that can be avoided.

    Args:
        sentence: The sentence.
        size: The most characters per piece.

    Returns:
        Stripped, non-empty pieces whose concatenation, ignoring whitespace at the cuts, is the sentence.
    """
    pieces: list[str] = []
    rest = sentence.strip()
    while len(rest) > size:
        cut = 0
        for match in _CLAUSE.finditer(rest, size // 2, size + 1):
            if match.end() <= size:
                cut = match.end()
        if cut == 0:
            cut = _hard_cut(rest, size)
        piece = rest[:cut].strip()
        if piece:
            pieces.append(piece)
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def _hard_cut(text: str, size: int) -> int:
    """Where to cut ``text`` at or before ``size`` without splitting an ASCII word or number, if possible."""
    cut = size
    while cut > size // 2 and _ASCII_WORD.match(text[cut - 1]) and _ASCII_WORD.match(text[cut]):
        cut -= 1
    return size if cut == size // 2 else cut


def pack_sentences(sentences: Sequence[str], *, size: int, overlap: int) -> list[str]:
    """Greedily pack whole sentences into chunks of at most ``size`` characters.

    Each chunk after the first starts with the longest run of the previous chunk's trailing sentences
    that fits in ``overlap`` characters (whole sentences only), then continues with new sentences. A
    sentence longer than ``size`` is first cut with :func:`split_long`.

    Args:
        sentences: Sentences as :func:`split_sentences` returns them.
        size: The most characters per chunk (after stripping its ends).
        overlap: The most characters repeated from the previous chunk.

    Returns:
        The chunks' texts, stripped and non-empty.
    """
    units: list[str] = []
    for sentence in sentences:
        if len(sentence.strip()) > size:
            units.extend(piece + " " for piece in split_long(sentence, size))
        elif sentence.strip():
            units.append(sentence)
    chunks: list[str] = []
    current: list[str] = []
    fresh = False  # whether `current` holds a sentence not yet emitted
    for unit in units:
        if current and len(("".join(current) + unit).strip()) > size:
            if fresh:
                chunks.append("".join(current).strip())
            current = _tail(current, overlap)
            while current and len(("".join(current) + unit).strip()) > size:
                current.pop(0)
        current.append(unit)
        fresh = True
    if current and fresh:
        chunks.append("".join(current).strip())
    return chunks


def _tail(sentences: list[str], overlap: int) -> list[str]:
    tail: list[str] = []
    for sentence in reversed(sentences):
        if len(("".join([sentence, *tail])).strip()) > overlap:
            break
        tail.insert(0, sentence)
    return tail if len(tail) < len(sentences) else tail[1:]


def chunk_document(document: Document, config: ChunkingConfig) -> list[Chunk]:
    """Chunk every section of a document; chunks are numbered across the whole document.

    Args:
        document: A loaded document.
        config: Chunk size and overlap.

    Returns:
        The chunks in reading order.
    """
    chunks: list[Chunk] = []
    for section in document.sections:
        for text in pack_sentences(split_sentences(section.text), size=config.size, overlap=config.overlap):
            chunks.append(Chunk(text=text, headings=section.headings, page=section.page, index=len(chunks)))
    return chunks
