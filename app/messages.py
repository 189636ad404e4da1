"""What the HTTP API and the MCP server say when they refuse or fail: one sentence in English and in Chinese.

The one home of the app's bilingual error sentences. :class:`Sentence` pairs the two; :func:`error_body` is the JSON
every refusal answers with (``detail`` in the caller's language, ``detail_en`` and ``detail_zh`` always);
:func:`preferred_language` reads ``Accept-Language``. The API-key refusals both servers give live here;
:func:`failure` words an agent's error (a :class:`~kubeai.errors.KubeAIError`, written in English where it was
raised) as a Chinese lead naming the kind of failure, followed by the English detail.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from kubeai.errors import (
    CatalogError,
    ChartError,
    ConfigError,
    KubeAIError,
    MetricQueryError,
    ModelNotFoundError,
    ModelOutputError,
    ModelServerError,
    ModelServerProtocolError,
    ModelServerUnavailableError,
    ModelServerUnresponsiveError,
    ModelTimeoutError,
    PlanningError,
    PromptTooLongError,
    SQLGateError,
    ThreadNotFoundError,
    ToolError,
    VectorStoreError,
    WarehouseError,
    WarehouseUnavailableError,
)

__all__ = [
    "INVALID_KEY",
    "Language",
    "Sentence",
    "error_body",
    "failure",
    "for_status",
    "missing_key",
    "preferred_language",
    "revoked_key",
]

Language = Literal["en", "zh"]


@dataclass(frozen=True)
class Sentence:
    """One message in both languages."""

    en: str
    zh: str

    def in_language(self, language: Language) -> str:
        """The sentence in ``language``."""
        return self.zh if language == "zh" else self.en


def preferred_language(accept_language: str | None) -> Language:
    """``zh`` when the ``Accept-Language`` header's most preferred language is Chinese, else ``en``.

    ``zh-CN,zh;q=0.9,en;q=0.8`` is ``zh``; ``en-US,zh;q=0.5`` and a missing or unreadable header are ``en``.
    """
    best, best_q = "en", 0.0
    for part in (accept_language or "").split(","):
        tag, *params = (piece.strip() for piece in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        primary = tag.split("-")[0].lower()
        if primary in ("zh", "en") and q > best_q:
            best, best_q = primary, q
    return "zh" if best == "zh" else "en"


def error_body(sentence: Sentence, language: Language = "en") -> dict[str, str]:
    """The JSON of a refusal: ``detail`` in ``language``, and the sentence in each language."""
    return {"detail": sentence.in_language(language), "detail_en": sentence.en, "detail_zh": sentence.zh}


# -- API keys (the HTTP API and the MCP server over HTTP) -------------------------------------------------------


def missing_key(*headers: str) -> Sentence:
    """No key was sent; ``headers`` are the ways the server reads one (default: a bearer token)."""
    ways = headers or ("`Authorization: Bearer <key>`",)
    return Sentence(
        f"This server needs an API key: send {' or '.join(ways)} (create one with `kubeai keys create --user NAME`).",
        f"此服务需要 API 密钥：请发送 {' 或 '.join(ways)}（用 `kubeai keys create --user 用户名` 创建）。",
    )


INVALID_KEY = Sentence(
    "The API key is not valid; check it, or create one with `kubeai keys create`.",
    "API 密钥无效；请检查，或用 `kubeai keys create` 创建。",
)


def revoked_key(key_id: str) -> Sentence:
    """The key ``key_id`` was revoked."""
    return Sentence(
        f"The API key {key_id} was revoked; ask for a new one.",
        f"API 密钥 {key_id} 已被吊销，请申请新的密钥。",
    )


# -- failures by status and by kind ---------------------------------------------------------------------------

_STATUS_ZH: dict[int, str] = {
    400: "请求有误",
    401: "需要有效的 API 密钥",
    403: "无权访问",
    404: "找不到请求的资源",
    405: "此接口不接受该请求方法",
    409: "与当前状态冲突",
    413: "请求体过大",
    422: "请求内容无效",
    500: "服务器内部错误",
    502: "上游服务出错",
    503: "服务暂不可用",
    504: "上游服务超时",
}

# Most specific first: the first class an error is an instance of names it.
_KIND_ZH: tuple[tuple[type[KubeAIError], str], ...] = (
    (ModelServerUnresponsiveError, "模型服务器无响应"),
    (ModelServerProtocolError, "模型服务器的回答不是 OpenAI 兼容的格式"),
    (ModelTimeoutError, "模型服务器超时未回答"),
    (ModelServerUnavailableError, "模型服务器无法连接"),
    (ModelNotFoundError, "模型服务器上没有所需的模型"),
    (ModelOutputError, "模型的输出不符合要求的格式"),
    (ModelServerError, "调用模型服务器失败"),
    (PromptTooLongError, "提示词超出了模型的上下文长度"),
    (WarehouseUnavailableError, "数据仓库无法连接"),
    (WarehouseError, "数据仓库查询失败"),
    (SQLGateError, "SQL 未通过安全检查"),
    (MetricQueryError, "指标查询与指标目录不符"),
    (PlanningError, "无法为该请求制定有效的任务计划"),
    (ToolError, "工具执行失败"),
    (ThreadNotFoundError, "找不到该会话"),
    (CatalogError, "指标目录有误"),
    (ChartError, "无法生成图表"),
    (VectorStoreError, "向量库出错"),
    (ConfigError, "配置或参数有误"),
)


def for_status(status: int, english: str) -> Sentence:
    """``english`` with a Chinese lead naming what ``status`` means, for a sentence no one translated."""
    lead = _STATUS_ZH.get(status, "请求失败" if status < 500 else "服务器出错")
    return Sentence(english, f"{lead}：{english}")


def failure(error: KubeAIError) -> Sentence:
    """An agent's error: its English sentence, and in Chinese a lead naming the kind of failure, then that sentence.

    Errors are raised in English deep in the agents, often quoting SQL, a URL or a model's words; the lead says in
    Chinese what went wrong, and the English detail keeps the specifics.
    """
    english = str(error)
    lead = next((zh for kind, zh in _KIND_ZH if isinstance(error, kind)), "请求失败")
    return Sentence(english, f"{lead}：{english}")
