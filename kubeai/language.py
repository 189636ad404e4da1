"""Which language a text is in: the one home of the project's ``zh``/``en`` guess.

Questions, documents, paraphrases and training examples are all told apart by :func:`detect_language`, so that
the language a question is answered in, the language a chunk is filed under and the language a training example is
checked against never disagree.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["detect_language"]

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")
# A Chinese word is one or two characters, an English one about five letters: weigh letters down accordingly.
_LETTERS_PER_CJK = 3


def detect_language(text: str) -> str:
    """Guess ``"zh"`` or ``"en"`` from the share of CJK ideographs against Latin letters.

    Args:
        text: Any text: a question, a document chunk, a paraphrase.

    Returns:
        ``"zh"`` when CJK ideographs outweigh Latin letters, counting three letters as one ideograph (Chinese packs
        a word into fewer characters), else ``"en"``. Digits, punctuation, emoji and other scripts do not count;
        text with no ideograph is ``"en"``. Full-width letters (ＧＭＶ) count as the Latin letters they are. So
        "上个月各地区的GMV是多少？" is ``zh`` and "Compare 华东 and 华北 sales" (two Chinese place names in an
        English sentence) is ``en``.
    """
    folded = unicodedata.normalize("NFKC", text)  # full-width ＧＭＶ is Latin
    cjk = len(_CJK.findall(folded))
    latin = len(_LATIN.findall(folded))
    return "zh" if cjk > 0 and cjk * _LETTERS_PER_CJK >= latin else "en"
