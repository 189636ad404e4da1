import math

import pytest

from knowledge.stores._common import check_filter, fuse, keyword_terms, matches, query_terms
from kubeai.errors import VectorStoreError


def test_keyword_terms_split_latin_words_and_cjk_bigrams() -> None:
    assert keyword_terms("退款率 Refund_Rate, GMV!") == ["退款", "款率", "refund", "rate", "gmv"]
    assert keyword_terms("华东的卖了多少钱？") == ["华东", "东的", "的卖", "卖了", "了多", "多少", "少钱"]
    assert keyword_terms("单") == ["单"]
    assert keyword_terms("ＧＭＶ２０２４") == ["gmv2024"]  # full-width forms are folded
    assert keyword_terms("   \x00 --- ") == []


def test_query_terms_are_distinct_and_bounded() -> None:
    assert query_terms("gmv GMV gmv 退款 退款") == ["gmv", "退款"]
    assert len(query_terms(" ".join(f"w{i}" for i in range(2000)))) == 512


def test_fuse_scales_each_ranking_and_weights_by_alpha() -> None:
    keyword = [("a", 10.0), ("b", 5.0), ("c", 0.0)]
    vector = [("c", 0.9), ("b", 0.5), ("d", 0.1)]
    assert [i for i, _ in fuse(keyword, vector, 0.0, 10)] == ["a", "b", "c"]
    assert [i for i, _ in fuse(keyword, vector, 1.0, 10)] == ["c", "b", "d"]
    half = dict(fuse(keyword, vector, 0.5, 10))
    assert math.isclose(half["a"], 0.5)
    assert math.isclose(half["b"], 0.5 * 0.5 + 0.5 * 0.5)
    assert math.isclose(half["c"], 0.5)
    assert math.isclose(half["d"], 0.0)
    assert fuse([], [], 0.5, 3) == []
    assert fuse([("only", 3.0)], [], 0.5, 3) == [("only", 0.5)]


def test_check_filter_normalises_and_validates() -> None:
    assert check_filter(None) == {}
    assert check_filter({"kind": "metric", "rank": [1, 2]}) == {"kind": ["metric"], "rank": [1, 2]}
    with pytest.raises(VectorStoreError, match="key"):
        check_filter({"a.b": 1})
    with pytest.raises(VectorStoreError, match="finite"):
        check_filter({"x": math.nan})
    with pytest.raises(VectorStoreError):
        check_filter({"x": {"nested": 1}})  # type: ignore[dict-item]


def test_matches_keeps_types_apart() -> None:
    meta = {"flag": True, "n": 1, "s": "1"}
    assert matches(meta, {"flag": [True]})
    assert not matches(meta, {"n": [True]})
    assert matches(meta, {"n": [1.0]})
    assert not matches(meta, {"s": [1]})
    assert not matches(meta, {"missing": ["x"]})
