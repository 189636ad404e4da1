"""Loaders: Markdown, plain text, HTML and PDF files into :class:`Document` objects.

Each ``parse_*`` function is pure (text or bytes in, title and sections out) so it can be tested alone;
:func:`load_document` reads a file, hashes it, picks the parser by suffix and turns every failure into an
:class:`~kubeai.errors.IngestError` naming the file.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from knowledge.ingest._decode import decode_bytes
from knowledge.ingest._document import Document, DocumentFormat, Section
from kubeai.errors import IngestError

if TYPE_CHECKING:
    from bs4.element import Tag

__all__ = [
    "SUFFIXES",
    "ParsedDocument",
    "load_document",
    "parse_html",
    "parse_markdown",
    "parse_pdf",
    "parse_text",
    "read_file",
]

ParsedDocument = tuple[str | None, tuple[Section, ...]]
"""A parser's result: the title it found (``None``: use the file name) and the sections."""

SUFFIXES: Mapping[str, DocumentFormat] = MappingProxyType(
    {
        ".md": "markdown",
        ".markdown": "markdown",
        ".txt": "text",
        ".text": "text",
        ".html": "html",
        ".htm": "html",
        ".pdf": "pdf",
    }
)
"""File suffixes (lower case) the loaders read, and the format each means."""

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_FRONT_MATTER_TITLE = re.compile(r"^title:\s*['\"]?(.*?)['\"]?\s*$", re.MULTILINE)
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
# Emphasis and code spans; underscores only at word edges, so snake_case names survive.
_MD_EMPHASIS = re.compile(r"(\*\*|\*|`)(.+?)\1|(?<!\w)(__|_)(.+?)\3(?!\w)")
_BLANK_RUNS = re.compile(r"\n{3,}")
_LEADING_CELL = re.compile(r"^\|\s*")
_SPACES = re.compile(r"[ \t\f\v\u00a0\u3000]+")


def parse_markdown(text: str) -> ParsedDocument:
    """Split Markdown into sections at ATX (``#`` … ``######``) and setext headings.

    Headings inside fenced code blocks are text. A YAML front matter block is dropped; its ``title:`` is used
    as the title when there is one, else the first heading is.

    Args:
        text: The decoded Markdown.

    Returns:
        The title (or ``None`` when there is no heading) and the sections in reading order.
    """
    lines = text.split("\n")
    title: str | None = None
    if lines and lines[0].strip() == "---":
        end = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
        if end is not None:
            match = _FRONT_MATTER_TITLE.search("\n".join(lines[1:end]))
            title = match.group(1).strip() or None if match else None
            lines = lines[end + 1 :]

    builder = _SectionBuilder()
    fence: str | None = None
    for line in lines:
        fence_match = _FENCE.match(line)
        if fence is not None:
            marker = fence_match.group(1) if fence_match else ""
            if marker[:1] == fence[0] and len(marker) >= len(fence):
                fence = None
            builder.add(line)
            continue
        if fence_match:
            fence = fence_match.group(1)
            builder.add(line)
            continue
        atx = _ATX.match(line)
        if atx:
            builder.heading(len(atx.group(1)), _plain_heading(atx.group(2) or ""))
            continue
        setext = _SETEXT.match(line)
        if setext and builder.last_line_is_paragraph():
            builder.heading(1 if setext.group(1)[0] == "=" else 2, _plain_heading(builder.pop_line()))
            continue
        builder.add(line)
    sections = builder.finish()
    return title or builder.first_heading, sections


def parse_text(text: str) -> ParsedDocument:
    """A plain text file is one section without headings; its title is the file name.

    Args:
        text: The decoded text.

    Returns:
        ``None`` for the title and one section (none if the text is blank).
    """
    body = _tidy(text)
    return None, ((Section(headings=(), text=body),) if body else ())


