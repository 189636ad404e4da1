import json
from collections.abc import Callable

import httpx
import pytest
from pydantic import BaseModel

from kubeai.config import LLMConfig
from kubeai.errors import (
    ModelNotFoundError,
    ModelOutputError,
    ModelServerError,
    ModelServerUnavailableError,
    ModelTimeoutError,
)
from serving.client import ModelClient, PromptCount, Usage, estimate_tokens
from serving.launcher import free_port

Handler = Callable[[httpx.Request], httpx.Response]


class City(BaseModel):
    city: str
    country: str


def completion(content: str, model: str = "base") -> httpx.Response:
    body = {
        "id": "c1",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16},
    }
    return httpx.Response(200, json=body)


def client(handler: Handler) -> ModelClient:
    config = LLMConfig(base_url="http://model.test/v1", max_retries=0, timeout_s=5)
    return ModelClient(config, default_model="base", transport=httpx.MockTransport(handler))


async def test_complete_returns_text_usage_and_sends_the_chosen_model() -> None:
    seen: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return completion("Paris.", model="style")

    answer = await client(handler).complete("Capital of France?", model="style", max_tokens=7)
    assert answer.text == "Paris."
    assert answer.usage == Usage(prompt_tokens=11, completion_tokens=5)
    assert seen[0]["model"] == "style"
    assert seen[0]["max_completion_tokens"] == 7


async def test_structured_sends_a_json_schema_and_validates() -> None:
    seen: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return completion('{"city": "Paris", "country": "France"}')

    result = await client(handler).structured("Capital of France?", City)
    assert result.value == City(city="Paris", country="France")
    response_format = seen[0]["response_format"]
    assert isinstance(response_format, dict)
    assert response_format["type"] == "json_schema"
    assert set(response_format["json_schema"]["schema"]["properties"]) == {"city", "country"}


@pytest.mark.parametrize("content", ['{"city": "Par', '{"city": "Paris"}', "Paris, France", ""])
async def test_structured_output_that_does_not_validate_is_a_clear_error(content: str) -> None:
    with pytest.raises(ModelOutputError, match="does not match the City schema") as info:
        await client(lambda _r: completion(content)).structured("Capital?", City)
    assert info.value.raw == content


async def test_choose_constrains_to_an_enum_and_rejects_others() -> None:
    seen: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return completion('{"choice": "bar"}')

    assert await client(handler).choose("Pick", ["bar", "line"]) == "bar"
    schema = seen[0]["response_format"]["json_schema"]["schema"]  # type: ignore[index]
    assert schema["properties"]["choice"]["enum"] == ["bar", "line"]
    with pytest.raises(ModelOutputError, match="did not pick one of"):
        await client(lambda _r: completion('{"choice": "pie"}')).choose("Pick", ["bar", "line"])
    with pytest.raises(ValueError, match="distinct"):
        await client(handler).choose("Pick", ["a", "a"])


async def test_unknown_model_lists_what_the_server_serves() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json={"object": "list", "data": [{"id": "base"}, {"id": "style"}]})
        return httpx.Response(404, json={"error": {"message": "The model `nope` does not exist."}})

    with pytest.raises(ModelNotFoundError, match="does not serve 'nope'; it serves: base, style") as info:
        await client(handler).complete("hi", model="nope")
    assert info.value.available == ("base", "style")


async def test_rejected_request_quotes_the_server() -> None:
    def handler(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": {"message": "This model's maximum context length is 2048 tokens."}})

    with pytest.raises(ModelServerError, match=r"HTTP 400\): This model's maximum context length is 2048 tokens\.$"):
        await client(handler).complete("hi")


async def test_timeout_is_a_timeout_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json={"object": "list", "data": [{"id": "base"}]})
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(ModelTimeoutError, match="did not answer model 'base' within 5 s"):
        await client(handler).complete("hi")


async def test_unreachable_server_is_one_sentence_naming_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    real = ModelClient(LLMConfig(base_url=url, max_retries=0, timeout_s=5), default_model="base")
    for call in (real.complete("hi"), real.models(), real.structured("hi", City)):
        with pytest.raises(ModelServerUnavailableError, match=f"Cannot reach the model server at {url}; start it"):
            await call


