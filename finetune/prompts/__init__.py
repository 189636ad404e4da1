"""Prompt templates of the fine-tuning data pipeline (YAML data, loaded by :func:`kubeai.prompting.load_prompt`)."""
