import itertools

import pytest

from knowledge.ingest import (
    ChunkingConfig,
    Document,
    Section,
    chunk_document,
    pack_sentences,
    split_long,
    split_sentences,
)
from kubeai.errors import ConfigError
from kubeai.language import detect_language

ZH = "订单签收后7天内可申请退款。退款金额为3.14元！真的吗？是的；好的……“到账了。”最后一句"
EN = "Price is 3.14 USD. See e.g. the FAQ! Is it 2.5% or 3.0%? Yes.\n1. First item\n2. Second item. Done"


def test_chinese_sentences_split_on_full_width_punctuation() -> None:
    assert split_sentences(ZH) == [
        "订单签收后7天内可申请退款。",
        "退款金额为3.14元！",
        "真的吗？",
        "是的；",
        "好的……",
        "“到账了。”",
        "最后一句",
    ]


def test_english_sentences_never_split_inside_numbers_abbreviations_or_list_markers() -> None:
    assert split_sentences(EN) == [
        "Price is 3.14 USD. ",
        "See e.g. the FAQ! ",
        "Is it 2.5% or 3.0%? ",
        "Yes.\n",
        "1. First item\n",
        "2. Second item. ",
        "Done",
    ]


@pytest.mark.parametrize(
    "text", [ZH, EN, "", "   ", "a\n\n\nb", "no terminator", "3.14159", ZH + "\n\n" + EN, "。。。"]
)
def test_sentence_split_is_lossless(text: str) -> None:
    assert "".join(split_sentences(text)) == text
    assert all(piece.strip() for piece in split_sentences(text)) or not text.strip()


def test_split_long_cuts_at_clauses_and_not_inside_numbers() -> None:
    sentence = "甲" * 30 + "，" + "乙" * 50 + " 3.14159 and more words here"
    pieces = split_long(sentence, 40)
    assert all(len(p) <= 40 for p in pieces)
    assert pieces[0] == "甲" * 30 + "，"
    assert "".join(pieces).replace(" ", "") == sentence.replace(" ", "")
    assert any("3.14159" in p for p in pieces)
    assert split_long("x" * 100, 40) == ["x" * 40, "x" * 40, "x" * 20]


def _sentences(n: int) -> list[str]:
    return [f"第{i}句话有一些内容，长度大约二十个字。" for i in range(n)]


@pytest.mark.parametrize(("size", "overlap"), [(60, 0), (60, 25), (100, 50), (250, 40)])
def test_packing_respects_size_keeps_sentences_whole_and_overlaps(size: int, overlap: int) -> None:
    sentences = _sentences(30)
    chunks = pack_sentences(sentences, size=size, overlap=overlap)
    assert all(len(c) <= size for c in chunks)
    for sentence in sentences:  # every sentence is in some chunk, whole
        assert any(sentence in chunk for chunk in chunks)
    for chunk in chunks:  # and every chunk is made of whole sentences
        assert chunk.startswith("第")
        assert chunk.endswith("。")
    for before, after in itertools.pairwise(chunks):
        shared = [s for s in sentences if s in before and s in after]
        assert len("".join(shared)) <= overlap
        if overlap >= len(sentences[0]):
            assert shared, "consecutive chunks should share a sentence"
        assert after.startswith("".join(shared))
    if overlap == 0:
        assert sum(len(c) for c in chunks) == len("".join(sentences))


def test_packing_splits_only_a_sentence_longer_than_the_size() -> None:
    long = "很" * 150 + "。"
    chunks = pack_sentences(["短句一。", long, "短句二。"], size=60, overlap=10)
    assert all(len(c) <= 60 for c in chunks)
    assert chunks[0] == "短句一。"
    assert "".join(c for c in chunks if "很" in c).count("很") >= 150
    assert chunks[-1].endswith("短句二。")


def test_chunks_never_cross_headings_and_carry_their_path_and_page() -> None:
    document = Document(
        source="/docs/a.md",
        title="退款政策",
        format="markdown",
        content_hash="0" * 64,
        sections=(
            Section(headings=("退款政策",), text="总则。" * 5),
            Section(headings=("退款政策", "时效"), text="一到三天。" * 30),
            Section(headings=(), text="Page text.", page=4),
        ),
    )
    chunks = chunk_document(document, ChunkingConfig(size=50, overlap=10))
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert chunks[0].headings == ("退款政策",)
    assert chunks[0].text == "总则。" * 5
    middle = [c for c in chunks if c.headings == ("退款政策", "时效")]
    assert len(middle) >= 3
    assert all("总则" not in c.text and len(c.text) <= 50 for c in middle)
    assert (chunks[-1].page, chunks[-1].text, chunks[-1].headings) == (4, "Page text.", ())


def test_chunking_config_is_validated() -> None:
    with pytest.raises(ConfigError, match="at least 40") as err:
        ChunkingConfig(size=10)
    assert err.value.field == "size"
    with pytest.raises(ConfigError, match="overlap"):
        ChunkingConfig(size=100, overlap=60)
    with pytest.raises(ConfigError, match="overlap"):
        ChunkingConfig(size=100, overlap=-1)
    assert ChunkingConfig(size=100, overlap=0).signature != ChunkingConfig(size=100, overlap=10).signature


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("退款政策：签收后七天。", "zh"),
        ("Refunds are paid within three days.", "en"),
        ("GMV 成交总额包含取消和退款订单", "zh"),
        ("The 渠道 column of fact_orders holds the sales channel code.", "en"),
        ("12345 !!", "en"),
    ],
)
def test_language_guess_by_cjk_ratio(text: str, language: str) -> None:
    assert detect_language(text) == language
