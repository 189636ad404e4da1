"""Rendering a page spec: every model-written string escaped, every component kind shown, nothing external."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from tools.pages import COMPONENT_KINDS, Component, FormField, PageSpec, Section, console_messages, render_page

HOSTILE = "<script>alert(1)</script>"


def component(kind: str, **overrides: object) -> Component:
    values: dict[str, object] = {
        "type": kind,
        "title": f"{kind} title",
        "fields": [FormField(label="Date", type="date"), FormField(label="Notes", type="textarea")],
        "columns": ["Room", "Time"],
        "items": ["first item"],
        "text": f"{kind} text",
    }
    values.update(overrides)
    return Component.model_validate(values)


def page_with_every_kind() -> PageSpec:
    kinds = list(COMPONENT_KINDS)
    return PageSpec(
        title="Every kind",
        navigation=["Home", "More"],
        sections=[
            Section(heading="One", components=[component(k) for k in kinds[:4]]),
            Section(heading="Two", components=[component(k) for k in kinds[4:]]),
        ],
    )


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(html)
    return parser.tags


def test_hostile_text_everywhere_is_escaped_and_never_markup() -> None:
    spec = PageSpec(
        title=HOSTILE,
        navigation=['"><img src=x onerror=alert(1)>'],
        sections=[
            Section(
                heading="<iframe src=https://evil.example>",
                components=[
                    component("form", title=HOSTILE, fields=[FormField(label="<b>x</b>", type="text")], text=HOSTILE),
                    component("table", columns=["</table><script>x()</script>"]),
                    component("list", items=["<a href='https://evil.example'>x</a>"]),
                    component("search", text='" autofocus onfocus="alert(1)'),
                ],
            )
        ],
    )
    html = render_page(spec)
    assert "<script" not in html.lower() and "<iframe" not in html.lower() and "<img" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    names = {tag for tag, _ in tags(html)}
    assert not names & {"script", "iframe", "img", "b"}
    for tag, attrs in tags(html):
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        if tag == "a":
            assert (attrs.get("href") or "").startswith("#section-")


def test_every_component_kind_renders() -> None:
    html = render_page(page_with_every_kind())
    shown = {attrs["data-component"] for _, attrs in tags(html) if "data-component" in attrs}
    assert shown == set(COMPONENT_KINDS)
    assert '<input type="date"' in html and "<textarea" in html
    assert '<th scope="col">Room</th>' in html and "<li>first item</li>" in html
    assert 'type="search"' in html and "<figcaption>chart text</figcaption>" in html


def test_the_page_is_self_contained() -> None:
    html = render_page(page_with_every_kind(), language="zh")
    assert not re.search(r"(?i)(https?:)?//[a-z0-9]", html.replace("'none'", ""))
    assert "<link" not in html and "@import" not in html and "url(" not in html
    assert "default-src 'none'" in html and '<html lang="zh-CN">' in html and ">搜索<" in html
    for tag, attrs in tags(html):
        assert tag != "script"
        for name in ("src", "href", "action"):
            value = attrs.get(name)
            assert value is None or value.startswith("#"), (tag, name, value)


def test_console_lines_are_read_from_a_chromium_log() -> None:
    log = (
        '[1:1:1207/184208.440521:INFO:CONSOLE:1] "boom", source: file:///tmp/p.html (1)\n'
        "[1:1:1207/184208.44:ERROR:dbus/bus.cc:405] Failed to connect to the bus\n"
        '[1:1:1207/1842.1:INFO:CONSOLE(12)] "Uncaught ReferenceError: f is not defined", source: file:///p.html (12)\n'
    )
    assert console_messages(log) == (
        "boom (file:///tmp/p.html (1))",
        "Uncaught ReferenceError: f is not defined (file:///p.html (12))",
    )


@pytest.mark.parametrize("bad", [{"navigation": []}, {"sections": []}, {"title": ""}])
def test_a_spec_outside_its_bounds_does_not_validate(bad: dict[str, object]) -> None:
    data = page_with_every_kind().model_dump() | bad
    with pytest.raises(ValueError, match="validation error for PageSpec"):
        PageSpec.model_validate(data)
