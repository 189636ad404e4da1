"""Whether a message is a question about the data at all: deterministic checks with packaged vocabulary.

``check_request(text)`` returns ``None`` for a question, or a :class:`RequestCheck` naming why the message is not
one (empty, no words, SQL, replacing the agent's instructions, a request to change data, chit-chat) with a reason
in English or Chinese. The agents run it before any model is asked. See :mod:`tools.request_check.check`.
"""

from __future__ import annotations

from tools.request_check.check import CHECKS, Message, RequestCheck, RequestKind, RequestVocabulary, check_request

__all__ = ["CHECKS", "Message", "RequestCheck", "RequestKind", "RequestVocabulary", "check_request"]
