"""The official ``openai`` client against `kubeai api` (a real uvicorn process) on the real vLLM server and a real
DuckDB warehouse: the agents listed as models, one completion and one streamed completion from the metrics agent,
each carrying the answer, the SQL and the rows."""

from __future__ import annotations

import openai
import pytest

from tests.integration.support import Api

pytestmark = pytest.mark.integration
QUESTION = "What was GMV last month?"


def test_the_official_openai_client_gets_answers_with_sql_and_rows(shared_api: Api) -> None:
    _, secret = shared_api.keys().create("openai-client")
    client = openai.OpenAI(base_url=f"{shared_api.url}/v1", api_key=secret, timeout=900, max_retries=0)
    assert "kubeai-metrics" in [m.id for m in client.models.list().data]

    done = client.chat.completions.create(model="kubeai-metrics", messages=[{"role": "user", "content": QUESTION}])
    extra = (done.model_extra or {})["kubeai"]
    content = done.choices[0].message.content or ""
    assert done.choices[0].finish_reason == "stop" and not extra["abstained"], content
    assert extra["sql"] and extra["rows"] and extra["answer"].strip(), extra
    assert extra["answer"].split()[0] in content.split("\n\n")[0], (extra["answer"], content)
    assert f"```sql\n{extra['sql'].strip()}\n```" in content and "|---" in content

    stream = client.chat.completions.create(
        model="kubeai-metrics", messages=[{"role": "user", "content": QUESTION}], stream=True
    )
    chunks = [c for c in stream if c.choices]
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks)
    last = (chunks[-1].model_extra or {})["kubeai"]
    assert chunks[-1].choices[0].finish_reason == "stop" and last["sql"] and last["rows"], last
    assert last["answer"].split()[0] in streamed and f"```sql\n{last['sql'].strip()}\n```" in streamed
