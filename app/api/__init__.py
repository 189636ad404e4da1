"""The HTTP API in front of the agents (``kubeai api``): assistants, threads, runs, streaming and approvals.

Build the application with :func:`create_app`; docs/api.md describes the endpoints.
"""

from app.api.server import create_app
from app.api.service import Agents

__all__ = ["Agents", "create_app"]