# Elements whose content is never document text.
_DROP_TAGS = ("script", "style", "noscript", "template", "nav", "svg", "iframe", "canvas", "form", "button")
_HEADING_TAGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_BLOCK_TAGS = frozenset(
    (
        *("address", "article", "aside", "blockquote", "body", "caption", "dd", "details", "dialog", "div"),
        *("dl", "dt", "fieldset", "figcaption", "figure", "footer", "header", "hr", "li", "main", "ol", "p"),
        *("pre", "section", "summary", "table", "tbody", "tfoot", "thead", "tr", "ul"),
    )
)
_CELL_TAGS = frozenset(("td", "th"))
_PARAGRAPH_TAGS = frozenset(("p", "table", "ul", "ol", "pre", "blockquote", "dl", "figure"))
_PARAGRAPH = "\x00"  # marks a paragraph break while walking; NUL never survives decoding
_NEWLINE_RUNS = re.compile(r"\n+")
_PARAGRAPH_RUNS = re.compile(r"\s*\x00[\s\x00]*")


def parse_html(text: str) -> ParsedDocument:
    """Extract readable text from HTML, split into sections at ``<h1>`` … ``<h6>``.

    Scripts, styles, navigation, forms and other non-content elements are dropped. Block elements become line
    breaks, list items start with ``- ``, table cells are joined with `` | ``.

    Args:
        text: The decoded HTML.

    Returns:
        The ``<title>`` (else the first heading, else ``None``) and the sections.
    """
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "html.parser")
    title_tag = soup.find("title")
    title = _SPACES.sub(" ", title_tag.get_text()).strip() if title_tag is not None else ""
    for name in _DROP_TAGS:
        for tag in soup.find_all(name):
            tag.decompose()
    hidden = [t for t in soup.find_all(True) if t.get("role") == "navigation" or t.get("aria-hidden") == "true"]
    for tag in hidden:
        if not tag.decomposed:
            tag.decompose()
    if title_tag is not None and title_tag.parent is not None:
        title_tag.decompose()
    for tag in soup.find_all("head"):
        tag.decompose()

    builder = _SectionBuilder()
    parts: list[str] = []
    _walk_html(soup, builder, parts)
    builder.add(_html_lines("".join(parts)))
    sections = builder.finish()
    return title or builder.first_heading, sections


def _walk_html(node: Tag, builder: _SectionBuilder, parts: list[str]) -> None:
    from bs4.element import NavigableString, PreformattedString, Tag

    for child in node.children:
        if isinstance(child, PreformattedString):
            continue  # comments, doctype, processing instructions
        if isinstance(child, NavigableString):
            inside_pre = child.find_parent("pre") is not None
            parts.append(str(child) if inside_pre else _SPACES.sub(" ", str(child).replace("\n", " ")))
            continue
        if not isinstance(child, Tag):
            continue
        name = child.name.lower()
        if name in _HEADING_TAGS:
            builder.add(_html_lines("".join(parts)))
            parts.clear()
            builder.heading(_HEADING_TAGS[name], _SPACES.sub(" ", child.get_text(" ")).strip())
        elif name == "br":
            parts.append("\n")
        elif name in _CELL_TAGS:
            parts.append(" | ")
            _walk_html(child, builder, parts)
        elif name in _BLOCK_TAGS:
            brk = _PARAGRAPH if name in _PARAGRAPH_TAGS else "\n"
            parts.append(brk + ("- " if name == "li" else ""))
            _walk_html(child, builder, parts)
            parts.append(brk)
        else:
            _walk_html(child, builder, parts)


def _html_lines(text: str) -> str:
    """Tidy walked HTML text: one line per block, blank lines only between paragraph-level blocks."""
    lines = (_LEADING_CELL.sub("", _SPACES.sub(" ", line).strip()) for line in text.split("\n"))
    joined = _NEWLINE_RUNS.sub("\n", "\n".join(line for line in lines if line))
    return _PARAGRAPH_RUNS.sub("\n\n", joined).strip("\n" + _PARAGRAPH)


