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
from serving.client import ModelClient, Usage
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

    with pytest.raises(ModelOutputError, match="cut off by the token limit"):
        await client(handler).structured("Capital?", City)
