"""The MCP server's key refusals share the HTTP API's bilingual error body, ``detail`` following Accept-Language."""

from __future__ import annotations

from typing import Any

import httpx

from app.mcp_server import RequireKey
from app.messages import INVALID_KEY


async def never(scope: Any, receive: Any, send: Any) -> None:
    raise AssertionError("a refused request must not reach the app")


async def test_a_refusal_is_in_both_languages_and_detail_follows_accept_language() -> None:
    guarded = RequireKey(never, lambda _secret: None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=guarded), base_url="http://mcp") as http:
        english = await http.post("/mcp", headers={"Authorization": "Bearer kai_x_y"})
        chinese = await http.post("/mcp", headers={"Authorization": "Bearer kai_x_y", "Accept-Language": "zh-CN"})
        missing = await http.post("/mcp", headers={"Accept-Language": "zh"})

    assert english.status_code == chinese.status_code == missing.status_code == 401
    assert english.json() == chinese.json() | {"detail": english.json()["detail_en"]}
    assert chinese.json()["detail"] == chinese.json()["detail_zh"] == INVALID_KEY.zh
    assert missing.json()["detail"].startswith("此服务需要 API 密钥")