def parse_pdf(data: bytes, *, path: str) -> ParsedDocument:
    """Extract the text of each PDF page as its own section (``page`` is 1-based).

    Args:
        data: The PDF file's bytes.
        path: The file's path, for error messages.

    Returns:
        The title from the PDF's metadata (or ``None``) and one section per page with text.

    Raises:
        IngestError: The bytes are not a readable PDF, it is encrypted with a password, or no page has
            extractable text.
    """
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise IngestError(f"{path} is a password-protected PDF; decrypt it before ingesting.", path=path)
        pages = [page.extract_text() or "" for page in reader.pages]
        meta = reader.metadata
        title = (meta.title or "").strip() if meta is not None else ""
    except IngestError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as exc:
        raise IngestError(
            f"{path} is not a readable PDF ({type(exc).__name__}); re-export it or remove it.", path=path
        ) from None
    sections = tuple(
        Section(headings=(), text=body, page=number)
        for number, body in enumerate((_tidy(p) for p in pages), start=1)
        if body
    )
    if not sections:
        raise IngestError(
            f"{path} has no extractable text (a scanned PDF?); run OCR on it before ingesting.", path=path
        )
    return title or None, sections


def load_document(path: Path, *, data: bytes | None = None) -> Document:
    """Read, decode and parse one file.

    Args:
        path: A file with one of the :data:`SUFFIXES`.
        data: The file's bytes when the caller has already read them.

    Returns:
        The document, its ``source`` the absolute POSIX path and ``content_hash`` the SHA-256 of its bytes.

    Raises:
        IngestError: The file is unreadable, of an unsupported type, empty, binary, not in a known encoding,
            not a readable PDF, or has no text.
    """
    source = path.resolve().as_posix()
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(SUFFIXES))
        raise IngestError(f"{source} has an unsupported file type; supported suffixes are {known}.", path=source)
    if data is None:
        data = read_file(path)
    if fmt == "pdf":
        if not data:
            raise IngestError(f"{source} is empty; add content or remove the file.", path=source)
        title, sections = parse_pdf(data, path=source)
    else:
        text = decode_bytes(data, path=source)
        parser = {"markdown": parse_markdown, "text": parse_text, "html": parse_html}[fmt]
        title, sections = parser(text)
    if not sections:
        raise IngestError(f"{source} has no text to index; add content or remove the file.", path=source)
    return Document(
        source=source,
        title=title or path.stem,
        format=fmt,
        sections=sections,
        content_hash=hashlib.sha256(data).hexdigest(),
    )


def read_file(path: Path) -> bytes:
    """A file's bytes.

    Raises:
        IngestError: The file cannot be read; the message names it and the operating system's reason.
    """
    source = path.resolve().as_posix()
    try:
        return path.read_bytes()
    except OSError as exc:
        raise IngestError(
            f"{source} cannot be read ({exc.strerror or exc}); check it exists and is readable.", path=source
        ) from None


def _plain_heading(raw: str) -> str:
    text = _MD_LINK.sub(r"\1", raw)
    text = _MD_EMPHASIS.sub(lambda m: m.group(2) or m.group(4), text)
    return _SPACES.sub(" ", text).strip()


def _tidy(text: str) -> str:
    """Strip trailing spaces from lines, collapse runs of blank lines, trim the ends."""
    lines = (line.rstrip() for line in text.split("\n"))
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()


class _SectionBuilder:
    """Collects body lines under a heading stack; a heading of level n closes every heading of level >= n."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, str]] = []
        self._lines: list[str] = []
        self._sections: list[Section] = []
        self.first_heading: str | None = None

    def add(self, text: str) -> None:
        self._lines.append(text)

    def last_line_is_paragraph(self) -> bool:
        if not self._lines:
            return False
        last = self._lines[-1]
        return bool(last.strip()) and not last.lstrip().startswith(("-", "*", "+", ">", "|", "    "))

    def pop_line(self) -> str:
        return self._lines.pop()

    def heading(self, level: int, text: str) -> None:
        self._flush()
        if not text:
            return
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, text))
        if self.first_heading is None:
            self.first_heading = text

    def finish(self) -> tuple[Section, ...]:
        self._flush()
        return tuple(self._sections)

    def _flush(self) -> None:
        body = _tidy("\n".join(self._lines))
        self._lines.clear()
        if body:
            self._sections.append(Section(headings=tuple(t for _, t in self._stack), text=body))
