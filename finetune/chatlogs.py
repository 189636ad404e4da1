"""Past customer-service chats made fit to learn from: personal data scrubbed, chit-chat dropped, exchanges paired.

Three small stages, each a pure function testable alone, each counted in the data report:

1. :func:`scrub_pii`: e-mail addresses, order ids, phone numbers, postal addresses and names become the
   placeholders of :data:`PLACEHOLDERS` (in that order, so an order id's digits are never taken for a phone).
2. :func:`turn_filter`: a turn that is only a greeting or a thank-you, a turn too short to say anything, and a
   turn about something other than the product (:class:`LogVocabulary`, packaged data) are dropped, each counted
   under its reason; a turn that opens with a greeting keeps the rest.
3. :func:`exchanges`: each kept customer turn with the agent turns that answer it, up to the next customer turn
   (a too-short "ok?" in between does not end the exchange). Off-topic customer turns are returned apart: the
   pair synthesis turns them into refusals.

The patterns are deliberately simple and tuned to the formats the shipped logs use (US and mainland-China phone
numbers, the store's ``AP`` order ids, US street and Chinese 省/市/区/路/号 addresses, "my name is", 我叫,
王先生); another product's logs may need its own patterns in the vocabulary.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

from kubeai.errors import TrainingError

__all__ = [
    "FILTER_REASONS",
    "PII_KINDS",
    "PLACEHOLDERS",
    "ChatTurn",
    "Conversation",
    "Exchange",
    "LogVocabulary",
    "exchanges",
    "load_chats",
    "log_vocabulary",
    "scrub_pii",
    "shipped_chats_path",
    "turn_filter",
]

Role = Literal["customer", "agent"]

PII_KINDS: tuple[str, ...] = ("email", "order_id", "phone", "address", "name")
"""The kinds of personal data scrubbed, in the order they are looked for; the report counts each."""

PLACEHOLDERS: dict[str, str] = {
    "email": "[EMAIL]",
    "order_id": "[ORDER_ID]",
    "phone": "[PHONE]",
    "address": "[ADDRESS]",
    "name": "[NAME]",
}
"""What each kind of personal data becomes."""

FILTER_REASONS: tuple[str, ...] = ("greeting", "thanks", "too_short", "off_topic")
"""Why :func:`turn_filter` drops a turn, in the order the checks run."""

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_PHONES = (
    re.compile(r"(?<![0-9A-Za-z+])(?:\+?86[\s-]?)?1[3-9]\d(?:[\s-]?\d{4}){2}(?!\d)"),  # mainland mobile
    re.compile(r"(?<![0-9A-Za-z+])(?:\+?1[\s.-]?)?(?:\(\d{3}\)|\d{3})[\s.-]?\d{3}[\s.-]?\d{4}(?!\d)"),  # US
    re.compile(r"(?<![0-9A-Za-z+])\+?\d(?:[\s().-]?\d){7,14}(?!\d)"),  # any other run of 8 to 15 digits
)
_ADDRESSES = (
    re.compile(
        r"\b\d{1,5}\s+(?:[A-Z][a-z]+\s+){1,3}(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Way|"
        r"Court|Ct|Place|Pl)\b\.?(?:,\s*(?:Apt|Suite|Unit|#)\.?\s*\w+)?(?:,\s*[A-Z][A-Za-z]+(?:\s[A-Z][A-Za-z]+)*)?"
        r"(?:,\s*[A-Z]{2}(?:\s+\d{5}(?:-\d{4})?)?)?"
    ),
    re.compile(
        r"(?:(?:黑龙江|内蒙古|[\u4e00-\u9fff]{2})(?:省|自治区)(?:[\u4e00-\u9fff]{2,3}市)?|[\u4e00-\u9fff]{2}市)"
        r"(?:[\u4e00-\u9fff]{2,3}(?:区|县))?"
        r"[\u4e00-\u9fff]{1,6}?(?:大道|路|街|道)\d+号(?:\d+(?:栋|幢|号楼))?(?:\d+单元)?(?:\d+室)?"
    ),
)
_NAMES_EN = (
    re.compile(r"(?i:\b(?:my name is|this is|i am|i'm)\s+)([A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)(?![A-Za-z])"),
    re.compile(r"(?i:\b(?:hi|hello|dear|hey)\s+)([A-Z][a-z]+)(?=\s*[,!.])"),
)
_NAME_ZH = re.compile(r"(?:我叫|我的名字是|我是)([\u4e00-\u9fff]{2,3}?)(?=[，,。.！!？?\s]|$)")
_PUNCT_OR_SPACE = re.compile(r"[\W_]+")
_PLACEHOLDER = re.compile(r"\[(?:EMAIL|ORDER_ID|PHONE|ADDRESS|NAME)\]")
_ERROR_CODE = re.compile(r"(?<![A-Za-z0-9])[Ee]\d{1,2}(?![0-9])")
_CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True, kw_only=True)
class ChatTurn:
    """One message of a chat.

    Attributes:
        role: ``customer`` or ``agent``.
        text: What was written.
    """

    role: Role
    text: str


@dataclass(frozen=True, kw_only=True)
class Conversation:
    """One exported chat.

    Attributes:
        id: The help desk's conversation id.
        language: ``en`` or ``zh``, as the help desk recorded it.
        turns: The messages in order.
    """

    id: str
    language: str
    turns: tuple[ChatTurn, ...]


@dataclass(frozen=True, kw_only=True)
class Exchange:
    """A customer's question and the agent's reply to it, as found in a conversation.

    Attributes:
        question: The customer's turn, scrubbed and stripped of a leading greeting.
        answer: The agent turns that follow it, joined; empty when nobody answered.
        language: The conversation's language.
        conversation: The conversation's id.
        turn: The question's index in the conversation.
    """

    question: str
    answer: str
    language: str
    conversation: str
    turn: int


@dataclass(frozen=True, kw_only=True)
class LogVocabulary:
    """The words the stages use, per language (``finetune/data/customer_service/vocabulary.yaml``).

    Attributes:
        greetings: Phrases of a greeting turn.
        thanks: Phrases of a thank-you or goodbye turn.
        min_chars: Fewest letters and digits a kept turn has.
        topic_terms: Words of which an on-topic turn names at least one (an error code counts too).
        surnames_zh: Chinese surnames; one before 先生, 女士 or 小姐 is a name.
        order_id_pattern: A regular expression matching the store's order ids.
        raw: The whole file, for the pair synthesis's templates and refusal text.
    """

    greetings: dict[str, tuple[str, ...]]
    thanks: dict[str, tuple[str, ...]]
    min_chars: dict[str, int]
    topic_terms: dict[str, tuple[str, ...]]
    surnames_zh: str
    order_id_pattern: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@cache
def log_vocabulary() -> LogVocabulary:
    """The packaged vocabulary of the AeroPure 3 example."""
    text = resources.files("finetune.data.customer_service").joinpath("vocabulary.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    return LogVocabulary(
        greetings={lang: tuple(words) for lang, words in data["greetings"].items()},
        thanks={lang: tuple(words) for lang, words in data["thanks"].items()},
        min_chars={lang: int(value) for lang, value in data["min_chars"].items()},
        topic_terms={lang: tuple(words) for lang, words in data["topic_terms"].items()},
        surnames_zh=str(data["surnames_zh"]),
        order_id_pattern=str(data["order_id_pattern"]),
        raw=data,
    )


def shipped_chats_path() -> Path:
    """The chat logs shipped with the example (``finetune/data/customer_service/logs/chats.jsonl``)."""
    return Path(str(resources.files("finetune.data.customer_service").joinpath("logs", "chats.jsonl")))


def load_chats(path: Path) -> list[Conversation]:
    """Read conversations from JSONL: ``{"id", "language", "turns": [{"role", "text"}, ...]}`` per line.

    Raises:
        TrainingError: The file is unreadable or a line is not a conversation; the message names the line.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise TrainingError(f"Cannot read chat logs from {path}: {exc}.") from None
    chats: list[Conversation] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            turns = tuple(ChatTurn(role=t["role"], text=str(t["text"])) for t in data["turns"])
            chat = Conversation(id=str(data["id"]), language=str(data["language"]), turns=turns)
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise TrainingError(f"{path} line {number} is not a conversation ({exc}).") from None
        if chat.language not in ("en", "zh") or any(t.role not in ("customer", "agent") for t in turns):
            raise TrainingError(f"{path} line {number} needs language en or zh and turns by customer or agent.")
        chats.append(chat)
    return chats


