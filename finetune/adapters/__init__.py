"""Adapters shipped with the project, each with its card; ``kubeai prepare`` installs them (app/runtime.py)."""
