"""Training data shipped with the project."""
