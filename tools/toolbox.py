"""The planner's toolbox: every tool in one validated registry, in the order the planner describes them."""

from __future__ import annotations

from langchain_core.tools import BaseTool

from knowledge.index import KnowledgeBase
from serving.client import ModelClient
from tools.calculator import calculator_tool
from tools.charts.tool import chart_tool
from tools.doc_qa import doc_qa_tool
from tools.metric_tool import AskMetrics, metric_query_tool
from tools.registry import ToolRegistry
from tools.tables import table_tools
from tools.text_tasks import text_tools

__all__ = ["planner_registry"]


def planner_registry(
    *, llm: ModelClient, knowledge: KnowledgeBase | None, ask_metrics: AskMetrics | None
) -> ToolRegistry:
    """All the planner's tools, registered (and so validated) in the planner's order.

    The order is metric_query, doc_qa, summarize, translate, classify, extract, calculate, table_join,
    table_filter, table_top, table_pivot, table_compare, chart.

    Args:
        llm: The client the text tools and ``doc_qa`` reach their chosen models through.
        knowledge: The knowledge base ``doc_qa`` searches (collection ``docs``); ``None`` leaves ``doc_qa`` out.
        ask_metrics: Answers a metric question (the agents layer wraps the metrics agent); ``None`` leaves
            ``metric_query`` out.

    Raises:
        ValueError: A tool does not pass the registry's checks (a bug in the tool).
    """
    tools: list[BaseTool] = []
    if ask_metrics is not None:
        tools.append(metric_query_tool(ask_metrics))
    if knowledge is not None:
        tools.append(doc_qa_tool(llm, knowledge))
    tools += text_tools(llm)
    tools.append(calculator_tool())
    tools += table_tools()
    tools.append(chart_tool())
    return ToolRegistry(tools)
