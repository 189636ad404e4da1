"""The evaluation harness and its datasets."""
