import codecs
import hashlib
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from knowledge.ingest import SUFFIXES, Section, decode_bytes, load_document, parse_html, parse_markdown, parse_text
from kubeai.errors import IngestError
from tests.unit.knowledge.ingest.support import make_pdf

Write = Callable[..., Path]

ZH = "退款政策：订单签收后 7 天内可申请退款。大促期间延长至 15 天！"


# -- encodings -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        ZH.encode("utf-8"),
        codecs.BOM_UTF8 + ZH.encode("utf-8"),
        ZH.encode("gb18030"),
        ZH.encode("gbk"),
        codecs.BOM_UTF16_LE + ZH.encode("utf-16-le"),
        codecs.BOM_UTF16_BE + ZH.encode("utf-16-be"),
    ],
    ids=["utf8", "utf8-bom", "gb18030", "gbk", "utf16le-bom", "utf16be-bom"],
)
def test_decodes_chinese_in_every_supported_encoding(data: bytes) -> None:
    assert decode_bytes(data, path="a.txt") == ZH


@pytest.mark.parametrize(
    "text",
    [
        "在App里下单，GMV同比增长10%，退款率3.5%。",
        "A股和港股的报表口径不同；SKU、SPU、UV、PV都按自然日统计。",
        "Müller 先生：订单号 2025-06-18-001 已发货。",
    ],
)
def test_mixed_chinese_and_latin_gbk_text_is_accepted(text: str) -> None:
    assert decode_bytes(text.encode("gb18030"), path="mixed.txt") == text


def test_gb18030_four_byte_characters_and_line_ends() -> None:
    text = "㐀 extension A 字符\r\n第二行\r第三行"
    assert decode_bytes(text.encode("gb18030"), path="a.txt") == "㐀 extension A 字符\n第二行\n第三行"


@pytest.mark.parametrize(
    "data",
    [
        "café crème brûlée à la carte".encode("latin-1"),
        "Ｃｏｎｔｅｎｔ résumé".encode("cp1252", errors="ignore") + b"\xff\xfe\xfd",
        bytes(range(0x80, 0x100)) * 4,
        codecs.BOM_UTF8 + b"\xff\xfe broken",
    ],
    ids=["latin1", "cp1252", "high-bytes", "bad-utf8-after-bom"],
)
def test_unknown_encoding_is_one_clear_error(data: bytes) -> None:
    with pytest.raises(IngestError, match=r"a\.txt .*(known encoding \(tried UTF-8, GB18030\)|re-save it)") as err:
        decode_bytes(data, path="a.txt")
    assert err.value.path == "a.txt"


def test_exact_message_for_unknown_encoding() -> None:
    with pytest.raises(IngestError) as err:
        decode_bytes("naïve".encode("latin-1"), path="notes.txt")
    assert str(err.value) == "notes.txt is not text in a known encoding (tried UTF-8, GB18030)."


def test_empty_and_binary_files_are_rejected(write: Write) -> None:
    with pytest.raises(IngestError, match="is empty"):
        load_document(write("empty.md", b""))
    with pytest.raises(IngestError, match="binary file"):
        load_document(write("logo.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"))
    with pytest.raises(IngestError, match="no text to index"):
        load_document(write("blank.md", "  \n\n\t\n"))
    with pytest.raises(IngestError, match="unsupported file type"):
        load_document(write("sheet.xlsx", b"PK\x03\x04"))
    with pytest.raises(IngestError, match="cannot be read"):
        load_document(Path("/nonexistent/folder/file.md"))


# -- Markdown --------------------------------------------------------------------------------------------


def test_markdown_sections_follow_the_heading_path() -> None:
    text = (
        "Intro before any heading.\n\n"
        "# 退款政策\n正文。\n\n"
        "## 退款时效\n1–3 个工作日。\n\n"
        "### 信用卡\n3–7 个工作日。\n\n"
        "## 运费 ##\n顾客承担。\n\n"
        "# Appendix\nEnd.\n"
    )
    title, sections = parse_markdown(text)
    assert title == "退款政策"
    assert [(s.headings, s.text) for s in sections] == [
        ((), "Intro before any heading."),
        (("退款政策",), "正文。"),
        (("退款政策", "退款时效"), "1–3 个工作日。"),
        (("退款政策", "退款时效", "信用卡"), "3–7 个工作日。"),
        (("退款政策", "运费"), "顾客承担。"),
        (("Appendix",), "End."),
    ]


def test_markdown_code_fences_setext_front_matter_and_inline_markup() -> None:
    text = (
        "---\ntitle: 'Warehouse FAQ'\nowner: data\n---\n"
        "# The **star** schema and [tables](http://x)\n"
        "```sql\n# not a heading\nSELECT 1;\n```\n"
        "Refresh\n=======\nDaily at 06:00.\n"
        "Limits\n------\n10,000 rows.\n"
        "## `fact_orders` and dim_customer_id *columns* __bold__ _it_\nx\n"
        "#hashtag is not a heading\n"
    )
    title, sections = parse_markdown(text)
    assert title == "Warehouse FAQ"
    assert sections[0] == Section(
        headings=("The star schema and tables",), text="```sql\n# not a heading\nSELECT 1;\n```"
    )
    assert sections[1] == Section(headings=("Refresh",), text="Daily at 06:00.")
    assert sections[2] == Section(headings=("Refresh", "Limits"), text="10,000 rows.")
    assert sections[3] == Section(
        headings=("Refresh", "fact_orders and dim_customer_id columns bold it"), text="x\n#hashtag is not a heading"
    )


