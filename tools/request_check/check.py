"""Is a message a question about the data at all? Deterministic checks with packaged vocabulary.

A 135M model answers anything with a metric: "'; DROP TABLE orders; --", an emoji, "delete all refunds" and "hi"
each came back as a GMV total. Whether a message asks to read data is decided here, before any model is asked,
by :data:`CHECKS` in order, each a small pure function ``(Message, RequestVocabulary) -> RequestCheck | None``:

1. ``empty``: nothing but whitespace.
2. ``no_words``: no letter or ideograph at all (emoji, punctuation, digits only).
3. ``sql``: a SQL statement, or SQL carried inside the message as an injection carries it.
4. ``instructions``: an attempt to replace the assistant's instructions ("ignore your instructions and ...").
5. ``change_data``: a request to change stored data: its first verb (after a polite opening) is a change verb
   ("please delete all refunds", "把订单状态改成已完成", "所有退款记录全部删掉"), and it asks to see nothing.
6. ``chit_chat``: only greetings, thanks and talk about the assistant ("hi there!", "你好呀", "who are you").

The words come from ``vocabulary.yaml`` (English and Chinese), the reasons from ``reasons.yaml``. A message that
merely mentions such words ("cancelled orders", "refund updates", 被删除的订单有多少) is a question: a change
verb counts only in a command's position, and a message that also asks to show, count or compare is a question.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

import sqlglot
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlglot import exp
from sqlglot.errors import SqlglotError

from kubeai.errors import KubeAIError
from kubeai.prompting import load_texts

__all__ = ["CHECKS", "Message", "RequestCheck", "RequestKind", "RequestVocabulary", "check_request"]

RequestKind = Literal["empty", "no_words", "sql", "instructions", "change_data", "chit_chat"]
_PACKAGE = "tools.request_check"
_EN_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_EVIDENCE_CHARS = 40


class _Vocabulary(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Bilingual(_Vocabulary):
    """English words or phrases (matched as whole words, case-insensitively) and Chinese ones (matched as text)."""

    en: tuple[str, ...] = ()
    zh: tuple[str, ...] = ()

    @field_validator("en", "zh")
    @classmethod
    def _clean(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(" ".join(_fold(str(v)).split()) for v in values)
        if any(not v for v in cleaned):
            raise ValueError("an entry is empty; remove it")
        # Longest first, so that "thank you very much" is consumed before "thank you".
        return tuple(sorted(dict.fromkeys(cleaned), key=len, reverse=True))


class SQLVocabulary(_Vocabulary):
    """What SQL looks like: the words statements start with, and phrases that appear only in SQL."""

    statements: tuple[str, ...] = Field(min_length=1)
    phrases: tuple[str, ...] = ()


class RequestVocabulary(_Vocabulary):
    """The words the checks read; :meth:`bundled` loads the packaged ``vocabulary.yaml``."""

    openings: Bilingual
    change_verbs: Bilingual
    read_words: Bilingual
    instructions: Bilingual
    zh_particles: tuple[str, ...] = ()
    zh_passive: tuple[str, ...] = ()
    chit_chat: Bilingual
    sql: SQLVocabulary

    @classmethod
    def bundled(cls) -> RequestVocabulary:
        """The packaged vocabulary (English and Chinese), validated once."""
        return _bundled()


@cache
def _bundled() -> RequestVocabulary:
    where = f"{_PACKAGE}/vocabulary.yaml"
    try:
        data = yaml.safe_load(resources.files(_PACKAGE).joinpath("vocabulary.yaml").read_text(encoding="utf-8"))
        return RequestVocabulary.model_validate(data)
    except (OSError, yaml.YAMLError) as exc:
        raise KubeAIError(f"The request vocabulary {where} cannot be read: {exc}.") from None
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = ".".join(str(part) for part in error["loc"])
        raise KubeAIError(f"The request vocabulary {where} field {field}: {error['msg']}.") from None


@dataclass(frozen=True)
class RequestCheck:
    """A message that is not a question about the data: what kind, and the words that show it."""

    kind: RequestKind
    evidence: str = ""

    def reason(self, language: str) -> str:
        """Why the message is declined, in ``language`` (``en`` or ``zh``), as a clause without a full stop."""
        text = load_texts(_PACKAGE, "reasons")[self.kind]
        values = {"evidence": self.evidence} if "evidence" in text.variables else {}
        return text.render(_language(language), **values)

    def decline(self, language: str) -> str:
        """A whole reply declining the message, in ``language``."""
        return load_texts(_PACKAGE, "reasons")["decline"].render(_language(language), reason=self.reason(language))


@dataclass(frozen=True)
class Message:
    """A message prepared once for every check.

    Attributes:
        text: As written.
        folded: NFKC-normalized (full-width letters become ASCII), curly quotes made straight, case-folded,
            whitespace collapsed to single spaces.
        words: The English words of ``folded``, in order (``what's`` is one word).
        compact: ``folded`` without spaces, for Chinese, which does not separate words.
    """

    text: str
    folded: str
    words: tuple[str, ...]
    compact: str

    @classmethod
    def of(cls, text: str) -> Message:
        """Prepare ``text``."""
        folded = " ".join(_fold(text).split())
        return cls(text=text, folded=folded, words=tuple(_EN_WORD.findall(folded)), compact=folded.replace(" ", ""))


Check = Callable[[Message, RequestVocabulary], RequestCheck | None]


def check_request(text: str, vocabulary: RequestVocabulary | None = None) -> RequestCheck | None:
    """Whether ``text`` is not a question about the data, and why; ``None`` for a question.

    Args:
        text: The user's message, in any language.
        vocabulary: The words to read; default the packaged English and Chinese vocabulary.
    """
    words = vocabulary or RequestVocabulary.bundled()
    message = Message.of(text)
    for check in CHECKS:
        found = check(message, words)
        if found is not None:
            return found
    return None


def empty(message: Message, vocabulary: RequestVocabulary) -> RequestCheck | None:
    """Nothing but whitespace."""
    return RequestCheck("empty") if not message.folded else None


def no_words(message: Message, vocabulary: RequestVocabulary) -> RequestCheck | None:
    """No letter of any script and no ideograph: emoji, punctuation or digits only."""
    return None if any(c.isalpha() for c in message.folded) else RequestCheck("no_words", _clip(message.text))


def sql(message: Message, vocabulary: RequestVocabulary) -> RequestCheck | None:
    """A SQL statement, or a message carrying one.

    SQL-only phrases anywhere ("drop table", "union select", "or 1=1"); a statement word right after a semicolon
    ("'; DROP TABLE orders; --"); or a message that starts with a statement word and parses as a statement, a
    SELECT only with SQL's own syntax (``*``, parentheses, comparisons, quotes, WHERE/GROUP BY/JOIN/...), since
    "Select GMV from last month" parses too.
    """
    for phrase in vocabulary.sql.phrases:
        if _has_phrase(message.folded, phrase):
            return RequestCheck("sql", _clip(phrase.upper()))
    statements = set(vocabulary.sql.statements)
    for segment in message.folded.split(";")[1:]:
        first = _EN_WORD.findall(segment)[:1]
        if first and first[0] in statements:
            return RequestCheck("sql", _clip(f"; {segment.strip()}"))
    body = message.folded.lstrip("'\"`([{ ;")
    first = _EN_WORD.findall(body)[:1]
    if first and first[0] in statements and body.startswith(first[0]) and _parses_as_statement(body):
        return RequestCheck("sql", _clip(message.text.strip()))
    return None


def instructions(message: Message, vocabulary: RequestVocabulary) -> RequestCheck | None:
    """An attempt to replace the assistant's instructions, anywhere in the message."""
    for phrase in vocabulary.instructions.en:
        if _has_phrase(message.folded, phrase):
            return RequestCheck("instructions", phrase)
    for phrase in vocabulary.instructions.zh:
        if phrase in message.compact:
            return RequestCheck("instructions", phrase)
    return None


def change_data(message: Message, vocabulary: RequestVocabulary) -> RequestCheck | None:
    """A command to change stored data, in English or Chinese, that asks to see nothing."""
    verb = _english_change(message.words, vocabulary) or _chinese_change(message.compact, vocabulary)
    if verb is None or _asks_to_read(message, vocabulary):
        return None
    return RequestCheck("change_data", verb)


def chit_chat(message: Message, vocabulary: RequestVocabulary) -> RequestCheck | None:
    """Made only of greetings, thanks and talk about the assistant (and punctuation or emoji between them)."""
    rest = "".join(c if c.isalnum() or c == "'" else " " for c in message.folded).strip()
    consumed = False
    while rest:
        phrase = next((p for p in vocabulary.chit_chat.en if _starts_with_words(rest, p)), None)
        phrase = phrase or next((p for p in vocabulary.chit_chat.zh if rest.startswith(p)), None)
        if phrase is None:
            return None
        rest, consumed = rest[len(phrase) :].strip(), True
    return RequestCheck("chit_chat", _clip(message.text.strip())) if consumed else None


CHECKS: tuple[Check, ...] = (empty, no_words, sql, instructions, change_data, chit_chat)
"""The checks in the order they run; the first that finds something decides."""


def _english_change(words: Sequence[str], vocabulary: RequestVocabulary) -> str | None:
    rest = _strip_words(words, vocabulary.openings.en)
    for phrase in vocabulary.change_verbs.en:
        parts = tuple(phrase.split())
        if tuple(rest[: len(parts)]) == parts:
            return phrase
    return None


def _chinese_change(compact: str, vocabulary: RequestVocabulary) -> str | None:
    """A change verb at the start, after a 把/将 object, or at the end (before particles), not in the passive."""
    if not _CJK.search(compact):
        return None
    rest = _strip_prefixes(compact.lstrip(_PUNCTUATION), vocabulary.openings.zh)
    verbs = vocabulary.change_verbs.zh
    for verb in verbs:
        if rest.startswith(verb):
            return verb
    if rest[:1] in {"把", "将"}:
        for verb in verbs:
            at = rest.find(verb, 1)
            if at > 0 and rest[at - 1] not in vocabulary.zh_passive:
                return verb
    tail = rest.rstrip(_PUNCTUATION)
    while tail:
        for verb in verbs:
            if tail.endswith(verb) and not tail[: -len(verb)].endswith(vocabulary.zh_passive):
                return verb
        particle = next((p for p in vocabulary.zh_particles if tail.endswith(p)), None)
        if particle is None:
            break
        tail = tail[: -len(particle)].rstrip(_PUNCTUATION)
    return None


def _asks_to_read(message: Message, vocabulary: RequestVocabulary) -> bool:
    if any(word in vocabulary.read_words.en for word in message.words):
        return True
    return any(word in message.compact for word in vocabulary.read_words.zh)


def _strip_words(words: Sequence[str], openings: Sequence[str]) -> list[str]:
    rest = list(words)
    stripped = True
    while stripped and rest:
        stripped = False
        for phrase in openings:
            parts = phrase.split()
            if rest[: len(parts)] == parts:
                rest, stripped = rest[len(parts) :], True
                break
    return rest


def _strip_prefixes(text: str, openings: Sequence[str]) -> str:
    stripped = True
    while stripped and text:
        stripped = False
        for phrase in openings:
            if text.startswith(phrase):
                text, stripped = text[len(phrase) :].lstrip(_PUNCTUATION), True
                break
    return text


def _starts_with_words(text: str, phrase: str) -> bool:
    return text.startswith(phrase) and (len(text) == len(phrase) or not text[len(phrase)].isalnum())


def _has_phrase(text: str, phrase: str) -> bool:
    start = text.find(phrase)
    while start >= 0:
        end = start + len(phrase)
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        if not (_word_char(before) and _word_char(phrase[0])) and not (_word_char(after) and _word_char(phrase[-1])):
            return True
        start = text.find(phrase, start + 1)
    return False


def _word_char(char: str) -> bool:
    return char.isascii() and (char.isalnum() or char == "_")


# SQL's own syntax: "Select GMV from last month" and "delete all refunds" parse as statements too.
_SQL_SYNTAX = re.compile(r"[*()=<>']|\b(where|group by|order by|join|limit|having|union|into|values|set|table)\b")


def _parses_as_statement(text: str) -> bool:
    """Parses as SQL statements that sqlglot understands (not its catch-all ``Command``) with SQL's syntax."""
    if not _SQL_SYNTAX.search(text):
        return False
    parser_log = logging.getLogger("sqlglot")
    level = parser_log.level
    parser_log.setLevel(logging.ERROR)  # a sentence that is not SQL would log "falling back to a Command"
    try:
        statements = [s for s in sqlglot.parse(text) if s is not None]
    except SqlglotError:
        return False
    finally:
        parser_log.setLevel(level)
    return bool(statements) and not any(isinstance(s, exp.Command) for s in statements)


_PUNCTUATION = " \t\n,.;:!?'\"()[]{}<>~`@#$%^&*-_=+|\\/，。；：！？、…—“”‘’（）【】《》「」『』·～"


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).replace("\u2019", "'").replace("\u2018", "'").casefold()


def _clip(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _EVIDENCE_CHARS else flat[: _EVIDENCE_CHARS - 1] + "…"


def _language(language: str) -> str:
    return "zh" if language == "zh" else "en"