def scrub_pii(text: str, vocabulary: LogVocabulary | None = None) -> tuple[str, Counter[str]]:
    """Replace personal data with placeholders.

    Args:
        text: A chat turn.
        vocabulary: Supplies the order id pattern and Chinese surnames; ``None`` means the packaged one.

    Returns:
        The scrubbed text and how many of each kind of :data:`PII_KINDS` were replaced.
    """
    words = vocabulary or log_vocabulary()
    counts: Counter[str] = Counter()

    def sub(kind: str, pattern: re.Pattern[str], value: str, group: int = 0) -> str:
        def replace(match: re.Match[str]) -> str:
            counts[kind] += 1
            whole = match.group(0)
            if group == 0:
                return PLACEHOLDERS[kind]
            start, end = match.start(group) - match.start(), match.end(group) - match.start()
            return whole[:start] + PLACEHOLDERS[kind] + whole[end:]

        return pattern.sub(replace, value)

    text = sub("email", _EMAIL, text)
    text = sub("order_id", re.compile(rf"(?<![A-Za-z0-9]){words.order_id_pattern}(?![0-9])"), text)
    for pattern in _PHONES:
        text = sub("phone", pattern, text)
    for pattern in _ADDRESSES:
        text = sub("address", pattern, text)
    for pattern in _NAMES_EN:
        text = sub("name", pattern, text, group=1)
    text = sub("name", _NAME_ZH, text, group=1)
    text = sub("name", re.compile(rf"[{words.surnames_zh}](?:先生|女士|小姐)"), text)
    return text, counts


