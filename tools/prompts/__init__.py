"""Prompt templates of the planner's model-backed tools (YAML data, loaded by :func:`kubeai.prompting.load_prompt`)."""
