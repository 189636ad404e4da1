"""Demonstrations for the planner prompt: worked task plans in its output format (``demos.jsonl``)."""
