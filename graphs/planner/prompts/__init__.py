"""Prompt templates of the task-decomposition graph (YAML data, loaded by :func:`kubeai.prompting.load_prompt`)."""