def test_text_files_are_one_section_titled_by_file_name(write: Write) -> None:
    assert parse_text("line one\n\n\n\nline two  \n") == (None, (Section(headings=(), text="line one\n\nline two"),))
    document = load_document(write("客服标准.txt", "第一行。\n第二行。", "gb18030"))
    assert (document.title, document.format, document.sections[0].text) == ("客服标准", "text", "第一行。\n第二行。")


# -- HTML ------------------------------------------------------------------------------------------------

HTML = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>渠道术语表 Channel Glossary</title>
<style>body { color: red; }</style><script>track("page_view");</script></head>
<body><nav><a href="/">Home</a><a href="/data">Data</a></nav>
<div role="navigation">Breadcrumbs</div>
<h1>Channel Glossary</h1><p>Five   channels,
one definition.</p><!-- a comment -->
<h2>小程序 Mini Program</h2><ul><li>Code <code>mini_program</code>.</li><li>WeChat Pay.</li></ul>
<h3>Table</h3><table><tr><th>Code</th><th>Name</th></tr><tr><td>app</td><td>App</td></tr></table>
<h2>直播</h2><p>Commission 8%<br>of net sales.</p><form><input name="q"><button>Go</button></form>
<noscript>Enable JavaScript</noscript></body></html>"""


def test_html_drops_scripts_styles_and_navigation_and_keeps_headings() -> None:
    title, sections = parse_html(HTML)
    assert title == "渠道术语表 Channel Glossary"
    assert [(s.headings, s.text) for s in sections] == [
        (("Channel Glossary",), "Five channels, one definition."),
        (("Channel Glossary", "小程序 Mini Program"), "- Code mini_program.\n- WeChat Pay."),
        (("Channel Glossary", "小程序 Mini Program", "Table"), "Code | Name\napp | App"),
        (("Channel Glossary", "直播"), "Commission 8%\nof net sales."),
    ]
    everything = " ".join(s.text for s in sections)
    for junk in ("track", "color", "Home", "Breadcrumbs", "comment", "Go", "JavaScript"):
        assert junk not in everything


def test_html_without_title_uses_first_heading_then_file_name(write: Write) -> None:
    assert parse_html("<h2>Only heading</h2><p>x</p>")[0] == "Only heading"
    document = load_document(write("page.htm", "<p>no heading at all</p>"))
    assert (document.title, document.sections[0].text) == ("page", "no heading at all")


def test_html_in_gbk_is_decoded(write: Write) -> None:
    document = load_document(write("gbk.html", "<title>退款</title><h1>退款政策</h1><p>七天无理由。</p>", "gbk"))
    assert document.title == "退款"
    assert document.sections[0].text == "七天无理由。"


# -- PDF -------------------------------------------------------------------------------------------------


def test_pdf_text_per_page_with_page_numbers(write: Write) -> None:
    path = write("handbook.pdf", make_pdf(["Refund within 7 days.", "", "Price is 3.14 USD."], title="Handbook"))
    document = load_document(path)
    assert document.format == "pdf"
    assert document.title == "Handbook"
    assert [(s.page, s.text) for s in document.sections] == [(1, "Refund within 7 days."), (3, "Price is 3.14 USD.")]


def test_pdf_without_title_uses_file_name(write: Write) -> None:
    assert load_document(write("report.pdf", make_pdf(["Hello"]))).title == "report"


def test_unreadable_pdfs_are_clear_errors(write: Write, tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="not a readable PDF"):
        load_document(write("garbage.pdf", b"%PDF-1.4\nthis is not really a pdf"))
    with pytest.raises(IngestError, match="not a readable PDF"):
        load_document(write("text.pdf", "just some text"))
    with pytest.raises(IngestError, match="is empty"):
        load_document(write("empty.pdf", b""))
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    with (tmp_path / "scan.pdf").open("wb") as handle:
        writer.write(handle)
    with pytest.raises(IngestError, match="no extractable text"):
        load_document(tmp_path / "scan.pdf")
    encrypted = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(["Secret page"]))))
    encrypted.encrypt(user_password="secret", owner_password="owner")
    with (tmp_path / "locked.pdf").open("wb") as handle:
        encrypted.write(handle)
    with pytest.raises(IngestError, match="password-protected"):
        load_document(tmp_path / "locked.pdf")


# -- documents -------------------------------------------------------------------------------------------


def test_document_identity_and_hash(write: Write) -> None:
    path = write("sub/refund.md", "# 退款\n七天。")
    document = load_document(path)
    assert document.source == path.resolve().as_posix()
    assert document.content_hash == hashlib.sha256(path.read_bytes()).hexdigest()
    assert document.title == "退款"
    assert set(SUFFIXES.values()) == {"markdown", "text", "html", "pdf"}