def turn_filter(turn: ChatTurn, language: str, vocabulary: LogVocabulary | None = None) -> tuple[str | None, str]:
    """Why a (scrubbed) turn is dropped, one of :data:`FILTER_REASONS`, or ``None``; and the text to keep.

    A turn that is nothing but greeting and thank-you phrases (give or take a word shorter than ``min_chars``, as
    in "ok thanks") is a ``greeting`` (or ``thanks`` when it thanks or
    says goodbye); a leading greeting is cut from a turn that goes on. What remains is ``too_short`` below the
    language's ``min_chars`` letters and digits (placeholders not counted) and ``off_topic`` when it names no
    topic term and no error code.
    """
    words = vocabulary or log_vocabulary()
    lang = language if language in words.min_chars else "en"
    text = turn.text.strip()
    if not _content(text):  # "?", "..." or only placeholders
        return "too_short", text
    rest, found = _remove_phrases(unicodedata.normalize("NFKC", text), words.greetings[lang], words.thanks[lang])
    if found and len(_content(rest)) < words.min_chars[lang]:  # "ok thanks", "Hi [NAME]!"
        return ("thanks" if "thanks" in found else "greeting"), text
    text = _strip_greeting(text, words.greetings[lang])
    if len(_content(text)) < words.min_chars[lang]:
        return "too_short", text
    folded = text.casefold()
    if not _ERROR_CODE.search(text) and not any(_has_term(term, folded) for term in words.topic_terms[lang]):
        return "off_topic", text
    return None, text


