"""The client every agent uses to reach served models over the OpenAI-compatible API.

One :class:`ModelClient` talks to one endpoint (the project's vLLM server or any compatible server) and picks the
model per call: the base model or a LoRA adapter, which vLLM serves under the adapter's name. Small models are
asked to fill JSON schemas (vLLM structured outputs) rather than to write free text that would need parsing.

Before sending a prompt, a caller can count its tokens with :meth:`ModelClient.count_tokens`: vLLM's ``/tokenize``
applies the served model's own tokenizer and chat template, so the count is the prompt the server will see; a
server without that endpoint gets a conservative estimate instead.

Two deadlines keep a caller from waiting blind. A generation may take ``llm.timeout_s`` (long answers on a slow CPU
server stay possible) and is not retried when it runs out, since the same prompt would take as long again. A
connection, and a quick request (``GET /v1/models``, asked once before a client's first chat when the server has
not answered it yet, and ``/tokenize``), get ``llm.connect_timeout_s``: a frozen server is reported in seconds.
While any request waits, a ``progress`` callback, when given, hears ``still waiting for the model server at URL
(30 s)...`` every ``progress_every_s``. Connection errors, 408, 409, 429 and 5xx are retried ``llm.max_retries``
times with exponential backoff.

Every failure becomes a :class:`~kubeai.errors.ModelServerError` subclass with one clear sentence: the server is
down, frozen, too slow, does not serve the model, answers something that is not an OpenAI chat completion (an HTML
page, JSON of another shape, no choices), or the model's output does not validate.

Each chat call is an OpenTelemetry span, ``chat <model>``, with the GenAI semantic conventions' attributes (model,
sampling, token usage, finish reasons, ``error.type``); it records nothing until the application sets up tracing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

import httpx
import openai
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, convert_to_openai_messages
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind
from pydantic import BaseModel, ValidationError

from kubeai.config import LLMConfig
from kubeai.errors import (
    ModelNotFoundError,
    ModelOutputError,
    ModelServerError,
    ModelServerProtocolError,
    ModelServerUnavailableError,
    ModelServerUnresponsiveError,
    ModelTimeoutError,
)
from kubeai.tracing import (
    GEN_AI_OPERATION_NAME,
    GEN_AI_OUTPUT_TYPE,
    GEN_AI_PROVIDER_NAME,
    GEN_AI_REQUEST_MAX_TOKENS,
    GEN_AI_REQUEST_MODEL,
    GEN_AI_REQUEST_TEMPERATURE,
    GEN_AI_RESPONSE_FINISH_REASONS,
    GEN_AI_RESPONSE_ID,
    GEN_AI_RESPONSE_MODEL,
    GEN_AI_USAGE_INPUT_TOKENS,
    GEN_AI_USAGE_OUTPUT_TOKENS,
    SERVER_ADDRESS,
    SERVER_PORT,
    TRACER_NAME,
    record_failure,
)

__all__ = ["Completion", "ModelClient", "PromptCount", "Structured", "Usage", "estimate_tokens"]

T = TypeVar("T", bound=BaseModel)
R = TypeVar("R")
M = TypeVar("M", bound=BaseMessage)
V = TypeVar("V")
Messages = str | Sequence[BaseMessage]


@dataclass(frozen=True, kw_only=True)
class Usage:
    """Token counts of one call."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
        )


@dataclass(frozen=True, kw_only=True)
class Completion:
    """A free-text answer; ``finish_reason`` is ``"length"`` when the token limit cut it off."""

    text: str
    model: str
    usage: Usage
    latency_s: float
    finish_reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class PromptCount:
    """How many tokens a chat request's prompt takes, and the context it must fit in with the answer.

    Attributes:
        tokens: Prompt tokens after the chat template, as the server will see them.
        context_length: The served model's context length (its ``max_model_len``), or ``llm.context_length``
            when the server does not report one.
        exact: Counted by the server's own tokenizer and chat template; ``False`` means a conservative estimate.
    """

    tokens: int
    context_length: int
    exact: bool


@dataclass(frozen=True, kw_only=True)
class Structured(Generic[V]):
    """A schema-validated answer, with the raw text it was parsed from."""

    value: V
    raw: str
    model: str
    usage: Usage
    latency_s: float


