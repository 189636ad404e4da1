"""Per-invocation CLI state: the configuration, loaded once and lazily; the model client commands share."""

from __future__ import annotations

from dataclasses import dataclass, field

import typer

from app import runtime, tracing
from kubeai.config import ProjectConfig, load_config
from serving.client import ModelClient

__all__ = ["EXIT_ABSTAINED", "CliState", "config", "model_client", "note"]

EXIT_ABSTAINED = 4
"""Exit status of ``kubeai ask`` and ``kubeai plan`` when the agent declined (abstained) and said why.

The CLI's statuses: 0 answered, 1 an error (one sentence on stderr; for ``kubeai plan`` also a run in which every
task failed, with or without ``--json``), 2 a usage error (Typer's), 3 a regression
(``kubeai eval compare --fail-on-regression``), 4 declined: not a question about the data, or one the agent could
not answer. A script tells "no answer, and here is why" (4) from "something is broken" (1).
"""


@dataclass
class CliState:
    """What the root callback knows before a command runs."""

    config_path: str | None = None
    _config: ProjectConfig | None = field(default=None, repr=False)

    def config(self) -> ProjectConfig:
        """The project configuration; read on first use."""
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config


def config(ctx: typer.Context) -> ProjectConfig:
    """The project configuration for the running command; tracing starts with it and is flushed when it ends."""
    state = ctx.find_root().obj
    if not isinstance(state, CliState):
        state = CliState()
        ctx.find_root().obj = state
    first = state._config is None
    loaded = state.config()
    if first and (traced := tracing.configure(loaded)) is not None:
        ctx.find_root().call_on_close(traced.close)
    return loaded


def note(line: str) -> None:
    """A progress line on stderr, so stdout keeps only the answer (and ``--json`` stays parseable)."""
    typer.echo(line, err=True)


def model_client(config: ProjectConfig) -> ModelClient:
    """The configured model client, saying on stderr every 10 s while it waits for the model server."""
    return runtime.model_client(config, progress=note)
