"""What a loader produces: a document as a title plus sections, each under a heading path."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Document", "DocumentFormat", "Section"]

DocumentFormat = Literal["markdown", "text", "html", "pdf"]


@dataclass(frozen=True, kw_only=True)
class Section:
    """A run of body text under one heading path (or one PDF page).

    Attributes:
        headings: The headings above this text, outermost first, e.g. ``("退款政策", "退款时效")``; empty for
            text before the first heading, plain text files and PDF pages.
        text: The body text, without the heading line itself.
        page: The 1-based page number for PDF pages, else ``None``.
    """

    headings: tuple[str, ...]
    text: str
    page: int | None = None


@dataclass(frozen=True, kw_only=True)
class Document:
    """A loaded document.

    Attributes:
        source: The file's absolute path, as a POSIX string; the document's identity in the store.
        title: The first heading, the HTML ``<title>``, the PDF title, or else the file name.
        format: Which loader read it.
        sections: The body, in reading order; sections with no text are dropped.
        content_hash: SHA-256 hex digest of the file's bytes.
    """

    source: str
    title: str
    format: DocumentFormat
    sections: tuple[Section, ...]
    content_hash: str
