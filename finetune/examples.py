"""The unit of fine-tuning data: one question and the metric query that answers it, or none (abstain).

The synthesizer (:mod:`finetune.synth`) makes them from a catalog and its warehouse, a teacher model may add
paraphrases, the cleaning stage (:mod:`finetune.clean`) filters them, and :mod:`finetune.dataset` turns them into
chat examples in the exact prompt and output format the metrics agent uses when it serves the adapter.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

from kubeai.errors import TrainingError
from kubeai.files import write_text_atomic

__all__ = ["Language", "QueryExample", "examples_hash", "read_examples", "write_examples"]

Language = Literal["en", "zh"]
Source = Literal["catalog", "teacher", "feedback"]


@dataclass(frozen=True, kw_only=True)
class QueryExample:
    """One training question.

    Attributes:
        question: The question as a user would type it.
        language: ``en`` or ``zh``.
        query: The gold :class:`~tools.metric_query.MetricQuery` as JSON data (defaults left out), or ``None``
            when the catalog cannot answer the question and the gold is to abstain.
        intent: What kind of question it is (``total``, ``breakdown``, ``trend``, ``unanswerable``, ...); used to
            balance and report, never shown to the model.
        source: ``catalog`` when the synthesizer wrote it, ``teacher`` when a teacher model paraphrased it,
            ``feedback`` when it came from a user's rating or correction (:mod:`finetune.feedback_data`).
        provenance: Where a feedback example came from (``feedback_id``, ``trace_id``, ``kind``); ``None`` for
            synthesized ones, and then left out of the JSON so their data hash is unchanged.
    """

    question: str
    language: Language
    query: dict[str, Any] | None
    intent: str
    source: Source = "catalog"
    provenance: dict[str, str | None] | None = None

    @property
    def abstains(self) -> bool:
        """Whether the gold is to abstain."""
        return self.query is None

    def with_question(self, question: str) -> QueryExample:
        """The same example asked in other words."""
        return replace(self, question=question)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data, one line of a ``.jsonl`` file."""
        data = asdict(self)
        if self.provenance is None:
            del data["provenance"]
        return data


def examples_hash(examples: Iterable[QueryExample]) -> str:
    """A SHA-256 over the examples in order: the data hash a model card records."""
    digest = hashlib.sha256()
    for example in examples:
        digest.update(json.dumps(example.to_json(), ensure_ascii=False, sort_keys=True).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def write_examples(path: Path, examples: Sequence[QueryExample]) -> None:
    """Write examples as JSONL, atomically (a temporary file renamed into place)."""
    write_text_atomic(path, "".join(json.dumps(e.to_json(), ensure_ascii=False) + "\n" for e in examples))


def read_examples(path: Path) -> list[QueryExample]:
    """Read examples written by :func:`write_examples`.

    Raises:
        TrainingError: The file is unreadable or a line is not an example; the message names the line.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise TrainingError(f"Cannot read examples from {path}: {exc}.") from None
    out: list[QueryExample] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            example = QueryExample(
                question=str(data["question"]),
                language=data["language"],
                query=data["query"],
                intent=str(data["intent"]),
                source=data.get("source", "catalog"),
                provenance=data.get("provenance"),
            )
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise TrainingError(f"{path} line {number} is not a training example ({exc}).") from None
        if example.language not in ("en", "zh") or not (example.query is None or isinstance(example.query, dict)):
            raise TrainingError(f"{path} line {number} needs language en or zh and a query object or null.")
        out.append(example)
    return out
