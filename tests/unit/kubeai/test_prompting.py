"""fit_prompt: the fewest items left out that make a prompt fit, least relevant first, with a fake token counter."""

from __future__ import annotations

from collections.abc import Sequence

import jinja2
import pytest
from langchain_core.messages import BaseMessage

from kubeai.errors import PromptTooLongError
from kubeai.prompting import PromptTemplate, Trim, fit_prompt

_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined)

TEMPLATE = PromptTemplate(
    name="demo",
    variables=frozenset({"metrics", "dimensions", "examples", "question"}),
    system=_ENV.from_string(
        "metrics: {{ metrics | join(' ') }}\ndimensions: {{ dimensions | join(' ') }}\n"
        "examples: {{ examples | join(' ') }}"
    ),
    user=_ENV.from_string("{{ question }}"),
)

VALUES = {
    "metrics": ["m1", "m2", "m3", "m4"],
    "dimensions": ["d1", "d2", "d3"],
    "examples": ["e1", "e2"],
    "question": "q",
}
TRIMS = (Trim(variable="examples"), Trim(variable="dimensions"), Trim(variable="metrics", keep=1))


class WordCounter:
    """A fake tokenizer: one token a word, plus two a message; records every prompt it counted."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, messages: Sequence[BaseMessage]) -> int:
        self.calls += 1
        return sum(2 + len(str(m.content).split()) for m in messages)


async def test_a_prompt_that_fits_is_rendered_whole_after_one_count() -> None:
    count = WordCounter()
    fitted = await fit_prompt(TEMPLATE, VALUES, budget=100, count=count, trims=TRIMS)
    assert fitted.dropped == {} and fitted.values == VALUES
    assert fitted.tokens == 2 + 2 + 5 + 4 + 3 + 1
    assert count.calls == 1
    assert fitted.report() == {"tokens": fitted.tokens, "budget": 100, "dropped": {}}


@pytest.mark.parametrize(
    ("over", "dropped", "kept"),
    [
        (1, {"examples": 1}, {"examples": ["e1"]}),
        (2, {"examples": 2}, {"examples": []}),
        (4, {"examples": 2, "dimensions": 2}, {"dimensions": ["d1"]}),
        (6, {"examples": 2, "dimensions": 3, "metrics": 1}, {"metrics": ["m1", "m2", "m3"], "dimensions": []}),
        (8, {"examples": 2, "dimensions": 3, "metrics": 3}, {"metrics": ["m1"]}),
    ],
)
async def test_examples_go_first_then_the_least_relevant_dimensions_then_metrics(
    over: int, dropped: dict[str, int], kept: dict[str, list[str]]
) -> None:
    whole = await fit_prompt(TEMPLATE, VALUES, budget=100, count=WordCounter())
    count = WordCounter()
    fitted = await fit_prompt(TEMPLATE, VALUES, budget=whole.tokens - over, count=count, trims=TRIMS)
    assert fitted.dropped == dropped
    assert fitted.tokens <= fitted.budget
    assert fitted.tokens == whole.tokens - sum(dropped.values())  # the fewest items left out
    for variable, items in kept.items():
        assert fitted.values[variable] == items
    assert fitted.messages[0].content.startswith("metrics: " + " ".join(fitted.values["metrics"]))
    assert count.calls <= 2 + 4  # whole, smallest, then bisection over 8 droppable items


async def test_a_conversation_loses_its_oldest_turns_first() -> None:
    template = PromptTemplate(
        name="turns",
        variables=frozenset({"history"}),
        system=_ENV.from_string("rewrite"),
        user=_ENV.from_string("{{ history | join(' ') }}"),
    )
    history = ["t1", "t2", "t3", "t4"]
    fitted = await fit_prompt(
        template,
        {"history": history},
        budget=(2 + 1) + (2 + 2),
        count=WordCounter(),
        trims=(Trim(variable="history", keep=1, oldest_first=True),),
    )
    assert fitted.values["history"] == ["t3", "t4"]
    assert fitted.dropped == {"history": 2}


async def test_a_prompt_too_long_even_at_its_smallest_is_a_clear_error() -> None:
    with pytest.raises(PromptTooLongError, match=r"needs 9 tokens even at its smallest \(2 examples, 3 dimen") as e:
        await fit_prompt(TEMPLATE, VALUES, budget=8, count=WordCounter(), trims=TRIMS)
    assert (e.value.prompt, e.value.tokens, e.value.budget) == ("demo", 9, 8)
    with pytest.raises(PromptTooLongError, match="nothing to leave out"):
        await fit_prompt(TEMPLATE, VALUES, budget=5, count=WordCounter())