def exchanges(
    conversations: Iterable[Conversation], vocabulary: LogVocabulary | None = None
) -> tuple[list[Exchange], list[Exchange], dict[str, Any]]:
    """Scrub, filter and pair every conversation.

    Returns:
        The exchanges (an unanswered question has an empty answer), the off-topic customer turns as exchanges
        with an empty answer, and the counts: ``conversations``, ``turns``, ``pii`` (per kind),
        ``turns_removed`` (per reason of :data:`FILTER_REASONS`) and ``turns_kept``.
    """
    words = vocabulary or log_vocabulary()
    pii: Counter[str] = Counter()
    removed = dict.fromkeys(FILTER_REASONS, 0)
    found: list[Exchange] = []
    off_topic: list[Exchange] = []
    chats = list(conversations)
    total_turns = kept_turns = 0
    for chat in chats:
        marked: list[tuple[ChatTurn, str | None, str]] = []
        for turn in chat.turns:
            scrubbed, counts = scrub_pii(turn.text, words)
            pii.update(counts)
            reason, text = turn_filter(ChatTurn(role=turn.role, text=scrubbed), chat.language, words)
            marked.append((turn, reason, text))
            total_turns += 1
            if reason is None:
                kept_turns += 1
            else:
                removed[reason] += 1
        for index, (turn, reason, text) in enumerate(marked):
            if turn.role != "customer":
                continue
            if reason == "off_topic":
                off_topic.append(
                    Exchange(question=text, answer="", language=chat.language, conversation=chat.id, turn=index)
                )
            if reason is None:
                answer = _answer(marked[index + 1 :])
                found.append(
                    Exchange(question=text, answer=answer, language=chat.language, conversation=chat.id, turn=index)
                )
    report: dict[str, Any] = {
        "conversations": len(chats),
        "turns": total_turns,
        "pii": {kind: pii.get(kind, 0) for kind in PII_KINDS},
        "turns_removed": removed,
        "turns_kept": kept_turns,
    }
    return found, off_topic, report


def _answer(following: Sequence[tuple[ChatTurn, str | None, str]]) -> str:
    """The kept agent turns after a question, up to the next customer turn that is more than a short "ok?"."""
    parts: list[str] = []
    for turn, reason, text in following:
        if turn.role == "customer":
            if reason == "too_short":
                continue
            break
        if reason is None:
            parts.append(text)
    return _join(parts)


def _join(parts: Sequence[str]) -> str:
    out = ""
    for part in parts:
        if out and not (_CJK.search(out[-1]) or _CJK.search(part[0])):
            out += " "
        out += part
    return out


def _content(text: str) -> str:
    """The letters and digits of a text, placeholders left out."""
    return _PUNCT_OR_SPACE.sub("", _PLACEHOLDER.sub("", text))


@cache
def _phrase_pattern(phrase: str) -> re.Pattern[str]:
    if phrase.isascii():
        return re.compile(rf"(?<![a-z0-9]){re.escape(phrase)}(?![a-z0-9])", re.IGNORECASE)
    return re.compile(re.escape(phrase), re.IGNORECASE)


def _remove_phrases(text: str, greetings: Sequence[str], thanks: Sequence[str]) -> tuple[str, set[str]]:
    """The text with every greeting and thank-you phrase cut out (longest first), and which kinds were found."""
    phrases = sorted([(p, "greeting") for p in greetings] + [(p, "thanks") for p in thanks], key=lambda x: -len(x[0]))
    found: set[str] = set()
    for phrase, kind in phrases:
        text, count = _phrase_pattern(phrase).subn(" ", text)
        if count:
            found.add(kind)
    return text, found


def _strip_greeting(text: str, greetings: Sequence[str]) -> str:
    """The text without an opening greeting ("Hi [NAME], ..." or "[NAME]您好，...")."""
    alternatives = "|".join(_phrase_pattern(p).pattern for p in sorted(greetings, key=len, reverse=True))
    opening = re.compile(
        rf"^(?:\s*(?:\[NAME\]\s*)?(?:{alternatives})(?:\s*\[NAME\])?[\s,，!！.。、:：~～]*)+", re.IGNORECASE
    )
    stripped = opening.sub("", text, count=1)
    return stripped if _content(stripped) else text


def _has_term(term: str, folded: str) -> bool:
    if term.isascii():
        return re.search(rf"(?<![a-z0-9]){re.escape(term)}", folded) is not None
    return term in folded