async def test_adapter_admin_calls() -> None:
    seen: list[tuple[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, json.loads(request.content)))
        if request.url.path.endswith("unload_lora_adapter"):
            return httpx.Response(404, json={"detail": "Not Found"})
        return httpx.Response(200, text="Success")

    from pathlib import Path

    await client(handler).load_adapter("style", Path("/adapters/style"))
    assert seen[0] == ("/v1/load_lora_adapter", {"lora_name": "style", "lora_path": "/adapters/style"})
    with pytest.raises(ModelServerError, match="runtime adapter loading is disabled"):
        await client(handler).unload_adapter("style")


async def test_output_cut_off_by_the_token_limit_is_an_output_error() -> None:
    def handler(_request: httpx.Request) -> httpx.Response:
        body = completion('{"city": "Par').json()
        body["choices"][0]["finish_reason"] = "length"
        return httpx.Response(200, json=body)

    with pytest.raises(ModelOutputError, match="cut off by the token limit") as caught:
        await client(handler).structured("Capital?", City)
    assert caught.value.finish_reason == "length"


async def test_a_completion_cut_off_by_the_token_limit_says_so() -> None:
    def handler(_request: httpx.Request) -> httpx.Response:
        body = completion("Paris is the capital of").json()
        body["choices"][0]["finish_reason"] = "length"
        return httpx.Response(200, json=body)

    answer = await client(handler).complete("Capital?", max_tokens=5)
    assert answer.finish_reason == "length"
    assert (await client(lambda _r: completion("Paris.")).complete("Capital?")).finish_reason == "stop"


async def test_count_tokens_asks_the_servers_tokenizer_once() -> None:
    seen: list[tuple[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, json.loads(request.content) if request.content else None))
        if request.url.path == "/tokenize":
            return httpx.Response(200, json={"count": 42, "max_model_len": 8192, "tokens": [1] * 42})
        return httpx.Response(404, json={"detail": "Not Found"})

    from langchain_core.messages import HumanMessage, SystemMessage

    llm = client(handler)
    messages = [SystemMessage(content="Be brief."), HumanMessage(content="Capital of France?")]
    assert await llm.count_tokens(messages, model="style") == PromptCount(tokens=42, context_length=8192, exact=True)
    assert await llm.count_tokens(messages, model="style") == PromptCount(tokens=42, context_length=8192, exact=True)
    assert seen == [
        (
            "/tokenize",
            {
                "model": "style",
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "Capital of France?"},
                ],
            },
        )
    ]
    assert await llm.context_length("style") == 8192


async def test_a_server_without_tokenize_gets_a_conservative_estimate() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path == "/v1/models":
            models = [{"id": "base", "max_model_len": 4096}, {"id": "style", "parent": "base"}, {"id": "other"}]
            return httpx.Response(200, json={"data": models})
        return httpx.Response(404, json={"detail": "Not Found"})

    llm = client(handler)
    first = await llm.count_tokens("Capital of France?")
    assert first == PromptCount(tokens=estimate_tokens([{"role": "user", "content": "Capital of France?"}]),
                                context_length=4096, exact=False)  # fmt: skip
    assert (await llm.count_tokens("And of Italy?")).exact is False
    assert seen.count("/tokenize") == 1  # asked once, then estimated
    assert await llm.context_length("other") == LLMConfig().context_length  # the server does not say: the config
    assert await llm.context_length("style") == 4096  # an adapter has its base model's context


def test_the_estimate_over_counts() -> None:
    # Real SmolLM2 counts: this SQL is 26 tokens, the Chinese question 20, each with ~5 template tokens.
    sql = "SELECT SUM(paid_amount) AS gmv FROM orders WHERE status <> 'cancelled' GROUP BY 1"
    assert estimate_tokens([{"role": "user", "content": sql}]) >= 26 + 5 + 3
    assert estimate_tokens([{"role": "user", "content": "各地区上个月的GMV是多少？"}]) >= 20 + 5 + 3


async def test_a_client_of_scripted_chat_models_estimates_without_a_server() -> None:
    from tests.unit.fakes import scripted_client

    llm, _chat = scripted_client()
    count = await llm.count_tokens("hello")
    assert not count.exact and count.context_length == llm.config.context_length == 8192


async def test_counting_on_an_unreachable_server_is_the_usual_error() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    real = ModelClient(LLMConfig(base_url=url, max_retries=0, timeout_s=5), default_model="base")
    with pytest.raises(ModelServerUnavailableError, match=f"Cannot reach the model server at {url}"):
        await real.count_tokens("hi")
