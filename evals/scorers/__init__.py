"""Pure scoring functions of the evaluation harness: each compares one output to its gold and returns numbers."""

from evals.scorers.abstention import AbstentionScores, abstention_scores
from evals.scorers.aggregate import Summary, percentile, sum_tokens, summarize
from evals.scorers.chart import ChartVerdict, chart_validity
from evals.scorers.execution import execution_match, normalize_value
from evals.scorers.plan import PlanNode, PlanScores, plan_scores
from evals.scorers.retrieval import mean_reciprocal_rank, recall_at_k, reciprocal_rank
from evals.scorers.sql_match import normalize_sql, sql_exact_match

__all__ = [
    "AbstentionScores",
    "ChartVerdict",
    "PlanNode",
    "PlanScores",
    "Summary",
    "abstention_scores",
    "chart_validity",
    "execution_match",
    "mean_reciprocal_rank",
    "normalize_sql",
    "normalize_value",
    "percentile",
    "plan_scores",
    "recall_at_k",
    "reciprocal_rank",
    "sql_exact_match",
    "sum_tokens",
    "summarize",
]
