"""Prompt templates of the metrics-analysis graph (YAML data)."""