class ModelClient:
    """Chat, structured output and adapter management against one OpenAI-compatible endpoint.

    Args:
        config: Endpoint URL, key, timeout, retries and sampling defaults.
        default_model: The model used when a call names none (usually the registry's base model).
        transport: An httpx transport for every request (a proxy, custom TLS, or a test double); ``None``
            uses the OpenAI client's default.
        chat_factory: Builds the LangChain chat model for a model name instead of ``ChatOpenAI``; unit tests
            pass scripted fake chat models here so every other line of this client runs for real.
        progress: Hears one line (``still waiting for the model server at URL (30 s)...``) every
            ``progress_every_s`` while a request waits for the server; the CLI prints it on stderr. Lines from
            concurrent requests are merged: only the longest-waiting one reports, with the count in flight.
        progress_every_s: Seconds between progress lines.
    """

    def __init__(
        self,
        config: LLMConfig,
        *,
        default_model: str,
        transport: httpx.AsyncBaseTransport | None = None,
        chat_factory: Callable[[str], BaseChatModel] | None = None,
        progress: Callable[[str], None] | None = None,
        progress_every_s: float = 10.0,
    ) -> None:
        self.config = config
        self.default_model = default_model
        self._transport = transport
        self._chat_factory = chat_factory
        self._progress = progress
        self._progress_every_s = progress_every_s
        self._waiting_since: dict[object, float] = {}  # in start order: the first is the longest waiting
        self._answered = False  # the server has answered some request of this client (it is not frozen)
        self._ssl: ssl.SSLContext | None = None
        self._counts: dict[tuple[str, str], PromptCount] = {}
        self._context: dict[str, int] = {}
        self._no_tokenize: set[str] = set()

    @property
    def base_url(self) -> str:
        """The endpoint's OpenAI-compatible base URL (ending in ``/v1``)."""
        return self.config.base_url

    def chat_model(self, model: str | None = None, **overrides: Any) -> BaseChatModel:
        """A LangChain chat model bound to ``model`` on this endpoint, for graphs that need one directly.

        It gets an HTTP client of its own, so models made in different event loops never share connections.
        """
        if self._chat_factory is not None:
            return self._chat_factory(model or self.default_model)
        from langchain_openai import ChatOpenAI  # imported on first use: it pulls in the OpenAI SDK's types

        params: dict[str, Any] = {
            "model": model or self.default_model,
            "base_url": self.config.base_url,
            "api_key": self.config.api_key,
            "timeout": self._timeout(),
            "max_retries": self.config.max_retries,
            "temperature": self.config.temperature,
            "max_completion_tokens": self.config.max_tokens,
            "stream_usage": True,
        }
        params["http_async_client"] = self._http()
        params.update(overrides)
        return ChatOpenAI(**params)

    async def complete(
        self,
        messages: Messages,
        *,
        model: str | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> Completion:
        """A free-text chat completion.

        Raises:
            ModelServerError: A subclass saying whether the server is unreachable, too slow, or lacks the model.
        """
        name = model or self.default_model
        overrides = _sampling(max_tokens, temperature)
        began = time.perf_counter()
        async with self._http() as http:
            llm = self.chat_model(name, http_async_client=http, max_retries=0, **overrides)
            message = await self._chat(
                name, lambda: llm.ainvoke(_as_messages(messages)), max_tokens=max_tokens, temperature=temperature
            )
        return Completion(
            text=_text(message),
            model=name,
            usage=_usage(message),
            latency_s=time.perf_counter() - began,
            finish_reason=_finish_reason(message),
        )

    async def structured(
        self,
        messages: Messages,
        schema: type[T],
        *,
        model: str | None = None,
        max_tokens: int | None = None,
    ) -> Structured[T]:
        """An answer constrained to ``schema`` (a pydantic model) through the server's structured outputs.

        Raises:
            ModelOutputError: The output does not validate against the schema (for example it was cut off by
                the token limit).
            ModelServerError: As for :meth:`complete`.
        """
        name = model or self.default_model
        message, latency = await self._json_call(
            messages, name, schema.__name__, schema.model_json_schema(), max_tokens
        )
        raw = _text(message)
        try:
            value = schema.model_validate_json(raw)
        except ValidationError:
            raise ModelOutputError(
                f"Model {name!r} returned output that does not match the {schema.__name__} schema "
                f"({_short(raw)}); retry, raise llm.max_tokens, or simplify the schema.",
                url=self.base_url,
                model=name,
                raw=raw,
                finish_reason=_finish_reason(message),
            ) from None
        return Structured(value=value, raw=raw, model=name, usage=_usage(message), latency_s=latency)

    async def structured_json(
        self,
        messages: Messages,
        schema: Mapping[str, Any],
        *,
        name: str,
        model: str | None = None,
        max_tokens: int | None = None,
    ) -> Structured[dict[str, Any]]:
        """An answer constrained to a JSON schema given as a mapping, for schemas pydantic cannot express.

        The answer is parsed as a JSON object but not validated here: the caller validates what the schema
        could not say.

        Raises:
            ModelOutputError: The output is not a JSON object (for example it was cut off by the token limit).
            ModelServerError: As for :meth:`complete`.
        """
        chosen = model or self.default_model
        message, latency = await self._json_call(messages, chosen, name, dict(schema), max_tokens)
        raw = _text(message)
        try:
            value = json.loads(raw)
        except ValueError:
            value = None
        if not isinstance(value, dict):
            raise ModelOutputError(
                f"Model {chosen!r} returned output that is not a {name} JSON object ({_short(raw)}); retry, raise "
                "llm.max_tokens, or simplify the schema.",
                url=self.base_url,
                model=chosen,
                raw=raw,
                finish_reason=_finish_reason(message),
            )
        return Structured(value=value, raw=raw, model=chosen, usage=_usage(message), latency_s=latency)

    async def choose(self, messages: Messages, choices: Sequence[str], *, model: str | None = None) -> str:
        """One of ``choices``, picked by the model under a JSON-schema enum constraint.

        The enum is carried in a JSON schema rather than a server-specific "choice" option, so any
        OpenAI-compatible endpoint with structured outputs can answer it.

        Raises:
            ValueError: ``choices`` is empty or has duplicates.
            ModelOutputError: The answer is not one of ``choices``.
        """
        options = list(choices)
        if not options or len(set(options)) != len(options):
            raise ValueError("choices must be a non-empty list of distinct strings")
        name = model or self.default_model
        schema = {
            "title": "Choice",
            "description": "Pick exactly one of the allowed options.",
            "type": "object",
            "properties": {"choice": {"type": "string", "enum": options}},
            "required": ["choice"],
            "additionalProperties": False,
        }
        message, _latency = await self._json_call(messages, name, "Choice", schema, 64)
        raw = _text(message)
        try:
            picked = json.loads(raw).get("choice")
        except (ValueError, AttributeError):
            picked = None
        if picked not in options:
            raise ModelOutputError(
                f"Model {name!r} did not pick one of {options} ({_short(raw)}).",
                url=self.base_url,
                model=name,
                raw=raw,
            )
        return str(picked)

    async def count_tokens(self, messages: Messages, *, model: str | None = None) -> PromptCount:
        """The prompt tokens of a chat request for ``model``, with the context length they must fit in.

        vLLM's ``POST /tokenize`` renders the messages with the served model's chat template (generation prompt
        included, as a chat completion does) and tokenizes them, so the count is exact; it also reports the
        server's ``max_model_len``. A server without that endpoint (another OpenAI-compatible server) gets
        :func:`estimate_tokens`, which over-counts, and the context length from ``/v1/models`` or
        ``llm.context_length``. So does a client whose chat models come from a ``chat_factory`` with no
        ``transport``: its chats never reach this endpoint. Counts are cached per client.

        Raises:
            ModelServerUnavailableError: The server cannot be reached.
            ModelTimeoutError: The server did not answer in time.
        """
        name = model or self.default_model
        payload = convert_to_openai_messages(_as_messages(messages))
        key = (name, json.dumps(payload, ensure_ascii=False, sort_keys=True))
        cached = self._counts.get(key)
        if cached is not None:
            return cached
        count: PromptCount | None = None
        if self._serves_chats() and name not in self._no_tokenize:
            try:
                body = await self._admin("POST", "/tokenize", json={"model": name, "messages": payload}, root=True)
            except (ModelServerUnavailableError, ModelTimeoutError):
                raise
            except ModelServerError:
                self._no_tokenize.add(name)  # not vLLM (or not this model): estimate from now on
            else:
                if isinstance(body.get("count"), int):
                    if isinstance(body.get("max_model_len"), int):
                        self._context[name] = body["max_model_len"]
                    count = PromptCount(
                        tokens=body["count"], context_length=await self.context_length(name), exact=True
                    )
                else:
                    self._no_tokenize.add(name)
        if count is None:
            count = PromptCount(
                tokens=estimate_tokens(payload), context_length=await self.context_length(name), exact=False
            )
        if len(self._counts) >= _COUNT_CACHE_SIZE:
            self._counts.pop(next(iter(self._counts)))
        self._counts[key] = count
        return count

    async def context_length(self, model: str | None = None) -> int:
        """The served model's context length, cached per client.

        That is its ``max_model_len`` in ``/v1/models`` (vLLM lists it for a base model; an adapter has its base
        model's), else ``llm.context_length``.

        Raises:
            ModelServerUnavailableError: The server cannot be reached.
            ModelTimeoutError: The server did not answer in time.
        """
        name = model or self.default_model
        if name not in self._context:
            length = self.config.context_length
            if self._serves_chats():
                try:
                    data = await self._admin("GET", "/models")
                except (ModelServerUnavailableError, ModelTimeoutError):
                    raise
                except ModelServerError:
                    data = {}
                listed = {str(item.get("id")): item for item in data.get("data", []) if isinstance(item, dict)}
                entry = listed.get(name, {})
                # vLLM lists an adapter without a length, under the base model it extends (its ``parent``).
                reported = entry.get("max_model_len") or listed.get(str(entry.get("parent")), {}).get("max_model_len")
                if isinstance(reported, int) and reported > 0:
                    length = reported
            self._context[name] = length
        return self._context[name]

    async def models(self) -> list[str]:
        """The model names the endpoint serves (base model and loaded adapters)."""
        data = await self._admin("GET", "/models")
        return [str(item["id"]) for item in data.get("data", [])]

    async def load_adapter(self, name: str, path: Path) -> None:
        """Load a LoRA adapter into the running server under ``name`` (vLLM runtime LoRA updating)."""
        await self._admin("POST", "/load_lora_adapter", json={"lora_name": name, "lora_path": str(path)})

    async def unload_adapter(self, name: str) -> None:
        """Unload a LoRA adapter from the running server."""
        await self._admin("POST", "/unload_lora_adapter", json={"lora_name": name})

    async def _json_call(
        self, messages: Messages, model: str, title: str, schema: dict[str, Any], max_tokens: int | None
    ) -> tuple[AIMessage, float]:
        response_format = {
            "type": "json_schema",
            "json_schema": {"name": title, "schema": schema, "strict": True},
        }
        began = time.perf_counter()
        async with self._http() as http:
            llm = self.chat_model(model, http_async_client=http, max_retries=0, **_sampling(max_tokens, None))
            bound = llm.bind(response_format=response_format)
            message = await self._chat(
                model, lambda: bound.ainvoke(_as_messages(messages)), max_tokens=max_tokens, output="json"
            )
        if not isinstance(message, AIMessage):
            raise ModelOutputError(f"Model {model!r} returned no message.", url=self.base_url, model=model)
        return message, time.perf_counter() - began

    async def _chat(
        self,
        model: str,
        call: Callable[[], Awaitable[M]],
        *,
        max_tokens: int | None,
        temperature: float | None = None,
        output: str = "text",
    ) -> M:
        """One chat call (:meth:`_guard`) inside its ``chat <model>`` span (GenAI semantic conventions)."""
        address = urlsplit(self.base_url)
        attributes: dict[str, str | int | float] = {
            GEN_AI_OPERATION_NAME: "chat",
            GEN_AI_PROVIDER_NAME: "vllm",
            GEN_AI_REQUEST_MODEL: model,
            GEN_AI_REQUEST_MAX_TOKENS: max_tokens if max_tokens is not None else self.config.max_tokens,
            GEN_AI_REQUEST_TEMPERATURE: temperature if temperature is not None else self.config.temperature,
            GEN_AI_OUTPUT_TYPE: output,
            SERVER_ADDRESS: address.hostname or "",
        }
        if address.port is not None:
            attributes[SERVER_PORT] = address.port
        tracer = trace.get_tracer(TRACER_NAME)
        with tracer.start_as_current_span(
            f"chat {model}",
            kind=SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                message = await self._guard(model, call)
            except BaseException as exc:
                record_failure(span, exc)
                raise
            _record_response(span, message)
            return message

    async def _guard(self, model: str, call: Callable[[], Awaitable[R]]) -> R:
        """Run one chat call, probing first a server that has not answered yet; every failure is one sentence.

        Connection errors, 408, 409, 429 and 5xx are retried ``llm.max_retries`` times, here rather than by the
        OpenAI client underneath (``max_retries=0``): that would also retry a timed-out generation, which takes as
        long again, so a hung server held a caller for ``timeout_s`` times three.
        """
        await self._probe()
        attempt = 0
        while True:
            try:
                async with self._waiting():
                    return await call()
            except openai.APITimeoutError:
                raise ModelTimeoutError(
                    f"The model server at {self.base_url} did not answer model {model!r} within "
                    f"{self.config.timeout_s:g} s (llm.timeout_s); it is overloaded or hung, or the answer is long: "
                    "check the server, or raise llm.timeout_s.",
                    url=self.base_url,
                    model=model,
                ) from None
            except openai.APIConnectionError as exc:
                if isinstance(exc.__cause__, ModelServerError):  # raised by _check_completion, wrapped by openai
                    raise exc.__cause__ from None
                if attempt < self.config.max_retries:
                    attempt += 1
                    await asyncio.sleep(_backoff(attempt, None))
                    continue
                raise self._unreachable() from None
            except openai.APIStatusError as exc:
                if _retryable(exc.status_code) and attempt < self.config.max_retries:
                    attempt += 1
                    await asyncio.sleep(_backoff(attempt, exc.response.headers.get("retry-after")))
                    continue
                raise await self._rejected(model, exc) from None
            except (openai.LengthFinishReasonError, openai.ContentFilterFinishReasonError) as exc:
                cut = (
                    "was cut off by the token limit"
                    if isinstance(exc, openai.LengthFinishReasonError)
                    else "was filtered"
                )
                raise ModelOutputError(
                    f"Model {model!r} output {cut} before it was complete; raise max_tokens or shorten the prompt.",
                    url=self.base_url,
                    model=model,
                    finish_reason="length" if isinstance(exc, openai.LengthFinishReasonError) else "content_filter",
                ) from None

    async def _rejected(self, model: str, exc: openai.APIStatusError) -> ModelServerError:
        if isinstance(exc, openai.NotFoundError):
            available: tuple[str, ...] = ()
            with contextlib.suppress(ModelServerError):
                available = tuple(await self.models())
            served = ", ".join(available) or "nothing it would list"
            return ModelNotFoundError(
                f"The model server at {self.base_url} does not serve {model!r}; it serves: {served}.",
                url=self.base_url,
                model=model,
                available=available,
            )
        return ModelServerError(
            f"The model server at {self.base_url} rejected the request for {model!r} "
            f"(HTTP {exc.status_code}): {_server_message(exc)}.",
            url=self.base_url,
            model=model,
        )

    async def _probe(self) -> None:
        """Before a client's first chat, check quickly that the server answers at all (``GET /v1/models``).

        A frozen server then fails in ``llm.connect_timeout_s`` instead of ``llm.timeout_s``. Any HTTP answer, even
        an error, proves it is not frozen; a refused connection, or any other failure of the probe, is left to the
        chat call, which retries and reports it.

        Raises:
            ModelServerUnresponsiveError: No connection, or no answer, within ``llm.connect_timeout_s``.
        """
        if self._answered or not self._serves_chats():
            return
        try:
            await self._admin("GET", "/models")
        except ModelServerUnresponsiveError:
            raise
        except Exception:  # proves nothing either way: the call itself will tell
            return

    @contextlib.asynccontextmanager
    async def _waiting(self) -> AsyncIterator[None]:
        """Report ``still waiting ...`` to ``progress`` while the block runs longer than ``progress_every_s``."""
        if self._progress is None:
            yield
            return
        token = object()
        self._waiting_since[token] = time.monotonic()
        ticker = asyncio.create_task(self._tick(token))
        try:
            yield
        finally:
            ticker.cancel()
            del self._waiting_since[token]

    async def _tick(self, token: object) -> None:
        assert self._progress is not None
        began = self._waiting_since[token]
        while True:
            await asyncio.sleep(self._progress_every_s)
            if next(iter(self._waiting_since), None) is not token:
                continue  # a request that has waited longer reports for all of them
            waiting = len(self._waiting_since)
            also = f", {waiting} requests" if waiting > 1 else ""
            self._progress(
                f"still waiting for the model server at {self.base_url} ({time.monotonic() - began:.0f} s{also})..."
            )

    def _serves_chats(self) -> bool:
        """Whether this client's chats go to its endpoint (not to models from a ``chat_factory`` alone)."""
        return self._chat_factory is None or self._transport is not None

    async def _admin(
        self, method: str, path: str, json: dict[str, Any] | None = None, *, root: bool = False
    ) -> dict[str, Any]:
        """Call the server outside the chat API; ``root`` paths (vLLM's ``/tokenize``) sit beside ``/v1``.

        ``GET /models`` and ``/tokenize`` answer in milliseconds on a live server, so they get the connect deadline
        (``llm.connect_timeout_s``) and a timeout means the server is frozen; adapter loading gets ``llm.timeout_s``.
        """
        headers = {"Authorization": f"Bearer {self.config.api_key}"}
        url = (self.base_url.removesuffix("/v1") if root else self.base_url) + path
        quick = path in _QUICK_PATHS
        try:
            async with self._http(quick=quick) as http, self._waiting():
                response = await http.request(method, url, json=json, headers=headers)
        except httpx.ConnectTimeout:
            raise self._unresponsive(
                f"did not accept a connection within {self._connect_deadline():g} s (llm.connect_timeout_s)"
            ) from None
        except httpx.TimeoutException:
            if quick:
                raise self._unresponsive(
                    f"accepted the connection but did not answer {method} {path} within "
                    f"{self._connect_deadline():g} s (llm.connect_timeout_s), which a live server does in "
                    "milliseconds"
                ) from None
            raise ModelTimeoutError(
                f"The model server at {self.base_url} did not answer {method} {path} within "
                f"{self.config.timeout_s:g} s (llm.timeout_s).",
                url=self.base_url,
            ) from None
        except httpx.HTTPError:
            raise self._unreachable() from None
        if response.status_code >= 400:
            detail = _response_message(response)
            if response.status_code == 404 and path.endswith("_lora_adapter"):
                detail = "runtime adapter loading is disabled (start the server with `kubeai serve`)"
            raise ModelServerError(
                f"The model server at {self.base_url} refused {method} {path} (HTTP {response.status_code}): {detail}.",
                url=self.base_url,
            )
        if not response.content or not response.headers.get("content-type", "").startswith("application/json"):
            return {}
        body = response.json()
        return body if isinstance(body, dict) else {"data": body}

    def _connect_deadline(self) -> float:
        """``llm.connect_timeout_s``, but never longer than a whole request may take."""
        return min(self.config.connect_timeout_s, self.config.timeout_s)

    def _timeout(self, *, quick: bool = False) -> httpx.Timeout:
        connect = self._connect_deadline()
        return httpx.Timeout(connect if quick else self.config.timeout_s, connect=connect)

    def _http(self, *, quick: bool = False) -> httpx.AsyncClient:
        # Building an SSL context costs ~35 ms of CPU and blocks the event loop (every task running beside this
        # call stalls), so all of this client's connections share one.
        if self._ssl is None:
            import certifi

            self._ssl = ssl.create_default_context(cafile=certifi.where())
        return httpx.AsyncClient(
            timeout=self._timeout(quick=quick),
            transport=self._transport,
            verify=self._ssl,
            event_hooks={"response": [self._check_completion]},
        )

    async def _check_completion(self, response: httpx.Response) -> None:
        """Note that the server answered; reject a 200 chat completion that is not one, in one sentence.

        Without this, an HTML page, JSON of another shape or an empty ``choices`` list fails deep inside the OpenAI
        and LangChain clients with an ``AttributeError``, ``TypeError`` or ``IndexError``.

        Raises:
            ModelServerProtocolError: The server answered ``/chat/completions`` with something else.
        """
        self._answered = True
        request = response.request
        if response.status_code != 200 or not request.url.path.endswith("/chat/completions"):
            return
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            return  # a stream: the SDK parses it event by event
        await response.aread()
        problem = _completion_problem(response)
        if problem is None:
            return
        try:
            model = json.loads(request.content).get("model")
        except (ValueError, AttributeError):
            model = None
        path = request.url.path
        raise ModelServerProtocolError(
            f"The model server at {self.base_url} answered {request.method} {path}"
            + (f" for {model!r}" if model else "")
            + f" with {problem}; check that llm.base_url (KUBEAI_LLM__BASE_URL) points at an OpenAI-compatible API "
            "such as vLLM's (its URL usually ends in /v1), not at a web page or a proxy, and check the server's log.",
            url=self.base_url,
            model=str(model) if model else None,
            path=path,
            status=response.status_code,
            content_type=response.headers.get("content-type", ""),
        )

    def _unresponsive(self, what: str) -> ModelServerUnresponsiveError:
        return ModelServerUnresponsiveError(
            f"The model server at {self.base_url} {what}; it is frozen or overloaded: check its log or restart it, "
            "or raise llm.connect_timeout_s for a server that is slow to answer.",
            url=self.base_url,
            deadline_s=self._connect_deadline(),
            setting="llm.connect_timeout_s",
        )

    def _unreachable(self) -> ModelServerUnavailableError:
        return ModelServerUnavailableError(
            f"Cannot reach the model server at {self.base_url}; start it with `kubeai serve` or point "
            "llm.base_url (KUBEAI_LLM__BASE_URL) at a running OpenAI-compatible server.",
            url=self.base_url,
        )


_COUNT_CACHE_SIZE = 256
_QUICK_PATHS = frozenset({"/models", "/tokenize"})  # answered in milliseconds by a live server
_RETRY_STATUSES = frozenset({408, 409, 429})  # and every 5xx, as the OpenAI client retries them
_MAX_BACKOFF_S = 8.0
_MESSAGE_OVERHEAD = 5  # ChatML: <|im_start|>, the role, a newline, <|im_end|>, a newline
_GENERATION_PROMPT = 3  # <|im_start|>assistant and a newline


def estimate_tokens(messages: Sequence[Mapping[str, Any]]) -> int:
    """A conservative token count of OpenAI-style chat messages, for servers that cannot count them.

    Two ASCII characters a token (SQL runs about 2.5, English about 4 with the tokenizers we serve) and three
    tokens a non-ASCII character (a byte-level tokenizer never needs more tokens than UTF-8 bytes), plus the
    chat template's tokens around each message.
    """
    total = _GENERATION_PROMPT
    for message in messages:
        content = message.get("content") or ""
        text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
        ascii_chars = sum(1 for char in text if char.isascii())
        total += _MESSAGE_OVERHEAD + math.ceil(ascii_chars / 2) + 3 * (len(text) - ascii_chars)
    return total


def _as_messages(messages: Messages) -> list[BaseMessage]:
    return [HumanMessage(content=messages)] if isinstance(messages, str) else list(messages)


def _sampling(max_tokens: int | None, temperature: float | None) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    if max_tokens is not None:
        overrides["max_completion_tokens"] = max_tokens
    if temperature is not None:
        overrides["temperature"] = temperature
    return overrides


def _text(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") if isinstance(part, dict) else str(part) for part in content)


def _finish_reason(message: BaseMessage) -> str | None:
    reason = message.response_metadata.get("finish_reason")
    return str(reason) if reason else None


def _record_response(span: Span, message: BaseMessage) -> None:
    """The response's model, id, finish reason and token usage, as GenAI semantic-convention span attributes."""
    meta = message.response_metadata
    if meta.get("model_name"):
        span.set_attribute(GEN_AI_RESPONSE_MODEL, str(meta["model_name"]))
    if message.id and not message.id.startswith("lc_"):  # LangChain's own run ids say nothing about the server
        span.set_attribute(GEN_AI_RESPONSE_ID, message.id)
    reason = _finish_reason(message)
    if reason:
        span.set_attribute(GEN_AI_RESPONSE_FINISH_REASONS, (reason,))
    if isinstance(message, AIMessage) and message.usage_metadata:
        usage = _usage(message)
        span.set_attribute(GEN_AI_USAGE_INPUT_TOKENS, usage.prompt_tokens)
        span.set_attribute(GEN_AI_USAGE_OUTPUT_TOKENS, usage.completion_tokens)


def _usage(message: AIMessage) -> Usage:
    meta = message.usage_metadata
    if not meta:
        return Usage()
    return Usage(prompt_tokens=meta.get("input_tokens", 0), completion_tokens=meta.get("output_tokens", 0))


def _flat(text: str, limit: int = 200) -> str:
    """``text`` on one line (an HTML error page has many), cut to ``limit`` characters."""
    flat = " ".join(text.split())
    return flat[:limit] + ("…" if len(flat) > limit else "")


def _short(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    if not flat:
        return "empty output"
    return f"got {flat[:limit]!r}" + ("…" if len(flat) > limit else "")


def _retryable(status: int) -> bool:
    return status in _RETRY_STATUSES or status >= 500


def _backoff(attempt: int, retry_after: str | None) -> float:
    """Seconds before retry ``attempt`` (1, 2, ...): the server's ``Retry-After`` when sane, else 0.5 s doubling."""
    with contextlib.suppress(TypeError, ValueError):
        asked = float(retry_after)  # type: ignore[arg-type]
        if 0 <= asked <= _MAX_BACKOFF_S * 4:
            return asked
    return float(min(0.5 * 2 ** (attempt - 1), _MAX_BACKOFF_S))


def _completion_problem(response: httpx.Response) -> str | None:
    """What is wrong with a 200 answer to ``/chat/completions``, as a phrase; ``None`` when it is a completion."""
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    text = response.text
    if not content_type.endswith("json"):
        if "html" in content_type or text.lstrip()[:1] == "<":
            return f"an HTML page instead of a chat completion ({_short(text)})"
        return f"{content_type or 'a body with no content type'} instead of a JSON chat completion ({_short(text)})"
    try:
        body = response.json()
    except ValueError:
        return f"invalid JSON ({_short(text)})"
    return _not_a_completion(body, text)


def _not_a_completion(body: Any, text: str) -> str | None:
    if isinstance(body, dict) and "choices" not in body and isinstance(body.get("error"), dict | str):
        return f"an error instead of a chat completion ({_short(json.dumps(body['error'], ensure_ascii=False))})"
    if not isinstance(body, dict) or not isinstance(body.get("choices"), list):
        has = f"keys {', '.join(map(str, list(body)[:8]))}" if isinstance(body, dict) and body else _short(text)
        return f"JSON that is not a chat completion (no 'choices' list; {has})"
    if not body["choices"]:
        return "a chat completion whose 'choices' list is empty"
    first = body["choices"][0]
    if not isinstance(first, dict) or not isinstance(first.get("message"), dict):
        return f"a chat completion whose first choice has no 'message' ({_short(json.dumps(first))})"
    return None


def _server_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"]).rstrip(".")
        if isinstance(body.get("message"), str):
            return str(body["message"]).rstrip(".")
    if isinstance(body, str) and body.strip():  # not JSON: a proxy's HTML error page, say
        return _flat(body).rstrip(".")
    return _flat(str(exc.message)).rstrip(".")


def _response_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return _flat(response.text) or response.reason_phrase
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"]).rstrip(".")
        if isinstance(body.get("detail"), str):
            return str(body["detail"]).rstrip(".")
    return str(body)[:200]
