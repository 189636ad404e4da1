"""The web chat's static routes, its shipped files (no external URL, no markup from text), its strings in both
languages, and the two routes it needs: the caller's thread list and the models with their cards."""

from __future__ import annotations

import json
import re
from pathlib import Path

from app.api.routes_web import ASSETS, plotly_js
from app.keys import KeyStore
from kubeai.config import ProjectConfig
from tests.unit.app.api.conftest import Opener

WEB = Path(__file__).resolve().parents[4] / "app" / "web"
SHIPPED = sorted(WEB / name for name in ASSETS)


async def test_the_page_its_files_and_plotly_are_served_without_a_key(api: Opener) -> None:
    async with api() as http:
        page = await http.get("/")
        files = {name: await http.get(f"/web/{name}") for name in ASSETS if name != "index.html"}
        plotly = await http.get("/web/plotly.min.js")
        unknown = await http.get("/web/secrets.py")
        climbing = await http.get("/web/..%2Fapi%2Fauth.py")

    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert '<script type="module" src="/web/app.js">' in page.text and "/web/plotly.min.js" in page.text
    for name, response in files.items():
        assert response.status_code == 200, name
        assert response.content == (WEB / name).read_bytes()
        assert response.headers["content-type"].split(";")[0] == ASSETS[name].split(";")[0]
    assert plotly.status_code == 200 and plotly.content == plotly_js().read_bytes()
    assert b"plotly.js" in plotly.content[:500] and len(plotly.content) > 1_000_000
    assert unknown.status_code == 404 and unknown.json()["detail"]
    assert climbing.status_code == 404


def test_the_shipped_files_fetch_nothing_from_another_host() -> None:
    for path in SHIPPED:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"https?://|//cdn|\bsrc=\"//", text, re.IGNORECASE), path.name
        assert not re.search(r"\bimport\s.*from\s+[\"'](?!\./)", text), path.name  # no bare module imports
    page = (WEB / "index.html").read_text(encoding="utf-8")
    assert sorted(re.findall(r'(?:src|href)="([^"]+)"', page)) == [
        "/web/app.css",
        "/web/app.js",
        "/web/plotly.min.js",
        "data:,",  # no favicon request
    ]


def test_the_script_never_turns_text_into_markup_or_code() -> None:
    script = (WEB / "app.js").read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in script, sink


def test_the_strings_have_the_same_keys_in_both_languages_and_cover_every_key_used() -> None:
    strings = json.loads((WEB / "strings.json").read_text(encoding="utf-8"))
    assert set(strings) == {"en", "zh"}
    assert set(strings["en"]) == set(strings["zh"])
    assert all(value.strip() for table in strings.values() for value in table.values())
    for key in strings["en"]:  # placeholders match, so a sentence never loses its number in one language
        assert set(re.findall(r"\{\w+\}", strings["en"][key])) == set(re.findall(r"\{\w+\}", strings["zh"][key]))
    script = (WEB / "app.js").read_text(encoding="utf-8")
    page = (WEB / "index.html").read_text(encoding="utf-8")
    used = set(re.findall(r'(?:i18n: |label\([^,]+, |setStatus\(|\bt\()"([a-z_.]+)"', script))
    used |= set(re.findall(r'data-i18n(?:-placeholder)?="([a-z_.]+)"', page))
    used |= {f"plan.status.{s}" for s in ("pending", "planned", "running", "ok", "changed", "failed", "skipped")}
    assert len(used) > 30
    assert used <= set(strings["en"]), used - set(strings["en"])


async def test_the_thread_list_shows_only_the_callers_threads_newest_first(
    api: Opener, secret: str, keys: KeyStore
) -> None:
    other = keys.create("li")[1]
    async with api(secret=secret) as http:
        first = (await http.post("/threads", json={"metadata": {"title": "上个月的GMV"}})).json()["thread_id"]
        second = (await http.post("/threads", json={"metadata": {"title": "refunds"}})).json()["thread_id"]
        await http.post("/threads", json={}, headers={"Authorization": f"Bearer {other}"})
        listed = (await http.post("/threads/search", json={})).json()
        page = (await http.post("/threads/search", json={"limit": 1, "offset": 1})).json()
        busy = (await http.post("/threads/search", json={"status": "busy"})).json()
        theirs = (await http.post("/threads/search", headers={"Authorization": f"Bearer {other}"})).json()
        anonymous = await http.post("/threads/search", headers={"Authorization": ""})

    assert [t["thread_id"] for t in listed] == [second, first]
    assert listed[1]["metadata"] == {"title": "上个月的GMV"} and listed[1]["values"] == {}
    assert [t["thread_id"] for t in page] == [first] and busy == []
    assert len(theirs) == 1 and theirs[0]["thread_id"] not in (first, second)
    assert anonymous.status_code == 401


async def test_adapters_lists_the_models_with_their_cards_and_trained_versions(
    api: Opener, secret: str, config: ProjectConfig
) -> None:
    version = config.data_dir / "adapters" / "metrics-demo-v1"
    version.mkdir(parents=True)
    (version / "adapter_config.json").write_text(json.dumps({"r": 8, "peft_type": "LORA"}))
    card = {"role": "metrics:demo_ecommerce", "gate": {"passed": True}, "card": {"description": "SQL for 电商"}}
    (version / "kubeai_card.json").write_text(json.dumps(card))
    (config.data_dir / "adapters" / "routes.json").write_text(
        json.dumps({"metrics:demo_ecommerce": {"current": "metrics-demo-v1", "previous": []}})
    )
    async with api(secret=secret) as http:
        found = (await http.get("/adapters")).json()
        refused = await http.get("/adapters", headers={"Authorization": ""})

    base, trained = found
    assert base["name"] == config.models.base.name and base["kind"] == "base"
    assert base["description"] == config.models.base.card.description and base["used_by"] == ["metrics", "planner"]
    assert trained["name"] == "metrics-demo-v1" and trained["kind"] == "trained"
    assert trained["description"] == "SQL for 电商" and trained["active"] and trained["gate_passed"] is True
    assert refused.status_code == 401
