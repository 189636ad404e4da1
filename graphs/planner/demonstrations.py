"""The demonstration bank: worked plans shown to the planner model, the ones nearest the request first.

Demonstrations are data (``demos/demos.jsonl``): a request and the plan a careful planner would write, in the
planner's own output format. The bank picks the ``k`` nearest to a request by embedding similarity when an
embeddings model is given, else by character-bigram overlap (which works for Chinese and English alike), and
only among demonstrations whose tools are all available.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubeai.errors import ConfigError

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

__all__ = ["Demo", "DemoBank"]


@dataclass(frozen=True, kw_only=True)
class Demo:
    """One worked example: a request and its plan."""

    id: str
    request: str
    language: str
    tasks: tuple[dict[str, Any], ...]

    @property
    def tools(self) -> frozenset[str]:
        """The tools the plan uses."""
        return frozenset(str(task["tool"]) for task in self.tasks)

    def plan_json(self) -> str:
        """The plan exactly as the model should write one."""
        return json.dumps({"tasks": list(self.tasks)}, ensure_ascii=False, separators=(",", ":"))


class DemoBank:
    """Demonstrations, searchable by similarity to a request.

    Args:
        demos: The demonstrations.
        embeddings: Embeds requests for similarity; ``None`` uses character-bigram overlap.
    """

    def __init__(self, demos: Sequence[Demo], *, embeddings: Embeddings | None = None) -> None:
        self.demos = tuple(demos)
        self._embeddings = embeddings
        self._vectors: list[list[float]] | None = None

    @classmethod
    def bundled(cls, *, embeddings: Embeddings | None = None) -> DemoBank:
        """The bank shipped in ``graphs/planner/demos/demos.jsonl``."""
        text = resources.files("graphs.planner.demos").joinpath("demos.jsonl").read_text(encoding="utf-8")
        return cls(_parse(text, "graphs/planner/demos/demos.jsonl"), embeddings=embeddings)

    @classmethod
    def from_file(cls, path: Path, *, embeddings: Embeddings | None = None) -> DemoBank:
        """A bank from a JSONL file of ``{"id", "request", "language", "tasks"}`` lines.

        Raises:
            ConfigError: The file cannot be read or a line is malformed.
        """
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"Cannot read the demonstration file {path}: {exc}.", source=str(path)) from None
        return cls(_parse(text, str(path)), embeddings=embeddings)

    def nearest(self, request: str, k: int, *, tools: Iterable[str], language: str | None = None) -> list[Demo]:
        """The ``k`` demonstrations most similar to ``request`` that use only ``tools``.

        With ``language``, demonstrations in that language come first: they show the model how to word its
        tasks in the user's language.
        """
        if k <= 0 or not self.demos:
            return []
        available = frozenset(tools)
        scores = self._scores(request)
        ranked = sorted(
            (i for i, demo in enumerate(self.demos) if demo.tools <= available),
            key=lambda i: (self.demos[i].language != language if language else False, -scores[i], i),
        )
        return [self.demos[i] for i in ranked[:k]]

    def _scores(self, request: str) -> list[float]:
        if self._embeddings is None:
            wanted = _bigrams(request)
            return [_overlap(wanted, _bigrams(demo.request)) for demo in self.demos]
        if self._vectors is None:
            self._vectors = self._embeddings.embed_documents([demo.request for demo in self.demos])
        query = self._embeddings.embed_query(request)
        return [_cosine(query, vector) for vector in self._vectors]


def _parse(text: str, source: str) -> list[Demo]:
    demos = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            demos.append(
                Demo(
                    id=str(data["id"]),
                    request=str(data["request"]),
                    language=str(data.get("language", "en")),
                    tasks=tuple(dict(task) for task in data["tasks"]),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"Demonstration file {source} line {number} is malformed ({exc}).", source=source
            ) from None
    return demos


def _bigrams(text: str) -> set[str]:
    flat = "".join(text.lower().split())
    return {flat[i : i + 2] for i in range(len(flat) - 1)} or {flat}


def _overlap(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0
